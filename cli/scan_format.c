#include "scan_format.h"

#include <stdarg.h>
#include <string.h>

#define LABEL_WIDTH 13

/* The USB ids a solar cable is likely to carry. pid -1: every product of the vendor. */
static const struct {
    int vid, pid;
    const char *what;
    bool hid_bridge;
} known_usb[] = {
    {0x0665, 0x5161, "Voltronic USB-HID bridge (voltronic, Port \"hid:0665:5161\")", true},
    {0x0403, -1, "FTDI USB-serial adapter", false},
    {0x1a86, 0x7523, "CH340 USB-serial adapter", false},
    {0x10c4, 0xea60, "CP210x USB-serial adapter", false},
    {0x067b, 0x2303, "PL2303 USB-serial adapter", false},
};

#define N_KNOWN (sizeof(known_usb) / sizeof(known_usb[0]))

static int known_index(int vid, int pid)
{
    for (size_t i = 0; i < N_KNOWN; i++)
        if (known_usb[i].vid == vid && (known_usb[i].pid == -1 || known_usb[i].pid == pid))
            return (int)i;
    return -1;
}

const char *scan_known_usb(int vid, int pid)
{
    int i = known_index(vid, pid);
    return i < 0 ? NULL : known_usb[i].what;
}

bool scan_hid_bridge(int vid, int pid)
{
    int i = known_index(vid, pid);
    return i >= 0 && known_usb[i].hid_bridge;
}

void scan_line(FILE *out, const char *prefix, const char *label, const char *fmt, ...)
{
    va_list ap;
    fprintf(out, "%s    %-*s ", prefix, LABEL_WIDTH, label);
    va_start(ap, fmt);
    vfprintf(out, fmt, ap);
    va_end(ap);
    fputc('\n', out);
}

void scan_port_print(FILE *out, const char *prefix, const struct scan_port *p)
{
    fprintf(out, "%s%s\n", prefix, p->path);
    if (p->transport)
        scan_line(out, prefix, "kind", "%s, %s", p->kind, p->transport);
    else
        scan_line(out, prefix, "kind", "%s", p->kind);
    if (p->vid >= 0) {
        const char *known = scan_known_usb(p->vid, p->pid);
        scan_line(out, prefix, "usb-id", "%04x:%04x%s%s", (unsigned)p->vid, (unsigned)p->pid,
                  known ? "  " : "", known ? known : "");
    }
    if (p->manufacturer[0])
        scan_line(out, prefix, "manufacturer", "%s", p->manufacturer);
    if (p->product[0])
        scan_line(out, prefix, "product", "%s", p->product);
    if (p->serial[0])
        scan_line(out, prefix, "serial", "%s", p->serial);
    if (p->bluetooth[0])
        scan_line(out, prefix, "bluetooth", "%s", p->bluetooth);
    if (p->by_id[0])
        scan_line(out, prefix, "by-id", "%s", p->by_id);
}

char *scan_quote(const char *text, char *out, size_t cap)
{
    size_t n = 0;
    for (; *text; text++) {
        bool escape = *text == '"' || *text == '\\';
        if (n + (escape ? 2 : 1) >= cap)
            break;
        if (escape)
            out[n++] = '\\';
        out[n++] = *text;
    }
    out[n] = '\0';
    return out;
}

void scan_device_block(FILE *out, const char *prefix, const char *driver, const char *name,
                       const char *port, bool load)
{
    char qname[256], qport[2 * PATH_MAX];
    if (load)
        fprintf(out, "%sLoadPlugin %s\n", prefix, driver);
    fprintf(out,
            "%s<Plugin %s>\n"
            "%s  <Device \"%s\">\n"
            "%s    Port \"%s\"\n"
            "%s  </Device>\n"
            "%s</Plugin>\n",
            prefix, driver, prefix, scan_quote(name, qname, sizeof(qname)), prefix,
            scan_quote(port, qport, sizeof(qport)), prefix, prefix);
}
