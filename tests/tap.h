/* A minimal TAP producer for the unit tests: automake's tap-driver counts each `ok` line, so
 * `make check` reports one result per frame or case, not one per program.
 *
 *   ok(cond, "what")            a case passes when cond holds
 *   is_int(got, want, "what")   integers, printing both on failure
 *   is_num(got, want, "what")   doubles, equal to 1e-9 relative
 *   is_str(got, want, "what")   strings
 *   return tap_done();          prints the plan, exit status 1 when a case failed
 */
#ifndef SOLAR_TAP_H
#define SOLAR_TAP_H

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int tap_count, tap_failures;

__attribute__((format(printf, 4, 5), unused)) static int tap_ok(int pass, const char *file,
                                                                int line, const char *fmt, ...)
{
    va_list ap;
    printf("%sok %d - ", pass ? "" : "not ", ++tap_count);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    if (!pass) {
        tap_failures++;
        printf("#   at %s:%d\n", file, line);
    }
    fflush(stdout);
    return pass;
}

#define ok(cond, ...) tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

#define is_int(got, want, ...)                                           \
    do {                                                                 \
        long long tap_g_ = (long long)(got), tap_w_ = (long long)(want); \
        if (!ok(tap_g_ == tap_w_, __VA_ARGS__))                          \
            printf("#   got %lld, want %lld\n", tap_g_, tap_w_);         \
    } while (0)

#define is_num(got, want, ...)                                                         \
    do {                                                                               \
        double tap_g_ = (got), tap_w_ = (want);                                        \
        if (!ok(fabs(tap_g_ - tap_w_) <= 1e-9 * fmax(1.0, fabs(tap_w_)), __VA_ARGS__)) \
            printf("#   got %.9g, want %.9g\n", tap_g_, tap_w_);                       \
    } while (0)

#define is_str(got, want, ...)                                                           \
    do {                                                                                 \
        const char *tap_g_ = (got), *tap_w_ = (want);                                    \
        if (!ok(tap_g_ && tap_w_ && strcmp(tap_g_, tap_w_) == 0, __VA_ARGS__))           \
            printf("#   got \"%s\", want \"%s\"\n", tap_g_ ? tap_g_ : "(null)", tap_w_); \
    } while (0)

__attribute__((unused)) static int tap_done(void)
{
    printf("1..%d\n", tap_count);
    return tap_failures ? 1 : 0;
}

/* Parses "DD 03 00 1d ..." (spaces optional) into buf; returns the byte count or -1. */
__attribute__((unused)) static int tap_hex(const char *hex, unsigned char *buf, size_t cap)
{
    size_t n = 0;
    while (*hex) {
        unsigned int byte;
        if (*hex == ' ') {
            hex++;
            continue;
        }
        if (n == cap || sscanf(hex, "%2x", &byte) != 1)
            return -1;
        buf[n++] = (unsigned char)byte;
        hex += 2;
    }
    return (int)n;
}

#endif
