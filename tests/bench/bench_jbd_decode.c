/* Decode cost of JBD frames: frame check plus decode of a real 0x03 and 0x04 reply.
 *   bench_jbd_decode N     decodes each frame N times; prints ns per decode (median of 9 runs)
 * Under `valgrind --tool=callgrind --toggle-collect=decode_*` it counts instructions. */
#include "protocol.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static const uint8_t basic_frame[] = {0xDD, 0x03, 0x00, 0x1B, 0x0A, 0x88, 0x03, 0x3C, 0x0E,
                                      0x26, 0x13, 0x88, 0x00, 0xA5, 0x29, 0x89, 0x00, 0x08,
                                      0x00, 0x00, 0x00, 0x00, 0x28, 0x48, 0x03, 0x08, 0x02,
                                      0x0B, 0xB5, 0x0B, 0xB4, 0xFA, 0xEA, 0x77};
static const uint8_t cells_frame[] = {0xDD, 0x04, 0x00, 0x08, 0x0F, 0x23, 0x0F, 0x1C,
                                      0x0F, 0x12, 0x0F, 0x1D, 0xFF, 0x4E, 0x77};

__attribute__((noinline)) int decode_basic(struct jbd_basic_info *out)
{
    const uint8_t *data;
    size_t len;
    int err = jbd_frame_check(basic_frame, sizeof(basic_frame), JBD_REG_BASIC_INFO, &data, &len);
    return err ? err : jbd_basic_info_decode(data, len, out);
}

__attribute__((noinline)) int decode_cells(struct jbd_cells *out)
{
    const uint8_t *data;
    size_t len;
    int err = jbd_frame_check(cells_frame, sizeof(cells_frame), JBD_REG_CELLS, &data, &len);
    return err ? err : jbd_cells_decode(data, len, out);
}

static double run_ns(long n, int which)
{
    struct jbd_basic_info info;
    struct jbd_cells cells;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (long i = 0; i < n; i++)
        if ((which ? decode_cells(&cells) : decode_basic(&info)) != 0)
            abort();
    clock_gettime(CLOCK_MONOTONIC, &b);
    return ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / n;
}

static int compare(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 1000000;
    static const char *const names[] = {"0x03 basic info (8S, 2 NTC)", "0x04 cells (4S)"};
    for (int which = 0; which < 2; which++) {
        double runs[9];
        int count = n >= 100000 ? 9 : 1;
        for (int r = 0; r < count; r++)
            runs[r] = run_ns(n, which);
        qsort(runs, (size_t)count, sizeof(runs[0]), compare);
        printf("jbd decode %-28s %7.1f ns (median of %d runs of %ld, spread %.1f-%.1f)\n",
               names[which], runs[count / 2], count, n, runs[0], runs[count - 1]);
    }
    return 0;
}
