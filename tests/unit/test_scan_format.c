/* solarpoll scan's output: the port description and the collectd block, byte for byte. */
#include "scan_format.h"
#include "tap.h"

#include <stdlib.h>

/* Runs the printer into a string; the caller frees it. */
#define CAPTURE(text, call)                                  \
    do {                                                     \
        size_t capture_size_;                                \
        FILE *out = open_memstream(&(text), &capture_size_); \
        call;                                                \
        fclose(out);                                         \
    } while (0)

static struct scan_port port(const char *path, const char *kind, const char *transport)
{
    struct scan_port p;
    memset(&p, 0, sizeof(p));
    snprintf(p.path, sizeof(p.path), "%s", path);
    snprintf(p.kind, sizeof(p.kind), "%s", kind);
    p.transport = transport;
    p.vid = p.pid = -1;
    return p;
}

static void known_ids(void)
{
    static const struct {
        int vid, pid;
        const char *want;
        bool bridge;
    } rows[] = {
        {0x0665, 0x5161, "Voltronic USB-HID bridge (voltronic, Port \"hid:0665:5161\")", true},
        {0x0403, 0x6001, "FTDI USB-serial adapter", false},
        {0x0403, 0x6015, "FTDI USB-serial adapter", false}, /* every FTDI product */
        {0x1a86, 0x7523, "CH340 USB-serial adapter", false},
        {0x10c4, 0xea60, "CP210x USB-serial adapter", false},
        {0x067b, 0x2303, "PL2303 USB-serial adapter", false},
        {0x1a86, 0x55d4, NULL, false},
        {0x046d, 0xc52b, NULL, false},
        {-1, -1, NULL, false},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const char *got = scan_known_usb(rows[i].vid, rows[i].pid);
        if (rows[i].want)
            is_str(got, rows[i].want, "%04x:%04x is named", rows[i].vid, rows[i].pid);
        else
            ok(got == NULL, "%04x:%04x is not a known device", rows[i].vid, rows[i].pid);
        ok(scan_hid_bridge(rows[i].vid, rows[i].pid) == rows[i].bridge,
           "%04x:%04x %s probed as a HID bridge", rows[i].vid, rows[i].pid,
           rows[i].bridge ? "is" : "is not");
    }
}

static void describe_usb_serial(void)
{
    struct scan_port p = port("/dev/ttyUSB0", "serial", "usb");
    p.vid = 0x0403;
    p.pid = 0x6001;
    strcpy(p.manufacturer, "FTDI");
    strcpy(p.product, "FT232R USB UART");
    strcpy(p.serial, "A10K5N2M");
    strcpy(p.by_id, "/dev/serial/by-id/usb-FTDI_FT232R_USB_UART_A10K5N2M-if00-port0");
    char *text;
    CAPTURE(text, scan_port_print(out, "", &p));
    is_str(text,
           "/dev/ttyUSB0\n"
           "    kind          serial, usb\n"
           "    usb-id        0403:6001  FTDI USB-serial adapter\n"
           "    manufacturer  FTDI\n"
           "    product       FT232R USB UART\n"
           "    serial        A10K5N2M\n"
           "    by-id         /dev/serial/by-id/usb-FTDI_FT232R_USB_UART_A10K5N2M-if00-port0\n",
           "a USB-serial adapter: every field, the known id named");
    free(text);
}

static void describe_others(void)
{
    char *text;
    struct scan_port pty = port("/tmp/sim0", "serial", "pty");
    CAPTURE(text, scan_port_print(out, "# ", &pty));
    is_str(text, "# /tmp/sim0\n#     kind          serial, pty\n",
           "a pty: only what is known, each line commented with the prefix");
    free(text);

    struct scan_port hid = port("/dev/hidraw3", "hidraw", "usb");
    hid.vid = 0x0665;
    hid.pid = 0x5161;
    strcpy(hid.product, "USB to Serial");
    CAPTURE(text, scan_port_print(out, "", &hid));
    is_str(text,
           "/dev/hidraw3\n"
           "    kind          hidraw, usb\n"
           "    usb-id        0665:5161  Voltronic USB-HID bridge (voltronic, Port "
           "\"hid:0665:5161\")\n"
           "    product       USB to Serial\n",
           "the Voltronic bridge");
    free(text);

    struct scan_port bt = port("/dev/rfcomm0", "serial", "bluetooth");
    strcpy(bt.bluetooth, "A4:C1:38:00:11:22");
    struct scan_port tcp = port("tcp:10.0.0.5:4001", "tcp", NULL);
    struct scan_port unknown_usb = port("/dev/ttyACM0", "serial", "usb");
    unknown_usb.vid = 0x2341;
    unknown_usb.pid = 0x0043;
    CAPTURE(text, (scan_port_print(out, "", &bt), scan_port_print(out, "", &tcp),
                   scan_port_print(out, "", &unknown_usb)));
    is_str(text,
           "/dev/rfcomm0\n"
           "    kind          serial, bluetooth\n"
           "    bluetooth     A4:C1:38:00:11:22\n"
           "tcp:10.0.0.5:4001\n"
           "    kind          tcp\n"
           "/dev/ttyACM0\n"
           "    kind          serial, usb\n"
           "    usb-id        2341:0043\n",
           "bluetooth, tcp without transport, an unknown USB id unnamed");
    free(text);
}

static void blocks(void)
{
    char *text;
    CAPTURE(text, scan_device_block(out, "", "pylontech", "ttyUSB0",
                                    "/dev/serial/by-id/usb-FTDI-if00-port0", true));
    is_str(text,
           "LoadPlugin pylontech\n"
           "<Plugin pylontech>\n"
           "  <Device \"ttyUSB0\">\n"
           "    Port \"/dev/serial/by-id/usb-FTDI-if00-port0\"\n"
           "  </Device>\n"
           "</Plugin>\n",
           "a block with its LoadPlugin");
    free(text);
    CAPTURE(text, scan_device_block(out, "# ", "jbd", "pack", "/dev/odd\"name\\", false));
    is_str(text,
           "# <Plugin jbd>\n"
           "#   <Device \"pack\">\n"
           "#     Port \"/dev/odd\\\"name\\\\\"\n"
           "#   </Device>\n"
           "# </Plugin>\n",
           "a commented-out block without LoadPlugin; quote and backslash escaped");
    free(text);

    char small[6];
    is_str(scan_quote("a\"bcdef", small, sizeof(small)), "a\\\"bc",
           "quoting stops at the buffer's end");
    is_str(scan_quote("ab\"", small, 4), "ab", "never half an escape");
}

int main(void)
{
    known_ids();
    describe_usb_serial();
    describe_others();
    blocks();
    return tap_done();
}
