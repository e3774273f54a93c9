/* Serial backend: libserialport configures real UARTs; pseudo-terminals, which libserialport
 * 0.1.1 refuses because they have no /sys/class/tty entry, are configured with termios. Both
 * end up as a non-blocking fd read through the shared fd helpers. */
#include "port_backend.h"

#include "error.h"

#include <errno.h>
#include <fcntl.h>
#include <libserialport.h>
#include <limits.h>
#include <string.h>
#include <stdlib.h>
#include <sys/file.h>
#include <termios.h>
#include <unistd.h>

static const struct {
    unsigned baud;
    speed_t speed;
} termios_speeds[] = {
    {1200, B1200},   {2400, B2400},   {4800, B4800},     {9600, B9600},     {19200, B19200},
    {38400, B38400}, {57600, B57600}, {115200, B115200}, {230400, B230400}, {460800, B460800},
};

static long serial_read(struct solar_port *port, uint8_t *buf, size_t cap, int64_t deadline)
{
    return solar_fd_read(port->fd, buf, cap, deadline);
}

static int serial_write(struct solar_port *port, const uint8_t *buf, size_t len, int64_t deadline)
{
    int err = solar_fd_write(port->fd, buf, len, deadline);
    if (err < 0)
        return err;
    /* Half-duplex RS485 adapters turn the line around after the last bit: let it leave first. */
    tcdrain(port->fd);
    return 0;
}

static void serial_drain(struct solar_port *port)
{
    tcflush(port->fd, TCIFLUSH);
    solar_fd_drain(port->fd);
}

static int serial_set_line_end(struct solar_port *port, int line_end)
{
    struct termios tio;
    if (tcgetattr(port->fd, &tio) < 0)
        return -errno;
    tio.c_lflag |= ICANON;
    tio.c_lflag &= ~(ECHO | ECHOE | ECHOK | ECHONL | ISIG | IEXTEN);
    tio.c_iflag &= ~(ICRNL | INLCR | IGNCR | IXON | IXOFF | ISTRIP);
    tio.c_cc[VEOL] = (cc_t)line_end;
    /* The editing characters must not match a CRC byte: LF, which such protocols never send
     * inside a frame, rather than 0 (a disabled character, but also a byte a CRC may hold). */
    tio.c_cc[VERASE] = tio.c_cc[VKILL] = tio.c_cc[VEOF] = '\n';
    return tcsetattr(port->fd, TCSANOW, &tio) < 0 ? -errno : 0;
}

static void serial_close(struct solar_port *port)
{
    if (port->handle) {
        sp_close(port->handle);
        sp_free_port(port->handle);
    } else {
        close(port->fd);
    }
    free(port);
}

static const struct solar_port_ops serial_ops = {.name = "serial",
                                                 .read = serial_read,
                                                 .write = serial_write,
                                                 .drain = serial_drain,
                                                 .set_line_end = serial_set_line_end,
                                                 .close = serial_close};

static int open_with_termios(const char *path, unsigned baud, int *fd_out)
{
    speed_t speed = 0;
    for (size_t i = 0; i < sizeof(termios_speeds) / sizeof(termios_speeds[0]); i++)
        if (termios_speeds[i].baud == baud)
            speed = termios_speeds[i].speed;
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

static int open_with_libserialport(const char *path, unsigned baud, struct sp_port **out, int *fd)
{
    struct sp_port *sp;
    enum sp_return ret = sp_get_port_by_name(path, &sp);
    if (ret != SP_OK)
        return sp_error(ret);
    if ((ret = sp_open(sp, SP_MODE_READ_WRITE)) != SP_OK ||
        (ret = sp_set_baudrate(sp, (int)baud)) != SP_OK || (ret = sp_set_bits(sp, 8)) != SP_OK ||
        (ret = sp_set_parity(sp, SP_PARITY_NONE)) != SP_OK ||
        (ret = sp_set_stopbits(sp, 1)) != SP_OK ||
        (ret = sp_set_flowcontrol(sp, SP_FLOWCONTROL_NONE)) != SP_OK ||
        (ret = sp_get_port_handle(sp, fd)) != SP_OK) {
        int err = sp_error(ret);
        sp_close(sp);
        sp_free_port(sp);
        return err;
    }
    fcntl(*fd, F_SETFL, fcntl(*fd, F_GETFL) | O_NONBLOCK);
    *out = sp;
    return 0;
}

static int is_pseudo_terminal(const char *path)
{
    return strncmp(path, "/dev/pts/", 9) == 0 || strcmp(path, "/dev/ptmx") == 0;
}

int solar_serial_open(const char *path, unsigned baud, struct solar_port **out)
{
    /* /dev/serial/by-id names are symlinks, which libserialport does not follow. */
    char real[PATH_MAX];
    if (!realpath(path, real))
        return -errno;

    struct sp_port *sp = NULL;
    int fd = -1;
    int err = is_pseudo_terminal(real) ? open_with_termios(real, baud, &fd)
                                       : open_with_libserialport(real, baud, &sp, &fd);
    if (err < 0)
        return err;

    /* One master per bus: a second process (solarpoll beside collectd) is refused, not mixed
     * into the same exchange. The lock is advisory and goes with the fd. */
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        err = errno == EWOULDBLOCK ? -EBUSY : -errno;
        sp ? (sp_close(sp), sp_free_port(sp)) : (void)close(fd);
        return err;
    }

    struct solar_port *port = calloc(1, sizeof(*port));
    if (!port) {
        sp ? (sp_close(sp), sp_free_port(sp)) : (void)close(fd);
        return -ENOMEM;
    }
    port->ops = &serial_ops;
    port->fd = fd;
    port->handle = sp;
    *out = port;
    return 0;
}
