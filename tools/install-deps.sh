#!/usr/bin/env bash
# Installs the Debian packages that building, testing and the demo of dcgw need.
# Idempotent: packages already present are left alone. Run as root (or via sudo).
# Usage: tools/install-deps.sh [build|test|vm|all]   install a group (default all)
#        tools/install-deps.sh --list GROUP         print the group's packages, install nothing
# Groups: build = what the default cmake configuration builds (tests and bench included);
# test = build + everything tools/test.sh and tools/demo.sh run; vm = test + qemu, for the
# fast path's program on Debian 12's own kernel (tests/vm, ctest -L vm; opt-in, ~45 MB);
# all = vm + the full bench.
# tools/deps-guard.py (run by tools/test.sh) fails when a test uses a program or Python
# module that no package of its group provides.
set -euo pipefail

# patch: dcgw's patches to Debian's usrsctp and openssl sources (cmake/usrsctp.cmake,
# cmake/libssl.cmake, third_party/); perl: openssl's Configure and its generated files.
build=(cmake make gcc clang pkg-config protobuf-c-compiler patch perl
       libusrsctp-dev libssl-dev libsrtp2-dev libnice-dev libuv1-dev
       libprotobuf-c-dev libjansson-dev libconfig-dev libmicrohttpd-dev
       libglib2.0-dev check libsubunit-dev libhttp-parser-dev libcurl4-openssl-dev
       libnghttp2-dev libsystemd-dev libbpf-dev bpftool zlib1g-dev nettle-dev)
# tests/integration, tools/demo.sh and the bench smoke test (which plots with gnuplot).
test=(libclang-rt-14-dev clang-format iproute2 procps util-linux python3 python3-aiortc openssl
      chromium gnuplot-nox nginx-light curl python3-jsonschema python3-prometheus-client)
# tests/vm: boots Debian 12's kernel (downloaded with apt-get download) under qemu.
vm=(qemu-system-x86 cpio)
# The full bench also measures Janus.
bench=(janus)

list=0
if [ "${1:-}" = "--list" ]; then
    list=1
    shift
fi
want=("${build[@]}" "${test[@]}")
case "${1:-all}" in
    build) want=("${build[@]}") ;;
    test) ;;
    vm) want+=("${vm[@]}") ;;
    all) want+=("${vm[@]}" "${bench[@]}") ;;
    *) echo "usage: $0 [--list] [build|test|vm|all]" >&2; exit 2 ;;
esac
if [ $list -eq 1 ]; then
    printf '%s\n' "${want[@]}"
    exit 0
fi

missing=()
for p in "${want[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "install-deps: all ${#want[@]} packages present"
    exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
