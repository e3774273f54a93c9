/* Poll cost of a driver against a simulator: wall time per poll against the wire time the
 * simulator needs to send its replies at the device's baud rate plus its turn-around, and CPU
 * time per exchange.
 *
 *   bench_poll --polls N --baseline-ms MS --exchanges K [--raw] DRIVER PORT [KEY=VALUE ...]
 *
 * The first poll (connect and identify) is not counted. --raw prints "poll WALL_MS CPU_MS" per
 * poll instead of the summary (CPU: user + system of this process, CLOCK_PROCESS_CPUTIME_ID). */
#include "../../cli/drivers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static void count_value(void *ctx, const char *instance, const char *type,
                        const char *type_instance, double value)
{
    (void)instance, (void)type, (void)type_instance, (void)value;
    ++*(unsigned *)ctx;
}

static void ignore_note(void *ctx, enum solar_severity severity, const char *instance,
                        const char *message)
{
    (void)ctx, (void)severity, (void)instance, (void)message;
}

static int compare_ms(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double process_cpu_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static double cpu_ms(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
           (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

int main(int argc, char **argv)
{
    int polls = 50, exchanges = 1, first = 1, raw = 0;
    double baseline_ms = 0;
    for (; first + 1 < argc && strncmp(argv[first], "--", 2) == 0; first += 2) {
        if (strcmp(argv[first], "--raw") == 0) {
            raw = 1;
            first--;
        } else if (strcmp(argv[first], "--polls") == 0)
            polls = atoi(argv[first + 1]);
        else if (strcmp(argv[first], "--baseline-ms") == 0)
            baseline_ms = atof(argv[first + 1]);
        else if (strcmp(argv[first], "--exchanges") == 0)
            exchanges = atoi(argv[first + 1]);
    }
    if (argc - first < 2 || polls < 1 || exchanges < 1) {
        fprintf(stderr, "usage: bench_poll --polls N --baseline-ms MS --exchanges K DRIVER PORT "
                        "[KEY=VALUE ...]\n");
        return 2;
    }
    const struct solar_driver *drv = solarpoll_driver_find(argv[first]);
    char err[600];
    struct solar_config *cfg = drv ? malloc(drv->config_size) : NULL;
    struct solar_device *dev;
    if (!cfg)
        return 2;
    solar_config_init(drv, cfg);
    int status = solar_config_set(drv, cfg, "Port", argv[first + 1], err, sizeof(err));
    for (int i = first + 2; status == 0 && i < argc; i++)
        status = solar_config_set_word(drv, cfg, argv[i], err, sizeof(err));
    if (status || solar_config_finish(drv, cfg, err, sizeof(err)) ||
        solar_device_new(drv, cfg, &dev)) {
        fprintf(stderr, "bench_poll: %s\n", err);
        return 2;
    }

    unsigned values = 0;
    const struct solar_sink sink = {count_value, ignore_note, &values};
    if (solar_device_poll(dev, &sink) != 0) {
        fprintf(stderr, "bench_poll: the device did not answer\n");
        return 1;
    }
    double *wall = calloc((size_t)polls, sizeof(*wall));
    double cpu_start = cpu_ms(), cpu_done = process_cpu_ms();
    int failed = 0;
    for (int i = 0; i < polls; i++) {
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        failed += solar_device_poll(dev, &sink) != 0;
        clock_gettime(CLOCK_MONOTONIC, &b);
        wall[i] = (b.tv_sec - a.tv_sec) * 1e3 + (b.tv_nsec - a.tv_nsec) / 1e6;
        if (raw)
            printf("poll %.3f %.4f\n", wall[i], process_cpu_ms() - cpu_done);
        cpu_done = process_cpu_ms();
    }
    if (raw) {
        free(wall);
        solar_device_free(dev);
        return failed ? 1 : 0;
    }
    double cpu = cpu_ms() - cpu_start;
    qsort(wall, (size_t)polls, sizeof(*wall), compare_ms);
    double median = wall[polls / 2];
    printf("%s: %d polls (%d failed), wall per poll median %.2f ms (min %.2f, max %.2f), "
           "baseline %.2f ms, ratio %.3f, CPU %.3f ms per exchange\n",
           drv->name, polls, failed, median, wall[0], wall[polls - 1], baseline_ms,
           baseline_ms > 0 ? median / baseline_ms : 0, cpu / polls / exchanges);
    free(wall);
    solar_device_free(dev);
    return failed ? 1 : 0;
}
