/* HID backend: USB-HID serial bridges (Voltronic 0665:5161) that carry the byte stream in
 * 8-byte reports, written with report number 0 and read until the framer is satisfied.
 *
 * hidraw numbers change when a bridge re-enumerates, and the bridges carry no USB serial
 * string, so a device is found again by VID:PID: `hid:VID:PID` opens the n-th matching device
 * that this process does not hold open already (the caller tells identities apart and asks
 * for the next one), and `hid:PATH`, once opened, falls back to its VID:PID when the path is
 * gone. */
#include "port_backend.h"

#include "error.h"
#include "hid_api.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HID_REPORT_LEN 8
#define HID_PATH_MAX   256
#define HID_KNOWN_MAX  16 /* paths held open, and paths whose VID:PID is remembered */

/* Process-wide: which paths are open (two buses must not share a bridge), and the VID:PID of
 * every path opened once (to find it again after re-enumeration). */
static pthread_mutex_t hid_lock = PTHREAD_MUTEX_INITIALIZER;
static char open_paths[HID_KNOWN_MAX][HID_PATH_MAX];
static struct {
    char path[HID_PATH_MAX];
    unsigned short vid, pid;
} known[HID_KNOWN_MAX];

struct hid_port {
    struct solar_port port;
    const struct solar_hid_api *hid;
    char path[HID_PATH_MAX];
};

/* Reports arrive whole: want has nothing to gather. */
static long hid_port_read(struct solar_port *port, uint8_t *buf, size_t cap, int64_t deadline,
                          size_t want)
{
    (void)want;
    const struct solar_hid_api *hid = ((struct hid_port *)port)->hid;
    uint8_t report[64];
    for (;;) {
        int64_t left = deadline - solar_now_ms();
        int n = hid->read_timeout(port->handle, report, sizeof(report), left > 0 ? (int)left : 0);
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
    const struct solar_hid_api *hid = ((struct hid_port *)port)->hid;
    for (size_t off = 0; off < len; off += HID_REPORT_LEN) {
        uint8_t report[1 + HID_REPORT_LEN] = {0}; /* report number 0, then the payload */
        size_t chunk = len - off < HID_REPORT_LEN ? len - off : HID_REPORT_LEN;
        memcpy(report + 1, buf + off, chunk);
        if (hid->write(port->handle, report, sizeof(report)) < 0)
            return -EIO;
    }
    return 0;
}

/* The kernel's hidraw queue holds 64 reports: that many reads empty what was waiting, and a
 * device that keeps sending cannot hold the exchange here (as solar_fd_drain bounds a peer). */
#define HID_DRAIN_MAX_REPORTS 64

static void hid_port_drain(struct solar_port *port)
{
    const struct solar_hid_api *hid = ((struct hid_port *)port)->hid;
    uint8_t report[64];
    for (int i = 0; i < HID_DRAIN_MAX_REPORTS; i++)
        if (hid->read_timeout(port->handle, report, sizeof(report), 0) <= 0)
            break;
}

/* Under hid_lock. */
static bool path_is_open(const char *path)
{
    for (int i = 0; i < HID_KNOWN_MAX; i++)
        if (strcmp(open_paths[i], path) == 0)
            return true;
    return false;
}

/* Under hid_lock. */
static void path_set_open(const char *path, bool open)
{
    for (int i = 0; i < HID_KNOWN_MAX; i++) {
        if (open && open_paths[i][0] == '\0') {
            snprintf(open_paths[i], HID_PATH_MAX, "%s", path);
            return;
        }
        if (!open && strcmp(open_paths[i], path) == 0) {
            open_paths[i][0] = '\0';
            return;
        }
    }
}

/* Under hid_lock. */
static void remember(const char *path, unsigned short vid, unsigned short pid)
{
    int slot = 0;
    for (int i = 0; i < HID_KNOWN_MAX; i++) {
        if (strcmp(known[i].path, path) == 0 || known[i].path[0] == '\0') {
            slot = i;
            break;
        }
    }
    snprintf(known[slot].path, HID_PATH_MAX, "%s", path);
    known[slot].vid = vid;
    known[slot].pid = pid;
}

static void hid_port_close(struct solar_port *port)
{
    struct hid_port *hp = (struct hid_port *)port;
    hp->hid->close(port->handle);
    pthread_mutex_lock(&hid_lock);
    path_set_open(hp->path, false);
    pthread_mutex_unlock(&hid_lock);
    free(hp);
}

static const struct solar_port_ops hid_ops = {.name = "hid",
                                              .read = hid_port_read,
                                              .write = hid_port_write,
                                              .drain = hid_port_drain,
                                              .close = hid_port_close};

/* Under hid_lock: copies the path of the nth device matching vid:pid that is not open into
 * path; *count receives how many such devices there are. */
static void nth_candidate(const struct solar_hid_api *hid, unsigned short vid, unsigned short pid,
                          unsigned nth, char *path, unsigned *count)
{
    struct hid_device_info *list = hid->enumerate(vid, pid), *d;
    unsigned n = 0;
    for (d = list; d; d = d->next)
        n += d->path && !path_is_open(d->path);
    *count = n;
    path[0] = '\0';
    unsigned want = n ? nth % n : 0, i = 0;
    for (d = list; d && n; d = d->next) {
        if (!d->path || path_is_open(d->path))
            continue;
        if (i++ == want) {
            snprintf(path, HID_PATH_MAX, "%s", d->path);
            remember(d->path, vid, pid);
            break;
        }
    }
    hid->free_enumeration(list);
}

/* Under hid_lock: the VID:PID of path, from the enumeration or from memory. */
static bool vid_pid_of(const struct solar_hid_api *hid, const char *path, unsigned short *vid,
                       unsigned short *pid)
{
    struct hid_device_info *list = hid->enumerate(0, 0);
    bool found = false;
    for (struct hid_device_info *d = list; d && !found; d = d->next) {
        if (d->path && strcmp(d->path, path) == 0) {
            *vid = d->vendor_id;
            *pid = d->product_id;
            remember(path, *vid, *pid);
            found = true;
        }
    }
    hid->free_enumeration(list);
    for (int i = 0; i < HID_KNOWN_MAX && !found; i++) {
        if (strcmp(known[i].path, path) == 0) {
            *vid = known[i].vid;
            *pid = known[i].pid;
            found = true;
        }
    }
    return found;
}

/* Parses the address into a path or a VID:PID. */
static int parse_address(const char *address, unsigned short *vid, unsigned short *pid)
{
    unsigned v, p;
    char tail;
    if (address[0] == '/')
        return 1;
    if (sscanf(address, "%4x:%4x%c", &v, &p, &tail) != 2)
        return -EINVAL;
    *vid = (unsigned short)v;
    *pid = (unsigned short)p;
    return 0;
}

/* Under hid_lock: opens address (candidate nth for a VID:PID) and names the path opened. */
static hid_device *open_device(const struct solar_hid_api *hid, const char *address, unsigned nth,
                               char *path, int *err)
{
    unsigned short vid = 0, pid = 0;
    unsigned count = 0;
    int kind = parse_address(address, &vid, &pid);
    if (kind < 0) {
        *err = kind;
        return NULL;
    }
    hid_device *dev = NULL;
    if (kind == 1) {
        snprintf(path, HID_PATH_MAX, "%s", address);
        if (!path_is_open(path) && (dev = hid->open_path(path)) != NULL) {
            vid_pid_of(hid, path, &vid, &pid); /* remembered for when the node is gone */
            return dev;
        }
        /* The node went away (re-enumerated under another number): its VID:PID finds it. */
        if (!vid_pid_of(hid, address, &vid, &pid)) {
            *err = -ENODEV;
            return NULL;
        }
    }
    nth_candidate(hid, vid, pid, nth, path, &count);
    if (path[0] && (dev = hid->open_path(path)) == NULL)
        *err = -EACCES;
    else if (!path[0])
        *err = -ENODEV;
    return dev;
}

int solar_hid_open(const char *address, unsigned nth, struct solar_port **out)
{
    const struct solar_hid_api *hid = solar_hid_api(NULL);
    if (!hid)
        return -ELIBACC; /* why was logged once, when loading failed */
    struct hid_port *hp = calloc(1, sizeof(*hp));
    if (!hp)
        return -ENOMEM;
    hp->hid = hid;
    int err = 0;
    pthread_mutex_lock(&hid_lock);
    hid_device *dev = open_device(hid, address, nth, hp->path, &err);
    if (dev)
        path_set_open(hp->path, true);
    pthread_mutex_unlock(&hid_lock);
    if (!dev) {
        free(hp);
        return err ? err : -ENODEV;
    }
    hp->port.ops = &hid_ops;
    hp->port.fd = -1;
    hp->port.handle = dev;
    *out = &hp->port;
    return 0;
}

unsigned solar_hid_candidates(const char *address)
{
    unsigned short vid, pid;
    if (parse_address(address, &vid, &pid) != 0)
        return 1;
    const struct solar_hid_api *hid = solar_hid_api(NULL);
    if (!hid)
        return 1;
    char path[HID_PATH_MAX];
    unsigned count = 0;
    pthread_mutex_lock(&hid_lock);
    nth_candidate(hid, vid, pid, 0, path, &count);
    pthread_mutex_unlock(&hid_lock);
    return count ? count : 1;
}
