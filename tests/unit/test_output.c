/* solarpoll's output: values exactly as "%.10g" prints them, and line protocol's escaping. */
#include "output.h"
#include "tap.h"

#include <float.h>
#include <stdint.h>
#include <stdlib.h>

static uint64_t rng = 0x9e3779b97f4a7c15u;

static uint64_t next(void) /* xorshift64*: the same sequence on every run */
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 0x2545f4914f6cdd1du;
}

/* 1 when output_value_text(v) is printf's text; prints the first difference. */
static int same_as_printf(double v, unsigned *reported)
{
    char want[64], got[OUTPUT_VALUE_MAX];
    snprintf(want, sizeof(want), "%.10g", v);
    size_t n = output_value_text(v, got);
    if (strcmp(want, got) == 0 && n == strlen(want))
        return 1;
    if ((*reported)++ == 0)
        printf("#   %a: printf \"%s\", got \"%s\" (%zu)\n", v, want, got, n);
    return 0;
}

int main(void)
{
    static const double edges[] = {
        0.0,          -0.0,         1e-4,          -1e-4,         9.99999e-5,   1.00000001e-4,
        1e10,         9999999999.0, 99999999999.0, 12345678901.0, 1234567890.5, 0.1 + 0.2,
        1.0 / 3.0,    2.0 / 3.0,    0.5,           0.125,         57.45,        3.301,
        13.21,        -2.87,        4215.8,        10157,         65535,        -32768,
        4294967295.0, 0.0001234,    999999999.95,  DBL_MIN,       DBL_MAX,      5e-324,
        1.0 / 0.0,    -1.0 / 0.0,   0.0 / 0.0};
    unsigned bad = 0;
    size_t edge_count = sizeof(edges) / sizeof(edges[0]);
    for (size_t i = 0; i < edge_count; i++)
        same_as_printf(edges[i], &bad);
    is_int(bad, 0, "values at the edges of the fast path print as %%.10g (%zu)", edge_count);

    /* The decoders' values: a register of up to 10 digits times 10^-k, either sign. */
    static const double pow10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11};
    bad = 0;
    unsigned decimals = 0;
    for (unsigned k = 0; k < 12; k++) {
        for (unsigned i = 0; i < 40000; i++, decimals++) {
            uint64_t digits = 1 + next() % 10; /* how many digits r has */
            uint64_t r = next() % (uint64_t)pow10[digits];
            double v = (double)r / pow10[k];
            same_as_printf(i & 1 ? -v : v, &bad);
        }
    }
    is_int(bad, 0, "%u decimals r / 10^k print as %%.10g", decimals);

    /* Any double at all, from its bits: NaNs, infinities, subnormals, the fallback. */
    bad = 0;
    for (unsigned i = 0; i < 200000; i++) {
        uint64_t bits = next();
        double v;
        memcpy(&v, &bits, sizeof(v));
        same_as_printf(v, &bad);
    }
    is_int(bad, 0, "200000 doubles from random bits print as %%.10g");

    /* Doubles near the decimals: one ulp either side of r / 10^k is not that decimal. */
    bad = 0;
    for (unsigned i = 0; i < 100000; i++) {
        double v = (double)(next() % 100000000) / pow10[next() % 8];
        uint64_t bits;
        memcpy(&bits, &v, sizeof(bits));
        bits += i & 1 ? 1 : (uint64_t)-1;
        memcpy(&v, &bits, sizeof(v));
        same_as_printf(v, &bad);
    }
    is_int(bad, 0, "100000 doubles one ulp off a decimal print as %%.10g");

    /* Line protocol: tag values escape ',', '=' and ' '; no type_instance, no tag. */
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    const struct output_value escaped = {"my host", "jbd", "rack,a=b", "voltage", "cell 01", 3.301};
    output_write(out, OUTPUT_INFLUX, &escaped);
    const struct output_value bare = {"pi", "jbd", "pack", "duration", "", -0.0};
    output_write(out, OUTPUT_INFLUX, &bare);
    fclose(out);
    is_str(text,
           "jbd_value,host=my\\ host,instance=rack\\,a\\=b,type=voltage,type_instance=cell\\ 01 "
           "value=3.301\n"
           "jbd_seconds,host=pi,instance=pack,type=duration value=-0\n",
           "line protocol: escapes, the duration type's measurement, no empty tag");
    free(text);
    return tap_done();
}
