#include "output.h"

#include <string.h>

static const char *const format_names[] = {"table", "json", "influx", "putval"};

int output_format_parse(const char *name, enum output_format *format)
{
    for (size_t i = 0; i < sizeof(format_names) / sizeof(format_names[0]); i++) {
        if (strcmp(name, format_names[i]) == 0) {
            *format = (enum output_format)i;
            return 0;
        }
    }
    return -1;
}

static void json_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', out);
        if ((unsigned char)*s < 0x20)
            fprintf(out, "\\u%04x", (unsigned char)*s);
        else
            fputc(*s, out);
    }
    fputc('"', out);
}

/* Line protocol tag values escape commas, equals signs and spaces. */
static void influx_tag(FILE *out, const char *key, const char *value)
{
    fprintf(out, ",%s=", key);
    for (; *value; value++) {
        if (*value == ',' || *value == '=' || *value == ' ')
            fputc('\\', out);
        fputc(*value, out);
    }
}

/* InfluxDB's collectd input names a measurement PLUGIN_DSNAME, DSNAME from types.db: "value" in
 * every type we emit but the stock "duration", whose data source is "seconds". */
static const char *influx_ds_name(const char *type)
{
    return strcmp(type, "duration") == 0 ? "seconds" : "value";
}

void output_write(FILE *out, enum output_format format, const struct output_value *v)
{
    switch (format) {
    case OUTPUT_TABLE: {
        char name[160];
        snprintf(name, sizeof(name), "%s%s%s", v->type, v->type_instance[0] ? "-" : "",
                 v->type_instance);
        fprintf(out, "%-20s %-36s %.10g\n", v->instance, name, v->value);
        break;
    }
    case OUTPUT_JSON:
        fputs("{\"plugin\":", out);
        json_string(out, v->plugin);
        fputs(",\"plugin_instance\":", out);
        json_string(out, v->instance);
        fputs(",\"type\":", out);
        json_string(out, v->type);
        fputs(",\"type_instance\":", out);
        json_string(out, v->type_instance);
        fprintf(out, ",\"value\":%.10g}\n", v->value);
        break;
    case OUTPUT_INFLUX:
        fprintf(out, "%s_%s", v->plugin, influx_ds_name(v->type));
        influx_tag(out, "host", v->host);
        influx_tag(out, "instance", v->instance);
        influx_tag(out, "type", v->type);
        if (v->type_instance[0])
            influx_tag(out, "type_instance", v->type_instance);
        fprintf(out, " value=%.10g\n", v->value);
        break;
    case OUTPUT_PUTVAL:
        fprintf(out, "PUTVAL \"%s/%s-%s/%s%s%s\" N:%.10g\n", v->host, v->plugin, v->instance,
                v->type, v->type_instance[0] ? "-" : "", v->type_instance, v->value);
        break;
    }
}
