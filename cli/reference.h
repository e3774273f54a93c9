/* The reference of the drivers, from their tables: docs/metrics.md is this output. */
#ifndef SOLARPOLL_REFERENCE_H
#define SOLARPOLL_REFERENCE_H

#include "driver.h"

#include <stdio.h>

/* Writes a Markdown document: one section per driver of drivers (NULL-terminated) with its
 * port kinds, its metrics and its options. */
void reference_markdown(FILE *out, const struct solar_driver *const *drivers);

#endif
