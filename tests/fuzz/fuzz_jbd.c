/* libFuzzer target: a byte stream from a JBD line, handled as the driver handles it (framed,
 * checked against each register, decoded), and the decoders alone on raw payloads. */
#include "protocol.h"

#include <stddef.h>
#include <stdint.h>

static const uint8_t registers[] = {JBD_REG_BASIC_INFO, JBD_REG_CELLS, JBD_REG_HW_VERSION};

static void decode_payload(uint8_t reg, const uint8_t *data, size_t len)
{
    struct jbd_basic_info info;
    struct jbd_cells cells;
    char model[JBD_HW_VERSION_MAX];
    if (reg == JBD_REG_BASIC_INFO)
        jbd_basic_info_decode(data, len, &info);
    else if (reg == JBD_REG_CELLS)
        jbd_cells_decode(data, len, &cells);
    else
        jbd_hw_version_decode(data, len, model, sizeof(model));
}

int LLVMFuzzerTestOneInput(const uint8_t *input, size_t size)
{
    for (size_t i = 0; i < sizeof(registers); i++)
        decode_payload(registers[i], input, size);

    /* As solar_port_read_frame walks a stream: frames, skips, and waits. */
    size_t at = 0;
    jbd_frame_find(input, 0, NULL);
    while (at < size) {
        uint8_t reg = registers[at % sizeof(registers)];
        long verdict = jbd_frame_find(input + at, size - at, &reg);
        if (verdict < 0) {
            at += (size_t)-verdict;
        } else if (verdict == 0 || (size_t)verdict > size - at) {
            break;
        } else {
            const uint8_t *data;
            size_t len;
            if (jbd_frame_check(input + at, (size_t)verdict, reg, &data, &len) == 0)
                decode_payload(reg, data, len);
            at += (size_t)verdict;
        }
    }
    return 0;
}
