/* hidapi, loaded at run time by the first user of a HID device (a hid: port, `solarpoll scan`),
 * so that a process polling only serial and TCP devices never maps libhidapi and the libudev it
 * pulls in (about 130 KiB of every collectd and solarpoll that would otherwise carry them). */
#ifndef SOLAR_HID_API_H
#define SOLAR_HID_API_H

#include <hidapi.h>
#include <stddef.h>

struct solar_hid_api {
    int (*init)(void);
    struct hid_device_info *(*enumerate)(unsigned short vid, unsigned short pid);
    void (*free_enumeration)(struct hid_device_info *list);
    hid_device *(*open_path)(const char *path);
    void (*close)(hid_device *dev);
    int (*write)(hid_device *dev, const unsigned char *data, size_t len);
    int (*read_timeout)(hid_device *dev, unsigned char *data, size_t len, int ms);
};

/* Fills api from the shared library named library (a soname or a path) and initialises it
 * (hid_init). Returns 0, or -1 with the reason (the loader's or hidapi's) in why. A library
 * loaded once stays loaded: hidapi keeps process-wide state. */
int solar_hid_api_load(const char *library, struct solar_hid_api *api, char *why, size_t cap);

/* The process's hidapi: SOLAR_HIDAPI_LIBRARY loaded on the first call (thread-safe), or the
 * table given to solar_hid_api_use(). NULL when it cannot be loaded; *why (if why is not NULL)
 * then says why, the same text on every call. */
const struct solar_hid_api *solar_hid_api(const char **why);

/* Makes solar_hid_api() return api (tests: a fake bridge). Call before the first
 * solar_hid_api(). */
void solar_hid_api_use(const struct solar_hid_api *api);

#endif
