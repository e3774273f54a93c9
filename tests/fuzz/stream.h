/* Walks a fuzzer's input as solar_port_read_frame() walks a line: the framer is asked for the
 * shortest frame, frames are handed to on_frame, skips are honoured, and a length awaited past
 * the input's end stops the walk. What a framer answers must always be in range. */
#ifndef SOLAR_FUZZ_STREAM_H
#define SOLAR_FUZZ_STREAM_H

#include "port.h"

#include <stdlib.h>

static void fuzz_stream(const uint8_t *input, size_t size, solar_framer framer, const void *arg,
                        void (*on_frame)(const uint8_t *frame, size_t len))
{
    framer(input, 0, arg);
    size_t at = 0;
    while (at < size) {
        long verdict = framer(input + at, size - at, arg);
        if (verdict < 0) {
            if ((size_t)-verdict > size - at)
                abort(); /* a skip past the bytes it was shown */
            at += (size_t)-verdict;
        } else if (verdict == 0 || (size_t)verdict > size - at) {
            return;
        } else {
            on_frame(input + at, (size_t)verdict);
            at += (size_t)verdict;
        }
    }
}

#endif
