/* Policy decoders: the JSON file form (what dcgwctl reads) and the protobuf Policy (what
 * a controller sends), then what the worker does with a policy that passes: compile it
 * for two legs, put it in force, look channels up, run messages through it, patch it.
 *
 * Input: one byte selecting the form (even: JSON text, odd: protobuf), the policy, and
 * after a 0xff 0xff separator (protobuf form only) a script of channel opens and
 * messages built from the remaining bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "dcgw/guard/policy.h"
#include "dcgw/msg/policy_wire.h"

static void exercise(const Dcgw__Policy *pol, const uint8_t *s, size_t n)
{
    struct dcgw_policy_src src = {
        .session = pol, .legs = {pol, NULL}, .leg_names = {"ue", "as"}, .n_legs = 2};
    struct dcgw_policy *p;
    char err[256];
    if (dcgw_policy_compile(&src, &p, err, sizeof(err)) < 0)
        return;
    struct dcgw_policy_state *ps;
    if (dcgw_policy_state_new(NULL, NULL, &ps) < 0) {
        dcgw_policy_free(p);
        return;
    }
    dcgw_policy_set(ps, p, 0);
    static const char *const labels[] = {"chat", "bulk", "secret-1", "", "avatar", "x*y"};
    static const char *const protos[] = {"", "http", "avatar", "a.3gpp.org"};
    struct dcgw_dc_channel ch[8];
    memset(ch, 0, sizeof(ch));
    for (size_t i = 0; i < 8; i++) {
        uint8_t b = n ? s[i % n] : (uint8_t)i;
        ch[i].params.id = (uint16_t)(i < 4 ? b * 4u + i : 1000 + b);
        ch[i].params.ordered = b & 1;
        ch[i].params.reliability = (enum dcgw_dc_reliability)(b % 3);
        ch[i].params.reliability_param = b;
        snprintf(ch[i].params.label, sizeof(ch[i].params.label), "%s", labels[b % 6]);
        snprintf(ch[i].params.protocol, sizeof(ch[i].params.protocol), "%s", protos[b % 4]);
    }
    uint64_t now = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned k = s[i] & 7, leg = (s[i] >> 3) & 1;
        now += s[i] >> 4;
        bool allow;
        dcgw_policy_lookup(p, leg, &ch[k].params, &allow);
        switch (s[i] >> 6) {
        case 0:
            dcgw_policy_check_open(ps, leg, &ch[k].params, now);
            break;
        case 1:
            dcgw_policy_channel_open(ps, leg, &ch[k], now);
            break;
        case 2:
            dcgw_policy_message(ps, leg, &ch[k], (size_t)s[i] * 37, now);
            break;
        default:
            dcgw_policy_channel_closed(ps, leg, &ch[k]);
            break;
        }
    }
    Dcgw__Policy *merged = NULL;
    if (dcgw_policy_patch(pol, pol, &merged, err, sizeof(err)) == 0) {
        struct dcgw_policy_src m = {.session = merged, .leg_names = {"ue", "as"}, .n_legs = 2};
        if (dcgw_policy_compile(&m, &p, err, sizeof(err)) == 0)
            dcgw_policy_set(ps, p, now + 1);
        protobuf_c_message_free_unpacked(&merged->base, NULL);
    }
    Dcgw__PolicyStatus *st = dcgw_policy_status(ps);
    if (st)
        protobuf_c_message_free_unpacked(&st->base, NULL);
    dcgw_policy_state_free(ps);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    bool proto = data[0] & 1;
    data++;
    size--;
    const uint8_t *script = NULL;
    size_t script_n = 0;
    for (size_t i = 0; proto && i + 1 < size; i++)
        if (data[i] == 0xff && data[i + 1] == 0xff) {
            script = data + i + 2;
            script_n = size - i - 2;
            size = i;
            break;
        }
    Dcgw__Policy *p = NULL;
    char err[256];
    if (proto) {
        p = dcgw__policy__unpack(NULL, size, data);
        if (p && dcgw_policy_validate(p, true, err, sizeof(err)) < 0) {
            dcgw__policy__free_unpacked(p, NULL);
            p = NULL;
        }
    } else {
        bool patch = size && data[0] == ' ';
        if (dcgw_policy_from_json((const char *)data, size, patch, &p, err, sizeof(err)) < 0)
            p = NULL;
    }
    if (p) {
        exercise(p, script ? script : data, script ? script_n : (size < 64 ? size : 64));
        dcgw__policy__free_unpacked(p, NULL);
    }
    return 0;
}
