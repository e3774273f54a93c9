/* solarpoll scan [--probe] [PORT ...]: which serial ports and HID bridges this machine has, and
 * with --probe which known device answers on each.
 *
 * The probe of a driver is its own connect (identify) through the core, at the driver's
 * defaults but with its short probe_timeout: the same read-only queries collectd would send
 * first. Nothing here knows a protocol. */
#include "scan.h"

#include "drivers.h"
#include "hid_api.h"
#include "scan_format.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libserialport.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wchar.h>

#define EXIT_NOTHING 1
#define EXIT_USAGE   2
#define BY_ID_DIR    "/dev/serial/by-id"

/* udev's stable names; SOLARPOLL_BY_ID_DIR stands in for it in tests, which may not write /dev. */
static const char *by_id_dir(void)
{
    const char *dir = getenv("SOLARPOLL_BY_ID_DIR");
    return dir && *dir ? dir : BY_ID_DIR;
}

/* Voltronic first: its inverters take CR-ended text commands, and some check no CRC, so they
 * hear their own QPI before any other protocol's bytes. The others frame every request with a
 * start byte and a checksum (pylontech '~', jbd 0xDD, Modbus CRC) and drop what does not
 * match; luxpower's identify tries twice, so it costs the most on a silent line: last. */
static const char *const probe_order[] = {"voltronic", "pylontech", "jbd", "luxpower"};

/* --- listing --- */

static void copy_text(char *out, size_t cap, const char *text)
{
    snprintf(out, cap, "%s", text ? text : "");
}

/* hidapi's strings are wide; a port description needs no more than ASCII. */
static void copy_wide(char *out, size_t cap, const wchar_t *text)
{
    size_t n = 0;
    for (; text && *text && n + 1 < cap; text++)
        out[n++] = *text >= 0x20 && *text < 0x7f ? (char)*text : '?';
    out[n] = '\0';
}

static void port_init(struct scan_port *p, const char *path, const char *kind)
{
    memset(p, 0, sizeof(*p));
    copy_text(p->path, sizeof(p->path), path);
    copy_text(p->kind, sizeof(p->kind), kind);
    p->vid = p->pid = -1;
}

/* The by-id symlink that resolves to real, if there is one. */
static void find_by_id(const char *real, char *out, size_t cap)
{
    out[0] = '\0';
    const char *dir_name = by_id_dir();
    DIR *dir = opendir(dir_name);
    struct dirent *e;
    while (dir && (e = readdir(dir)) != NULL) {
        char link[PATH_MAX], target[PATH_MAX];
        if (e->d_name[0] == '.')
            continue;
        snprintf(link, sizeof(link), "%s/%s", dir_name, e->d_name);
        if (realpath(link, target) && strcmp(target, real) == 0) {
            copy_text(out, cap, link);
            break;
        }
    }
    if (dir)
        closedir(dir);
}

static const char *transport_name(enum sp_transport t)
{
    return t == SP_TRANSPORT_USB ? "usb" : t == SP_TRANSPORT_BLUETOOTH ? "bluetooth" : "native";
}

/* What libserialport knows about the tty real (USB ids, strings, Bluetooth address). */
static void describe_sp(struct sp_port *sp, struct scan_port *p)
{
    enum sp_transport t = sp_get_port_transport(sp);
    p->transport = transport_name(t);
    if (t == SP_TRANSPORT_USB) {
        int vid, pid;
        if (sp_get_port_usb_vid_pid(sp, &vid, &pid) == SP_OK)
            p->vid = vid, p->pid = pid;
        copy_text(p->manufacturer, sizeof(p->manufacturer), sp_get_port_usb_manufacturer(sp));
        copy_text(p->product, sizeof(p->product), sp_get_port_usb_product(sp));
        copy_text(p->serial, sizeof(p->serial), sp_get_port_usb_serial(sp));
    } else if (t == SP_TRANSPORT_BLUETOOTH) {
        copy_text(p->bluetooth, sizeof(p->bluetooth), sp_get_port_bluetooth_address(sp));
    }
    if (!p->product[0]) /* native ports: the driver's description ("ttyS0", "ttyAMA0") */
        copy_text(p->product, sizeof(p->product), sp_get_port_description(sp));
}

/* A serial path given on the command line: symlinks resolved, ptys (which libserialport does
 * not know) described as such. */
static void describe_serial(const char *path, struct scan_port *p)
{
    char real[PATH_MAX];
    struct stat st;
    if (!realpath(path, real) || stat(real, &st) < 0) {
        p->error = -errno;
        return;
    }
    if (!S_ISCHR(st.st_mode)) {
        p->error = -ENOTTY;
        return;
    }
    struct sp_port *sp;
    if (sp_get_port_by_name(real, &sp) == SP_OK) {
        describe_sp(sp, p);
        sp_free_port(sp);
    } else if (strncmp(real, "/dev/pts/", 9) == 0) {
        p->transport = "pty";
    }
    size_t dir_len = strlen(by_id_dir());
    if (strncmp(path, by_id_dir(), dir_len) == 0 && path[dir_len] == '/')
        copy_text(p->by_id, sizeof(p->by_id), path);
    else
        find_by_id(real, p->by_id, sizeof(p->by_id));
}

static void describe_hid(const struct hid_device_info *d, struct scan_port *p)
{
    p->transport = "usb";
    p->vid = d->vendor_id;
    p->pid = d->product_id;
    copy_wide(p->manufacturer, sizeof(p->manufacturer), d->manufacturer_string);
    copy_wide(p->product, sizeof(p->product), d->product_string);
    copy_wide(p->serial, sizeof(p->serial), d->serial_number);
}

/* hid:/dev/hidrawN or hid:VID:PID given on the command line: the first device it matches. */
static void describe_hid_spec(const char *address, struct scan_port *p)
{
    unsigned vid = 0, pid = 0;
    bool by_path = address[0] == '/';
    if (!by_path && sscanf(address, "%x:%x", &vid, &pid) != 2) {
        p->error = -EINVAL;
        return;
    }
    const struct solar_hid_api *hid = solar_hid_api(NULL);
    if (!hid) {
        p->error = -ELIBACC;
        return;
    }
    struct hid_device_info *list = hid->enumerate(0, 0), *d;
    for (d = list; d; d = d->next)
        if (by_path ? strcmp(d->path, address) == 0 : d->vendor_id == vid && d->product_id == pid)
            break;
    if (d)
        describe_hid(d, p);
    else
        p->error = -ENOENT;
    hid->free_enumeration(list);
}

struct port_list {
    struct scan_port *ports;
    size_t count, cap;
};

static struct scan_port *port_add(struct port_list *l)
{
    if (l->count == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 8;
        struct scan_port *ports = realloc(l->ports, cap * sizeof(*ports));
        if (!ports)
            return NULL;
        l->ports = ports;
        l->cap = cap;
    }
    return &l->ports[l->count++];
}

static void list_serial(struct port_list *l)
{
    struct sp_port **list;
    if (sp_list_ports(&list) != SP_OK)
        return;
    for (size_t i = 0; list[i]; i++) {
        struct scan_port *p = port_add(l);
        if (!p)
            break;
        const char *name = sp_get_port_name(list[i]);
        char real[PATH_MAX];
        port_init(p, name, "serial");
        describe_sp(list[i], p);
        find_by_id(realpath(name, real) ? real : name, p->by_id, sizeof(p->by_id));
    }
    sp_free_port_list(list);
}

/* Without hidapi there is nothing to list; the loader has said why on stderr. */
static void list_hid(struct port_list *l)
{
    const struct solar_hid_api *hid = solar_hid_api(NULL);
    if (!hid)
        return;
    struct hid_device_info *list = hid->enumerate(0, 0);
    for (struct hid_device_info *d = list; d; d = d->next) {
        struct scan_port *p = port_add(l);
        if (!p)
            break;
        port_init(p, d->path, "hidraw");
        describe_hid(d, p);
    }
    hid->free_enumeration(list);
}

static void describe_argument(const char *arg, struct scan_port *p)
{
    const char *address = NULL;
    enum solar_port_kind kind = solar_port_kind_parse(arg, &address);
    port_init(p, arg, "unknown");
    if (kind)
        solar_port_kinds_describe(kind, p->kind, sizeof(p->kind));
    if (kind == SOLAR_PORT_SERIAL)
        describe_serial(address, p);
    else if (kind == SOLAR_PORT_HID)
        describe_hid_spec(address, p);
    else if (kind == 0)
        p->error = -EINVAL;
}

/* --- probing --- */

struct scan {
    bool probe;
    const char *prefix; /* "# " while probing: the whole output is then a collectd file */
    solar_log_handler host_log;
    bool verbose;
    char identity[512];  /* the last thing a driver said at INFO: its "connected to ..." */
    char complaint[600]; /* the last error or warning it logged, or a configuration error */
    struct {
        const char *driver;
        char name[64];
    } used[256];
    size_t used_count;
    unsigned answered;
};

static struct scan *current; /* for the log handler, which has no context argument */

/* Keeps what the driver logs at connect; passes it on only with -v. */
static void capture_log(enum solar_log_level level, const char *message)
{
    const char *text = strstr(message, "): "); /* after solar_device_log's "NAME" (PORT) */
    text = text ? text + 3 : message;
    if (level == SOLAR_LOG_INFO)
        copy_text(current->identity, sizeof(current->identity), text);
    else if (level <= SOLAR_LOG_WARNING)
        copy_text(current->complaint, sizeof(current->complaint), text);
    if (current->verbose)
        current->host_log(level, message);
}

static size_t drivers_in_probe_order(const struct solar_driver **out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < sizeof(probe_order) / sizeof(probe_order[0]); i++) {
        const struct solar_driver *drv = solarpoll_driver_find(probe_order[i]);
        if (drv && drv->probe_timeout > 0 && n < cap)
            out[n++] = drv;
    }
    /* A driver added later is probed too, after these. */
    for (size_t i = 0; solarpoll_drivers[i] && n < cap; i++) {
        bool listed = false;
        for (size_t j = 0; j < n; j++)
            listed |= out[j] == solarpoll_drivers[i];
        if (!listed && solarpoll_drivers[i]->probe_timeout > 0)
            out[n++] = solarpoll_drivers[i];
    }
    return n;
}

/* Connects drv to spec at its defaults and its probe Timeout. Returns 0 when it identified
 * a device; *name is the device name the core derives from spec. */
static int probe_driver(struct scan *s, const struct solar_driver *drv, const char *spec,
                        char *name, size_t name_cap)
{
    char *err = s->complaint, timeout[32];
    size_t errlen = sizeof(s->complaint);
    struct solar_config *cfg = malloc(drv->config_size);
    if (!cfg)
        return -ENOMEM;
    solar_config_init(drv, cfg);
    snprintf(timeout, sizeof(timeout), "%g", drv->probe_timeout);
    struct solar_device *dev = NULL;
    s->identity[0] = s->complaint[0] = '\0';
    int status = solar_config_set(drv, cfg, "Port", spec, err, errlen);
    if (status == 0)
        status = solar_config_set(drv, cfg, "Timeout", timeout, err, errlen);
    if (status == 0)
        status = solar_config_finish(drv, cfg, err, errlen);
    if (status == 0) {
        copy_text(name, name_cap, cfg->name);
        status = solar_device_new(drv, cfg, &dev);
    }
    if (status < 0) {
        free(cfg);
        return status;
    }
    current = s;
    solar_log_set_handler(capture_log);
    status = solar_device_connect(dev);
    solar_device_free(dev);
    solar_log_set_handler(s->host_log);
    return status;
}

enum verdict { ANSWERED, REFUSED, NO_ANSWER, BUSY, PORT_ERROR };

static enum verdict verdict_of(int err)
{
    switch (-err) {
    case 0:
        return ANSWERED;
    case SOLAR_EDEVICE:
    case SOLAR_EUNSUPPORT:
        return REFUSED;   /* a checked frame with an error status: it speaks the protocol */
    case SOLAR_EMISMATCH: /* libmodbus says so of any frame from another address, CRC unseen */
    case SOLAR_ETIMEDOUT:
    case SOLAR_EBADCRC:
    case SOLAR_EFRAME:
    case SOLAR_ESHORT:
        return NO_ANSWER;
    case EBUSY:
        return BUSY;
    default:
        return PORT_ERROR;
    }
}

/* 1 when another process holds the port's lock, 0 when it is free, or a negative errno: the
 * flock() that collectd's plugins and solarpoll take on every line they use, or a POSIX record
 * lock some other program may hold. Asked before any driver opens the port. */
static int serial_busy(const char *path)
{
    int fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return errno == EBUSY ? 1 : -errno;
    struct flock record = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    int r = 0;
    if (flock(fd, LOCK_EX | LOCK_NB) < 0)
        r = errno == EWOULDBLOCK ? 1 : -errno;
    else if (fcntl(fd, F_GETLK, &record) == 0 && record.l_type != F_UNLCK)
        r = 1;
    close(fd);
    return r;
}

/* A device name not yet used for drv in this output: name, name_2, name_3 ... */
static void unique_name(struct scan *s, const char *driver, char *name, size_t cap)
{
    char base[64];
    copy_text(base, sizeof(base), name);
    for (unsigned n = 2;; n++) {
        bool taken = false;
        for (size_t i = 0; i < s->used_count; i++)
            taken |= strcmp(s->used[i].driver, driver) == 0 && strcmp(s->used[i].name, name) == 0;
        if (!taken)
            break;
        snprintf(name, cap, "%.50s_%u", base, n);
    }
    if (s->used_count < sizeof(s->used) / sizeof(s->used[0])) {
        s->used[s->used_count].driver = driver;
        copy_text(s->used[s->used_count++].name, sizeof(s->used[0].name), name);
    }
}

static bool driver_loaded(const struct scan *s, const char *driver)
{
    for (size_t i = 0; i < s->used_count; i++)
        if (strcmp(s->used[i].driver, driver) == 0)
            return true;
    return false;
}

/* The Port a collectd block should name: the by-id link (stable across reboots and
 * re-plugging), a listed hidraw device by its ids (hidraw numbers change), else as given. */
static void block_port(const struct scan_port *p, char *out, size_t cap)
{
    if (p->by_id[0])
        copy_text(out, cap, p->by_id);
    else if (strcmp(p->kind, "hidraw") == 0)
        snprintf(out, cap, "hid:%04x:%04x", (unsigned)p->vid, (unsigned)p->pid);
    else
        copy_text(out, cap, p->path);
}

static void print_block(struct scan *s, const struct scan_port *p, const struct solar_driver *drv,
                        char *name, bool commented)
{
    char port[PATH_MAX + 32];
    block_port(p, port, sizeof(port));
    if (commented) { /* for the user to fix and uncomment: it loads its plugin itself */
        scan_device_block(stdout, "# ", drv->name, name, port, true);
        return;
    }
    bool load = !driver_loaded(s, drv->name);
    unique_name(s, drv->name, name, 64);
    scan_device_block(stdout, "", drv->name, name, port, load);
}

static bool probe_kind(const struct scan_port *p, enum solar_port_kind *kind, char *spec,
                       size_t cap)
{
    if (strcmp(p->kind, "hidraw") == 0) {
        *kind = SOLAR_PORT_HID;
        snprintf(spec, cap, "hid:%s", p->path);
        return true;
    }
    const char *address;
    copy_text(spec, cap, p->path);
    *kind = solar_port_kind_parse(spec, &address);
    return *kind != 0;
}

/* Asks each driver in turn until one answers; prints a line per driver and the block. */
static void probe_port(struct scan *s, const struct scan_port *p, bool listed)
{
    const char *pre = s->prefix;
    char spec[PATH_MAX + 8];
    enum solar_port_kind kind;
    if (!probe_kind(p, &kind, spec, sizeof(spec)))
        return;
    if (listed && kind == SOLAR_PORT_HID && !scan_hid_bridge(p->vid, p->pid)) {
        scan_line(stdout, pre, "probe", "not probed: not a known solar HID bridge");
        return;
    }
    int busy = kind == SOLAR_PORT_SERIAL ? serial_busy(p->path) : 0;
    if (busy != 0) {
        if (busy > 0)
            scan_line(stdout, pre, "busy", "in use by another program (collectd?): not probed");
        else
            scan_line(stdout, pre, "error", "%s", solar_strerror(busy));
        return;
    }
    const struct solar_driver *drivers[16];
    size_t n = drivers_in_probe_order(drivers, 16);
    int64_t start = solar_now_ms();
    for (size_t i = 0; i < n; i++) {
        const struct solar_driver *drv = drivers[i];
        if (!(drv->port_kinds & kind))
            continue;
        char name[64] = "";
        int64_t t0 = solar_now_ms();
        int err = probe_driver(s, drv, spec, name, sizeof(name));
        long long ms = (long long)(solar_now_ms() - t0);
        switch (verdict_of(err)) {
        case ANSWERED:
            scan_line(stdout, pre, "probe", "%s: answered in %lld ms: %s", drv->name, ms,
                      s->identity[0] ? s->identity : "identified");
            scan_line(stdout, pre, "result", "%s", drv->name);
            print_block(s, p, drv, name, false);
            s->answered++;
            return;
        case REFUSED:
            scan_line(stdout, pre, "probe", "%s: answered with an error in %lld ms: %s", drv->name,
                      ms, s->complaint[0] ? s->complaint : solar_strerror(err));
            scan_line(stdout, pre, "result", "%s answered with an error; check its options",
                      drv->name);
            print_block(s, p, drv, name, true);
            return;
        case NO_ANSWER:
            scan_line(stdout, pre, "probe", "%s: no answer in %lld ms (%s)", drv->name, ms,
                      solar_strerror(err));
            break;
        case BUSY:
            scan_line(stdout, pre, "busy", "in use by another program (collectd?): not probed");
            return;
        case PORT_ERROR:
            scan_line(stdout, pre, "error", "%s: %s", drv->name,
                      s->complaint[0] ? s->complaint : solar_strerror(err));
            return;
        }
    }
    scan_line(stdout, pre, "result", "no answer (%lld ms)", (long long)(solar_now_ms() - start));
}

/* --- the command --- */

static const char *port_error_text(const struct scan_port *p)
{
    if (strcmp(p->kind, "unknown") == 0)
        return "not a port: PATH, serial:PATH, tcp:HOST:PORT, hid:VID:PID, hid:PATH, "
               "modbus-tcp:HOST[:PORT] or luxdongle:HOST[:PORT]";
    if (strcmp(p->kind, "hid") == 0 && p->error == -ENOENT)
        return "no such HID device";
    return solar_strerror(p->error);
}

static double probe_bound(void)
{
    const struct solar_driver *drivers[16];
    size_t n = drivers_in_probe_order(drivers, 16);
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += drivers[i]->probe_timeout;
    return 2 * sum;
}

void scan_usage(FILE *out)
{
    const struct solar_driver *drivers[16];
    size_t n = drivers_in_probe_order(drivers, 16);
    fputs("usage: solarpoll scan [--probe] [PORT ...]\n"
          "Lists this machine's serial ports (libserialport) and hidraw devices (hidapi), or\n"
          "describes the PORTs given (paths, symlinks, ptys, hid:..., tcp:...): kind and\n"
          "transport, USB id (known adapters and bridges named), manufacturer, product, serial\n"
          "number, the /dev/serial/by-id link.\n"
          "--probe asks each port for each driver in turn, with the driver's own connect\n"
          "queries (read-only) at its default settings and a short Timeout:\n",
          out);
    for (size_t i = 0; i < n; i++)
        fprintf(out, "  %-10s %6d baud, Timeout %g s\n", drivers[i]->name, drivers[i]->default_baud,
                drivers[i]->probe_timeout);
    fprintf(out,
            "and stops at the first that answers, printing a collectd block for it (Port: the\n"
            "/dev/serial/by-id link when there is one). A driver gives up after its first\n"
            "unanswered query, tried twice at most: a port where nothing answers costs at most\n"
            "%g s. A port another program holds (collectd) is reported busy, not probed. Of the\n"
            "hidraw devices listed only known bridges (0665:5161) are probed. With --probe every\n"
            "line but the blocks is a comment: the output is a collectd configuration file.\n"
            "Exit status: 0 done (with --probe: a device answered); 1 with --probe nothing\n"
            "answered, without it a PORT given does not exist; 2 usage error.\n",
            probe_bound());
}

int scan_main(int argc, char **argv, solar_log_handler host_log, bool verbose)
{
    struct scan *s = calloc(1, sizeof(*s));
    struct port_list list = {0};
    bool given = false, missing = false;
    if (!s)
        return EXIT_NOTHING;
    s->host_log = host_log;
    s->verbose = verbose;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--probe") == 0) {
            s->probe = true;
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            scan_usage(stdout);
            free(s);
            return 0;
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "E! scan: unknown option %s\n", argv[i]);
            scan_usage(stderr);
            free(s);
            return EXIT_USAGE;
        }
    }
    s->prefix = s->probe ? "# " : "";
    for (int i = 0; i < argc; i++) {
        struct scan_port *p;
        if (argv[i][0] == '-' || !(p = port_add(&list)))
            continue;
        describe_argument(argv[i], p);
        given = true;
    }
    if (!given) {
        list_serial(&list);
        list_hid(&list);
    }
    if (list.count == 0)
        printf("%sno serial ports or hidraw devices found\n", s->prefix);
    for (size_t i = 0; i < list.count; i++) {
        const struct scan_port *p = &list.ports[i];
        if (i > 0)
            putchar('\n');
        scan_port_print(stdout, s->prefix, p);
        if (p->error) {
            scan_line(stdout, s->prefix, "error", "%s", port_error_text(p));
            missing = true;
        } else if (s->probe) {
            fflush(stdout); /* a probe takes seconds: show what is being asked */
            probe_port(s, p, !given);
        }
        fflush(stdout);
    }
    int status = s->probe ? (s->answered ? 0 : EXIT_NOTHING) : (missing ? EXIT_NOTHING : 0);
    free(list.ports);
    free(s);
    return status;
}
