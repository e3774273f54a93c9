/* One parser for collectd blocks and solarpoll's KEY=VALUE words: the glue turns every
 * collectd value into its text, so both paths meet the same checks and the same messages. */
#include "driver.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <ctype.h>

static const struct solar_option common_options[] = {
    SOLAR_OPTION_STRING("Port", struct solar_config, port, NULL,
                        "PATH, serial:PATH, tcp:HOST:PORT, hid:VID:PID or hid:PATH"),
    SOLAR_OPTION_STRING("Name", struct solar_config, name, "",
                        "plugin instance of the values (default: from the port)"),
    SOLAR_OPTION_NUMBER("Interval", SOLAR_OPT_DOUBLE, struct solar_config, interval, "0", 0, 86400,
                        "seconds between polls (0: collectd's Interval)"),
    SOLAR_OPTION_NUMBER("Timeout", SOLAR_OPT_DOUBLE, struct solar_config, timeout, NULL, 0.05, 60,
                        "seconds to wait for one reply"),
    SOLAR_OPTION_NUMBER("Baud", SOLAR_OPT_INT, struct solar_config, baud, NULL, 1200, 460800,
                        "serial line speed (8N1)"),
    {NULL},
};

void solar_config_each_option(const struct solar_driver *drv,
                              void (*fn)(const struct solar_option *opt, void *ctx), void *ctx)
{
    for (const struct solar_option *o = common_options; o->name; o++)
        fn(o, ctx);
    for (const struct solar_option *o = drv->options; o && o->name; o++)
        fn(o, ctx);
}

static const struct solar_option *find_option(const struct solar_driver *drv, const char *key)
{
    for (const struct solar_option *o = common_options; o->name; o++)
        if (strcasecmp(o->name, key) == 0)
            return o;
    for (const struct solar_option *o = drv->options; o && o->name; o++)
        if (strcasecmp(o->name, key) == 0)
            return o;
    return NULL;
}

static int parse_bool(const char *text, int *out)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(text, yes[i]) == 0)
            return *out = 1, 0;
        if (strcasecmp(text, no[i]) == 0)
            return *out = 0, 0;
    }
    return -EINVAL;
}

static int parse_number(const struct solar_option *o, const char *text, double *out)
{
    char *end;
    errno = 0;
    double v = o->type == SOLAR_OPT_INT ? (double)strtol(text, &end, 10) : strtod(text, &end);
    if (end == text || *end != '\0' || errno != 0 || !isfinite(v))
        return -EINVAL;
    *out = v;
    return 0;
}

static int store(const struct solar_option *o, void *cfg, const char *value, char *err,
                 size_t errlen)
{
    char *field = (char *)cfg + o->offset;
    double number;
    int flag;
    switch (o->type) {
    case SOLAR_OPT_STRING:
        if (strlen(value) >= o->size) {
            snprintf(err, errlen, "%s: value longer than %zu characters", o->name, o->size - 1);
            return -EINVAL;
        }
        strcpy(field, value);
        return 0;
    case SOLAR_OPT_BOOL:
        if (parse_bool(value, &flag) < 0) {
            snprintf(err, errlen, "%s: \"%s\" is not true or false", o->name, value);
            return -EINVAL;
        }
        *(bool *)field = flag;
        return 0;
    case SOLAR_OPT_INT:
    case SOLAR_OPT_DOUBLE:
        if (parse_number(o, value, &number) < 0) {
            snprintf(err, errlen, "%s: \"%s\" is not a%s number", o->name, value,
                     o->type == SOLAR_OPT_INT ? " whole" : "");
            return -EINVAL;
        }
        if (number < o->min || number > o->max) {
            snprintf(err, errlen, "%s: %s is outside %g..%g", o->name, value, o->min, o->max);
            return -EINVAL;
        }
        if (o->type == SOLAR_OPT_INT)
            *(int *)field = (int)number;
        else
            *(double *)field = number;
        return 0;
    }
    return -EINVAL;
}

struct key_list {
    char text[512];
    size_t used;
};

static void append_key(const struct solar_option *opt, void *ctx)
{
    struct key_list *keys = ctx;
    int n = snprintf(keys->text + keys->used, sizeof(keys->text) - keys->used, "%s%s",
                     keys->used ? ", " : "", opt->name);
    if (n > 0 && keys->used + (size_t)n < sizeof(keys->text))
        keys->used += (size_t)n;
}

int solar_config_set(const struct solar_driver *drv, void *cfg, const char *key, const char *value,
                     char *err, size_t errlen)
{
    const struct solar_option *o = find_option(drv, key);
    if (!o) {
        struct key_list keys = {.used = 0};
        solar_config_each_option(drv, append_key, &keys);
        snprintf(err, errlen, "unknown option \"%s\"; the %s driver takes %s", key, drv->name,
                 keys.text);
        return -EINVAL;
    }
    return store(o, cfg, value, err, errlen);
}

int solar_config_set_word(const struct solar_driver *drv, void *cfg, const char *word, char *err,
                          size_t errlen)
{
    const char *eq = strchr(word, '=');
    char key[64];
    if (!eq || eq == word || (size_t)(eq - word) >= sizeof(key)) {
        snprintf(err, errlen, "\"%s\": expected KEY=VALUE", word);
        return -EINVAL;
    }
    memcpy(key, word, (size_t)(eq - word));
    key[eq - word] = '\0';
    return solar_config_set(drv, cfg, key, eq + 1, err, errlen);
}

static void set_default(const struct solar_option *o, void *cfg)
{
    char scrap[8];
    if (o->default_value)
        store(o, cfg, o->default_value, scrap, sizeof(scrap));
}

void solar_config_init(const struct solar_driver *drv, void *cfg)
{
    memset(cfg, 0, drv->config_size);
    for (const struct solar_option *o = common_options; o->name; o++)
        set_default(o, cfg);
    for (const struct solar_option *o = drv->options; o && o->name; o++)
        set_default(o, cfg);
    struct solar_config *base = cfg;
    base->baud = drv->default_baud;
    base->timeout = drv->default_timeout;
}

/* "/dev/serial/by-id/usb-FTDI-if00" -> "usb_FTDI_if00", "tcp:10.0.0.5:4001" -> "10_0_0_5_4001":
 * a name safe in collectd identifiers and line protocol tags, and free of the '-' that
 * separates a unit number. */
static void name_from_port(const char *address, char *name, size_t cap)
{
    const char *base = strrchr(address, '/');
    base = base && base[1] ? base + 1 : address;
    size_t n = 0;
    for (; *base && n + 1 < cap; base++)
        name[n++] = isalnum((unsigned char)*base) ? *base : '_';
    name[n] = '\0';
}

static int valid_name(const char *name)
{
    for (const char *p = name; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '_' && *p != '.' && *p != '-')
            return 0;
    return name[0] != '\0';
}

int solar_config_finish(const struct solar_driver *drv, void *cfg, char *err, size_t errlen)
{
    struct solar_config *base = cfg;
    const char *address;
    char kinds[96];
    if (base->port[0] == '\0') {
        snprintf(err, errlen, "Port is required");
        return -EINVAL;
    }
    enum solar_port_kind kind = solar_port_kind_parse(base->port, &address);
    if (!(kind & drv->port_kinds)) {
        snprintf(err, errlen, "Port \"%s\": the %s driver accepts %s ports", base->port, drv->name,
                 solar_port_kinds_describe(drv->port_kinds, kinds, sizeof(kinds)));
        return -EINVAL;
    }
    if (base->name[0] == '\0')
        name_from_port(address, base->name, sizeof(base->name));
    if (!valid_name(base->name)) {
        snprintf(err, errlen, "Name \"%s\": use letters, digits, '_', '.' and '-'", base->name);
        return -EINVAL;
    }
    return drv->check ? drv->check(cfg, err, errlen) : 0;
}
