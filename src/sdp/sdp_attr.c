/* SDP attributes with the most syntax: a=candidate (RFC 8839 §5.1), a=dcmap and a=dcsa
 * (RFC 8864). Part of the parser in src/sdp/sdp.c. */
#include "sdp_int.h"

/* a=candidate:<foundation> <component> <transport> <priority> <address> <port> typ <type>
 *             [raddr <addr>] [rport <port>] *(<name> <value>)        (RFC 8839 §5.1)
 * Kept: UDP candidates with a literal address. Host names (mDNS "<uuid>.local" included)
 * cannot be resolved by a parser that does no I/O: they are counted and skipped. */
int dcgw__sdp_attr_candidate(struct parser *p, struct span v)
{
    struct span f, comp, tr, prio, addr, port_s, typ, type, name, val;
    struct span raddr = {NULL, 0};
    uint64_t c, pr, port, rport = 0;
    bool has_rport = false;
    if (!next_tok(&v, &f) || !next_tok(&v, &comp) || !next_tok(&v, &tr) || !next_tok(&v, &prio) ||
        !next_tok(&v, &addr) || !next_tok(&v, &port_s) || !next_tok(&v, &typ) ||
        !next_tok(&v, &type) || !span_eq(typ, "typ"))
        return fail(p, DCGW_EMALFORMED,
                    "a=candidate: expected <foundation> <component> "
                    "<transport> <priority> <address> <port> typ <type>");
    if (f.n > 32 || !is_ice_chars(f))
        return fail(p, DCGW_EMALFORMED, "a=candidate: foundation is 1..32 ice-chars");
    if (!parse_uint(comp, 256, &c) || c == 0)
        return fail(p, DCGW_EMALFORMED, "a=candidate: component is 1..256");
    if (!parse_uint(prio, UINT32_MAX, &pr))
        return fail(p, DCGW_EMALFORMED, "a=candidate: priority is a 32-bit number");
    if (!parse_uint(port_s, 65535, &port))
        return fail(p, DCGW_EMALFORMED, "a=candidate: invalid port");
    while (next_tok(&v, &name)) {
        if (!next_tok(&v, &val))
            return fail(p, DCGW_EMALFORMED, "a=candidate: extension without value");
        if (span_eq(name, "raddr"))
            raddr = val;
        else if (span_eq(name, "rport") && !(has_rport = parse_uint(val, 65535, &rport)))
            return fail(p, DCGW_EMALFORMED, "a=candidate: invalid rport");
    }
    static const char *const types[] = {"host", "srflx", "prflx", "relay"};
    int t = -1;
    for (int i = 0; i < 4; i++)
        if (span_eq(type, types[i]))
            t = i;
    struct dcgw_sdp_ignored *ign = &p->out->ignored;
    if (!span_caseeq(tr, "UDP")) {
        ign->cand_not_udp++;
        return 0;
    }
    if (t < 0) {
        ign->cand_type++;
        return 0;
    }
    struct dcgw_sdp_candidate cand = {
        .priority = (uint32_t)pr, .component = (uint16_t)c, .type = (enum dcgw_sdp_cand_type)t};
    if (!parse_addr(addr, (uint16_t)port, &cand.addr)) {
        /* host names, and IPv6 literals with a zone id, which are link-scoped anyway */
        for (size_t i = 0; i < addr.n; i++) {
            char ch = addr.p[i];
            if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || strchr("-._:%", ch)))
                return fail(p, DCGW_EMALFORMED, "a=candidate: invalid address");
        }
        if (addr.n > 6 && span_caseeq((struct span){addr.p + addr.n - 6, 6}, ".local"))
            ign->cand_mdns++;
        else
            ign->cand_fqdn++;
        return 0;
    }
    struct dcgw_sdp_transport *tp = p->tp;
    if (tp->n_candidates == DCGW_SDP_TRANSPORT_CANDIDATES_MAX)
        return fail(p, DCGW_ETOOBIG, "a=candidate: more than %d",
                    DCGW_SDP_TRANSPORT_CANDIDATES_MAX);
    copy_span(cand.foundation, sizeof(cand.foundation), f);
    cand.has_related = raddr.n && has_rport && parse_addr(raddr, (uint16_t)rport, &cand.related);
    tp->candidates[tp->n_candidates++] = cand;
    return 0;
}

/* dcmap-stream-id = 1*5DIGIT, 0..65534 (RFC 8864 §5.1) */
static int stream_id(struct parser *p, struct span *v, const char *attr, uint16_t *id)
{
    struct span tok;
    uint64_t n;
    if (!next_tok(v, &tok) || tok.n > 5 || !parse_uint(tok, 99999, &n))
        return fail(p, DCGW_EMALFORMED, "a=%s: expected <stream-id>", attr);
    if (n > DCGW_SDP_STREAM_ID_MAX)
        return fail(p, DCGW_EMALFORMED, "a=%s: stream id %u out of range 0..%d", attr, (unsigned)n,
                    DCGW_SDP_STREAM_ID_MAX);
    *id = (uint16_t)n;
    return 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)(c | 0x20);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* quoted-visible-string with %HH escapes (RFC 8864 §5.1), decoded into dst. Raw bytes
 * >= 0x80 (UTF-8 labels) are tolerated; '"' and '%' only escaped; %00 is refused. */
static int dcmap_string(struct parser *p, struct span v, const char *opt, char *dst, size_t cap)
{
    if (v.n < 2 || v.p[0] != '"' || v.p[v.n - 1] != '"')
        return fail(p, DCGW_EMALFORMED, "a=dcmap: %s is not a quoted string", opt);
    size_t o = 0;
    for (size_t i = 1; i + 1 < v.n; i++) {
        unsigned char c = (unsigned char)v.p[i];
        if (c == '%') {
            int hi = i + 3 < v.n ? hexval(v.p[i + 1]) : -1;
            int lo = hi >= 0 ? hexval(v.p[i + 2]) : -1;
            if (lo < 0 || (hi | lo) == 0)
                return fail(p, DCGW_EMALFORMED, "a=dcmap: %s has a bad %% escape", opt);
            c = (unsigned char)(hi << 4 | lo);
            i += 2;
        } else if (c == '"' || c < 0x20) {
            return fail(p, DCGW_EMALFORMED, "a=dcmap: %s has a bad character", opt);
        }
        if (o + 1 >= cap)
            return fail(p, DCGW_ETOOBIG, "a=dcmap: %s longer than %zu", opt, cap - 1);
        dst[o++] = (char)c;
    }
    dst[o] = '\0';
    return 0;
}

/* One dcmap-opt "name=value" into m; *seen guards against repeats. */
static int dcmap_opt(struct parser *p, struct span opt, struct dcgw_sdp_dcmap *m, unsigned *seen)
{
    static const char *const names[] = {"label",    "subprotocol", "ordered",
                                        "max-retr", "max-time",    "priority"};
    size_t eq = 0;
    while (eq < opt.n && opt.p[eq] != '=')
        eq++;
    if (eq == 0 || eq == opt.n)
        return fail(p, DCGW_EMALFORMED, "a=dcmap: option is not <name>=<value>");
    struct span name = trim((struct span){opt.p, eq});
    struct span val = trim((struct span){opt.p + eq + 1, opt.n - eq - 1});
    int k = -1;
    for (int i = 0; i < 6; i++)
        if (span_eq(name, names[i]))
            k = i;
    if (k < 0)
        return 0; /* ext-opt: not ours */
    if (*seen & (1u << k))
        return fail(p, DCGW_EMALFORMED, "a=dcmap: %s given twice", names[k]);
    *seen |= 1u << k;
    uint64_t n;
    switch (k) {
    case 0:
        return dcmap_string(p, val, names[k], m->label, sizeof(m->label));
    case 1:
        return dcmap_string(p, val, names[k], m->subprotocol, sizeof(m->subprotocol));
    case 2:
        if (!span_eq(val, "true") && !span_eq(val, "false"))
            return fail(p, DCGW_EMALFORMED, "a=dcmap: ordered is true or false");
        m->ordered = span_eq(val, "true");
        m->has_ordered = true;
        return 0;
    default:
        if (!parse_uint(val, k == 5 ? UINT16_MAX : UINT32_MAX, &n))
            return fail(p, DCGW_EMALFORMED, "a=dcmap: %s out of range", names[k]);
        if (k == 3)
            m->has_max_retr = true, m->max_retr = (uint32_t)n;
        else if (k == 4)
            m->has_max_time = true, m->max_time = (uint32_t)n;
        else
            m->has_priority = true, m->priority = (uint16_t)n;
        return 0;
    }
}

/* a=dcmap:<stream-id> [<opt> *(";" <opt>)]  (RFC 8864 §5.1) */
int dcgw__sdp_attr_dcmap(struct parser *p, struct span v)
{
    struct dcgw_sdp_dc *dc = &p->out->dc;
    struct dcgw_sdp_dcmap m = {.ordered = true};
    int rc = stream_id(p, &v, "dcmap", &m.stream_id);
    if (rc)
        return rc;
    for (size_t i = 0; i < dc->n_dcmap; i++)
        if (dc->dcmap[i].stream_id == m.stream_id)
            return fail(p, DCGW_EMALFORMED, "a=dcmap: stream id %u given twice", m.stream_id);
    if (dc->n_dcmap == DCGW_SDP_DCMAP_MAX)
        return fail(p, DCGW_ETOOBIG, "a=dcmap: more than %d", DCGW_SDP_DCMAP_MAX);
    v = trim(v);
    unsigned seen = 0;
    while (v.n > 0) {
        size_t end = 0;
        bool quoted = false;
        for (; end < v.n && (quoted || v.p[end] != ';'); end++)
            quoted ^= v.p[end] == '"';
        if (quoted)
            return fail(p, DCGW_EMALFORMED, "a=dcmap: unterminated quoted string");
        rc = dcmap_opt(p, trim((struct span){v.p, end}), &m, &seen);
        if (rc)
            return rc;
        if (end == v.n)
            break;
        v.p += end + 1;
        v.n -= end + 1;
        if (trim(v).n == 0)
            return fail(p, DCGW_EMALFORMED, "a=dcmap: empty option after ';'");
    }
    /* RFC 8864 §5.1: max-retr and max-time must not both be present */
    if (m.has_max_retr && m.has_max_time)
        return fail(p, DCGW_EMALFORMED,
                    "a=dcmap: max-retr and max-time are mutually "
                    "exclusive");
    dc->dcmap[dc->n_dcmap++] = m;
    return 0;
}

/* a=dcsa:<stream-id> <attribute>  (RFC 8864 §5.2), attribute kept verbatim */
int dcgw__sdp_attr_dcsa(struct parser *p, struct span v)
{
    struct dcgw_sdp_dc *dc = &p->out->dc;
    struct dcgw_sdp_dcsa a;
    int rc = stream_id(p, &v, "dcsa", &a.stream_id);
    if (rc)
        return rc;
    v = trim(v);
    if (v.n == 0)
        return fail(p, DCGW_EMALFORMED, "a=dcsa: no attribute");
    if (!copy_span(a.attr, sizeof(a.attr), v))
        return fail(p, DCGW_ETOOBIG, "a=dcsa: attribute longer than %d", DCGW_SDP_DCSA_SIZE - 1);
    if (dc->n_dcsa == DCGW_SDP_DCSA_MAX)
        return fail(p, DCGW_ETOOBIG, "a=dcsa: more than %d", DCGW_SDP_DCSA_MAX);
    dc->dcsa[dc->n_dcsa++] = a;
    return 0;
}
