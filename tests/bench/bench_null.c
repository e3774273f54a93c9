/* make bench only, never installed: a collectd plugin that costs collectd what our plugins cost
 * it - the same read callbacks dispatching the same value lists - and nothing else (no port, no
 * driver, no library). collectd with it minus collectd with no plugin is collectd's own cost of
 * those value lists and read threads; our plugins minus it is ours.
 *
 *   LoadPlugin bench_null
 *   <Plugin bench_null>
 *     File "/tmp/ids"   # a value list a line: DEVICE PLUGIN PLUGIN_INSTANCE TYPE [TYPE_INSTANCE]
 *     Delay "jbd 12.5"  # ms a read of PLUGIN's devices waits before dispatching (default 0)
 *   </Plugin>
 *
 * Consecutive lines of the same DEVICE are one read callback, which dispatches each of its lines
 * as one gauge, as plugins/collectd.c does. The Delay stands for the device's exchanges: without
 * it all reads would dispatch in the same instant and collectd's write queue would hold every
 * value list at once, which the real plugins, whose reads take the time of their polls, never
 * make it do. The file stays in
 * one buffer, split in place: its size is the only memory this plugin adds to the figure. */
#include "collectd.h"
#include "plugin.h"
#include "utils/common/common.h"

#include <time.h>

#define FIELDS 5 /* DEVICE PLUGIN PLUGIN_INSTANCE TYPE TYPE_INSTANCE */

static char *ids;       /* the file: FIELDS NUL-terminated fields a line, one after another */
static size_t ids_size; /* bytes of ids */

/* One read callback: the lines [start, end) of ids. */
struct device_lines {
    size_t start, end;
    struct timespec delay;
};

#define MAX_DELAYS 16
static struct {
    char plugin[DATA_MAX_NAME_LEN];
    double ms;
} delays[MAX_DELAYS];
static size_t delay_count;
static bool loaded; /* File read and its reads registered */

static struct timespec plugin_delay(const char *plugin)
{
    for (size_t i = 0; i < delay_count; i++) {
        if (strcmp(delays[i].plugin, plugin) == 0) {
            long long ns = (long long)(delays[i].ms * 1e6);
            return (struct timespec){.tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000};
        }
    }
    return (struct timespec){0};
}

/* Splits one line at blanks into up to FIELDS fields; missing fields are empty strings. */
static void line_fields(const char *line, const char *field[FIELDS])
{
    const char *p = line;
    for (int i = 0; i < FIELDS; i++) {
        field[i] = p;
        if (*p != '\0')
            p += strlen(p) + 1;
    }
}

static size_t next_line(size_t at)
{
    const char *f[FIELDS];
    line_fields(ids + at, f);
    const char *last = f[FIELDS - 1];
    return (size_t)(last - ids) + strlen(last) + 1;
}

static int null_read(user_data_t *ud)
{
    const struct device_lines *dev = ud->data;
    nanosleep(&dev->delay, NULL);
    cdtime_t now = cdtime();
    for (size_t at = dev->start; at < dev->end; at = next_line(at)) {
        const char *f[FIELDS];
        line_fields(ids + at, f);
        value_list_t vl = VALUE_LIST_INIT;
        value_t v = {.gauge = 0};
        vl.values = &v;
        vl.values_len = 1;
        vl.time = now;
        sstrncpy(vl.plugin, f[1], sizeof(vl.plugin));
        sstrncpy(vl.plugin_instance, f[2], sizeof(vl.plugin_instance));
        sstrncpy(vl.type, f[3], sizeof(vl.type));
        sstrncpy(vl.type_instance, f[4], sizeof(vl.type_instance));
        plugin_dispatch_values(&vl);
    }
    return 0;
}

/* Reads path into ids, each line's blanks turned into NULs and each line padded to exactly
 * FIELDS NUL-terminated fields (the file has at most FIELDS fields a line). */
static int load_ids(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        ERROR("bench_null plugin: cannot open %s", path);
        return -1;
    }
    char line[4 * DATA_MAX_NAME_LEN];
    while (fgets(line, sizeof(line), f) != NULL) {
        const char *field[FIELDS] = {"", "", "", "", ""};
        int n = 0;
        for (char *save = NULL, *tok = strtok_r(line, " \t\n", &save); tok && n < FIELDS;
             tok = strtok_r(NULL, " \t\n", &save))
            field[n++] = tok;
        if (n < FIELDS - 1)
            continue;
        for (int i = 0; i < FIELDS; i++) {
            size_t len = strlen(field[i]) + 1;
            char *grown = realloc(ids, ids_size + len);
            if (grown == NULL) {
                fclose(f);
                return -1;
            }
            ids = grown;
            memcpy(ids + ids_size, field[i], len);
            ids_size += len;
        }
    }
    fclose(f);
    return 0;
}

static int same_device(size_t a, size_t b)
{
    const char *fa[FIELDS], *fb[FIELDS];
    line_fields(ids + a, fa);
    line_fields(ids + b, fb);
    return strcmp(fa[0], fb[0]) == 0;
}

static int register_device(size_t start, size_t end)
{
    struct device_lines *dev = malloc(sizeof(*dev));
    if (dev == NULL)
        return -1;
    const char *f[FIELDS];
    line_fields(ids + start, f);
    *dev = (struct device_lines){.start = start, .end = end, .delay = plugin_delay(f[1])};
    char name[DATA_MAX_NAME_LEN * 2];
    snprintf(name, sizeof(name), "bench_null/%s", f[0]);
    user_data_t ud = {.data = dev, .free_func = free};
    return plugin_register_complex_read("bench_null", name, null_read, 0, &ud);
}

static int null_config(const char *key, const char *value)
{
    if (strcasecmp(key, "Delay") == 0) {
        if (delay_count == MAX_DELAYS)
            return -1;
        char fmt[32];
        snprintf(fmt, sizeof(fmt), "%%%ds %%lf", DATA_MAX_NAME_LEN - 1);
        if (sscanf(value, fmt, delays[delay_count].plugin, &delays[delay_count].ms) != 2)
            return -1;
        delay_count++;
        return 0;
    }
    if (strcasecmp(key, "File") != 0 || ids != NULL)
        return -1;
    return load_ids(value);
}

/* The reads are registered once all of the configuration (File and the Delays) is known. */
static int null_init(void)
{
    if (loaded)
        return 0;
    loaded = true;
    for (size_t start = 0, at = 0; start < ids_size; start = at) {
        while (at < ids_size && same_device(start, at))
            at = next_line(at);
        if (register_device(start, at) != 0)
            return -1;
    }
    return 0;
}

void module_register(void)
{
    static const char *keys[] = {"File", "Delay"};
    plugin_register_config("bench_null", null_config, keys, 2);
    plugin_register_init("bench_null", null_init);
}
