/* What a driver is, what a device is, and the calls a driver makes during a poll.
 *
 * A driver is data plus three callbacks: a `const struct solar_driver` naming its options, the
 * port kinds it accepts and its metrics, with connect/poll/disconnect. The core owns everything
 * else: the port and the bus lock, deadlines, reconnecting, rate-limited logging, `bool-up`
 * and the lost/restored notifications. Drivers never include collectd headers; their values
 * leave through a sink that the host (collectd glue or solarpoll) provides. */
#ifndef SOLAR_DRIVER_H
#define SOLAR_DRIVER_H

#include "error.h"
#include "log.h"
#include "port.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct solar_device;

enum solar_option_type { SOLAR_OPT_STRING, SOLAR_OPT_INT, SOLAR_OPT_DOUBLE, SOLAR_OPT_BOOL };

/* One configuration key, as written in a collectd block or as solarpoll's KEY=VALUE. */
struct solar_option {
    const char *name; /* collectd spelling; matched case-insensitively */
    enum solar_option_type type;
    size_t offset;             /* into the driver's config struct */
    size_t size;               /* SOLAR_OPT_STRING: capacity of the char array */
    const char *default_value; /* NULL: none (Port is required) */
    double min, max;           /* numeric range, inclusive */
    const char *help;
};

#define SOLAR_OPTION_STRING(key, type, member, def, help)                                      \
    {                                                                                          \
        key, SOLAR_OPT_STRING, offsetof(type, member), sizeof(((type *)0)->member), def, 0, 0, \
            help                                                                               \
    }
#define SOLAR_OPTION_NUMBER(key, kind, type, member, def, lo, hi, help) \
    {                                                                   \
        key, kind, offsetof(type, member), 0, def, lo, hi, help         \
    }

/* Options every device has. A driver's config struct starts with this one. */
struct solar_config {
    char name[64];   /* plugin instance; default: derived from the port */
    char port[256];  /* port specification, see port.h */
    double interval; /* s; 0 = the host's default */
    double timeout;  /* s, for one exchange */
    int baud;
};

/* One line of `solarpoll metrics DRIVER`. type_instance may be a pattern ("cell_NN"). */
struct solar_metric_doc {
    const char *type;
    const char *type_instance;
    const char *unit;
    const char *help;
};

struct solar_driver {
    const char *name; /* plugin name: lower case, no '-' */
    const char *description;
    unsigned port_kinds; /* enum solar_port_kind mask */
    int default_baud;
    double default_timeout;
    /* s: the Timeout of `solarpoll scan --probe`, which asks each port whether this driver's
     * device answers its connect (identify) queries at the driver's defaults; 0: never probed.
     * Short, since most ports answer no protocol but one: the probe of a port costs the sum. */
    double probe_timeout;
    /* 0, or the byte that ends every reply (PI30's CR, JBD's 0x77): serial ports then hand
     * over a reply when it is complete (canonical tty input), not as each byte or FIFO load
     * arrives. The byte may occur inside a reply too; the reader then wakes once more. */
    int line_end;
    const struct solar_option *options;     /* the driver's own keys, ended by a NULL name */
    size_t config_size;                     /* >= sizeof(struct solar_config) */
    size_t state_size;                      /* zeroed before each connect */
    const struct solar_metric_doc *metrics; /* ended by a NULL type */

    /* Identifies the device once its port is open. Returns 0 or a negative error. */
    int (*connect)(struct solar_device *dev);
    /* One poll: exchanges and solar_emit() calls. Returns 0 when the device answered. */
    int (*poll)(struct solar_device *dev);
    /* Optional: releases what connect set up in dev->state. */
    void (*disconnect)(struct solar_device *dev);
    /* Optional: checks what the driver's keys cannot check one value at a time (a list syntax,
     * a choice of words), called by solar_config_finish(). Returns 0, or -EINVAL with a message
     * naming the key in err. */
    int (*check_config)(const void *cfg, char *err, size_t errlen);
};

enum solar_severity { SOLAR_SEVERITY_OKAY, SOLAR_SEVERITY_WARNING, SOLAR_SEVERITY_FAILURE };

/* Where values go. instance is the plugin instance ("pack", "rack-2"). */
struct solar_sink {
    void (*value)(void *ctx, const char *instance, const char *type, const char *type_instance,
                  double value);
    void (*notify)(void *ctx, enum solar_severity severity, const char *instance,
                   const char *message);
    void *ctx;
};

/* The last state of a set of named bits, so that changes become notifications. */
struct solar_flags {
    uint64_t bits;
    bool known;
};

struct solar_bus;

struct solar_device {
    const struct solar_driver *driver;
    struct solar_config *config; /* the driver's config struct */
    void *state;                 /* driver_state_size bytes, zeroed at each connect */
    struct solar_bus *bus;
    const struct solar_sink *sink; /* valid during a poll */
    char instance[96];             /* plugin instance of the values being emitted */
    int line_end; /* the driver's line_end; connect may change it before its first exchange */
    bool connected;
    bool up;
    bool reported; /* up has been reported at least once */
    unsigned failures;
    int64_t retry_at_ms;
    int last_error;
    struct solar_complaint complaint;
};

/* --- configuration (options.c) --- */

/* Fills cfg (config_size bytes) with the driver's defaults. */
void solar_config_init(const struct solar_driver *drv, void *cfg);
/* Sets key to the text value. Returns 0, or -EINVAL with a message naming the key in err. */
int solar_config_set(const struct solar_driver *drv, void *cfg, const char *key, const char *value,
                     char *err, size_t errlen);
/* Parses a solarpoll word "KEY=VALUE" the same way. */
int solar_config_set_word(const struct solar_driver *drv, void *cfg, const char *word, char *err,
                          size_t errlen);
/* Checks what one key alone cannot: Port present and of a kind the driver accepts; derives the
 * name from the port when none was given. */
int solar_config_finish(const struct solar_driver *drv, void *cfg, char *err, size_t errlen);
/* Calls fn for every option of drv, the common ones first. */
void solar_config_each_option(const struct solar_driver *drv,
                              void (*fn)(const struct solar_option *opt, void *ctx), void *ctx);

/* --- devices (device.c) --- */

/* Creates a device owning cfg (allocated with malloc, config_size bytes, finished). Fails with
 * -EADDRINUSE when another device uses the same port at another baud rate. */
int solar_device_new(const struct solar_driver *drv, void *cfg, struct solar_device **out);
void solar_device_free(struct solar_device *dev);

/* Connects (identifies) without polling, as solarpoll scan --probe does: 0 when the driver's
 * connect queries were answered, else their error. The device stays connected (its port open)
 * until solar_device_free(). */
int solar_device_connect(struct solar_device *dev);

/* One poll through the lifecycle: connects when needed (after a backoff), polls, emits
 * `bool-up`, notifies lost/restored on edges, logs failures through a rate limiter. Never emits
 * a value that this poll did not read. Returns 0 when the device answered, else its error. */
int solar_device_poll(struct solar_device *dev, const struct solar_sink *sink);

/* --- calls for drivers, during connect and poll --- */

/* Sends req and reads one frame found by framer into buf, under the bus lock, within
 * timeout_ms (0: the device's Timeout) from the moment the bus is ours; gives up sooner when
 * silence_ms (0: no such limit) pass without one byte of answer. Stale input is drained first.
 * Returns the frame length or a negative error; after a fatal port error the port is closed and
 * reopened by the next exchange. */
long solar_exchange(struct solar_device *dev, const uint8_t *req, size_t req_len, uint8_t *buf,
                    size_t cap, solar_framer framer, const void *arg, int timeout_ms,
                    int silence_ms);

/* For drivers that drive the line through another library (libmodbus opens its own fd): holds
 * the device's bus lock, so that no other device on the same port talks in between. Every
 * exchange between the two calls must carry its own deadline. */
void solar_bus_lock(struct solar_device *dev);
void solar_bus_unlock(struct solar_device *dev);

/* For the same drivers: claims the device's serial line for this process with the lock the
 * serial backend takes on the lines it opens (flock), so that a second master (solarpoll
 * beside collectd) is refused before it touches the line, whichever driver either runs. The
 * devices of one process on one bus share the claim; it lasts while any of them exists, and
 * is taken again when the line is a new device under the same name (an adapter plugged back).
 * Call before opening the line. Returns 0 (also for ports that are not serial lines), -EBUSY
 * when another process holds the line, or a negative errno from opening it. */
int solar_bus_claim_line(struct solar_device *dev);

/* Changes the line speed of the device's port (opened first when needed) under the bus lock,
 * for a wake-up at another rate. A port opened again after a fatal error has the configured
 * Baud. Errors as solar_port_set_baud() and solar_port_open(). */
int solar_bus_set_baud(struct solar_device *dev, unsigned baud);

/* Values of the unit n on a bus are emitted as NAME-n; n = 0 returns to NAME. */
void solar_set_unit(struct solar_device *dev, unsigned n);

/* Emits one value; NAN is skipped (a field the device does not send). */
void solar_emit(struct solar_device *dev, const char *type, const char *type_instance,
                double value);
/* Emits type-PREFIX_NN, NN = index zero-padded to two digits ("cell_01"). */
void solar_emit_indexed(struct solar_device *dev, const char *type, const char *prefix,
                        unsigned index, double value);
/* Emits type-PREFIX_N, N unpadded: sensors a device numbers itself ("ntc_1"). */
void solar_emit_numbered(struct solar_device *dev, const char *type, const char *prefix, unsigned n,
                         double value);
/* Emits type-PREFIX_NAME ("flag_buzzer"). Names longer than a type instance (63) are cut. */
void solar_emit_joined(struct solar_device *dev, const char *type, const char *prefix,
                       const char *name, double value);
/* Emits bool-PREFIX_NAME for every named bit of bits, and notifies each bit that changed since
 * the last call (and, on the first call, each bit that is set). Unnamed (NULL) bits are skipped. */
void solar_emit_flags(struct solar_device *dev, const char *prefix, const char *const *names,
                      unsigned count, uint64_t bits, struct solar_flags *last);

__attribute__((format(printf, 3, 4))) void
solar_notify(struct solar_device *dev, enum solar_severity severity, const char *fmt, ...);

/* Logs with the device's driver and name in front. */
__attribute__((format(printf, 3, 4))) void
solar_device_log(struct solar_device *dev, enum solar_log_level level, const char *fmt, ...);

#endif
