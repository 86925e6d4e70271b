/* A private network namespace for the tests that need the kernel's own interfaces (BPF
 * programs, socket filters): entered once by main() before the suite runs. */
#ifndef DCGW_TEST_NETNS_H
#define DCGW_TEST_NETNS_H

#include <stdbool.h>
#include <stddef.h>

/* Moves the calling process into a new network namespace and brings its lo up: true, or
 * false with the reason in why (cap bytes): not root (root_for says what root is needed
 * for), no namespace, or lo not up. */
bool tnetns_enter(const char *root_for, char *why, size_t cap);

#endif
