#include "helper_netns.h"

#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

bool tnetns_enter(const char *root_for, char *why, size_t cap)
{
    if (geteuid() != 0) {
        snprintf(why, cap, "not root (%s)", root_for);
        return false;
    }
    if (unshare(CLONE_NEWNET) < 0) {
        snprintf(why, cap, "no private network namespace: %s", strerror(errno));
        return false;
    }
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct ifreq ifr = {0};
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
    ifr.ifr_flags = IFF_UP | IFF_LOOPBACK | IFF_RUNNING;
    int up = fd >= 0 ? ioctl(fd, SIOCSIFFLAGS, &ifr) : -1;
    if (fd >= 0)
        close(fd);
    if (up < 0) {
        snprintf(why, cap, "cannot bring lo up: %s", strerror(errno));
        return false;
    }
    return true;
}
