/* The table each port backend fills in; private to common/. */
#ifndef SOLAR_PORT_BACKEND_H
#define SOLAR_PORT_BACKEND_H

#include "port.h"

struct solar_port_ops {
    const char *name;
    /* Reads what is available once want bytes are (or, at deadline, whatever is). Returns the
     * byte count (> 0), -SOLAR_ETIMEDOUT when nothing came, -EPIPE on end of stream, or another
     * negative errno. want is a hint: a backend may return fewer bytes earlier. */
    long (*read)(struct solar_port *port, uint8_t *buf, size_t cap, int64_t deadline, size_t want);
    int (*write)(struct solar_port *port, const uint8_t *buf, size_t len, int64_t deadline);
    void (*drain)(struct solar_port *port);
    /* Optional (serial only): changes the line speed of the open port. */
    int (*set_baud)(struct solar_port *port, unsigned baud);
    int (*set_line_end)(struct solar_port *port, int line_end); /* NULL: not a tty */
    /* Optional: for a port whose reads cannot see a reply begin (a tty in line mode hands over
     * nothing before the line's end), waits until deadline for input. Returns 1 when a reply
     * has begun (whole or not), -SOLAR_ETIMEDOUT when nothing came, or 0 when the reads see
     * it themselves. */
    int (*await_input)(struct solar_port *port, int64_t deadline);
    void (*close)(struct solar_port *port);
};

struct solar_port {
    const struct solar_port_ops *ops;
    int fd;           /* serial and tcp backends */
    void *handle;     /* libserialport or hidapi handle */
    size_t low_water; /* bytes the kernel gathers before poll() wakes us (VMIN, SO_RCVLOWAT) */
};

int solar_serial_open(const char *path, unsigned baud, struct solar_port **out);
int solar_tcp_open(const char *address, int64_t deadline, struct solar_port **out);
int solar_hid_open(const char *address, unsigned nth, struct solar_port **out);
unsigned solar_hid_candidates(const char *address);

/* Helpers for the fd-based backends. */
long solar_fd_read(int fd, uint8_t *buf, size_t cap, int64_t deadline);
/* Waits until fd is readable (0) or deadline (-SOLAR_ETIMEDOUT). */
int solar_fd_wait_readable(int fd, int64_t deadline);
int solar_fd_write(int fd, const uint8_t *buf, size_t len, int64_t deadline);
void solar_fd_drain(int fd);

#endif
