/* One byte-stream interface over serial lines, TCP serial servers and USB-HID bridges.
 *
 * A port is chosen by the prefix of its specification string:
 *   PATH, serial:PATH     a tty (libserialport; pseudo-terminals through termios)
 *   tcp:HOST:PORT         a raw byte stream to a serial server
 *   hid:VID:PID, hid:PATH a USB-HID bridge exchanging 8-byte reports (hidapi, hidraw)
 * modbus-tcp: and luxdongle: are recognised so that drivers can reject or route them; they are
 * not opened here.
 *
 * Every read takes an absolute deadline (solar_now_ms() + timeout) and every function returns a
 * negative errno value on failure (see error.h). */
#ifndef SOLAR_PORT_H
#define SOLAR_PORT_H

#include <stddef.h>
#include <stdint.h>

enum solar_port_kind {
    SOLAR_PORT_SERIAL = 1 << 0,
    SOLAR_PORT_TCP = 1 << 1,
    SOLAR_PORT_HID = 1 << 2,
    SOLAR_PORT_MODBUS_TCP = 1 << 3,
    SOLAR_PORT_LUXDONGLE = 1 << 4,
};

struct solar_port;

/* A framer looks at the len bytes received so far, starting at buf[0]. It returns:
 *   n, 0 < n <= len   a complete frame of n bytes at buf[0];
 *   n > len           no frame yet, and none can complete before n bytes are in (a length the
 *                     header announced, or a minimum size): the port then waits for them in the
 *                     kernel instead of waking for every byte;
 *   0                 no frame yet, nothing known about its length;
 *   -k                discard k leading bytes (noise, a false start).
 * Before the first byte it is called once with len 0, to learn the shortest frame (or 0).
 * arg is passed through unchanged. */
typedef long (*solar_framer)(const uint8_t *buf, size_t len, const void *arg);

/* Milliseconds of CLOCK_MONOTONIC. */
int64_t solar_now_ms(void);

/* Returns the kind of spec and points *address past its prefix. Returns 0 for an empty spec or
 * an unknown prefix (anything with a colon before any slash, other than the known ones). */
enum solar_port_kind solar_port_kind_parse(const char *spec, const char **address);

/* Comma-separated names of the kinds in mask ("serial, tcp"), for error messages. */
const char *solar_port_kinds_describe(unsigned mask, char *buf, size_t cap);

/* Opens spec. baud applies to serial ports (8N1, no flow control); connecting to a TCP server
 * gives up at deadline. Errors: -ENOENT, -EACCES, -EBUSY, -ECONNREFUSED, -ETIMEDOUT,
 * -EINVAL (malformed spec), -EPROTONOSUPPORT (a kind that is not a byte stream). */
int solar_port_open(const char *spec, unsigned baud, int64_t deadline, struct solar_port **out);

/* As solar_port_open(), for a spec that several devices match (hid:VID:PID): opens the nth
 * (modulo their number) of the matching devices this process does not hold open already. */
int solar_port_open_nth(const char *spec, unsigned baud, int64_t deadline, unsigned nth,
                        struct solar_port **out);

/* How many devices solar_port_open_nth() chooses among for spec: 1 but for hid:VID:PID. */
unsigned solar_port_candidates(const char *spec);

void solar_port_close(struct solar_port *port);

/* Writes all of buf before deadline. */
int solar_port_write(struct solar_port *port, const uint8_t *buf, size_t len, int64_t deadline);

/* Changes the speed of an open serial port (8N1 stays), for devices that must be woken at one
 * rate and talked to at another (the Pylontech console: 1200, then 115200). Errors: -EINVAL for
 * a rate the line cannot do, -SOLAR_EUNSUPPORT (EOPNOTSUPP) for ports that are not serial. */
int solar_port_set_baud(struct solar_port *port, unsigned baud);

/* Makes a tty deliver input a line at a time, a line ending in the byte line_end or LF
 * (canonical mode without echo, signals or editing characters), so that a reader wakes once
 * per reply instead of once per byte. Every byte still arrives unchanged, binary ones too: a
 * frame holding line_end or LF before its end is only handed over in two parts. A no-op on
 * other kinds of port. Returns 0 or a negative errno value. */
int solar_port_set_line_end(struct solar_port *port, int line_end);

/* Discards whatever the device sent before now: the late answer to an earlier request that
 * timed out must never be taken for the answer to the next one. */
void solar_port_drain(struct solar_port *port);

/* Reads until framer finds a complete frame, which is left at buf[0]; returns its length.
 * Gives up at deadline, or at silence_deadline when not one byte has arrived by then (pass
 * deadline for no separate limit). Errors: -SOLAR_ETIMEDOUT, -SOLAR_ESHORT when cap fills
 * without a frame, -EPIPE when the peer closed, other negative errno values from the backend. */
long solar_port_read_frame(struct solar_port *port, uint8_t *buf, size_t cap, solar_framer framer,
                           const void *arg, int64_t silence_deadline, int64_t deadline);

/* True for errors after which the port must be closed and opened again (the device vanished
 * or the connection broke), false for protocol errors and timeouts on a healthy line. */
int solar_port_error_is_fatal(int err);

#endif
