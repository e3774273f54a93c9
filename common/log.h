/* Logging from the core and the drivers goes through one handler that the host installs:
 * collectd's plugin_log in the plugins, stderr with Telegraf's prefixes in solarpoll. */
#ifndef SOLAR_LOG_H
#define SOLAR_LOG_H

#include <stdint.h>

enum solar_log_level { SOLAR_LOG_ERR, SOLAR_LOG_WARNING, SOLAR_LOG_INFO, SOLAR_LOG_DEBUG };

typedef void (*solar_log_handler)(enum solar_log_level level, const char *message);

/* Installs handler; NULL restores the default, which writes to stderr. */
void solar_log_set_handler(solar_log_handler handler);

__attribute__((format(printf, 2, 3))) void solar_log(enum solar_log_level level, const char *fmt,
                                                     ...);

/* A repeated failure is logged when it starts, then at doubling intervals (up to a day), and
 * its end once: collectd's c_complain, without the daemon. Zero-initialise before use. */
struct solar_complaint {
    int64_t next_ms;     /* 0: not complaining */
    int64_t interval_ms; /* time to the next repetition */
    unsigned repeats;    /* failures since the last line logged */
};

/* Logs fmt when c is due, and returns 1 when it did. */
__attribute__((format(printf, 4, 5))) int solar_complain(struct solar_complaint *c,
                                                         enum solar_log_level level, int64_t now_ms,
                                                         const char *fmt, ...);

/* Ends a complaint; logs fmt (at INFO) only when one was open. Returns 1 when it logged. */
__attribute__((format(printf, 2, 3))) int solar_complaint_release(struct solar_complaint *c,
                                                                  const char *fmt, ...);

#endif
