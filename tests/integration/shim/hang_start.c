/* Fault injection for test_supervise.sh, preloaded (LD_PRELOAD) into dcgwd: with
 * DCGW_TEST_HANG_START set in the environment, a worker process (dcgwd --worker N)
 * stops before main() and never returns, as a worker stuck in its start-up would. The
 * master, which shares the environment, runs normally. Never part of dcgwd itself. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

__attribute__((constructor)) static void hang_if_worker(void)
{
    if (!getenv("DCGW_TEST_HANG_START"))
        return;
    char args[4096];
    int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, args, sizeof(args) - 1) : -1;
    if (fd >= 0)
        close(fd);
    for (ssize_t i = 0; i < n; i += (ssize_t)strlen(args + i) + 1) {
        args[n] = '\0';
        if (strcmp(args + i, "--worker") == 0)
            for (;;)
                pause();
    }
}
