/* What `solarpoll scan` prints: the description of a port and a collectd <Device> block. Pure
 * formatting, no I/O but the FILE it is given, so that the unit test checks it byte for byte. */
#ifndef SOLARPOLL_SCAN_FORMAT_H
#define SOLARPOLL_SCAN_FORMAT_H

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>

struct scan_port {
    char path[PATH_MAX];   /* as listed or as given: a path or a port spec (hid:..., tcp:...) */
    char kind[16];         /* "serial", "hidraw", or the kind of a port spec ("tcp") */
    const char *transport; /* "usb", "native", "bluetooth", "pty"; NULL: unknown */
    int vid, pid;          /* -1: not known to be a USB device */
    char manufacturer[128];
    char product[128];
    char serial[128];
    char bluetooth[32];   /* the address of an rfcomm port */
    char by_id[PATH_MAX]; /* the /dev/serial/by-id name that points at the port, or "" */
    int error;            /* a negative errno when the port could not be looked at */
};

/* The known USB device vid:pid is, in words ("CH340 USB-serial adapter"), or NULL. */
const char *scan_known_usb(int vid, int pid);

/* True for the HID bridges a driver talks through: --probe asks only these of the hidraw
 * devices it lists (a keyboard or a UPS is no place to send an inverter query). */
bool scan_hid_bridge(int vid, int pid);

/* One "    LABEL  VALUE" line, prefix first ("# " when the output is a collectd file). */
__attribute__((format(printf, 4, 5))) void scan_line(FILE *out, const char *prefix,
                                                     const char *label, const char *fmt, ...);

/* The port's path line and a labelled line for each thing known about it. */
void scan_port_print(FILE *out, const char *prefix, const struct scan_port *p);

/* Writes text as the inside of a collectd string: '"' and '\' escaped. Returns out. */
char *scan_quote(const char *text, char *out, size_t cap);

/* A ready-to-paste collectd block: LoadPlugin DRIVER (when load), then
 * <Plugin DRIVER><Device "NAME"> Port "PORT" </Device></Plugin>, each line after prefix ("# "
 * comments a block out). */
void scan_device_block(FILE *out, const char *prefix, const char *driver, const char *name,
                       const char *port, bool load);

#endif
