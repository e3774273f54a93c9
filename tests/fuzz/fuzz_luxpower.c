/* libFuzzer target: the dongle's A1 1A stream through the framer, the frame decoder and the
 * reply check; and the register table over an input image made of the fuzzer's bytes. */
#include "protocol.h"
#include "stream.h"

#include <string.h>

static void on_frame(const uint8_t *frame, size_t len)
{
    static uint16_t words[LUXPOWER_INPUT_COUNT];
    struct luxpower_dongle_frame f;
    const struct luxpower_dongle_match m = {4, 0, 40, "5555555555", NULL};
    uint8_t reply[LUXPOWER_DONGLE_FRAME_MAX];
    if (luxpower_dongle_frame_decode(frame, len, &f) == 0) {
        luxpower_dongle_reply_check(&f, &m);
        if (f.values && f.count <= LUXPOWER_INPUT_COUNT)
            luxpower_dongle_values(&f, words);
    }
    luxpower_dongle_heartbeat_reply(frame, len, reply, sizeof(reply));
}

int LLVMFuzzerTestOneInput(const uint8_t *input, size_t size)
{
    static struct luxpower_dongle_seen seen;
    const struct luxpower_dongle_match m = {4, 0, 40, "5555555555", &seen};
    fuzz_stream(input, size, luxpower_dongle_frame_find, NULL, on_frame);
    fuzz_stream(input, size, luxpower_dongle_frame_find, &m, on_frame);

    static uint16_t regs[LUXPOWER_INPUT_COUNT];
    size_t n = size < sizeof(regs) ? size : sizeof(regs);
    memset(regs, 0, sizeof(regs));
    memcpy(regs, input, n);
    double value;
    for (size_t i = 0; i < luxpower_register_count; i++)
        luxpower_register_decode(&luxpower_registers[i], regs, &value);
    char text[2 * 5 + 1];
    luxpower_ascii_decode(regs, 5, text);
    return 0;
}
