/* The fd-based backends' shared reading and writing, and the tcp backend. */
#include "port_backend.h"

#include "error.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int wait_fd(int fd, short events, int64_t deadline)
{
    for (;;) {
        int64_t left = deadline - solar_now_ms();
        if (left < 0)
            left = 0;
        struct pollfd pfd = {.fd = fd, .events = events};
        int r = poll(&pfd, 1, (int)left);
        if (r > 0) {
            if (pfd.revents & POLLNVAL)
                return -EBADF;
            return 0; /* readable, writable, or an error that read/write will report */
        }
        if (r == 0)
            return -SOLAR_ETIMEDOUT;
        if (errno != EINTR)
            return -errno;
    }
}

int solar_fd_wait_readable(int fd, int64_t deadline)
{
    return wait_fd(fd, POLLIN, deadline);
}

long solar_fd_read(int fd, uint8_t *buf, size_t cap, int64_t deadline)
{
    for (;;) {
        int err = wait_fd(fd, POLLIN, deadline);
        /* At the deadline, bytes below the low-water mark are still bytes: take them, so that
         * a slow talker is not mistaken for a silent one. */
        ssize_t n = read(fd, buf, cap);
        if (n > 0)
            return n;
        if (n == 0 && err == 0)
            return -EPIPE;
        if (err < 0)
            return err;
        if (n < 0 && errno != EAGAIN && errno != EINTR)
            return -errno;
    }
}

int solar_fd_write(int fd, const uint8_t *buf, size_t len, int64_t deadline)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n > 0) {
            buf += n;
            len -= (size_t)n;
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EINTR)
            return -errno;
        int err = wait_fd(fd, POLLOUT, deadline);
        if (err < 0)
            return err;
    }
    return 0;
}

/* What is waiting now, not what keeps coming: a peer that never stops sending (a hostile TCP
 * peer, a babbling line) must not hold the exchange here; the rest is noise to the framer. */
#define DRAIN_MAX_BYTES (64 * 1024)

void solar_fd_drain(int fd)
{
    uint8_t scrap[256];
    size_t drained = 0;
    ssize_t n;
    while (drained < DRAIN_MAX_BYTES && (n = read(fd, scrap, sizeof(scrap))) > 0)
        drained += (size_t)n;
}

static long tcp_read(struct solar_port *port, uint8_t *buf, size_t cap, int64_t deadline,
                     size_t want)
{
    if (want != port->low_water) {
        int lowat = (int)want;
        setsockopt(port->fd, SOL_SOCKET, SO_RCVLOWAT, &lowat, sizeof(lowat));
        port->low_water = want;
    }
    return solar_fd_read(port->fd, buf, cap, deadline);
}

static int tcp_write(struct solar_port *port, const uint8_t *buf, size_t len, int64_t deadline)
{
    return solar_fd_write(port->fd, buf, len, deadline);
}

static void tcp_drain(struct solar_port *port)
{
    solar_fd_drain(port->fd);
}

static void tcp_close(struct solar_port *port)
{
    close(port->fd);
    free(port);
}

static const struct solar_port_ops tcp_ops = {
    .name = "tcp", .read = tcp_read, .write = tcp_write, .drain = tcp_drain, .close = tcp_close};

/* Splits "HOST:PORT" or "[V6]:PORT" in place. */
static int split_host_port(char *address, char **host, char **service)
{
    char *colon = strrchr(address, ':');
    if (!colon || colon == address || colon[1] == '\0')
        return -EINVAL;
    *colon = '\0';
    *service = colon + 1;
    *host = address;
    size_t n = strlen(address);
    if (address[0] == '[' && address[n - 1] == ']') {
        address[n - 1] = '\0';
        *host = address + 1;
    }
    return 0;
}

static int connect_before(const struct addrinfo *ai, int64_t deadline)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0)
        return -errno;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 && errno != EINPROGRESS) {
        int err = -errno;
        close(fd);
        return err;
    }
    int err = wait_fd(fd, POLLOUT, deadline);
    int soerr = 0;
    socklen_t len = sizeof(soerr);
    if (err == 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == 0 && soerr != 0)
        err = -soerr;
    if (err < 0) {
        close(fd);
        return err;
    }
    /* Requests are a few bytes each: send them at once rather than waiting for more. */
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

/* Opens a TCP connection with the tcp backend's operations; drivers with their own framing over
 * TCP (the LuxPower dongle) use it too through solar_port_open("tcp:..."). */
int solar_tcp_open(const char *address, int64_t deadline, struct solar_port **out)
{
    char copy[256];
    char *host, *service;
    if (strlen(address) >= sizeof(copy))
        return -EINVAL;
    strcpy(copy, address);
    if (split_host_port(copy, &host, &service) < 0)
        return -EINVAL;

    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *list;
    if (getaddrinfo(host, service, &hints, &list) != 0)
        return -EHOSTUNREACH;
    int fd = -EHOSTUNREACH;
    for (struct addrinfo *ai = list; ai && fd < 0; ai = ai->ai_next)
        fd = connect_before(ai, deadline);
    freeaddrinfo(list);
    if (fd < 0)
        return fd;

    struct solar_port *port = calloc(1, sizeof(*port));
    if (!port) {
        close(fd);
        return -ENOMEM;
    }
    port->ops = &tcp_ops;
    port->fd = fd;
    port->low_water = 1;
    *out = port;
    return 0;
}
