#!/usr/bin/env bash
# The unknown-source filter (bpf/unknown_filter.bpf.c, docs/floods.md) on Debian 12's own
# kernel: boots the newest linux-image-6.1.0-N-amd64 under qemu (tests/vm/run_kernel.sh)
# and runs tests/unit/test_filter in it: the kernel's verifier loads the program through
# dcgw's loader, and the filter drops and passes what it should on lo. Checks that the
# kernel is a 6.1 and that every test passed. ~15 s under TCG, plus the download once.
# Environment: DCGW_VM_PACKAGE (another kernel package), DCGW_VM_ACCEL=kvm.
set -euo pipefail
: "${DCGW_BUILD:?set DCGW_BUILD to the build directory}"
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=$(mktemp /tmp/dcgw-vm-out.XXXXXX)
trap 'rm -f "$OUT"' EXIT

args=(--modules "")
[ -n "${DCGW_VM_PACKAGE:-}" ] && args+=(--package "$DCGW_VM_PACKAGE")
rc=0
bash "$HERE/run_kernel.sh" "${args[@]}" -- "$DCGW_BUILD/tests/test_filter" >"$OUT" 2>&1 || rc=$?
cat "$OUT"
[ $rc -ne 77 ] || exit 77

failed=0
check() { # check "description" grep-pattern
    if grep -Eq "$2" "$OUT"; then echo "ok - $1"; else echo "not ok - $1"; failed=1; fi
}
check "the kernel is Debian's 6.1" '^dcgw-vm: kernel 6\.1\.[0-9]+-[0-9]+-[a-z0-9-]+ .*Debian 6\.1\.'
check "every test of test_filter passed" '^100%: Checks: [0-9]+, Failures: 0, Errors: 0$'
check "the program exited 0" '^run_kernel\.sh: exit 0,'
[ $rc -eq 0 ] || { echo "not ok - run_kernel.sh exited $rc"; failed=1; }
exit $failed
