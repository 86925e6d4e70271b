#!/usr/bin/env bash
# The fast path's program on Debian 12's own kernel (docs/fastpath.md "Verifier"): boots
# the newest linux-image-6.1.0-N-amd64 under qemu (tests/vm/run_kernel.sh; the package is
# fetched once into the build tree) and runs tests/unit/test_fastpath_bpf in it, which
# loads the object through dcgw's loader (the kernel's verifier runs there), attaches it
# (auto: TCX where the kernel has it, else a tc clsact filter, the 6.1 way) and forwards
# through it on lo and a veth pair. Checks that the kernel is a 6.1, that its verifier
# accepted the object (its statistics are printed), that auto attachment chose tc, and
# that every test of the suite passed. ~10-20 s under TCG, plus the 70 MB download once.
# Environment: DCGW_VM_PACKAGE (another kernel package), DCGW_VM_ACCEL=kvm.
set -euo pipefail
: "${DCGW_BUILD:?set DCGW_BUILD to the build directory}"
: "${DCGW_BPF_OBJECT:=$DCGW_BUILD/bpf/relay_fast.bpf.o}"
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=$(mktemp /tmp/dcgw-vm-out.XXXXXX)
trap 'rm -f "$OUT"' EXIT

args=()
[ -n "${DCGW_VM_PACKAGE:-}" ] && args+=(--package "$DCGW_VM_PACKAGE")
rc=0
DCGW_VM_FILES="$DCGW_BPF_OBJECT" bash "$HERE/run_kernel.sh" "${args[@]}" -- \
    "$DCGW_BUILD/tests/test_fastpath_bpf" >"$OUT" 2>&1 || rc=$?
cat "$OUT"
[ $rc -ne 77 ] || exit 77

failed=0
check() { # check "description" grep-pattern
    if grep -Eq "$2" "$OUT"; then echo "ok - $1"; else echo "not ok - $1"; failed=1; fi
}
check "the kernel is Debian's 6.1" '^dcgw-vm: kernel 6\.1\.[0-9]+-[0-9]+-[a-z0-9-]+ .*Debian 6\.1\.'
check "its verifier accepted the program" '^verifier on 6\.1\.[^:]*: processed [0-9]+ insns'
check "auto attachment chose a tc filter (no TCX before 6.6)" '^attach auto on 127\.0\.0\.1: tc$'
check "every test of test_fastpath_bpf passed" '^100%: Checks: [0-9]+, Failures: 0, Errors: 0$'
check "the program exited 0" '^run_kernel\.sh: exit 0,'
[ $rc -eq 0 ] || { echo "not ok - run_kernel.sh exited $rc"; failed=1; }
exit $failed
