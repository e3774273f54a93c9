/* The voltronic driver over the HID backend, against a fake hidapi: no hidraw device can exist
 * in CI, so this file implements the hidapi calls the core makes and hands them to it with
 * solar_hid_api_use() in place of the library it would load. The fake behaves as the Cypress bridge
 * of the protocol notes (section 3): 9-byte writes (report number 0 + 8 bytes), 8-byte NUL-padded
 * reports read back, one report per read, reports queued until read. */
#include "driver.h"
#include "protocol.h"
#include "tap.h"

#include "checksum.h"
#include "hid_api.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern const struct solar_driver voltronic_driver;

/* --- the fake bridge --- */

#define FAKE_DEVICES 3
#define QUEUE_MAX    128

struct hid_device_ {
    int index;
    bool open;
};

static struct fake {
    char path[32];
    bool present;
    bool broken; /* unplugged while open: every call fails as on ENODEV */
    const char *serial;
    uint8_t rx[64]; /* command bytes received so far */
    size_t rx_len;
    uint8_t queue[QUEUE_MAX][8];
    unsigned head, tail;
    unsigned writes, bad_writes, opens;
    char last_command[32];
    unsigned last_command_reports;
    unsigned reports_since_command;
    struct hid_device_ handle;
} fakes[FAKE_DEVICES];

static void fake_queue_bytes(struct fake *f, const uint8_t *data, size_t len)
{
    for (size_t off = 0; off < len; off += 8) {
        uint8_t *report = f->queue[f->tail++ % QUEUE_MAX];
        memset(report, 0, 8);
        memcpy(report, data + off, len - off < 8 ? len - off : 8);
    }
}

static void fake_reply(struct fake *f, const char *payload)
{
    uint8_t frame[256];
    size_t n = strlen(payload);
    frame[0] = '(';
    memcpy(frame + 1, payload, n);
    uint16_t crc = solar_crc16_xmodem(frame, n + 1);
    frame[n + 1] = (uint8_t)(crc >> 8);
    frame[n + 2] = (uint8_t)crc;
    /* Replies escape the reserved bytes but keep a raw 0x00. */
    for (int i = 1; i <= 2; i++)
        if (frame[n + i] == 0x28 || frame[n + i] == 0x0D || frame[n + i] == 0x0A)
            frame[n + i]++;
    frame[n + 3] = '\r';
    fake_queue_bytes(f, frame, n + 4);
}

#define QPIGS_PV(pv)                                                                              \
    "000.0 00.0 230.0 49.9 0161 0119 003 460 57.50 012 100 0069 0014 103.8 57.45 00000 00110110 " \
    "00 00 " pv " 010"
#define QPIGS_PAYLOAD                                                                             \
    "000.0 00.0 230.0 49.9 0161 0119 003 460 57.50 012 100 0069 0014 103.8 57.45 00000 00110110 " \
    "00 00 00856 010"

static const char *fake_answer(const struct fake *f, const char *command)
{
    static const struct {
        const char *command, *payload;
    } table[] = {
        {"QPI", "PI30"},
        {"QVFW", "VERFW:00072.70"},
        {"QPIGS", QPIGS_PAYLOAD},
        {"QPIGS2", "03.1 327.3 01026 "},
        {"QMOD", "L"},
        {"QPIWS", "000001000000000000000000000000000000"},
        {"QPIRI", "230.0 21.7 230.0 50.0 21.7 5000 4000 48.0 46.0 42.0 56.4 54.0 0 10 010 1 0 0 6 "
                  "01 0 0 54.0 0 1"},
        {"QFLAG", "EakxyDbjuvz"},
        {"QDI", "230.0 50.0 0030 42.0 54.0 56.4 46.0 60 0 0 2 0 0 0 0 0 1 1 1 0 1 0 54.0 0 1 000"},
    };
    if (strcmp(command, "QID") == 0)
        return f->serial;
    /* Inverters told apart by their values too: PV power 111 W for serial 1..., 222 W for 2... */
    if (strcmp(command, "QPIGS") == 0 && (f->serial[0] == '1' || f->serial[0] == '2'))
        return f->serial[0] == '1' ? QPIGS_PV("00111") : QPIGS_PV("00222");
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
        if (strcmp(command, table[i].command) == 0)
            return table[i].payload;
    return NULL;
}

/* A whole request arrived: check its CRC as the inverter would, answer. */
static void fake_command(struct fake *f, const uint8_t *req, size_t len)
{
    char command[32] = "";
    uint8_t expected[VOLTRONIC_REQUEST_MAX];
    if (len >= 3 && len - 2 < sizeof(command)) {
        memcpy(command, req, len - 2);
        command[len - 2] = '\0';
    }
    size_t n = voltronic_request_build(command, expected);
    snprintf(f->last_command, sizeof(f->last_command), "%s", command);
    f->last_command_reports = f->reports_since_command;
    f->reports_since_command = 0;
    const char *payload = fake_answer(f, command);
    if (n != len + 1 || memcmp(expected, req, len) != 0 || !payload)
        fake_reply(f, "NAK");
    else
        fake_reply(f, payload);
}

static int fake_init(void)
{
    return 0;
}

static hid_device *fake_open(int i)
{
    struct fake *f = &fakes[i];
    if (!f->present || f->handle.open)
        return NULL;
    f->handle.index = i;
    f->handle.open = true;
    f->broken = false;
    f->opens++;
    f->rx_len = 0;
    return &f->handle;
}

static hid_device *fake_open_path(const char *path)
{
    for (int i = 0; i < FAKE_DEVICES; i++)
        if (fakes[i].present && strcmp(fakes[i].path, path) == 0)
            return fake_open(i);
    return NULL;
}

static struct hid_device_info *fake_enumerate(unsigned short vid, unsigned short pid)
{
    struct hid_device_info *list = NULL;
    for (int i = FAKE_DEVICES - 1; i >= 0; i--) {
        if (!fakes[i].present || vid != 0x0665 || pid != 0x5161)
            continue;
        struct hid_device_info *d = calloc(1, sizeof(*d));
        d->path = strdup(fakes[i].path);
        d->vendor_id = vid;
        d->product_id = pid;
        d->next = list;
        list = d;
    }
    return list;
}

static void fake_free_enumeration(struct hid_device_info *devs)
{
    while (devs) {
        struct hid_device_info *next = devs->next;
        free(devs->path);
        free(devs);
        devs = next;
    }
}

static void fake_close(hid_device *dev)
{
    dev->open = false;
}

static int fake_write(hid_device *dev, const unsigned char *data, size_t length)
{
    struct fake *f = &fakes[dev->index];
    if (f->broken || !f->present)
        return -1;
    f->writes++;
    f->reports_since_command++;
    if (length != 9 || data[0] != 0) {
        f->bad_writes++;
        return -1;
    }
    for (size_t i = 1; i < 9; i++) {
        /* NUL padding after a CR is not part of the next command. */
        if (data[i] == 0 && f->rx_len == 0)
            continue;
        if (f->rx_len < sizeof(f->rx))
            f->rx[f->rx_len++] = data[i];
        if (data[i] == '\r') {
            fake_command(f, f->rx, f->rx_len - 1);
            f->rx_len = 0;
            break;
        }
    }
    return (int)length;
}

static int fake_read_timeout(hid_device *dev, unsigned char *data, size_t length, int ms)
{
    struct fake *f = &fakes[dev->index];
    if (f->broken || !f->present)
        return -1;
    if (f->head == f->tail) {
        usleep((useconds_t)(ms < 20 ? ms : 20) * 1000);
        return 0;
    }
    size_t n = length < 8 ? length : 8;
    memcpy(data, f->queue[f->head++ % QUEUE_MAX], n);
    return (int)n;
}

/* --- a sink that keeps the last poll's values --- */

#define MAX_VALUES 256
static struct {
    char instance[96], name[96];
    double value;
} values[MAX_VALUES];
static unsigned value_count;

static void sink_value(void *ctx, const char *instance, const char *type, const char *ti,
                       double value)
{
    (void)ctx;
    if (value_count < MAX_VALUES) {
        snprintf(values[value_count].instance, sizeof(values[0].instance), "%s", instance);
        snprintf(values[value_count].name, sizeof(values[0].name), "%s-%s", type, ti);
        values[value_count++].value = value;
    }
}

static void sink_notify(void *ctx, enum solar_severity s, const char *instance, const char *msg)
{
    (void)ctx, (void)s, (void)instance, (void)msg;
}

static const struct solar_sink sink = {sink_value, sink_notify, NULL};

static double value_of(const char *name)
{
    for (unsigned i = 0; i < value_count; i++)
        if (strcmp(values[i].name, name) == 0)
            return values[i].value;
    return NAN;
}

static void quiet_log(enum solar_log_level level, const char *message)
{
    (void)level, (void)message;
}

static struct solar_device *device_for(const char *port, const char *serial)
{
    const struct solar_driver *drv = &voltronic_driver;
    void *cfg = malloc(drv->config_size);
    char err[256];
    solar_config_init(drv, cfg);
    int status = solar_config_set(drv, cfg, "Port", port, err, sizeof(err));
    if (status == 0)
        status = solar_config_set(drv, cfg, "Timeout", "0.3", err, sizeof(err));
    if (status == 0 && serial) {
        status = solar_config_set(drv, cfg, "Serial", serial, err, sizeof(err));
        /* Devices are told apart by name: the serial names them here. */
        if (status == 0)
            status = solar_config_set(drv, cfg, "Name", serial, err, sizeof(err));
    }
    if (status == 0)
        status = solar_config_finish(drv, cfg, err, sizeof(err));
    struct solar_device *dev = NULL;
    if (status != 0 || solar_device_new(drv, cfg, &dev) != 0) {
        printf("# device %s: %s\n", port, err);
        free(cfg);
        return NULL;
    }
    return dev;
}

static int poll_once(struct solar_device *dev)
{
    value_count = 0;
    return solar_device_poll(dev, &sink);
}

static void plug(int i, const char *path, const char *serial)
{
    memset(&fakes[i], 0, sizeof(fakes[i]));
    snprintf(fakes[i].path, sizeof(fakes[i].path), "%s", path);
    fakes[i].serial = serial;
    fakes[i].present = true;
}

static const struct solar_hid_api fake_hidapi = {
    .init = fake_init,
    .enumerate = fake_enumerate,
    .free_enumeration = fake_free_enumeration,
    .open_path = fake_open_path,
    .close = fake_close,
    .write = fake_write,
    .read_timeout = fake_read_timeout,
};

int main(void)
{
    solar_log_set_handler(quiet_log);
    solar_hid_api_use(&fake_hidapi);
    plug(0, "/dev/hidraw0", "92932105105335");

    struct solar_device *dev = device_for("hid:0665:5161", NULL);
    ok(dev != NULL, "a device on hid:0665:5161");
    if (!dev)
        return tap_done();
    is_int(poll_once(dev), 0, "HID: the poll succeeds");
    is_num(value_of("voltage-battery_scc"), 57.45,
           "HID: voltage-battery_scc 57.45 from 15 reports");
    is_num(value_of("power-pv1"), 856, "HID: power-pv1 856");
    is_num(value_of("power-pv2"), 1026, "HID: QPIGS2 (9 bytes on the wire) answered: power-pv2");
    is_num(value_of("bool-warning_line_fail"), 1, "HID: QPIWS bit 5 through the reports");
    is_num(value_of("bool-up"), 1, "HID: bool-up 1");
    is_int(fakes[0].bad_writes, 0, "HID: every write is report number 0 + 8 bytes");
    is_str(fakes[0].last_command, "QDI", "HID: the settings were read last");

    /* One more poll, then look at how the commands went out. */
    poll_once(dev);
    is_str(fakes[0].last_command, "QPIWS", "HID: second poll ends with QPIWS");
    is_int(fakes[0].last_command_reports, 1, "HID: QPIWS (8 bytes) went in one report");

    /* A 9-byte command needs two reports. */
    struct solar_device *only2 = NULL;
    {
        const struct solar_driver *drv = &voltronic_driver;
        void *cfg = malloc(drv->config_size);
        char err[256];
        solar_config_init(drv, cfg);
        solar_config_set(drv, cfg, "Port", "hid:/dev/hidraw0", err, sizeof(err));
        solar_config_set(drv, cfg, "Commands", "QPIGS2", err, sizeof(err));
        solar_config_set(drv, cfg, "Timeout", "0.3", err, sizeof(err));
        solar_config_finish(drv, cfg, err, sizeof(err));
        solar_device_free(dev); /* one process, one handle on the bridge */
        dev = NULL;
        solar_device_new(drv, cfg, &only2);
    }
    is_int(poll_once(only2), 0, "HID by path: Commands QPIGS2 polls");
    is_str(fakes[0].last_command, "QPIGS2", "HID: QPIGS2 arrived whole");
    is_int(fakes[0].last_command_reports, 2, "HID: QPIGS2h-\\r took two 8-byte reports");
    is_num(value_of("current-pv2"), 3.1, "HID: current-pv2 3.1");
    solar_device_free(only2);

    /* Stale reports of an earlier reply that timed out are drained before each command. */
    dev = device_for("hid:0665:5161", NULL);
    is_int(poll_once(dev), 0, "HID: a fresh device polls");
    fake_reply(&fakes[0], "111.1 11.1 111.1 11.1 0111 0111 011 111 11.11 011 011 0011 0011 111.1 "
                          "11.11 00000 00000000 00 00 00111 000");
    is_int(poll_once(dev), 0, "HID: poll with stale reports queued");
    is_num(value_of("voltage-battery_scc"), 57.45, "HID: the stale reply was drained, not read");

    /* Unplugged: hidapi fails (ENODEV/EIO); the bridge comes back as another hidraw node. */
    fakes[0].broken = true;
    ok(poll_once(dev) < 0, "HID unplugged: the poll fails");
    is_num(value_of("bool-up"), 0, "HID unplugged: bool-up 0");
    ok(isnan(value_of("power-pv1")), "HID unplugged: no stale value");
    fakes[0].present = false;
    plug(1, "/dev/hidraw3", "92932105105335");
    is_int(poll_once(dev), 0, "HID re-plugged as hidraw3: found again by VID:PID");
    ok(fakes[1].opens == 1, "HID: the new node opened");
    is_num(value_of("power-pv1"), 856, "HID re-plugged: values again");
    solar_device_free(dev);

    /* hid:PATH: the node vanishes and comes back under another number; its VID:PID finds it. */
    dev = device_for("hid:/dev/hidraw3", NULL);
    is_int(poll_once(dev), 0, "HID by path: polls");
    fakes[1].broken = true;
    ok(poll_once(dev) < 0, "HID by path, unplugged: the poll fails");
    fakes[1].present = false;
    plug(2, "/dev/hidraw7", "92932105105335");
    is_int(poll_once(dev), 0, "HID by path: found again as hidraw7 by its VID:PID");
    is_int(fakes[2].opens, 1, "HID by path: hidraw7 opened");
    solar_device_free(dev);
    fakes[2].present = false;

    /* Two inverters plugged in: Serial picks one, whichever hidraw node comes first. */
    plug(0, "/dev/hidraw0", "11111111111111");
    plug(1, "/dev/hidraw1", "22222222222222");
    struct solar_device *a = device_for("hid:0665:5161", "22222222222222");
    is_int(poll_once(a), 0, "two inverters, Serial of the second: found");
    is_num(value_of("power-pv1"), 222, "two inverters: the values are the second's");
    struct solar_device *b = device_for("hid:0665:5161", "11111111111111");
    is_int(poll_once(b), 0, "a second device, Serial of the first: found");
    is_num(value_of("power-pv1"), 111, "the second device reads the first inverter");
    is_int(poll_once(a), 0, "the first device still polls");
    is_num(value_of("power-pv1"), 222, "and still reads its own inverter");

    /* Both re-enumerate with their hidraw numbers swapped: each finds its own again. */
    fakes[0].broken = fakes[1].broken = true;
    ok(poll_once(a) < 0 && poll_once(b) < 0, "both unplugged: both polls fail");
    plug(0, "/dev/hidraw0", "22222222222222");
    plug(1, "/dev/hidraw1", "11111111111111");
    is_int(poll_once(b), 0, "swapped: the device of 111... polls");
    is_num(value_of("power-pv1"), 111, "swapped: and reads 111...");
    is_int(poll_once(a), 0, "swapped: the device of 222... polls");
    is_num(value_of("power-pv1"), 222, "swapped: and reads 222...");
    solar_device_free(a);
    solar_device_free(b);

    /* No inverter with that serial: refused, no value but bool-up. */
    dev = device_for("hid:0665:5161", "33333333333333");
    is_int(poll_once(dev), -SOLAR_EMISMATCH, "Serial of no inverter plugged in: refused");
    is_int(value_count, 1, "refused: only bool-up is emitted");
    solar_device_free(dev);

    return tap_done();
}
