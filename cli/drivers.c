#include "solar-config.h"

#include "drivers.h"

#include <string.h>

extern const struct solar_driver jbd_driver;
extern const struct solar_driver luxpower_driver;
extern const struct solar_driver pylontech_driver;
extern const struct solar_driver voltronic_driver;

const struct solar_driver *const solarpoll_drivers[] = {
#ifdef HAVE_DRIVER_JBD
    &jbd_driver,
#endif
#ifdef HAVE_DRIVER_LUXPOWER
    &luxpower_driver,
#endif
#ifdef HAVE_DRIVER_PYLONTECH
    &pylontech_driver,
#endif
#ifdef HAVE_DRIVER_VOLTRONIC
    &voltronic_driver,
#endif
    NULL,
};

const struct solar_driver *solarpoll_driver_find(const char *name)
{
    for (size_t i = 0; solarpoll_drivers[i]; i++)
        if (strcmp(solarpoll_drivers[i]->name, name) == 0)
            return solarpoll_drivers[i];
    return NULL;
}
