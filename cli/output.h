/* solarpoll's output formats. Line protocol follows the schema of InfluxDB's collectd input, so
 * that one set of dashboards serves both paths. */
#ifndef SOLARPOLL_OUTPUT_H
#define SOLARPOLL_OUTPUT_H

#include <stdio.h>

enum output_format { OUTPUT_TABLE, OUTPUT_JSON, OUTPUT_INFLUX, OUTPUT_PUTVAL };

/* Returns 0 and sets *format for "table", "json", "influx" or "putval"; -1 otherwise. */
int output_format_parse(const char *name, enum output_format *format);

struct output_value {
    const char *host;
    const char *plugin;
    const char *instance;
    const char *type;
    const char *type_instance;
    double value;
};

void output_write(FILE *out, enum output_format format, const struct output_value *v);

/* value as printf's "%.10g" writes it, into text (at least OUTPUT_VALUE_MAX bytes); returns
 * the length. */
#define OUTPUT_VALUE_MAX 32
size_t output_value_text(double value, char *text);

#endif
