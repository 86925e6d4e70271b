# What the tests/vm checks share (sourced): a program of this build run under Debian 12's
# kernel (run_kernel.sh), its console kept in $OUT, and the checks made on it.
# Environment: DCGW_BUILD, DCGW_VM_PACKAGE (another kernel package), DCGW_VM_ACCEL=kvm.
set -euo pipefail
: "${DCGW_BUILD:?set DCGW_BUILD to the build directory}"
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=$(mktemp /tmp/dcgw-vm-out.XXXXXX)
trap 'rm -f "$OUT"' EXIT
failed=0

# vm_run [run_kernel.sh OPTION...] -- PROGRAM: boots the kernel and runs PROGRAM in it;
# prints the console; exits 77 (skipped) when run_kernel.sh did, else sets rc to its status.
vm_run() {
    local args=()
    [ -n "${DCGW_VM_PACKAGE:-}" ] && args+=(--package "$DCGW_VM_PACKAGE")
    rc=0
    bash "$HERE/run_kernel.sh" "${args[@]}" "$@" >"$OUT" 2>&1 || rc=$?
    cat "$OUT"
    [ $rc -ne 77 ] || exit 77
}

check() { # check "description" grep-pattern: a line of the console matches
    if grep -Eq "$2" "$OUT"; then echo "ok - $1"; else echo "not ok - $1"; failed=1; fi
}

# vm_kernel_is_debian12: the kernel that ran is Debian's 6.1.
vm_kernel_is_debian12() {
    check "the kernel is Debian's 6.1" '^dcgw-vm: kernel 6\.1\.[0-9]+-[0-9]+-[a-z0-9-]+ .*Debian 6\.1\.'
}

# vm_finish NAME: every test of the Check suite NAME passed and it exited 0; exits with the
# verdict of every check.
vm_finish() {
    check "every test of $1 passed" '^100%: Checks: [0-9]+, Failures: 0, Errors: 0$'
    check "the program exited 0" '^run_kernel\.sh: exit 0,'
    [ $rc -eq 0 ] || { echo "not ok - run_kernel.sh exited $rc"; failed=1; }
    exit $failed
}
