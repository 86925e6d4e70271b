/* Socket addresses as text: "1.2.3.4:5" and "[::1]:5". */
#ifndef DCGW_ADDR_H
#define DCGW_ADDR_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

enum { DCGW_ADDR_STRLEN = 64 };

/* Formats sa (AF_INET or AF_INET6) into buf; returns buf ("?" for other families, "-"
 * for NULL). */
const char *dcgw_addr_format(const struct sockaddr *sa, char *buf, size_t cap);
/* Parses "host:port" or "[v6]:port" (numeric hosts only). 0 or DCGW_EINVAL. */
int dcgw_addr_parse(const char *text, struct sockaddr_storage *out);
/* Parses a numeric host and a port separately. 0 or DCGW_EINVAL. */
int dcgw_addr_from(const char *host, int port, struct sockaddr_storage *out);
/* Same family, address and port (and IPv6 scope); false when either is NULL. */
bool dcgw_addr_equal(const struct sockaddr *a, const struct sockaddr *b);
/* sizeof the sockaddr for its family (0 for others and for NULL). */
socklen_t dcgw_addr_len(const struct sockaddr *sa);

#endif
