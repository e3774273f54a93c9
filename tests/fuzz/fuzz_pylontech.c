/* libFuzzer target: Pylontech RS485 frames through the framer and every INFO decoder, and the
 * console's text through its framer and parsers. */
#include "console.h"
#include "protocol.h"
#include "stream.h"

#include <string.h>

static void decode_info(const uint8_t *info, size_t len)
{
    static struct pylontech_analog analog[PYLONTECH_MAX_PACKS];
    static struct pylontech_alarm alarm[PYLONTECH_MAX_PACKS];
    struct pylontech_management management;
    struct pylontech_system_param param;
    struct pylontech_manufacturer maker;
    char serial[PYLONTECH_SERIAL_LEN + 1];
    unsigned count, address;
    for (int all = 0; all < 2; all++) {
        pylontech_analog_decode(info, len, all, &pylontech_dialect_pylon, analog,
                                PYLONTECH_MAX_PACKS, &count);
        pylontech_alarm_decode(info, len, all, alarm, PYLONTECH_MAX_PACKS, &count);
    }
    pylontech_management_decode(info, len, &pylontech_dialect_pylon, &management);
    pylontech_system_param_decode(info, len, &pylontech_dialect_pylon, &param);
    pylontech_serial_decode(info, len, &address, serial);
    pylontech_manufacturer_decode(info, len, &maker);
}

static void on_frame(const uint8_t *frame, size_t len)
{
    static uint8_t info[PYLONTECH_INFO_MAX];
    struct pylontech_header hdr;
    long n = pylontech_frame_decode(frame, len, &hdr, info, sizeof(info));
    if (n >= 0) {
        pylontech_reply_check(&hdr, 2);
        decode_info(info, (size_t)n);
    }
}

static void on_console(const uint8_t *text, size_t len)
{
    static struct pylontech_pwr pwr;
    static struct pylontech_bat bat;
    static struct pylontech_soh soh;
    pylontech_console_paged((const char *)text, len);
    pylontech_console_check((const char *)text, len);
    pylontech_pwr_parse((const char *)text, len, &pwr);
    pylontech_bat_parse((const char *)text, len, &bat);
    pylontech_soh_parse((const char *)text, len, &soh);
}

int LLVMFuzzerTestOneInput(const uint8_t *input, size_t size)
{
    struct pylontech_expect expect = {2, 0x42};
    fuzz_stream(input, size, pylontech_frame_find, &expect, on_frame);
    fuzz_stream(input, size, pylontech_frame_find, NULL, on_frame);
    decode_info(input, size);
    fuzz_stream(input, size, pylontech_console_find, NULL, on_console);
    on_console(input, size);
    return 0;
}
