/* Configuration text: parse and validate whatever bytes come. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dcgw/msg/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 1 << 16)
        return 0;
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    struct dcgw_config cfg;
    char err[DCGW_CONFIG_ERR_MAX];
    dcgw_config_parse(text, "fuzz", &cfg, err, sizeof(err));
    free(text);
    return 0;
}
