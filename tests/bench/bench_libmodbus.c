/* Bare libmodbus beside the luxpower driver: the same poll (input registers 0-119 as three
 * 40-register requests, slave 1) with libmodbus's own modbus_read_input_registers over RTU, on
 * the same simulator. What libmodbus costs per exchange is the reference for ours.
 *
 *   bench_libmodbus TTY BAUD POLLS     prints "poll WALL_MS CPU_MS" per poll after a warm-up */
#include <errno.h>
#include <modbus.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double clock_ms(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: bench_libmodbus TTY BAUD POLLS\n");
        return 2;
    }
    modbus_t *ctx = modbus_new_rtu(argv[1], atoi(argv[2]), 'N', 8, 1);
    if (!ctx || modbus_set_slave(ctx, 1) < 0 || modbus_connect(ctx) < 0) {
        fprintf(stderr, "bench_libmodbus: %s\n", modbus_strerror(errno));
        return 1;
    }
    modbus_set_response_timeout(ctx, 1, 0);
    uint16_t regs[40];
    int polls = atoi(argv[3]);
    for (int i = -1; i < polls; i++) { /* poll -1 warms up */
        double w0 = clock_ms(CLOCK_MONOTONIC), c0 = clock_ms(CLOCK_PROCESS_CPUTIME_ID);
        for (int bank = 0; bank < 3; bank++)
            if (modbus_read_input_registers(ctx, bank * 40, 40, regs) != 40) {
                fprintf(stderr, "bench_libmodbus: %s\n", modbus_strerror(errno));
                return 1;
            }
        if (i >= 0)
            printf("poll %.3f %.4f\n", clock_ms(CLOCK_MONOTONIC) - w0,
                   clock_ms(CLOCK_PROCESS_CPUTIME_ID) - c0);
    }
    modbus_close(ctx);
    modbus_free(ctx);
    return 0;
}
