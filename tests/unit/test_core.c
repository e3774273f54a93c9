/* The protocol core: checksums, option parsing, port names, the log rate limiter, and framed
 * reads over a real loopback socket, including hostile peers. */
/* posix_openpt() and friends for the pty test. */
#define _GNU_SOURCE
#include "checksum.h"
#include "driver.h"
#include "tap.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <unistd.h>

/* Longer than the lifecycle's threshold (100 ms) for a failure that cost time. */
#define COSTLY_CONNECT_MS 150

static void test_checksums(void)
{
    const uint8_t *check = (const uint8_t *)"123456789";
    is_int(solar_crc16_xmodem(check, 9), 0x31C3, "CRC-16/XMODEM check value");
    is_int(solar_crc16_modbus(check, 9), 0x4B37, "CRC-16/MODBUS check value");
    uint8_t qpigs[] = "QPIGS";
    is_int(solar_crc16_xmodem(qpigs, 5), 0xB7A9, "CRC-16/XMODEM of QPIGS");
    uint8_t modbus_req[] = {0x01, 0x04, 0x00, 0x00, 0x00, 0x28};
    is_int(solar_crc16_modbus(modbus_req, 6), 0x14F0, "CRC-16/MODBUS of a read of 40 inputs");
    uint8_t zero[] = {0x00, 0x00};
    is_int(solar_sum16_negated(zero, 2), 0x0000, "negated sum of nothing is 0x0000, not 0x10000");
}

/* A driver with one option of each kind, to exercise the parser. */
struct test_config {
    struct solar_config base;
    char mode[8];
    int count;
    double ratio;
    bool flag;
};

static const struct solar_option test_options[] = {
    SOLAR_OPTION_STRING("Mode", struct test_config, mode, "auto", "a word"),
    SOLAR_OPTION_NUMBER("Count", SOLAR_OPT_INT, struct test_config, count, "3", 1, 9, "a count"),
    SOLAR_OPTION_NUMBER("Ratio", SOLAR_OPT_DOUBLE, struct test_config, ratio, "0.5", 0, 1, "r"),
    SOLAR_OPTION_NUMBER("Flag", SOLAR_OPT_BOOL, struct test_config, flag, "false", 0, 1, "f"),
    {NULL},
};

static const struct solar_driver test_driver = {
    .name = "test",
    .port_kinds = SOLAR_PORT_SERIAL | SOLAR_PORT_TCP,
    .default_baud = 9600,
    .default_timeout = 1.5,
    .options = test_options,
    .config_size = sizeof(struct test_config),
};

static void test_options_parse(void)
{
    struct test_config cfg;
    char err[600];
    solar_config_init(&test_driver, &cfg);
    is_str(cfg.mode, "auto", "string default");
    is_int(cfg.count, 3, "int default");
    is_num(cfg.ratio, 0.5, "double default");
    is_int(cfg.flag, 0, "bool default");
    is_int(cfg.base.baud, 9600, "driver's default baud");
    is_num(cfg.base.timeout, 1.5, "driver's default timeout");

    is_int(solar_config_set_word(&test_driver, &cfg, "count=7", err, sizeof(err)), 0, "count=7");
    is_int(cfg.count, 7, "count set");
    is_int(solar_config_set(&test_driver, &cfg, "FLAG", "yes", err, sizeof(err)), 0,
           "keys are case-insensitive");
    is_int(cfg.flag, 1, "bool set from yes");
    is_int(solar_config_set_word(&test_driver, &cfg, "baud=115200", err, sizeof(err)), 0,
           "common option by word");
    is_int(cfg.base.baud, 115200, "baud set");

    static const struct {
        const char *word;
        const char *message;
    } bad[] = {
        {"colour=red", "unknown option \"colour\"; the test driver takes Port, Name, Interval, "
                       "Timeout, Baud, Mode, Count, Ratio, Flag"},
        {"count=10", "Count: 10 is outside 1..9"},
        {"count=2.5", "Count: \"2.5\" is not a whole number"},
        {"ratio=abc", "Ratio: \"abc\" is not a number"},
        {"flag=maybe", "Flag: \"maybe\" is not true or false"},
        {"mode=toolongvalue", "Mode: value longer than 7 characters"},
        {"novalue", "\"novalue\": expected KEY=VALUE"},
        {"timeout=0", "Timeout: 0 is outside 0.05..60"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        is_int(solar_config_set_word(&test_driver, &cfg, bad[i].word, err, sizeof(err)), -EINVAL,
               "%s refused", bad[i].word);
        is_str(err, bad[i].message, "%s: message names the key", bad[i].word);
    }

    solar_config_init(&test_driver, &cfg);
    is_int(solar_config_finish(&test_driver, &cfg, err, sizeof(err)), -EINVAL, "Port required");
    is_str(err, "Port is required", "missing Port message");
    solar_config_set(&test_driver, &cfg, "Port", "hid:0665:5161", err, sizeof(err));
    is_int(solar_config_finish(&test_driver, &cfg, err, sizeof(err)), -EINVAL,
           "port kind the driver does not take");
    is_str(err, "Port \"hid:0665:5161\": the test driver accepts serial, tcp ports",
           "wrong port kind message");
    solar_config_set(&test_driver, &cfg, "Port", "/dev/serial/by-id/usb-FTDI-if00", err,
                     sizeof(err));
    is_int(solar_config_finish(&test_driver, &cfg, err, sizeof(err)), 0, "serial port accepted");
    is_str(cfg.base.name, "usb_FTDI_if00", "name derived from the port's basename");
    solar_config_init(&test_driver, &cfg);
    solar_config_set(&test_driver, &cfg, "Port", "tcp:10.0.0.5:4001", err, sizeof(err));
    solar_config_finish(&test_driver, &cfg, err, sizeof(err));
    is_str(cfg.base.name, "10_0_0_5_4001", "name derived from a tcp port");
    solar_config_set(&test_driver, &cfg, "Name", "my pack", err, sizeof(err));
    is_int(solar_config_finish(&test_driver, &cfg, err, sizeof(err)), -EINVAL,
           "name with a space refused");
}

static void test_port_kinds(void)
{
    static const struct {
        const char *spec;
        enum solar_port_kind kind;
        const char *address;
    } cases[] = {
        {"/dev/ttyUSB0", SOLAR_PORT_SERIAL, "/dev/ttyUSB0"},
        {"serial:/dev/rfcomm0", SOLAR_PORT_SERIAL, "/dev/rfcomm0"},
        {"tcp:127.0.0.1:4001", SOLAR_PORT_TCP, "127.0.0.1:4001"},
        {"hid:0665:5161", SOLAR_PORT_HID, "0665:5161"},
        {"modbus-tcp:gw", SOLAR_PORT_MODBUS_TCP, "gw"},
        {"luxdongle:10.0.0.9:8000", SOLAR_PORT_LUXDONGLE, "10.0.0.9:8000"},
        {"ser:/dev/ttyUSB0", 0, NULL},
        {"tcp:", 0, NULL},
        {"", 0, NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *address = NULL;
        is_int(solar_port_kind_parse(cases[i].spec, &address), cases[i].kind, "port kind of \"%s\"",
               cases[i].spec);
        if (cases[i].address)
            is_str(address, cases[i].address, "address of \"%s\"", cases[i].spec);
    }
}

static int logged;

static void count_log(enum solar_log_level level, const char *message)
{
    (void)level;
    (void)message;
    logged++;
}

static void test_complaints(void)
{
    struct solar_complaint c = {0};
    solar_log_set_handler(count_log);
    logged = 0;
    ok(solar_complain(&c, SOLAR_LOG_ERR, 1000, "down") == 1, "first failure logged");
    ok(solar_complain(&c, SOLAR_LOG_ERR, 2000, "down") == 0, "repeat within a minute not logged");
    ok(solar_complain(&c, SOLAR_LOG_ERR, 61000, "down") == 1, "repeat after a minute logged");
    ok(solar_complain(&c, SOLAR_LOG_ERR, 120000, "down") == 0, "then after two minutes only");
    ok(solar_complaint_release(&c, "up") == 1, "recovery logged once");
    ok(solar_complaint_release(&c, "up") == 0, "and only once");
    is_int(logged, 3, "three lines in all");
    solar_log_set_handler(NULL);
}

/* --- framed reads against a loopback peer --- */

enum peer_behaviour {
    PEER_FRAME_IN_PIECES,
    PEER_FRAME_TRICKLING, /* one byte every 60 ms: talking, but slowly */
    PEER_ENDLESS_NOISE,
    PEER_CLOSES,
    PEER_SILENT,
};

struct peer {
    int listener;
    enum peer_behaviour behaviour;
};

static void *peer_run(void *arg)
{
    struct peer *p = arg;
    int fd = accept(p->listener, NULL, NULL);
    int one = 1; /* pieces leave when written, as from a serial server */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    uint8_t noise[512];
    memset(noise, 0x55, sizeof(noise));
    switch (p->behaviour) {
    case PEER_FRAME_IN_PIECES:
        for (const char *piece = "xx<he"; *piece; piece++) {
            if (write(fd, piece, 1) != 1)
                break;
            usleep(2000);
        }
        if (write(fd, "llo>", 4) != 4)
            break;
        usleep(200000);
        break;
    case PEER_FRAME_TRICKLING:
        for (const char *piece = "<slow>"; *piece; piece++) {
            if (write(fd, piece, 1) != 1)
                break;
            usleep(60000);
        }
        break;
    case PEER_ENDLESS_NOISE:
        while (send(fd, noise, sizeof(noise), MSG_NOSIGNAL) > 0)
            continue;
        break;
    case PEER_SILENT:
        usleep(400000);
        break;
    case PEER_CLOSES:
        break;
    }
    close(fd);
    return NULL;
}

/* Frames are "<...>". */
static long angle_framer(const uint8_t *buf, size_t len, const void *arg)
{
    (void)arg;
    if (buf[0] != '<')
        return -1;
    const uint8_t *end = memchr(buf, '>', len);
    return end ? end - buf + 1 : 0;
}

/* A drain takes what is waiting, and stops even when a peer never stops sending. */
static int64_t drain_endless_peer(void)
{
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(addr);
    struct peer p = {socket(AF_INET, SOCK_STREAM, 0), PEER_ENDLESS_NOISE};
    bind(p.listener, (struct sockaddr *)&addr, sizeof(addr));
    listen(p.listener, 1);
    getsockname(p.listener, (struct sockaddr *)&addr, &len);
    pthread_t thread;
    pthread_create(&thread, NULL, peer_run, &p);
    char spec[64];
    snprintf(spec, sizeof(spec), "tcp:127.0.0.1:%d", ntohs(addr.sin_port));
    struct solar_port *port;
    int64_t took = -1;
    if (solar_port_open(spec, 0, solar_now_ms() + 1000, &port) == 0) {
        usleep(50000);
        int64_t start = solar_now_ms();
        solar_port_drain(port);
        took = solar_now_ms() - start;
        solar_port_close(port);
    }
    pthread_join(thread, NULL);
    close(p.listener);
    return took;
}

static long read_from_peer(enum peer_behaviour behaviour, uint8_t *buf, size_t cap, int silence,
                           int timeout)
{
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(addr);
    struct peer p = {socket(AF_INET, SOCK_STREAM, 0), behaviour};
    bind(p.listener, (struct sockaddr *)&addr, sizeof(addr));
    listen(p.listener, 1);
    getsockname(p.listener, (struct sockaddr *)&addr, &len);
    pthread_t thread;
    pthread_create(&thread, NULL, peer_run, &p);

    char spec[64];
    snprintf(spec, sizeof(spec), "tcp:127.0.0.1:%d", ntohs(addr.sin_port));
    struct solar_port *port;
    long r = solar_port_open(spec, 0, solar_now_ms() + 1000, &port);
    if (r == 0) {
        int64_t now = solar_now_ms();
        r = solar_port_read_frame(port, buf, cap, angle_framer, NULL, now + silence, now + timeout);
        solar_port_close(port);
    }
    pthread_join(thread, NULL);
    close(p.listener);
    return r;
}

static void test_framed_reads(void)
{
    uint8_t buf[64];
    long n = read_from_peer(PEER_FRAME_IN_PIECES, buf, sizeof(buf), 1000, 1000);
    is_int(n, 7, "a frame arriving in pieces after noise is found whole");
    ok(n == 7 && memcmp(buf, "<hello>", 7) == 0, "and is the frame");
    is_int(read_from_peer(PEER_FRAME_TRICKLING, buf, sizeof(buf), 100, 2000), 6,
           "a reply trickling past the silence deadline is read whole");
    int64_t start = solar_now_ms();
    is_int(read_from_peer(PEER_ENDLESS_NOISE, buf, sizeof(buf), 300, 300), -SOLAR_ETIMEDOUT,
           "endless noise ends at the deadline");
    /* A peer that never stops talking must not hold the exchange past its deadline: the bytes
     * that are there at the deadline are looked at once, not read for as long as they come. */
    int64_t took = solar_now_ms() - start;
    ok(took < 300 + 250, "endless noise: the read ends at the deadline (%lld ms)", (long long)took);
    took = drain_endless_peer();
    ok(took >= 0 && took < 200, "a drain ends with a peer that never stops sending (%lld ms)",
       (long long)took);
    is_int(read_from_peer(PEER_SILENT, buf, sizeof(buf), 200, 200), -SOLAR_ETIMEDOUT,
           "a silent peer ends at the deadline");
    /* The silent peer hangs up after 400 ms: without the silence deadline this is -EPIPE. */
    is_int(read_from_peer(PEER_SILENT, buf, sizeof(buf), 100, 3000), -SOLAR_ETIMEDOUT,
           "a silent peer ends at the silence deadline");
    is_int(read_from_peer(PEER_CLOSES, buf, sizeof(buf), 1000, 1000), -EPIPE,
           "a closed peer is EPIPE");
    ok(solar_port_error_is_fatal(-EPIPE) && !solar_port_error_is_fatal(-SOLAR_ETIMEDOUT),
       "a closed peer reopens the port, a timeout does not");
    struct solar_port *port;
    is_int(solar_port_open("tcp:127.0.0.1:1", 0, solar_now_ms() + 500, &port), -ECONNREFUSED,
           "connection refused");
    is_int(solar_port_open("/nonexistent/tty", 9600, 0, &port), -ENOENT, "missing tty");
    is_int(solar_port_open("tcp:nohostport", 0, 0, &port), -EINVAL, "tcp without a port number");
}

/* --- the device lifecycle, with a driver whose answers the test decides --- */

static struct {
    int connect_result, poll_result;
    int connect_sleep_ms; /* a connect that costs time, like a silent line */
    int connects;
    void (*emit)(struct solar_device *dev); /* what a successful poll emits, else one value */
} fake;

static int fake_connect(struct solar_device *dev)
{
    (void)dev;
    fake.connects++;
    if (fake.connect_sleep_ms)
        usleep((useconds_t)fake.connect_sleep_ms * 1000);
    return fake.connect_result;
}

static int fake_poll(struct solar_device *dev)
{
    if (fake.poll_result == 0 && fake.emit)
        fake.emit(dev);
    else if (fake.poll_result == 0)
        solar_emit(dev, "voltage", "pack", 52.1);
    return fake.poll_result;
}

static const struct solar_driver fake_driver = {
    .name = "fake",
    .port_kinds = SOLAR_PORT_SERIAL,
    .default_baud = 9600,
    .default_timeout = 1,
    .config_size = sizeof(struct solar_config),
    .connect = fake_connect,
    .poll = fake_poll,
};

static struct {
    char values[512];
    char notes[512];
} seen;

static void record_value(void *ctx, const char *instance, const char *type,
                         const char *type_instance, double value)
{
    (void)ctx;
    size_t n = strlen(seen.values);
    snprintf(seen.values + n, sizeof(seen.values) - n, "%s/%s-%s=%g ", instance, type,
             type_instance, value);
}

static void record_note(void *ctx, enum solar_severity severity, const char *instance,
                        const char *message)
{
    (void)ctx;
    size_t n = strlen(seen.notes);
    snprintf(seen.notes + n, sizeof(seen.notes) - n, "%d %s: %s|", severity, instance, message);
}

static const struct solar_sink recorder = {record_value, record_note, NULL};

static int poll_once(struct solar_device *dev)
{
    memset(&seen, 0, sizeof(seen));
    return solar_device_poll(dev, &recorder);
}

static void test_lifecycle(void)
{
    char err[256];
    struct solar_config *cfg = malloc(sizeof(*cfg));
    solar_config_init(&fake_driver, cfg);
    solar_config_set(&fake_driver, cfg, "Port", "/dev/fake0", err, sizeof(err));
    solar_config_finish(&fake_driver, cfg, err, sizeof(err));
    struct solar_device *dev;
    is_int(solar_device_new(&fake_driver, cfg, &dev), 0, "device created");
    solar_log_set_handler(count_log);
    logged = 0;

    is_int(poll_once(dev), 0, "a poll that answers");
    is_str(seen.values, "fake0/voltage-pack=52.1 fake0/bool-up=1 ", "its values, then up 1");
    is_str(seen.notes, "", "no notification for a device that was never down");

    fake.poll_result = -SOLAR_ETIMEDOUT;
    fake.connect_result = -SOLAR_ETIMEDOUT;
    is_int(poll_once(dev), -SOLAR_ETIMEDOUT, "a poll that gets no answer");
    is_str(seen.values, "fake0/bool-up=0 ", "only up 0, nothing stale");
    is_str(seen.notes, "2 fake0: fake is not answering: no reply before the deadline|",
           "the loss notified as a failure");
    fake.connects = 0;
    poll_once(dev);
    is_int(fake.connects, 1, "a cheap failed connect is retried at the next poll");
    is_str(seen.notes, "", "the loss is notified once");
    fake.connect_sleep_ms = COSTLY_CONNECT_MS;
    poll_once(dev);
    poll_once(dev);
    is_int(fake.connects, 2, "after a costly failed connect the next poll backs off");
    is_str(seen.values, "fake0/bool-up=0 ", "and reports up 0 while backing off");
    is_int(logged, 1, "the failure was logged once");

    fake.connect_result = fake.poll_result = 0;
    fake.connect_sleep_ms = 0;
    dev->retry_at_ms = 0; /* the backoff has run out */
    is_int(poll_once(dev), 0, "answering again");
    is_str(seen.values, "fake0/voltage-pack=52.1 fake0/bool-up=1 ", "values again, up 1");
    is_str(seen.notes, "0 fake0: fake is answering again|", "the recovery notified as okay");
    is_int(logged, 2, "the recovery logged once");
    solar_log_set_handler(NULL);
    solar_device_free(dev);
}

/* A framer that knows the frame's size from the start: it returns the length it awaits. */
static int need_calls;
static long need_framer(const uint8_t *buf, size_t len, const void *arg)
{
    (void)buf;
    (void)len;
    size_t total = *(const size_t *)arg;
    need_calls++;
    return (long)total;
}

struct trickle {
    int fd;
    size_t count;
};

static void *trickle_run(void *arg)
{
    struct trickle *t = arg;
    for (size_t i = 0; i < t->count; i++) {
        if (write(t->fd, "x", 1) != 1)
            break;
        usleep(2000);
    }
    return NULL;
}

/* Bytes trickle into a pty one by one; the port is opened at 1200 baud (8.3 ms a character). */
static long read_trickle(size_t sent, size_t total, int timeout_ms, int64_t *took)
{
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0)
        return -EIO;
    struct solar_port *port;
    long r = solar_port_open(ptsname(master), 1200, 0, &port);
    if (r < 0) {
        close(master);
        return r;
    }
    struct trickle t = {master, sent};
    pthread_t thread;
    pthread_create(&thread, NULL, trickle_run, &t);
    uint8_t buf[64];
    need_calls = 0;
    int64_t start = solar_now_ms();
    r = solar_port_read_frame(port, buf, sizeof(buf), need_framer, &total, start + timeout_ms,
                              start + timeout_ms);
    *took = solar_now_ms() - start;
    pthread_join(thread, NULL);
    solar_port_close(port);
    close(master);
    return r;
}

static void test_frame_need(void)
{
    int64_t took;
    is_int(read_trickle(10, 10, 2000, &took), 10, "an awaited length: the frame is read whole");
    ok(need_calls <= 3, "an awaited length: the kernel gathers the bytes (%d looks)", need_calls);
    is_int(read_trickle(2, 1000, 300, &took), -SOLAR_ETIMEDOUT,
           "an awaited length: a frame that never completes times out");
    ok(took < 450, "an awaited length: the wait ends at the deadline (%lld ms)", (long long)took);
}

/* A pty whose other side is a port in line mode ending in line_end; *master is the device's
 * side. Returns NULL (and fails a case named what) when it cannot be set up. */
static struct solar_port *line_mode_pty(int line_end, int *master, const char *what)
{
    struct solar_port *port = NULL;
    *master = posix_openpt(O_RDWR | O_NOCTTY);
    if (*master < 0 || grantpt(*master) || unlockpt(*master) ||
        solar_port_open(ptsname(*master), 9600, 0, &port) < 0 ||
        solar_port_set_line_end(port, line_end) < 0) {
        ok(0, "%s: a pty in line mode", what);
        solar_port_close(port);
        if (*master >= 0)
            close(*master);
        return NULL;
    }
    return port;
}

/* Line mode (canonical input) with a binary protocol's end byte: every byte arrives as sent,
 * the tty's editing, signal, flow-control and newline characters among them, and the end byte
 * and LF inside the frame only split it. */
static void test_line_end(void)
{
    static const uint8_t frame[] = {0xdd, 0x03, 0x00, 0x16, 0x7f, 0x15, 0x04, 0x12, 0x17,
                                    0x1a, 0x13, 0x11, 0x03, 0x1c, 0x0d, 0x80, 0x0a, 0x77,
                                    0xff, 0x00, 0x08, 0x16, 0x0f, 0x1b, 0xfc, 0x2a, 0x77};
    int master;
    struct solar_port *port = line_mode_pty(0x77, &master, "line mode");
    if (!port)
        return;
    ok(write(master, frame, sizeof(frame)) == (ssize_t)sizeof(frame), "line mode: frame sent");
    size_t total = sizeof(frame);
    uint8_t buf[64] = {0};
    int64_t start = solar_now_ms();
    is_int(solar_port_read_frame(port, buf, sizeof(buf), need_framer, &total, start + 1000,
                                 start + 1000),
           sizeof(frame), "line mode: the whole frame is read");
    ok(memcmp(buf, frame, sizeof(frame)) == 0,
       "line mode: every byte as sent (no erase, kill, EOF, CR or LF translation)");

    /* A reply cut short before its end byte is never handed over: the exchange times out. */
    ok(write(master, frame, 9) == 9, "line mode: a truncated frame sent");
    start = solar_now_ms();
    is_int(solar_port_read_frame(port, buf, sizeof(buf), need_framer, &total, start + 200,
                                 start + 200),
           -SOLAR_ETIMEDOUT, "line mode: a truncated frame times out");
    solar_port_close(port);
    close(master);
}

struct slow_frame {
    int fd;
    const uint8_t *bytes;
    size_t len;
};

static void *slow_frame_run(void *arg)
{
    const struct slow_frame *s = arg;
    for (size_t i = 0; i < s->len; i++) {
        if (write(s->fd, s->bytes + i, 1) != 1)
            break;
        usleep(15000);
    }
    return NULL;
}

/* Line mode hides a reply until its end: one trickling in (a byte every 15 ms, 300 ms in all)
 * must not pass for silence at a 100 ms silence limit. */
static void test_line_end_silence(void)
{
    static const uint8_t frame[] = {0xdd, 0x04, 0x00, 0x08, 0x0c, 0xe5, 0x0c, 0xe6, 0x0c, 0xe7,
                                    0x0c, 0xe8, 0xfc, 0x2e, 0x0a, 0x00, 0x15, 0x7f, 0x01, 0x77};
    int master;
    struct solar_port *port = line_mode_pty(0x77, &master, "line mode, slow reply");
    if (!port)
        return;
    struct slow_frame slow = {master, frame, sizeof(frame)};
    pthread_t thread;
    pthread_create(&thread, NULL, slow_frame_run, &slow);
    size_t total = sizeof(frame);
    uint8_t buf[64] = {0};
    int64_t start = solar_now_ms();
    is_int(solar_port_read_frame(port, buf, sizeof(buf), need_framer, &total, start + 100,
                                 start + 2000),
           sizeof(frame), "line mode, slow reply: read whole past the silence limit");
    ok(memcmp(buf, frame, sizeof(frame)) == 0, "line mode, slow reply: every byte as sent");
    pthread_join(thread, NULL);

    start = solar_now_ms();
    is_int(solar_port_read_frame(port, buf, sizeof(buf), need_framer, &total, start + 100,
                                 start + 2000),
           -SOLAR_ETIMEDOUT, "line mode, silence: times out");
    int64_t took = solar_now_ms() - start;
    ok(took < 300, "line mode, silence: at the silence limit (%lld ms)", (long long)took);
    ok(write(master, frame, sizeof(frame)) == (ssize_t)sizeof(frame), "line mode: then a reply");
    start = solar_now_ms();
    is_int(solar_port_read_frame(port, buf, sizeof(buf), need_framer, &total, start + 100,
                                 start + 2000),
           sizeof(frame), "line mode: the next reply reads whole");
    solar_port_close(port);
    close(master);
}

/* A device of fake_driver on port. */
static struct solar_device *device_on(const char *port)
{
    char err[256];
    struct solar_config *cfg = malloc(sizeof(*cfg));
    solar_config_init(&fake_driver, cfg);
    solar_config_set(&fake_driver, cfg, "Port", port, err, sizeof(err));
    solar_config_finish(&fake_driver, cfg, err, sizeof(err));
    struct solar_device *dev = NULL;
    if (solar_device_new(&fake_driver, cfg, &dev) < 0)
        free(cfg);
    return dev;
}

/* Whether another master could take path now: a flock on a descriptor of its own, as a second
 * process's serial backend (or its claim) would take. */
static bool line_free(const char *path)
{
    int fd = open(path, O_RDONLY | O_NOCTTY | O_NONBLOCK);
    bool free_now = fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0;
    if (fd >= 0)
        close(fd);
    return free_now;
}

/* A line opened by another library (libmodbus) is claimed for the bus: shared by the devices
 * on it, held while one of them exists, taken again when the name points at a new device. */
static void test_line_claim(void)
{
    int a = posix_openpt(O_RDWR | O_NOCTTY), b = posix_openpt(O_RDWR | O_NOCTTY);
    if (a < 0 || b < 0 || grantpt(a) || unlockpt(a) || grantpt(b) || unlockpt(b)) {
        ok(0, "line claim: ptys");
        return;
    }
    char tty_a[64], tty_b[64], link[] = "/tmp/solar-claim-XXXXXX";
    snprintf(tty_a, sizeof(tty_a), "%s", ptsname(a));
    snprintf(tty_b, sizeof(tty_b), "%s", ptsname(b));
    int tmp = mkstemp(link);
    close(tmp);
    unlink(link);
    ok(symlink(tty_a, link) == 0, "line claim: a by-id-like link to the line");

    /* The bus is named after its first device's port: the link. */
    struct solar_device *one = device_on(link), *two = device_on(tty_a);
    is_int(solar_bus_claim_line(one), 0, "line claim: the first device claims the line");
    ok(!line_free(tty_a), "line claim: a second master is refused");
    is_int(solar_bus_claim_line(two), 0, "line claim: the other device of the bus shares it");
    solar_device_free(one);
    ok(!line_free(tty_a), "line claim: held while a device of the bus exists");

    /* The adapter comes back as another device under the same name. */
    unlink(link);
    ok(symlink(tty_b, link) == 0, "line claim: the name now points at another line");
    is_int(solar_bus_claim_line(two), 0, "line claim: the new line is claimed");
    ok(!line_free(tty_b), "line claim: the new line is held");
    ok(line_free(tty_a), "line claim: the old one is let go");
    solar_device_free(two);
    ok(line_free(tty_b), "line claim: released with the last device of the bus");

    int held = open(tty_a, O_RDONLY | O_NOCTTY | O_NONBLOCK);
    ok(held >= 0 && flock(held, LOCK_EX | LOCK_NB) == 0, "line claim: another master holds it");
    struct solar_device *three = device_on(tty_a);
    is_int(solar_bus_claim_line(three), -EBUSY, "line claim: then it is busy");
    solar_device_free(three);
    close(held);
    unlink(link);
    close(a);
    close(b);
}

static void emit_names(struct solar_device *dev)
{
    static const char *const names[] = {"cell_overvoltage", NULL, "short_circuit"};
    static struct solar_flags last;
    solar_emit_indexed(dev, "voltage", "cell", 0, 1);
    solar_emit_indexed(dev, "voltage", "cell", 7, 2);
    solar_emit_indexed(dev, "voltage", "cell", 16, 3);
    solar_emit_indexed(dev, "voltage", "cell", 123, 4);
    solar_emit_indexed(dev, "count", "x", 4294967295u, 5);
    /* 62 characters: "_" fits, the digits do not (type instances are at most 63). */
    solar_emit_indexed(dev, "gauge",
                       "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghij", 1, 6);
    solar_emit_flags(dev, "protection", names, 3, 0x5, &last);
    solar_emit_numbered(dev, "temperature", "ntc", 1, 7);
    solar_emit_numbered(dev, "temperature", "ntc", 10, 8);
    solar_emit_numbered(dev, "temperature", "ntc", 0, 9);
    solar_emit_joined(dev, "bool", "flag", "buzzer", 1);
}

/* The names of indexed values and flags, as "%s_%02u" and "%s_%s" would make them. */
static void test_value_names(void)
{
    struct solar_device *dev = device_on("/dev/fake-names");
    fake = (typeof(fake)){.emit = emit_names};
    is_int(poll_once(dev), 0, "names: polled");
    static const char *const expected[] = {
        "voltage-cell_00=1 ",
        "voltage-cell_07=2 ",
        "voltage-cell_16=3 ",
        "voltage-cell_123=4 ",
        "count-x_4294967295=5 ",
        "gauge-abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghij_=6 ",
        "bool-protection_cell_overvoltage=1 ",
        "bool-protection_short_circuit=1 ",
        "temperature-ntc_1=7 ",
        "temperature-ntc_10=8 ",
        "temperature-ntc_0=9 ",
        "bool-flag_buzzer=1 ",
    };
    for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++)
        ok(strstr(seen.values, expected[i]) != NULL, "names: %s", expected[i]);
    ok(strstr(seen.values, "protection_(null)") == NULL &&
           strstr(seen.values, "protection_=") == NULL,
       "names: an unnamed bit is skipped");
    fake = (typeof(fake)){0};
    solar_device_free(dev);
}

int main(void)
{
    test_checksums();
    test_options_parse();
    test_port_kinds();
    test_complaints();
    test_framed_reads();
    test_lifecycle();
    test_frame_need();
    test_line_end();
    test_line_end_silence();
    test_line_claim();
    test_value_names();
    return tap_done();
}
