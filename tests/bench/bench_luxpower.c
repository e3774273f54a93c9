/* Benchmark: one full poll of input banks 0-119 over Modbus RTU (three 40-register requests)
 * through the real driver, against the simulator answering after the wire time of 19200 8N1
 * plus a fixed turn-around. The figure to beat: 1.05 x wire time + turn-around.
 *
 *   bench_luxpower TTY BAUD TURNAROUND_MS [POLLS]
 *
 * Prints the wire time, the budget and the measured median/mean/max per poll; exits 1 when the
 * median is over budget. */
#include "driver.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

extern const struct solar_driver luxpower_driver;

static void discard_value(void *ctx, const char *instance, const char *type,
                          const char *type_instance, double value)
{
    (void)instance, (void)type, (void)type_instance, (void)value;
    (*(unsigned *)ctx)++;
}

static void discard_note(void *ctx, enum solar_severity severity, const char *instance,
                         const char *message)
{
    (void)ctx, (void)severity, (void)instance, (void)message;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s TTY BAUD TURNAROUND_MS [POLLS]\n", argv[0]);
        return 2;
    }
    int baud = atoi(argv[2]);
    double turnaround = atof(argv[3]) / 1000;
    int polls = argc > 4 ? atoi(argv[4]) : 20;
    if (polls < 1 || polls > 10000)
        polls = 20;
    double *took = calloc((size_t)polls, sizeof(*took));
    const struct solar_driver *drv = &luxpower_driver;
    void *cfg = calloc(1, drv->config_size);
    char err[256], word[300];
    solar_config_init(drv, cfg);
    snprintf(word, sizeof(word), "port=%s", argv[1]);
    const char *words[] = {word, "banks=0-119", "timeout=1", "name=bench"};
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        if (solar_config_set_word(drv, cfg, words[i], err, sizeof(err)) < 0) {
            fprintf(stderr, "%s\n", err);
            return 2;
        }
    struct solar_device *dev;
    if (solar_config_finish(drv, cfg, err, sizeof(err)) < 0 || solar_device_new(drv, cfg, &dev)) {
        fprintf(stderr, "configuration: %s\n", err);
        return 2;
    }
    unsigned values = 0;
    const struct solar_sink sink = {discard_value, discard_note, &values};
    if (solar_device_poll(dev, &sink) < 0) { /* connect and identify: not timed */
        fprintf(stderr, "the simulator does not answer\n");
        return 1;
    }
    double total = 0;
    for (int i = 0; i < polls; i++) {
        double t0 = now_s();
        int r = solar_device_poll(dev, &sink);
        double dt = now_s() - t0;
        if (r < 0) {
            fprintf(stderr, "poll %d failed\n", i);
            return 1;
        }
        total += dt;
        took[i] = dt;
    }
    /* The median: on a shared machine a poll now and then waits for a CPU. */
    qsort(took, (size_t)polls, sizeof(*took), by_value);
    double median = took[polls / 2], worst = took[polls - 1];
    /* Per bank: request 8 bytes, reply 5 + 80 bytes, 10 bits a byte. */
    double wire = 3 * (8 + 5 + 80) * 10.0 / baud;
    double budget = 1.05 * wire + 3 * turnaround;
    double mean = total / polls;
    printf("banks 0-119 over RTU at %d baud, %d polls, %u values\n", baud, polls, values);
    printf("wire time %.1f ms, turn-around 3 x %.1f ms, budget %.1f ms\n", wire * 1e3,
           turnaround * 1e3, budget * 1e3);
    printf("measured median %.1f ms (%.3f x wire after turn-around), mean %.1f ms, max %.1f ms\n",
           median * 1e3, (median - 3 * turnaround) / wire, mean * 1e3, worst * 1e3);
    solar_device_free(dev);
    free(took);
    return median <= budget ? 0 : 1;
}
