#include "log.h"

#include <stdarg.h>
#include <stdio.h>

#define COMPLAINT_FIRST_REPEAT_MS 60000
#define COMPLAINT_MAX_REPEAT_MS   86400000

static const char *const level_names[] = {"error", "warning", "info", "debug"};

static void log_to_stderr(enum solar_log_level level, const char *message)
{
    fprintf(stderr, "%s: %s\n", level_names[level], message);
}

static solar_log_handler log_handler = log_to_stderr;

void solar_log_set_handler(solar_log_handler handler)
{
    log_handler = handler ? handler : log_to_stderr;
}

static void log_va(enum solar_log_level level, const char *fmt, va_list ap)
{
    char message[1024];
    vsnprintf(message, sizeof(message), fmt, ap);
    log_handler(level, message);
}

void solar_log(enum solar_log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_va(level, fmt, ap);
    va_end(ap);
}

int solar_complain(struct solar_complaint *c, enum solar_log_level level, int64_t now_ms,
                   const char *fmt, ...)
{
    if (c->next_ms != 0 && now_ms < c->next_ms) {
        c->repeats++;
        return 0;
    }
    c->interval_ms = c->next_ms == 0 ? COMPLAINT_FIRST_REPEAT_MS : c->interval_ms * 2;
    if (c->interval_ms > COMPLAINT_MAX_REPEAT_MS)
        c->interval_ms = COMPLAINT_MAX_REPEAT_MS;
    c->next_ms = now_ms + c->interval_ms;

    char message[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    if (c->repeats > 0)
        solar_log(level, "%s (%u times since the last message)", message, c->repeats + 1);
    else
        solar_log(level, "%s", message);
    c->repeats = 0;
    return 1;
}

int solar_complaint_release(struct solar_complaint *c, const char *fmt, ...)
{
    if (c->next_ms == 0)
        return 0;
    c->next_ms = 0;
    c->repeats = 0;
    va_list ap;
    va_start(ap, fmt);
    log_va(SOLAR_LOG_INFO, fmt, ap);
    va_end(ap);
    return 1;
}
