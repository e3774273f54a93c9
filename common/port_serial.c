/* Serial backend: libserialport configures the ttys it knows; pseudo-terminals, which
 * libserialport 0.1.1 refuses because they have no /sys/class/tty entry, and any other tty it
 * cannot look up are configured with termios. Both end up as a non-blocking fd read through
 * the shared fd helpers. */
#include "port_backend.h"

#include "error.h"

#include <errno.h>
#include <fcntl.h>
#include <libserialport.h>
#include <limits.h>
#include <string.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

static const struct {
    unsigned baud;
    speed_t speed;
} termios_speeds[] = {
    {1200, B1200},   {2400, B2400},   {4800, B4800},     {9600, B9600},     {19200, B19200},
    {38400, B38400}, {57600, B57600}, {115200, B115200}, {230400, B230400}, {460800, B460800},
};

struct serial_port {
    struct solar_port port;
    struct termios tio; /* as set on the line, so that VMIN changes cost one ioctl */
};

/* With VTIME 0, poll() on a tty wakes only when VMIN bytes are in (n_tty), so a frame of known
 * length costs one wakeup instead of one per byte. VMIN is a byte: at most 255. TCSETS rather
 * than tcsetattr(), which reads the settings back twice around the one write that matters. */
static void serial_set_low_water(struct solar_port *port, size_t want)
{
    struct serial_port *serial = (struct serial_port *)port;
    size_t vmin = want < 255 ? want : 255;
    /* In line mode the kernel already wakes us once per line. */
    if (vmin == port->low_water || (serial->tio.c_lflag & ICANON))
        return;
    serial->tio.c_cc[VMIN] = (cc_t)vmin;
    serial->tio.c_cc[VTIME] = 0;
    if (ioctl(port->fd, TCSETS, &serial->tio) == 0)
        port->low_water = vmin;
}

static long serial_read(struct solar_port *port, uint8_t *buf, size_t cap, int64_t deadline,
                        size_t want)
{
    serial_set_low_water(port, want);
    return solar_fd_read(port->fd, buf, cap, deadline);
}

static int serial_write(struct solar_port *port, const uint8_t *buf, size_t len, int64_t deadline)
{
    /* No tcdrain(): it waits without a deadline (forever behind a stalled flow control) and
     * costs a wakeup per exchange on USB adapters. Nothing here needs the request gone before
     * reading: the reply's deadline already counts its wire time, and RS485 adapters turn
     * the line around by themselves (or in the kernel's TIOCSRS485 mode), not from here. */
    return solar_fd_write(port->fd, buf, len, deadline);
}

static void serial_drain(struct solar_port *port)
{
    tcflush(port->fd, TCIFLUSH);
}

/* Closes a line opened either way: through libserialport (sp) or as a bare fd. */
static void close_line(struct sp_port *sp, int fd)
{
    if (sp) {
        sp_close(sp);
        sp_free_port(sp);
    } else {
        close(fd);
    }
}

static speed_t termios_speed(unsigned baud)
{
    for (size_t i = 0; i < sizeof(termios_speeds) / sizeof(termios_speeds[0]); i++)
        if (termios_speeds[i].baud == baud)
            return termios_speeds[i].speed;
    return 0;
}

/* Changes the speed of an open line once what was written has left at the old one (the
 * Pylontech console's wake-up at 1200 baud, then 115200). The cached settings change with it,
 * or the next VMIN change would put the old speed back. */
static int serial_set_baud(struct solar_port *port, unsigned baud)
{
    struct serial_port *serial = (struct serial_port *)port;
    speed_t speed = termios_speed(baud);
    if (speed == 0)
        return -EINVAL;
    struct termios tio = serial->tio;
    cfsetispeed(&tio, speed);
    cfsetospeed(&tio, speed);
    if (tcsetattr(port->fd, TCSADRAIN, &tio) < 0)
        return -errno;
    serial->tio = tio;
    return 0;
}

static int serial_set_line_end(struct solar_port *port, int line_end)
{
    struct serial_port *serial = (struct serial_port *)port;
    struct termios tio = serial->tio;
    tio.c_lflag |= ICANON;
    tio.c_lflag &= ~(ECHO | ECHOE | ECHOK | ECHONL | ISIG | IEXTEN);
    tio.c_iflag &= ~(ICRNL | INLCR | IGNCR | IXON | IXOFF | ISTRIP);
    tio.c_cc[VEOL] = (cc_t)line_end;
    /* No byte may edit the line: an erase or kill character would delete received bytes, an
     * EOF one would end the line and vanish. Linux's line discipline treats a byte equal to
     * _POSIX_VDISABLE (0) as plain data, so binary frames pass whole (tests/unit/test_core). */
    tio.c_cc[VERASE] = tio.c_cc[VKILL] = tio.c_cc[VEOF] = _POSIX_VDISABLE;
    if (tcsetattr(port->fd, TCSANOW, &tio) < 0)
        return -errno;
    serial->tio = tio; /* so that no later change of the settings undoes this one */
    return 0;
}

/* In line mode the first bytes of a reply stay hidden until its end: a reply that trickles in
 * would pass for silence. A whole line by deadline is the usual answer; otherwise the line is
 * raw for a moment, where the kernel counts the bytes of the unfinished line too. Back in line
 * mode, those are handed over at once as a line of their own, the rest at its end. */
static int serial_await_input(struct solar_port *port, int64_t deadline)
{
    struct serial_port *serial = (struct serial_port *)port;
    if (!(serial->tio.c_lflag & ICANON))
        return 0;
    int err = solar_fd_wait_readable(port->fd, deadline);
    if (err != -SOLAR_ETIMEDOUT)
        return err < 0 ? err : 1;
    struct termios raw = serial->tio;
    raw.c_lflag &= ~ICANON;
    raw.c_cc[VMIN] = 1;
    raw.c_cc[VTIME] = 0;
    int waiting = 0;
    if (ioctl(port->fd, TCSETS, &raw) == 0) {
        ioctl(port->fd, FIONREAD, &waiting);
        ioctl(port->fd, TCSETS, &serial->tio);
    }
    return waiting > 0 ? 1 : -SOLAR_ETIMEDOUT;
}

static void serial_close(struct solar_port *port)
{
    close_line(port->handle, port->fd);
    free(port);
}

static const struct solar_port_ops serial_ops = {.name = "serial",
                                                 .read = serial_read,
                                                 .write = serial_write,
                                                 .drain = serial_drain,
                                                 .set_baud = serial_set_baud,
                                                 .set_line_end = serial_set_line_end,
                                                 .await_input = serial_await_input,
                                                 .close = serial_close};

static int open_with_termios(const char *path, unsigned baud, int *fd_out)
{
    speed_t speed = termios_speed(baud);
    if (speed == 0)
        return -EINVAL;

    int fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct termios tio;
    if (tcgetattr(fd, &tio) < 0) {
        int err = -errno;
        close(fd);
        return err;
    }
    cfmakeraw(&tio);
    tio.c_cflag |= CLOCAL | CREAD;
    tio.c_cflag &= ~(CSTOPB | PARENB | CRTSCTS);
    cfsetispeed(&tio, speed);
    cfsetospeed(&tio, speed);
    if (tcsetattr(fd, TCSANOW, &tio) < 0) {
        int err = -errno;
        close(fd);
        return err;
    }
    *fd_out = fd;
    return 0;
}

static int sp_error(enum sp_return ret)
{
    return ret == SP_ERR_FAIL ? -(sp_last_error_code() ? sp_last_error_code() : EIO) : -EINVAL;
}

/* Returns 1 when libserialport does not know the port (the caller falls back to termios). */
static int open_with_libserialport(const char *path, unsigned baud, struct sp_port **out, int *fd)
{
    struct sp_port *sp;
    if (sp_get_port_by_name(path, &sp) != SP_OK)
        return 1;
    enum sp_return ret;
    if ((ret = sp_open(sp, SP_MODE_READ_WRITE)) != SP_OK ||
        (ret = sp_set_baudrate(sp, (int)baud)) != SP_OK || (ret = sp_set_bits(sp, 8)) != SP_OK ||
        (ret = sp_set_parity(sp, SP_PARITY_NONE)) != SP_OK ||
        (ret = sp_set_stopbits(sp, 1)) != SP_OK ||
        (ret = sp_set_flowcontrol(sp, SP_FLOWCONTROL_NONE)) != SP_OK ||
        (ret = sp_get_port_handle(sp, fd)) != SP_OK) {
        int err = sp_error(ret);
        close_line(sp, -1);
        return err;
    }
    fcntl(*fd, F_SETFL, fcntl(*fd, F_GETFL) | O_NONBLOCK);
    *out = sp;
    return 0;
}

int solar_serial_open(const char *path, unsigned baud, struct solar_port **out)
{
    /* /dev/serial/by-id names are symlinks, which libserialport does not follow. */
    char real[PATH_MAX];
    struct stat st;
    if (!realpath(path, real) || stat(real, &st) < 0)
        return -errno;
    if (!S_ISCHR(st.st_mode))
        return -ENOTTY; /* a file or a directory: say so, not "invalid argument" */

    struct sp_port *sp = NULL;
    int fd = -1;
    int err = open_with_libserialport(real, baud, &sp, &fd);
    if (err == 1)
        err = open_with_termios(real, baud, &fd);
    if (err < 0)
        return err;

    /* One master per bus: a second process (solarpoll beside collectd) is refused, not mixed
     * into the same exchange. The lock is advisory and goes with the fd. */
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        err = errno == EWOULDBLOCK ? -EBUSY : -errno;
        close_line(sp, fd);
        return err;
    }

    struct serial_port *serial = calloc(1, sizeof(*serial));
    if (!serial || tcgetattr(fd, &serial->tio) < 0) {
        err = serial ? -errno : -ENOMEM;
        free(serial);
        close_line(sp, fd);
        return err;
    }
    struct solar_port *port = &serial->port;
    port->ops = &serial_ops;
    port->fd = fd;
    port->handle = sp;
    port->low_water = 0; /* unknown until the first read sets it */
    *out = port;
    return 0;
}
