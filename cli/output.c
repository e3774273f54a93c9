#include "output.h"

#include <math.h> /* signbit(), a macro: no libm */
#include <stdbool.h>
#include <stdint.h>
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

/* The decimal r / 10^k in fixed notation: k fraction digits (r has no trailing zero when k > 0:
 * see output_value_text), then the integer part. */
static size_t decimal_text(uint64_t r, unsigned k, bool negative, char *text)
{
    char digits[24], *d = digits + sizeof(digits);
    for (unsigned i = 0; i < k; i++, r /= 10)
        *--d = (char)('0' + r % 10);
    if (k > 0)
        *--d = '.';
    do
        *--d = (char)('0' + r % 10);
    while ((r /= 10) > 0);
    if (negative)
        *--d = '-';
    size_t n = (size_t)(digits + sizeof(digits) - d);
    memcpy(text, d, n);
    text[n] = '\0';
    return n;
}

size_t output_value_text(double value, char *text)
{
    /* The values decoders make are decimals, a register times 10^-k: D = r / 10^k with at most
     * 10 significant digits, v the double nearest to D (r / 10^k, correctly rounded, is v).
     * Every other 10-digit decimal lies at least |D| x 1e-10 from D, and v within |D| x 2^-53:
     * "%.10g" prints D, in fixed notation for 1e-4 <= |D| < 1e10. printf's exact conversion of
     * the binary value cost a third of execd's work; anything else still goes through it. */
    static const double pow10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9};
    double magnitude = value < 0 ? -value : value;
    if (value == 0)
        return decimal_text(0, 0, signbit(value), text); /* "0", "-0" */
    if (magnitude >= 1e-4 && magnitude < 1e10) {
        for (unsigned k = 0; k < sizeof(pow10) / sizeof(pow10[0]); k++) {
            double scaled = magnitude * pow10[k];
            if (scaled >= 1e10)
                break;
            /* The smallest k that matches: a larger one would only add trailing zeros. */
            uint64_t r = (uint64_t)(scaled + 0.5);
            if ((double)r / pow10[k] == magnitude)
                return decimal_text(r, k, value < 0, text);
        }
    }
    int n = snprintf(text, OUTPUT_VALUE_MAX, "%.10g", value);
    return n > 0 ? (size_t)n : 0;
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

/* InfluxDB's collectd input names a measurement PLUGIN_DSNAME, DSNAME from types.db: "value" in
 * every type we emit but the stock "duration", whose data source is "seconds". */
static const char *influx_ds_name(const char *type)
{
    return strcmp(type, "duration") == 0 ? "seconds" : "value";
}

/* One line protocol line, built in memory and written at once: execd writes a line per
 * value, hundreds a poll, and stdio's call per character was most of its work. Room for the
 * longest: every name at its limit, each character escaped. */
struct influx_line {
    char text[1536];
    size_t len;
};

static void line_add(struct influx_line *l, const char *s, size_t n)
{
    if (n > sizeof(l->text) - l->len)
        n = sizeof(l->text) - l->len;
    memcpy(l->text + l->len, s, n);
    l->len += n;
}

static void line_add_str(struct influx_line *l, const char *s)
{
    line_add(l, s, strlen(s));
}

/* Tag values escape commas, equals signs and spaces. */
static void influx_tag(struct influx_line *l, const char *key, const char *value)
{
    line_add(l, ",", 1);
    line_add_str(l, key);
    line_add(l, "=", 1);
    for (;;) {
        size_t plain = strcspn(value, ",= ");
        line_add(l, value, plain);
        value += plain;
        if (*value == '\0')
            break;
        line_add(l, "\\", 1);
        line_add(l, value++, 1);
    }
}

static void influx_write(FILE *out, const struct output_value *v)
{
    struct influx_line l;
    l.len = 0; /* the text is written before it is read: no need to clear 1.5 KiB a line */
    line_add_str(&l, v->plugin);
    line_add(&l, "_", 1);
    line_add_str(&l, influx_ds_name(v->type));
    influx_tag(&l, "host", v->host);
    influx_tag(&l, "instance", v->instance);
    influx_tag(&l, "type", v->type);
    if (v->type_instance[0])
        influx_tag(&l, "type_instance", v->type_instance);
    char value[OUTPUT_VALUE_MAX];
    line_add_str(&l, " value=");
    line_add(&l, value, output_value_text(v->value, value));
    line_add(&l, "\n", 1);
    fwrite(l.text, 1, l.len, out);
}

void output_write(FILE *out, enum output_format format, const struct output_value *v)
{
    char value[OUTPUT_VALUE_MAX];
    switch (format) {
    case OUTPUT_TABLE: {
        char name[160];
        snprintf(name, sizeof(name), "%s%s%s", v->type, v->type_instance[0] ? "-" : "",
                 v->type_instance);
        output_value_text(v->value, value);
        fprintf(out, "%-20s %-36s %s\n", v->instance, name, value);
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
        output_value_text(v->value, value);
        fprintf(out, ",\"value\":%s}\n", value);
        break;
    case OUTPUT_INFLUX:
        influx_write(out, v);
        break;
    case OUTPUT_PUTVAL:
        output_value_text(v->value, value);
        fprintf(out, "PUTVAL \"%s/%s-%s/%s%s%s\" N:%s\n", v->host, v->plugin, v->instance, v->type,
                v->type_instance[0] ? "-" : "", v->type_instance, value);
        break;
    }
}
