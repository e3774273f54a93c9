#include "port_backend.h"

#include "error.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static const struct {
    const char *prefix;
    enum solar_port_kind kind;
    const char *name;
} port_prefixes[] = {
    {"serial:", SOLAR_PORT_SERIAL, "serial"},
    {"tcp:", SOLAR_PORT_TCP, "tcp"},
    {"hid:", SOLAR_PORT_HID, "hid"},
    {"modbus-tcp:", SOLAR_PORT_MODBUS_TCP, "modbus-tcp"},
    {"luxdongle:", SOLAR_PORT_LUXDONGLE, "luxdongle"},
};

#define N_PREFIXES (sizeof(port_prefixes) / sizeof(port_prefixes[0]))

int64_t solar_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

enum solar_port_kind solar_port_kind_parse(const char *spec, const char **address)
{
    if (spec == NULL || spec[0] == '\0')
        return 0;
    for (size_t i = 0; i < N_PREFIXES; i++) {
        size_t n = strlen(port_prefixes[i].prefix);
        if (strncmp(spec, port_prefixes[i].prefix, n) == 0) {
            *address = spec + n;
            return **address ? port_prefixes[i].kind : 0;
        }
    }
    /* A bare path; "foo:bar" with no slash before the colon is a mistyped prefix. */
    const char *colon = strchr(spec, ':');
    const char *slash = strchr(spec, '/');
    if (colon && (!slash || colon < slash))
        return 0;
    *address = spec;
    return SOLAR_PORT_SERIAL;
}

const char *solar_port_kinds_describe(unsigned mask, char *buf, size_t cap)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < N_PREFIXES; i++) {
        if (!(mask & port_prefixes[i].kind) || used >= cap)
            continue;
        int n = snprintf(buf + used, cap - used, "%s%s", used ? ", " : "", port_prefixes[i].name);
        used += n > 0 ? (size_t)n : 0;
    }
    return buf;
}

int solar_port_open(const char *spec, unsigned baud, int64_t deadline, struct solar_port **out)
{
    return solar_port_open_nth(spec, baud, deadline, 0, out);
}

unsigned solar_port_candidates(const char *spec)
{
    const char *address = NULL;
    if (solar_port_kind_parse(spec, &address) == SOLAR_PORT_HID)
        return solar_hid_candidates(address);
    return 1;
}

int solar_port_open_nth(const char *spec, unsigned baud, int64_t deadline, unsigned nth,
                        struct solar_port **out)
{
    const char *address = NULL;
    switch (solar_port_kind_parse(spec, &address)) {
    case SOLAR_PORT_SERIAL:
        return solar_serial_open(address, baud, out);
    case SOLAR_PORT_TCP:
        return solar_tcp_open(address, deadline, out);
    case SOLAR_PORT_HID:
        return solar_hid_open(address, nth, out);
    case SOLAR_PORT_MODBUS_TCP:
    case SOLAR_PORT_LUXDONGLE:
        return -EPROTONOSUPPORT;
    default:
        return -EINVAL;
    }
}

void solar_port_close(struct solar_port *port)
{
    if (port)
        port->ops->close(port);
}

int solar_port_write(struct solar_port *port, const uint8_t *buf, size_t len, int64_t deadline)
{
    return port->ops->write(port, buf, len, deadline);
}

int solar_port_set_baud(struct solar_port *port, unsigned baud)
{
    return port->ops->set_baud ? port->ops->set_baud(port, baud) : -EOPNOTSUPP;
}

int solar_port_set_line_end(struct solar_port *port, int line_end)
{
    return port->ops->set_line_end ? port->ops->set_line_end(port, line_end) : 0;
}

void solar_port_drain(struct solar_port *port)
{
    port->ops->drain(port);
}

long solar_port_read_frame(struct solar_port *port, uint8_t *buf, size_t cap, solar_framer framer,
                           const void *arg, int64_t silence_deadline, int64_t deadline)
{
    size_t have = 0;
    int64_t wait_until = silence_deadline < deadline ? silence_deadline : deadline;
    bool late = false;
    if (wait_until < deadline && port->ops->await_input) {
        int begun = port->ops->await_input(port, wait_until);
        if (begun < 0)
            return begun;
        if (begun > 0)
            wait_until = deadline; /* the device is talking: it gets the whole time */
    }
    for (;;) {
        /* With nothing buffered (at the start, or after noise or an echo was skipped) the
         * framer can still tell the shortest frame. */
        long verdict = framer(buf, have, arg);
        while (have > 0 && verdict < 0) {
            size_t skip = (size_t)-verdict < have ? (size_t)-verdict : have;
            memmove(buf, buf + skip, have - skip);
            have -= skip;
            verdict = framer(buf, have, arg);
        }
        if (have > 0 && verdict > 0 && (size_t)verdict <= have)
            return verdict;
        /* Bytes that were there at the deadline have been looked at; a peer that never stops
         * talking (noise, an endless reply) must not keep the exchange reading past it. */
        if (late)
            return -SOLAR_ETIMEDOUT;
        size_t want = verdict > 0 && (size_t)verdict > have ? (size_t)verdict - have : 1;
        if (have == cap)
            return -SOLAR_ESHORT;
        if (want > cap - have)
            want = cap - have;
        long n = port->ops->read(port, buf + have, cap - have, wait_until, want);
        if (n < 0)
            return n;
        have += (size_t)n;
        wait_until = deadline; /* the device is talking: it gets the whole time */
        late = solar_now_ms() >= deadline;
    }
}

int solar_port_error_is_fatal(int err)
{
    switch (-err) {
    case SOLAR_ETIMEDOUT:
    case SOLAR_EBADCRC:
    case SOLAR_EFRAME:
    case SOLAR_ESHORT:
    case SOLAR_EMISMATCH:
    case SOLAR_EDEVICE:
    case SOLAR_EUNSUPPORT:
        return 0;
    default:
        return 1;
    }
}
