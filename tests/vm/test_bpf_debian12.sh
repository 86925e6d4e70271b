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
source "$(dirname "$0")/lib.sh"
: "${DCGW_BPF_OBJECT:=$DCGW_BUILD/bpf/relay_fast.bpf.o}"

DCGW_VM_FILES="$DCGW_BPF_OBJECT" vm_run -- "$DCGW_BUILD/tests/test_fastpath_bpf"
vm_kernel_is_debian12
check "its verifier accepted the program" '^verifier on 6\.1\.[^:]*: processed [0-9]+ insns'
check "auto attachment chose a tc filter (no TCX before 6.6)" '^attach auto on 127\.0\.0\.1: tc$'
vm_finish test_fastpath_bpf
