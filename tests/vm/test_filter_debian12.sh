#!/usr/bin/env bash
# The unknown-source filter (bpf/unknown_filter.bpf.c, docs/floods.md) on Debian 12's own
# kernel: boots the newest linux-image-6.1.0-N-amd64 under qemu (tests/vm/run_kernel.sh)
# and runs tests/unit/test_filter in it: the kernel's verifier loads the program through
# dcgw's loader, and the filter drops and passes what it should on lo. Checks that the
# kernel is a 6.1 and that every test passed. ~15 s under TCG, plus the download once.
# Environment: DCGW_VM_PACKAGE (another kernel package), DCGW_VM_ACCEL=kvm.
source "$(dirname "$0")/lib.sh"

vm_run --modules "" -- "$DCGW_BUILD/tests/test_filter"
vm_kernel_is_debian12
vm_finish test_filter
