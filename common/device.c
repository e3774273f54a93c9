/* The device lifecycle (connect -> identify -> poll; on failure close, back off, reconnect) and
 * the bus: devices naming one port share one open port and take its lock per exchange. */
#include "driver.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* A failed connect that cost time (a silent line holds a read thread for its Timeout) is not
 * tried again for 1, 2, then 4 s; one that failed at once (no such port, connection refused)
 * costs nothing and is tried at the next poll. The cap keeps recovery within one interval at
 * the usual Intervals (>= 4 s) and a dead device's share of a read thread low at Interval 1. */
#define BACKOFF_FIRST_MS 1000
#define BACKOFF_MAX_MS   4000
#define CHEAP_FAILURE_MS 100

struct solar_bus {
    char key[PATH_MAX]; /* the port spec, with a serial path resolved */
    char spec[256];
    int baud;
    unsigned nth; /* which of the devices the spec matches (hid:VID:PID) */
    unsigned refs;
    struct solar_port *port; /* NULL until the first exchange, and after a fatal error */
    int claim_fd;            /* the line claimed for a driver that opens it itself, or -1 */
    pthread_mutex_t lock;
    struct solar_bus *next;
};

static pthread_mutex_t buses_lock = PTHREAD_MUTEX_INITIALIZER;
static struct solar_bus *buses;

/* Two names for one tty (a by-id symlink and /dev/ttyUSB0) must find the same bus. A USB-HID
 * bridge is no bus (one bridge, one device): devices naming hid:VID:PID each get their own and
 * are told apart by identity. */
static void bus_key(const char *spec, const char *name, char *key, size_t cap)
{
    const char *address;
    char real[PATH_MAX];
    enum solar_port_kind kind = solar_port_kind_parse(spec, &address);
    if (kind == SOLAR_PORT_SERIAL && realpath(address, real))
        snprintf(key, cap, "%s", real);
    else if (kind == SOLAR_PORT_HID && address[0] != '/')
        snprintf(key, cap, "%s#%s", spec, name);
    else
        snprintf(key, cap, "%s", spec);
}

static int bus_get(const char *spec, const char *name, int baud, struct solar_bus **out)
{
    char key[PATH_MAX];
    bus_key(spec, name, key, sizeof(key));
    int err = 0;
    pthread_mutex_lock(&buses_lock);
    struct solar_bus *bus = buses;
    while (bus && strcmp(bus->key, key) != 0)
        bus = bus->next;
    if (bus && bus->baud != baud) {
        err = -EADDRINUSE;
    } else if (bus) {
        bus->refs++;
    } else if ((bus = calloc(1, sizeof(*bus))) == NULL) {
        err = -ENOMEM;
    } else {
        snprintf(bus->key, sizeof(bus->key), "%s", key);
        snprintf(bus->spec, sizeof(bus->spec), "%s", spec);
        bus->baud = baud;
        bus->refs = 1;
        bus->claim_fd = -1;
        pthread_mutex_init(&bus->lock, NULL);
        bus->next = buses;
        buses = bus;
    }
    pthread_mutex_unlock(&buses_lock);
    *out = bus;
    return err;
}

static void bus_put(struct solar_bus *bus)
{
    pthread_mutex_lock(&buses_lock);
    if (--bus->refs == 0) {
        for (struct solar_bus **p = &buses; *p; p = &(*p)->next) {
            if (*p == bus) {
                *p = bus->next;
                break;
            }
        }
        solar_port_close(bus->port);
        if (bus->claim_fd >= 0)
            close(bus->claim_fd);
        pthread_mutex_destroy(&bus->lock);
        free(bus);
    }
    pthread_mutex_unlock(&buses_lock);
}

int solar_device_new(const struct solar_driver *drv, void *cfg, struct solar_device **out)
{
    struct solar_config *config = cfg;
    struct solar_device *dev = calloc(1, sizeof(*dev));
    if (!dev)
        return -ENOMEM;
    dev->state = calloc(1, drv->state_size ? drv->state_size : 1);
    if (!dev->state) {
        free(dev);
        return -ENOMEM;
    }
    int err = bus_get(config->port, config->name, config->baud, &dev->bus);
    if (err < 0) {
        free(dev->state);
        free(dev);
        return err;
    }
    dev->driver = drv;
    dev->config = config;
    dev->line_end = drv->line_end;
    *out = dev;
    return 0;
}

static void device_disconnect(struct solar_device *dev)
{
    if (dev->connected && dev->driver->disconnect)
        dev->driver->disconnect(dev);
    dev->connected = false;
}

void solar_device_free(struct solar_device *dev)
{
    if (!dev)
        return;
    device_disconnect(dev);
    bus_put(dev->bus);
    free(dev->state);
    free(dev->config);
    free(dev);
}

long solar_exchange(struct solar_device *dev, const uint8_t *req, size_t req_len, uint8_t *buf,
                    size_t cap, solar_framer framer, const void *arg, int timeout_ms,
                    int silence_ms)
{
    struct solar_bus *bus = dev->bus;
    pthread_mutex_lock(&bus->lock);
    /* The deadline starts once the bus is ours: waiting for a neighbour's exchange is not the
     * device's silence. Each holder is bounded by its own deadline. */
    if (timeout_ms <= 0)
        timeout_ms = (int)(dev->config->timeout * 1000);
    int64_t now = solar_now_ms();
    int64_t deadline = now + timeout_ms;
    int64_t silence_deadline = silence_ms > 0 ? now + silence_ms : deadline;
    long r = 0;
    if (!bus->port) {
        r = solar_port_open_nth(bus->spec, (unsigned)bus->baud, deadline, bus->nth, &bus->port);
        if (r == 0 && dev->line_end)
            r = solar_port_set_line_end(bus->port, dev->line_end);
        if (r < 0 && bus->port) {
            solar_port_close(bus->port);
            bus->port = NULL;
        }
    }
    if (r == 0) {
        solar_port_drain(bus->port);
        r = solar_port_write(bus->port, req, req_len, deadline);
    }
    if (r == 0)
        r = solar_port_read_frame(bus->port, buf, cap, framer, arg, silence_deadline, deadline);
    if (r < 0 && bus->port && solar_port_error_is_fatal((int)r)) {
        solar_port_close(bus->port);
        bus->port = NULL;
    }
    pthread_mutex_unlock(&bus->lock);
    return r;
}

void solar_bus_lock(struct solar_device *dev)
{
    pthread_mutex_lock(&dev->bus->lock);
}

void solar_bus_unlock(struct solar_device *dev)
{
    pthread_mutex_unlock(&dev->bus->lock);
}

/* Whether fd is still the tty that path names: a USB adapter unplugged and plugged back is a
 * new device under the old name, and a claim on the old one holds nothing. */
static bool claim_current(int fd, const char *path)
{
    struct stat held, now;
    return fstat(fd, &held) == 0 && stat(path, &now) == 0 && held.st_rdev == now.st_rdev &&
           held.st_ino == now.st_ino;
}

int solar_bus_claim_line(struct solar_device *dev)
{
    struct solar_bus *bus = dev->bus;
    const char *path;
    if (solar_port_kind_parse(bus->spec, &path) != SOLAR_PORT_SERIAL)
        return 0;
    int err = 0;
    pthread_mutex_lock(&bus->lock);
    if (bus->claim_fd >= 0 && !claim_current(bus->claim_fd, path)) {
        close(bus->claim_fd);
        bus->claim_fd = -1;
    }
    if (bus->claim_fd < 0) {
        /* Read-only and non-blocking: the descriptor only carries the lock, and opening must
         * not wait for a modem line or change the line's settings. */
        int fd = open(path, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0) {
            err = -errno;
        } else if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
            err = errno == EWOULDBLOCK ? -EBUSY : -errno;
            close(fd);
        } else {
            bus->claim_fd = fd;
        }
    }
    pthread_mutex_unlock(&bus->lock);
    return err;
}

int solar_bus_set_baud(struct solar_device *dev, unsigned baud)
{
    struct solar_bus *bus = dev->bus;
    pthread_mutex_lock(&bus->lock);
    int err = 0;
    if (!bus->port)
        err = solar_port_open(bus->spec, (unsigned)bus->baud,
                              solar_now_ms() + (int64_t)(dev->config->timeout * 1000), &bus->port);
    if (err == 0)
        err = solar_port_set_baud(bus->port, baud);
    pthread_mutex_unlock(&bus->lock);
    return err;
}

void solar_emit(struct solar_device *dev, const char *type, const char *type_instance, double value)
{
    if (!isnan(value))
        dev->sink->value(dev->sink->ctx, dev->instance, type, type_instance, value);
}

/* PREFIX, separator, SUFFIX into name, cut to cap - 1 bytes as snprintf would. Every indexed
 * value and flag of every poll is named here: printf's machinery cost 80% of a JBD poll's own
 * work. */
static void join_name(char *name, size_t cap, const char *prefix, char separator,
                      const char *suffix)
{
    size_t used = strnlen(prefix, cap - 1);
    memcpy(name, prefix, used);
    if (used < cap - 1)
        name[used++] = separator;
    size_t tail = strnlen(suffix, cap - 1 - used);
    memcpy(name + used, suffix, tail);
    name[used + tail] = '\0';
}

/* n in decimal with at least width digits, in the end of digits[12]; returns its start. */
static const char *decimal(unsigned n, unsigned width, char digits[12])
{
    char *d = digits + 11;
    *d = '\0';
    do {
        *--d = (char)('0' + n % 10);
        n /= 10;
    } while (n > 0 || digits + 11 - d < (ptrdiff_t)width);
    return d;
}

void solar_set_unit(struct solar_device *dev, unsigned n)
{
    /* Once per pack per poll: no printf (see join_name). */
    char digits[12];
    if (n > 0) {
        join_name(dev->instance, sizeof(dev->instance), dev->config->name, '-',
                  decimal(n, 1, digits));
        return;
    }
    _Static_assert(sizeof(dev->config->name) < sizeof(dev->instance), "a name fits an instance");
    size_t len = strnlen(dev->config->name, sizeof(dev->config->name));
    memcpy(dev->instance, dev->config->name, len);
    dev->instance[len] = '\0';
}

/* Emits type-PREFIX_N, N in decimal with at least width digits. */
static void emit_numbered(struct solar_device *dev, const char *type, const char *prefix,
                          unsigned n, unsigned width, double value)
{
    char digits[12], type_instance[64];
    join_name(type_instance, sizeof(type_instance), prefix, '_', decimal(n, width, digits));
    solar_emit(dev, type, type_instance, value);
}

void solar_emit_indexed(struct solar_device *dev, const char *type, const char *prefix,
                        unsigned index, double value)
{
    emit_numbered(dev, type, prefix, index, 2, value);
}

void solar_emit_numbered(struct solar_device *dev, const char *type, const char *prefix, unsigned n,
                         double value)
{
    emit_numbered(dev, type, prefix, n, 1, value);
}

void solar_emit_joined(struct solar_device *dev, const char *type, const char *prefix,
                       const char *name, double value)
{
    char type_instance[64];
    join_name(type_instance, sizeof(type_instance), prefix, '_', name);
    solar_emit(dev, type, type_instance, value);
}

static void notify_va(struct solar_device *dev, enum solar_severity severity, const char *fmt,
                      va_list ap)
{
    char message[256];
    vsnprintf(message, sizeof(message), fmt, ap);
    dev->sink->notify(dev->sink->ctx, severity, dev->instance, message);
}

void solar_notify(struct solar_device *dev, enum solar_severity severity, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    notify_va(dev, severity, fmt, ap);
    va_end(ap);
}

void solar_emit_flags(struct solar_device *dev, const char *prefix, const char *const *names,
                      unsigned count, uint64_t bits, struct solar_flags *last)
{
    for (unsigned i = 0; i < count && i < 64; i++) {
        if (!names[i])
            continue;
        bool set = (bits >> i) & 1;
        bool was = (last->bits >> i) & 1;
        solar_emit_joined(dev, "bool", prefix, names[i], set);
        if (last->known ? set != was : set)
            solar_notify(dev, set ? SOLAR_SEVERITY_WARNING : SOLAR_SEVERITY_OKAY, "%s %s %s",
                         prefix, names[i], set ? "set" : "cleared");
    }
    last->bits = bits;
    last->known = true;
}

void solar_device_log(struct solar_device *dev, enum solar_log_level level, const char *fmt, ...)
{
    char message[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    solar_log(level, "\"%s\" (%s): %s", dev->config->name, dev->config->port, message);
}

static int device_connect_once(struct solar_device *dev)
{
    memset(dev->state, 0, dev->driver->state_size ? dev->driver->state_size : 1);
    dev->connected = true;
    int err = dev->driver->connect ? dev->driver->connect(dev) : 0;
    if (err < 0)
        device_disconnect(dev);
    return err;
}

/* Connects; when the port spec matches several devices (hid:VID:PID with several inverters
 * plugged in) and the driver finds another identity than configured (-SOLAR_EMISMATCH), the
 * next device is tried, each at most once. */
static int device_connect(struct solar_device *dev)
{
    struct solar_bus *bus = dev->bus;
    int err = device_connect_once(dev);
    for (unsigned tried = 1; err == -SOLAR_EMISMATCH; tried++) {
        pthread_mutex_lock(&bus->lock);
        solar_port_close(bus->port);
        bus->port = NULL;
        bus->nth++;
        pthread_mutex_unlock(&bus->lock);
        if (tried >= solar_port_candidates(bus->spec))
            break;
        err = device_connect_once(dev);
    }
    return err;
}

int solar_device_connect(struct solar_device *dev)
{
    return dev->connected ? 0 : device_connect(dev);
}

static void report_down(struct solar_device *dev, int err, int64_t now)
{
    solar_set_unit(dev, 0);
    if (!dev->reported || dev->up)
        solar_notify(dev, SOLAR_SEVERITY_FAILURE, "%s is not answering: %s", dev->driver->name,
                     solar_strerror(err));
    solar_complain(&dev->complaint, SOLAR_LOG_ERR, now, "\"%s\" (%s): %s", dev->config->name,
                   dev->config->port, solar_strerror(err));
    dev->up = false;
    dev->reported = true;
    dev->last_error = err;
    solar_emit(dev, "bool", "up", 0);
}

static void report_up(struct solar_device *dev)
{
    solar_set_unit(dev, 0);
    if (dev->reported && !dev->up)
        solar_notify(dev, SOLAR_SEVERITY_OKAY, "%s is answering again", dev->driver->name);
    solar_complaint_release(&dev->complaint, "\"%s\" (%s): answering again", dev->config->name,
                            dev->config->port);
    dev->up = true;
    dev->reported = true;
    dev->failures = 0;
    dev->retry_at_ms = 0;
    solar_emit(dev, "bool", "up", 1);
}

static void schedule_retry(struct solar_device *dev, int64_t attempt_start)
{
    int64_t now = solar_now_ms();
    if (now - attempt_start < CHEAP_FAILURE_MS) {
        dev->retry_at_ms = 0;
        return;
    }
    int64_t backoff = BACKOFF_FIRST_MS;
    for (unsigned i = 0; i < dev->failures && backoff < BACKOFF_MAX_MS; i++)
        backoff *= 2;
    dev->failures++;
    dev->retry_at_ms = now + (backoff < BACKOFF_MAX_MS ? backoff : BACKOFF_MAX_MS);
}

int solar_device_poll(struct solar_device *dev, const struct solar_sink *sink)
{
    dev->sink = sink;
    solar_set_unit(dev, 0);
    int64_t now = solar_now_ms();
    int err;
    if (!dev->connected) {
        if (now < dev->retry_at_ms) {
            /* Backing off: nothing was read, so only the state is reported. */
            solar_emit(dev, "bool", "up", 0);
            return dev->last_error;
        }
        err = device_connect(dev);
        if (err < 0) {
            schedule_retry(dev, now);
            report_down(dev, err, now);
            return err;
        }
    }
    err = dev->driver->poll(dev);
    if (err < 0) {
        /* Reconnect (and identify again) at the next poll: the device may have been swapped. */
        device_disconnect(dev);
        report_down(dev, err, now);
        return err;
    }
    report_up(dev);
    return 0;
}
