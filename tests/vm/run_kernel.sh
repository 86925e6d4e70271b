#!/usr/bin/env bash
# Boots a Debian kernel under qemu and runs programs of this build in it (tests/vm).
#
#   tests/vm/run_kernel.sh [--package NAME | --deb FILE] [--modules "m1 m2"] [--timeout S]
#                          [--] PROGRAM [ARGS...]
#
# The kernel comes from Debian's package, not from this machine: --deb FILE, or the package
# NAME (default: the newest linux-image-6.1.0-N-amd64 apt knows, Debian 12's kernel),
# fetched with `apt-get download` into $DCGW_BUILD/vm/ once and kept there; only vmlinuz
# and the modules asked for are taken out of it (dpkg-deb). The initramfs is made here, at
# every run, from this machine's files: the static init (tests/vm/init.c), /bin/sh and `ip`,
# PROGRAM (kept at its path, so a build's data files named by absolute path can follow:
# DCGW_VM_FILES="f1 f2"; its environment: DCGW_VM_ENV="K=V ..."), and the shared libraries
# they need (ldd). The kernel loads the modules, runs PROGRAM as root in /tmp and reports its
# exit status on the serial console; this script prints the console and exits with
# PROGRAM's status (77 when qemu is missing). DCGW_VM_KEEP=1 keeps the initramfs's tree.
#
# qemu emulates the machine (TCG); DCGW_VM_ACCEL=kvm uses KVM instead (see below).
set -euo pipefail

: "${DCGW_BUILD:?set DCGW_BUILD to the build directory}"
PACKAGE="" DEB="" MODULES="sch_ingress cls_bpf veth" TIMEOUT=300
while [ $# -gt 0 ]; do
    case "$1" in
        --package) PACKAGE=$2; shift 2 ;;
        --deb) DEB=$2; shift 2 ;;
        --modules) MODULES=$2; shift 2 ;;
        --timeout) TIMEOUT=$2; shift 2 ;;
        --) shift; break ;;
        -*) echo "run_kernel.sh: unknown option $1" >&2; exit 2 ;;
        *) break ;;
    esac
done
[ $# -ge 1 ] || { echo "usage: run_kernel.sh [options] [--] PROGRAM [ARGS...]" >&2; exit 2; }
QEMU=$(command -v qemu-system-x86_64 || true)
if [ -z "$QEMU" ]; then
    echo "run_kernel.sh: SKIPPED, qemu-system-x86_64 is not installed (tools/install-deps.sh vm)"
    exit 77
fi
INIT="$DCGW_BUILD/tests/dcgw-vm-init"
[ -x "$INIT" ] || { echo "run_kernel.sh: $INIT not built" >&2; exit 2; }

# ---- the kernel: vmlinuz and the modules, out of Debian's package
CACHE="$DCGW_BUILD/vm"
mkdir -p "$CACHE"
if [ -z "$DEB" ]; then
    if [ -z "$PACKAGE" ]; then
        PACKAGE=$(apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-amd64$' |
                  awk '{print $1}' | sort -t- -k4,4n | tail -1)
        [ -n "$PACKAGE" ] || { echo "run_kernel.sh: apt knows no linux-image-6.1.0-N-amd64 (apt-get update?)" >&2; exit 2; }
    fi
    DEB=$(ls "$CACHE/${PACKAGE}"_*.deb 2>/dev/null | tail -1 || true)
    if [ -z "$DEB" ]; then
        echo "run_kernel.sh: apt-get download $PACKAGE"
        (cd "$CACHE" && apt-get download -q "$PACKAGE" 2>&1 | grep -v '^W: Download is performed unsandboxed' || true)
        DEB=$(ls "$CACHE/${PACKAGE}"_*.deb 2>/dev/null | tail -1 || true)
        [ -n "$DEB" ] || { echo "run_kernel.sh: could not download $PACKAGE" >&2; exit 2; }
    fi
fi
KDIR="$CACHE/$(basename "$DEB" .deb)"
if [ ! -f "$KDIR/done" ]; then
    rm -rf "$KDIR" && mkdir -p "$KDIR"
    dpkg-deb --fsys-tarfile "$DEB" | tar -x -C "$KDIR" --wildcards './boot/vmlinuz-*' \
        './lib/modules/*/kernel/*.ko' './lib/modules/*/kernel/*/*.ko' \
        './lib/modules/*/kernel/*/*/*.ko' './lib/modules/*/kernel/*/*/*/*.ko' 2>/dev/null || true
    ls "$KDIR"/boot/vmlinuz-* >/dev/null || { echo "run_kernel.sh: no vmlinuz in $DEB" >&2; exit 2; }
    touch "$KDIR/done"
fi
VMLINUZ=$(ls "$KDIR"/boot/vmlinuz-* | head -1)

# ---- the initramfs
W=$(mktemp -d /tmp/dcgw-vm.XXXXXX)
QPID=""
trap '[ -n "$QPID" ] && kill "$QPID" 2>/dev/null; [ -n "${DCGW_VM_KEEP:-}" ] || rm -rf "$W"' EXIT
R="$W/root"
mkdir -p "$R"/{bin,proc,sys,dev,tmp,modules}
install -m 755 "$INIT" "$R/init"
put() { # put FILE: FILE (the link's target) at its own path, with the libraries it needs
    local f; f=$(readlink -f "$1")
    mkdir -p "$R$(dirname "$1")" "$R$(dirname "$f")"
    cp -n "$f" "$R$f"
    [ "$f" = "$1" ] || ln -sfn "$f" "$R$1"
    ldd "$f" 2>/dev/null | awk '/=> \// {print $3} /^\t\/.*\(0x/ {print $1}' | while read -r lib; do
        [ -e "$R$lib" ] && continue
        local real; real=$(readlink -f "$lib")
        mkdir -p "$R$(dirname "$lib")" "$R$(dirname "$real")"
        cp -n "$real" "$R$real"
        [ "$real" = "$lib" ] || ln -sfn "$real" "$R$lib"
    done
}
put /bin/sh
put "$(command -v ip)"
ln -sfn "$(readlink -f "$(command -v ip)")" "$R/bin/ip"
PROG=$(readlink -f "$1")
shift
put "$PROG"
for f in ${DCGW_VM_FILES:-}; do
    mkdir -p "$R$(dirname "$f")" && cp "$f" "$R$f"
done
for m in $MODULES; do
    ko=$(find "$KDIR/lib/modules" -name "$m.ko" | head -1)
    [ -n "$ko" ] || { echo "run_kernel.sh: module $m not in $DEB" >&2; exit 2; }
    cp "$ko" "$R/modules/" && echo "$m" >>"$R/modules/order"
done
{
    echo "cd /tmp"
    for kv in ${DCGW_VM_ENV:-}; do printf 'export %q\n' "$kv"; done
    printf 'exec'
    printf ' %q' "$PROG" "$@"
    echo
} >"$R/run.sh"
(cd "$R" && find . | cpio -o -H newc --quiet) >"$W/initrd"

# ---- boot
# TCG unless DCGW_VM_ACCEL=kvm: under nested virtualization KVM can hang in the kernel's boot
# stub (it did on the 6.18 Firecracker guest this was written on), and TCG runs the whole
# boot and test in ~10 s.
ACCEL=${DCGW_VM_ACCEL:-tcg}
CPU=max
[ "$ACCEL" = kvm ] && CPU=host
echo "run_kernel.sh: $(basename "$VMLINUZ") ($(basename "$DEB")), qemu $ACCEL, initramfs $(du -k "$W/initrd" | cut -f1) KiB"
start=$(date +%s.%N)
timeout "$TIMEOUT" "$QEMU" -accel "$ACCEL" -cpu "$CPU" -smp 2 -m 512 -nodefaults -no-reboot \
    -display none -serial "file:$W/console" -kernel "$VMLINUZ" -initrd "$W/initrd" \
    -append "console=ttyS0 panic=-1 loglevel=4 edd=off rdinit=/init" &
QPID=$!
rc=0
wait "$QPID" || rc=$?
QPID=""
end=$(date +%s.%N)
tr -d '\r' <"$W/console"
secs=$(awk -v a="$start" -v b="$end" 'BEGIN {printf "%.1f", b - a}')
status=$(tr -d '\r' <"$W/console" | sed -n 's/^dcgw-vm: exit \([0-9]*\)$/\1/p' | tail -1)
if [ -z "$status" ]; then
    echo "run_kernel.sh: the kernel did not report (qemu status $rc, ${secs}s)" >&2
    exit 1
fi
echo "run_kernel.sh: exit $status, ${secs}s in qemu ($ACCEL)"
exit "$status"
