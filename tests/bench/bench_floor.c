/* The floor of our method: the least a poller can do per pylontech exchange. It writes the
 * request, then poll()s and read()s until the reply's CR, with nothing else: no framer, no
 * decode. Its CPU per exchange against the same simulator is what the driver's figure is
 * compared with. Three loops:
 *   naive   VMIN 1: poll() returns for every chunk the line delivers;
 *   vmin    VMIN 13 for the header, then VMIN = the rest LENGTH announces (the core's low-water
 *           mark for binary frames);
 *   canon   canonical mode with VEOL = CR, as the core reads CR-terminated protocols: the line
 *           discipline wakes the reader once per reply.
 *
 *   bench_floor naive|vmin|canon TTY POLLS PACKS  one poll: 0x42, 0x44, 0x92 to addresses 2..
 *   bench_floor jbd TTY POLLS      the same for JBD's binary frames (0x03 and 0x04), VMIN 1:
 *                                  every chunk the line delivers wakes the reader
 *   bench_floor jbd-canon TTY POLLS  canonical mode with VEOL = 0x77, as the core reads JBD: a
 *                                  wakeup per reply, one more when 0x77 or LF occurs inside
 *   bench_floor voltronic TTY POLLS  QPIGS, QMOD, QPIWS in canonical mode with VEOL = CR, as the
 *                                  core reads PI30
 *
 * Prints "poll WALL_MS CPU_MS" per poll after a warm-up. */
#include "protocol.h"

#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

static double clock_ms(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int use_vmin;

static void set_vmin(int fd, size_t want)
{
    static struct termios tio;
    static int known;
    if (!known && tcgetattr(fd, &tio) == 0)
        known = 1;
    if (want > 255)
        want = 255;
    if (tio.c_cc[VMIN] == want)
        return;
    tio.c_cc[VMIN] = (cc_t)want;
    tcsetattr(fd, TCSANOW, &tio);
}

/* The frame's length from "~VVAACCDDLLLL" (LENGTH's low 12 bits: INFO characters), + CHKSUM, CR. */
static size_t frame_length(const uint8_t *head)
{
    char hex[4] = {(char)head[10], (char)head[11], (char)head[12], 0};
    return 13 + strtoul(hex, NULL, 16) + 5;
}

/* One poll() and one read(): what the line has delivered, 0 after 3 s of silence, -1. */
static long read_more(int fd, uint8_t *buf, size_t cap)
{
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    if (poll(&pfd, 1, 3000) != 1)
        return 0;
    return (long)read(fd, buf, cap);
}

/* One request, then bytes until CR (or 3 s of silence). Returns 0 or -1. */
static int exchange(int fd, const uint8_t *request, size_t len)
{
    if (write(fd, request, len) != (ssize_t)len)
        return -1;
    uint8_t buf[256];
    size_t have = 0;
    if (use_vmin)
        set_vmin(fd, 13);
    for (;;) {
        long n = read_more(fd, buf + have, sizeof(buf) - have);
        if (n <= 0)
            return -1;
        have += (size_t)n;
        if (buf[have - 1] == '\r' || have == sizeof(buf))
            return 0;
        if (use_vmin)
            set_vmin(fd, have < 13 ? 13 - have : frame_length(buf) - have);
    }
}

/* Opens tty raw with VMIN 1, or with line_end in canonical mode with VEOL = line_end as the
 * core reads protocols whose replies end in one byte. Returns the fd or -1. */
static int open_raw(const char *tty, int line_end)
{
    int fd = open(tty, O_RDWR | O_NOCTTY);
    struct termios tio;
    if (fd < 0 || tcgetattr(fd, &tio) < 0)
        return -1;
    cfmakeraw(&tio);
    tio.c_cc[VMIN] = 1;
    tio.c_cc[VTIME] = 0;
    if (line_end) {
        tio.c_lflag |= ICANON;
        tio.c_cc[VEOL] = (cc_t)line_end;
        tio.c_cc[VERASE] = tio.c_cc[VKILL] = tio.c_cc[VEOF] = _POSIX_VDISABLE;
    }
    return tcsetattr(fd, TCSANOW, &tio) < 0 ? -1 : fd;
}

/* JBD: DD reg status length data(length) checksum(2) 77. */
static int jbd_exchange(int fd, uint8_t reg)
{
    const uint8_t request[] = {0xDD, 0xA5, reg, 0x00, 0xFF, (uint8_t)(0x100 - reg), 0x77};
    if (write(fd, request, sizeof(request)) != (ssize_t)sizeof(request))
        return -1;
    uint8_t buf[256];
    size_t have = 0;
    while (have < 4 || have < 7u + buf[3]) {
        long n = read_more(fd, buf + have, sizeof(buf) - have);
        if (n <= 0)
            return -1;
        have += (size_t)n;
    }
    return 0;
}

static int jbd_floor(const char *tty, int polls, int line_end)
{
    int fd = open_raw(tty, line_end);
    if (fd < 0 || polls < 1)
        return 2;
    for (int i = -1; i < polls; i++) {
        double c0 = clock_ms(CLOCK_PROCESS_CPUTIME_ID), w0 = clock_ms(CLOCK_MONOTONIC);
        if (jbd_exchange(fd, 0x03) < 0 || jbd_exchange(fd, 0x04) < 0) {
            fprintf(stderr, "bench_floor: no reply\n");
            return 1;
        }
        if (i >= 0)
            printf("poll %.3f %.4f\n", clock_ms(CLOCK_MONOTONIC) - w0,
                   clock_ms(CLOCK_PROCESS_CPUTIME_ID) - c0);
    }
    return 0;
}

/* PI30 requests with their CRC, as the driver sends them. */
static int voltronic_floor(const char *tty, int polls)
{
    static const struct {
        const char *bytes;
        size_t len;
    } requests[] = {{"QPIGS\xb7\xa9\r", 8}, {"QMOD\x49\xc1\r", 7}, {"QPIWS\xb4\xda\r", 8}};
    int fd = open_raw(tty, '\r');
    if (fd < 0 || polls < 1)
        return 2;
    for (int i = -1; i < polls; i++) {
        double c0 = clock_ms(CLOCK_PROCESS_CPUTIME_ID), w0 = clock_ms(CLOCK_MONOTONIC);
        for (size_t r = 0; r < sizeof(requests) / sizeof(requests[0]); r++) {
            if (exchange(fd, (const uint8_t *)requests[r].bytes, requests[r].len) < 0) {
                fprintf(stderr, "bench_floor: no reply to %.5s\n", requests[r].bytes);
                return 1;
            }
        }
        if (i >= 0)
            printf("poll %.3f %.4f\n", clock_ms(CLOCK_MONOTONIC) - w0,
                   clock_ms(CLOCK_PROCESS_CPUTIME_ID) - c0);
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "jbd") == 0)
        return jbd_floor(argv[2], atoi(argv[3]), 0);
    if (argc == 4 && strcmp(argv[1], "jbd-canon") == 0)
        return jbd_floor(argv[2], atoi(argv[3]), 0x77);
    if (argc == 4 && strcmp(argv[1], "voltronic") == 0)
        return voltronic_floor(argv[2], atoi(argv[3]));
    if (argc != 5) {
        fprintf(stderr,
                "usage: bench_floor naive|vmin|canon TTY POLLS PACKS | jbd|jbd-canon|voltronic TTY "
                "POLLS\n");
        return 2;
    }
    use_vmin = strcmp(argv[1], "vmin") == 0;
    int line_end = strcmp(argv[1], "canon") == 0 ? '\r' : 0;
    int polls = atoi(argv[3]), packs = atoi(argv[4]);
    int fd = open_raw(argv[2], line_end);
    if (fd < 0 || polls < 1 || packs < 1)
        return 2;
    static const uint8_t commands[] = {0x42, 0x44, 0x92};
    for (int i = -1; i < polls; i++) { /* poll -1 warms up */
        double c0 = clock_ms(CLOCK_PROCESS_CPUTIME_ID), w0 = clock_ms(CLOCK_MONOTONIC);
        for (int p = 0; p < packs; p++)
            for (size_t c = 0; c < sizeof(commands); c++) {
                uint8_t adr = (uint8_t)(2 + p), request[32];
                size_t n = pylontech_request_build(PYLONTECH_VER, adr, commands[c], &adr, 1,
                                                   request, sizeof(request));
                if (exchange(fd, request, n) < 0) {
                    fprintf(stderr, "bench_floor: no reply to %.*s\n", (int)n - 1,
                            (const char *)request);
                    return 1;
                }
            }
        if (i >= 0)
            printf("poll %.3f %.4f\n", clock_ms(CLOCK_MONOTONIC) - w0,
                   clock_ms(CLOCK_PROCESS_CPUTIME_ID) - c0);
    }
    return 0;
}
