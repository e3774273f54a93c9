/* HID backend: USB-HID serial bridges (Voltronic 0665:5161) that carry the byte stream in
 * 8-byte reports, written with report number 0 and read until the framer is satisfied. */
#include "port_backend.h"

#include "error.h"

#include <errno.h>
#include <hidapi.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HID_REPORT_LEN 8

static pthread_once_t hid_once = PTHREAD_ONCE_INIT;
static int hid_init_status;

static void hid_init_once(void)
{
    hid_init_status = hid_init();
}

/* Reports arrive whole: want has nothing to gather. */
static long hid_port_read(struct solar_port *port, uint8_t *buf, size_t cap, int64_t deadline,
                          size_t want)
{
    (void)want;
    uint8_t report[64];
    for (;;) {
        int64_t left = deadline - solar_now_ms();
        int n = hid_read_timeout(port->handle, report, sizeof(report), left > 0 ? (int)left : 0);
        if (n < 0)
            return -EIO;
        if (n > 0) {
            size_t take = (size_t)n < cap ? (size_t)n : cap;
            memcpy(buf, report, take);
            return (long)take;
        }
        if (left <= 0)
            return -SOLAR_ETIMEDOUT;
    }
}

static int hid_port_write(struct solar_port *port, const uint8_t *buf, size_t len, int64_t deadline)
{
    (void)deadline; /* hidraw writes of 9 bytes complete at once or fail */
    for (size_t off = 0; off < len; off += HID_REPORT_LEN) {
        uint8_t report[1 + HID_REPORT_LEN] = {0}; /* report number 0, then the payload */
        size_t chunk = len - off < HID_REPORT_LEN ? len - off : HID_REPORT_LEN;
        memcpy(report + 1, buf + off, chunk);
        if (hid_write(port->handle, report, sizeof(report)) < 0)
            return -EIO;
    }
    return 0;
}

static void hid_port_drain(struct solar_port *port)
{
    uint8_t report[64];
    while (hid_read_timeout(port->handle, report, sizeof(report), 0) > 0)
        continue;
}

static void hid_port_close(struct solar_port *port)
{
    hid_close(port->handle);
    free(port);
}

static const struct solar_port_ops hid_ops = {.name = "hid",
                                              .read = hid_port_read,
                                              .write = hid_port_write,
                                              .drain = hid_port_drain,
                                              .close = hid_port_close};

int solar_hid_open(const char *address, struct solar_port **out)
{
    pthread_once(&hid_once, hid_init_once);
    if (hid_init_status < 0)
        return -EIO;

    unsigned vid, pid;
    char tail;
    hid_device *dev;
    if (address[0] != '/' && sscanf(address, "%4x:%4x%c", &vid, &pid, &tail) == 2)
        dev = hid_open((unsigned short)vid, (unsigned short)pid, NULL);
    else if (address[0] == '/')
        dev = hid_open_path(address);
    else
        return -EINVAL;
    if (!dev)
        return -ENODEV;

    struct solar_port *port = calloc(1, sizeof(*port));
    if (!port) {
        hid_close(dev);
        return -ENOMEM;
    }
    port->ops = &hid_ops;
    port->fd = -1;
    port->handle = dev;
    *out = port;
    return 0;
}
