/* The collectd glue, compiled once per plugin with -DSOLAR_PLUGIN_DRIVER=<driver>_driver.
 *
 *   LoadPlugin jbd
 *   <Plugin jbd>
 *     <Device "pack">
 *       Port "/dev/ttyUSB0"
 *       Interval 10
 *     </Device>
 *   </Plugin>
 *
 * Each <Device> block becomes one read callback "<driver>/<name>" in the read group "<driver>",
 * with its own Interval. The callback always returns 0: a device that does not answer is a
 * state the lifecycle reports (bool-up 0, a notification, a rate-limited log line), and
 * collectd's own doubling of a failing read's interval would only delay its recovery. */
#include "collectd.h"
#include "plugin.h"
#include "utils/common/common.h"

#include "driver.h"

extern const struct solar_driver SOLAR_PLUGIN_DRIVER;
#define DRIVER (&SOLAR_PLUGIN_DRIVER)

/* Devices are read by collectd's read threads; configuration and shutdown happen with no read
 * running, so the list itself needs no lock. */
static struct solar_device **devices;
static size_t device_count;

struct dispatch_context {
    cdtime_t time; /* one timestamp for all values of a poll */
};

static void log_to_collectd(enum solar_log_level level, const char *message)
{
    static const int priority[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
    plugin_log(priority[level], "%s plugin: %s", DRIVER->name, message);
}

static void dispatch_value(void *ctx, const char *instance, const char *type,
                           const char *type_instance, double value)
{
    const struct dispatch_context *dc = ctx;
    value_list_t vl = VALUE_LIST_INIT;
    value_t v = {.gauge = value};
    vl.values = &v;
    vl.values_len = 1;
    vl.time = dc->time;
    sstrncpy(vl.plugin, DRIVER->name, sizeof(vl.plugin));
    sstrncpy(vl.plugin_instance, instance, sizeof(vl.plugin_instance));
    sstrncpy(vl.type, type, sizeof(vl.type));
    sstrncpy(vl.type_instance, type_instance, sizeof(vl.type_instance));
    plugin_dispatch_values(&vl);
}

static void dispatch_notification(void *ctx, enum solar_severity severity, const char *instance,
                                  const char *message)
{
    static const int collectd_severity[] = {NOTIF_OKAY, NOTIF_WARNING, NOTIF_FAILURE};
    const struct dispatch_context *dc = ctx;
    notification_t n = {.severity = collectd_severity[severity], .time = dc->time};
    sstrncpy(n.message, message, sizeof(n.message));
    sstrncpy(n.host, hostname_g, sizeof(n.host));
    sstrncpy(n.plugin, DRIVER->name, sizeof(n.plugin));
    sstrncpy(n.plugin_instance, instance, sizeof(n.plugin_instance));
    plugin_dispatch_notification(&n);
}

static int solar_read(user_data_t *ud)
{
    struct dispatch_context ctx = {.time = cdtime()};
    const struct solar_sink sink = {dispatch_value, dispatch_notification, &ctx};
    solar_device_poll(ud->data, &sink);
    return 0;
}

/* collectd has already parsed the value; its text goes through the same parser as solarpoll's
 * KEY=VALUE words. */
static int value_text(const oconfig_item_t *ci, char *buf, size_t cap)
{
    if (ci->values_num != 1)
        return -1;
    const oconfig_value_t *v = &ci->values[0];
    switch (v->type) {
    case OCONFIG_TYPE_STRING:
        sstrncpy(buf, v->value.string, cap);
        return 0;
    case OCONFIG_TYPE_NUMBER:
        snprintf(buf, cap, "%.15g", v->value.number);
        return 0;
    case OCONFIG_TYPE_BOOLEAN:
        sstrncpy(buf, v->value.boolean ? "true" : "false", cap);
        return 0;
    }
    return -1;
}

static int device_name_taken(const char *name)
{
    for (size_t i = 0; i < device_count; i++)
        if (strcmp(devices[i]->config->name, name) == 0)
            return 1;
    return 0;
}

static int config_device(oconfig_item_t *ci)
{
    char err[600], text[512];
    if (ci->values_num != 1 || ci->values[0].type != OCONFIG_TYPE_STRING) {
        ERROR("%s plugin: <Device> needs one name in quotes: <Device \"pack\">", DRIVER->name);
        return -1;
    }
    const char *name = ci->values[0].value.string;
    struct solar_config *cfg = malloc(DRIVER->config_size);
    if (!cfg)
        return -1;
    solar_config_init(DRIVER, cfg);
    int status = solar_config_set(DRIVER, cfg, "Name", name, err, sizeof(err));
    for (int i = 0; status == 0 && i < ci->children_num; i++) {
        oconfig_item_t *child = ci->children + i;
        if (value_text(child, text, sizeof(text)) < 0) {
            snprintf(err, sizeof(err), "%s needs exactly one value", child->key);
            status = -1;
        } else {
            status = solar_config_set(DRIVER, cfg, child->key, text, err, sizeof(err));
        }
    }
    if (status == 0)
        status = solar_config_finish(DRIVER, cfg, err, sizeof(err));
    if (status == 0 && device_name_taken(cfg->name)) {
        snprintf(err, sizeof(err), "a device of this name is already configured");
        status = -1;
    }
    struct solar_device *dev = NULL;
    if (status == 0 && (status = solar_device_new(DRIVER, cfg, &dev)) < 0)
        snprintf(err, sizeof(err), "%s",
                 status == -EADDRINUSE ? "its port is already used at another Baud"
                                       : solar_strerror(status));
    if (status != 0) {
        ERROR("%s plugin: Device \"%s\": %s", DRIVER->name, name, err);
        if (!dev)
            free(cfg);
        solar_device_free(dev);
        return -1;
    }

    struct solar_device **grown = realloc(devices, (device_count + 1) * sizeof(*devices));
    if (!grown) {
        solar_device_free(dev);
        return -1;
    }
    devices = grown;
    devices[device_count++] = dev;
    return 0;
}

static int solar_configure(oconfig_item_t *ci)
{
    for (int i = 0; i < ci->children_num; i++) {
        oconfig_item_t *child = ci->children + i;
        if (strcasecmp(child->key, "Device") != 0) {
            ERROR("%s plugin: unknown option \"%s\": only <Device \"name\"> blocks go here",
                  DRIVER->name, child->key);
            return -1;
        }
        if (config_device(child) != 0)
            return -1;
    }
    return 0;
}

static int solar_init(void)
{
    static bool registered;
    if (registered) /* init runs again after a configuration reload in some collectd builds */
        return 0;
    registered = true;
    if (device_count == 0)
        WARNING("%s plugin: no <Device> configured: nothing to read", DRIVER->name);
    for (size_t i = 0; i < device_count; i++) {
        struct solar_device *dev = devices[i];
        char name[DATA_MAX_NAME_LEN * 2];
        snprintf(name, sizeof(name), "%s/%s", DRIVER->name, dev->config->name);
        user_data_t ud = {.data = dev, .free_func = NULL};
        int status = plugin_register_complex_read(DRIVER->name, name, solar_read,
                                                  DOUBLE_TO_CDTIME_T(dev->config->interval), &ud);
        if (status != 0) {
            ERROR("%s plugin: registering the read callback %s failed", DRIVER->name, name);
            return -1;
        }
    }
    return 0;
}

static int solar_shutdown(void)
{
    for (size_t i = 0; i < device_count; i++)
        solar_device_free(devices[i]);
    free(devices);
    devices = NULL;
    device_count = 0;
    return 0;
}

void module_register(void)
{
    solar_log_set_handler(log_to_collectd);
    plugin_register_complex_config(DRIVER->name, solar_configure);
    plugin_register_init(DRIVER->name, solar_init);
    plugin_register_shutdown(DRIVER->name, solar_shutdown);
}
