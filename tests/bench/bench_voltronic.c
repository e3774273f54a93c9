/* Benchmarks of the voltronic driver; not tests (nothing here asserts a time).
 *
 *   bench_voltronic decode N          N x (frame check + QPIGS decode) of the 5 kVA frame; the
 *                                     function bench_decode_once is what callgrind counts
 *   bench_voltronic poll PORT N [KEY=VALUE ...]
 *                                     N polls through the driver; wall and CPU time per poll
 *
 * tests/bench/voltronic.sh runs both against the simulator paced at 2400 baud. */
#include "driver.h"
#include "protocol.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

extern const struct solar_driver voltronic_driver;

static const uint8_t qpigs_frame[] =
    "(000.0 00.0 230.0 49.9 0161 0119 003 460 57.50 012 100 0069 0014 103.8 57.45 00000 00110110 "
    "00 00 00856 010\x24\x8c\r";

__attribute__((noinline)) int bench_decode_once(struct voltronic_qpigs *out)
{
    const char *payload;
    size_t len;
    int err = voltronic_frame_check(qpigs_frame, sizeof(qpigs_frame) - 1, NULL, &payload, &len);
    return err < 0 ? err : voltronic_qpigs_decode(payload, len, out);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

static int bench_decode(long n)
{
    struct voltronic_qpigs q;
    double t0 = now_s();
    int err = 0;
    for (long i = 0; i < n; i++)
        err |= bench_decode_once(&q);
    double t = now_s() - t0;
    printf("decode: %ld x frame check + QPIGS decode, %.1f ns each (err %d, pv1 %g W)\n", n,
           t / n * 1e9, err, q.pv1_power);
    return err != 0;
}

static void count_value(void *ctx, const char *instance, const char *type, const char *ti,
                        double value)
{
    (void)instance, (void)type, (void)ti, (void)value;
    (*(unsigned *)ctx)++;
}

static void ignore_note(void *ctx, enum solar_severity s, const char *instance, const char *msg)
{
    (void)ctx, (void)s, (void)instance, (void)msg;
}

static int bench_poll(const char *port, long n, char **words, int count)
{
    const struct solar_driver *drv = &voltronic_driver;
    void *cfg = malloc(drv->config_size);
    char err[512];
    solar_config_init(drv, cfg);
    int status = solar_config_set(drv, cfg, "Port", port, err, sizeof(err));
    for (int i = 0; status == 0 && i < count; i++)
        status = solar_config_set_word(drv, cfg, words[i], err, sizeof(err));
    struct solar_device *dev;
    if (status == 0)
        status = solar_config_finish(drv, cfg, err, sizeof(err));
    if (status != 0 || solar_device_new(drv, cfg, &dev) != 0) {
        fprintf(stderr, "bench: %s\n", err);
        return 2;
    }
    unsigned values = 0;
    const struct solar_sink sink = {count_value, ignore_note, &values};
    if (solar_device_poll(dev, &sink) != 0) { /* connect, identity, settings: not measured */
        fprintf(stderr, "bench: the first poll failed\n");
        return 1;
    }
    double wall = 0, cpu = 0, worst = 0;
    for (long i = 0; i < n; i++) {
        double w0 = now_s(), c0 = cpu_s();
        if (solar_device_poll(dev, &sink) != 0) {
            fprintf(stderr, "bench: poll %ld failed\n", i);
            return 1;
        }
        double w = now_s() - w0;
        wall += w;
        cpu += cpu_s() - c0;
        worst = w > worst ? w : worst;
    }
    printf("poll: %ld polls, wall %.2f ms mean (%.2f ms worst), CPU %.3f ms per poll\n", n,
           wall / n * 1e3, worst * 1e3, cpu / n * 1e3);
    solar_device_free(dev);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "decode") == 0)
        return bench_decode(atol(argv[2]));
    if (argc >= 4 && strcmp(argv[1], "poll") == 0)
        return bench_poll(argv[2], atol(argv[3]), argv + 4, argc - 4);
    fprintf(stderr, "usage: bench_voltronic decode N | poll PORT N [KEY=VALUE ...]\n");
    return 2;
}
