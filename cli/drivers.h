/* The drivers solarpoll was built with. */
#ifndef SOLARPOLL_DRIVERS_H
#define SOLARPOLL_DRIVERS_H

#include "driver.h"

/* NULL-terminated. */
extern const struct solar_driver *const solarpoll_drivers[];

/* The driver called name, or NULL. */
const struct solar_driver *solarpoll_driver_find(const char *name);

#endif
