/* relay_fwd: the raw recvmmsg/sendmmsg UDP forwarder the relay bench compares dcgw with
 * (docs/fastpath.md "Bench"). One socket; the first source address it hears is side 0,
 * the next other one side 1; every datagram from a side goes to the other, unchanged, in
 * batches of 32. Nothing else: no STUN, no inspection, no limits. Runs until killed.
 *
 *   dcgw-relay-fwd HOST:PORT        (prints the bound address on stdout) */

#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dcgw/base/addr.h"

enum { BATCH = 32, SLOT = 2048 };

int main(int argc, char **argv)
{
    struct sockaddr_storage at, side[2];
    if (argc != 2 || dcgw_addr_parse(argv[1], &at) < 0) {
        fprintf(stderr, "usage: dcgw-relay-fwd HOST:PORT\n");
        return 2;
    }
    int fd = socket(at.ss_family, SOCK_DGRAM, 0);
    int buf = 8 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
    socklen_t len = sizeof(at);
    if (fd < 0 || bind(fd, (struct sockaddr *)&at, dcgw_addr_len((struct sockaddr *)&at)) < 0 ||
        getsockname(fd, (struct sockaddr *)&at, &len) < 0) {
        perror("relay_fwd");
        return 1;
    }
    char a[DCGW_ADDR_STRLEN];
    printf("%s\n", dcgw_addr_format((struct sockaddr *)&at, a, sizeof(a)));
    fflush(stdout);
    static uint8_t data[BATCH][SLOT];
    struct mmsghdr rx[BATCH], tx[BATCH];
    struct iovec riov[BATCH], tiov[BATCH];
    struct sockaddr_storage from[BATCH];
    int known = 0;
    for (;;) {
        for (int i = 0; i < BATCH; i++) {
            riov[i] = (struct iovec){.iov_base = data[i], .iov_len = SLOT};
            rx[i].msg_hdr = (struct msghdr){.msg_name = &from[i],
                                            .msg_namelen = sizeof(from[i]),
                                            .msg_iov = &riov[i],
                                            .msg_iovlen = 1};
        }
        int n = recvmmsg(fd, rx, BATCH, MSG_WAITFORONE, NULL);
        if (n <= 0)
            continue;
        int m = 0;
        for (int i = 0; i < n; i++) {
            socklen_t fl = rx[i].msg_hdr.msg_namelen;
            int s = -1;
            for (int k = 0; k < known; k++)
                if (memcmp(&side[k], &from[i], fl) == 0)
                    s = k;
            if (s < 0 && known < 2) {
                memcpy(&side[known], &from[i], fl);
                s = known++;
            }
            if (s < 0 || known < 2)
                continue;
            tiov[m] = (struct iovec){.iov_base = data[i], .iov_len = rx[i].msg_len};
            tx[m].msg_hdr = (struct msghdr){
                .msg_name = &side[1 - s], .msg_namelen = fl, .msg_iov = &tiov[m], .msg_iovlen = 1};
            m++;
        }
        for (int off = 0; off < m;) {
            int r = sendmmsg(fd, tx + off, (unsigned)(m - off), 0);
            off += r > 0 ? r : 1;
        }
    }
}
