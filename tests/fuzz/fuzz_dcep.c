/* libFuzzer target: DCEP decode (RFC 8832). Whatever decodes must re-encode to the same
 * bytes (modulo the ignored reliability parameter of reliable channel types). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dcgw/stages/dcep.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct dcgw_dcep_msg m;
    if (dcgw_dcep_decode(data, size, &m) != 0)
        return 0;
    uint8_t buf[DCGW_DCEP_OPEN_MAX];
    size_t n = 0;
    if (m.type == DCGW_DCEP_ACK) {
        if (dcgw_dcep_encode_ack(buf, sizeof(buf), &n) != 0 || n != size)
            abort();
        return 0;
    }
    if (!dcgw_dcep_string_ok(m.open.label, m.open.label_len) ||
        !dcgw_dcep_string_ok(m.open.protocol, m.open.protocol_len))
        abort();
    if (dcgw_dcep_encode_open(&m.open, buf, sizeof(buf), &n) != 0 || n != size)
        abort();
    /* bytes 4..7 (reliability) may differ for reliable types; the rest must match */
    if (memcmp(buf, data, 4) != 0 || memcmp(buf + 8, data + 8, size - 8) != 0)
        abort();
    return 0;
}
