#include "hid_api.h"

#include "log.h"
#include "solar-config.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    size_t offset;
} hid_symbols[] = {
    {"hid_init", offsetof(struct solar_hid_api, init)},
    {"hid_enumerate", offsetof(struct solar_hid_api, enumerate)},
    {"hid_free_enumeration", offsetof(struct solar_hid_api, free_enumeration)},
    {"hid_open_path", offsetof(struct solar_hid_api, open_path)},
    {"hid_close", offsetof(struct solar_hid_api, close)},
    {"hid_write", offsetof(struct solar_hid_api, write)},
    {"hid_read_timeout", offsetof(struct solar_hid_api, read_timeout)},
};

#define N_SYMBOLS (sizeof(hid_symbols) / sizeof(hid_symbols[0]))

_Static_assert(sizeof(struct solar_hid_api) == N_SYMBOLS * sizeof(void (*)(void)),
               "a symbol for every member of struct solar_hid_api");

int solar_hid_api_load(const char *library, struct solar_hid_api *api, char *why, size_t cap)
{
    void *lib = dlopen(library, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        snprintf(why, cap, "%s", dlerror());
        return -1;
    }
    for (size_t i = 0; i < N_SYMBOLS; i++) {
        void *symbol = dlsym(lib, hid_symbols[i].name);
        if (!symbol) {
            snprintf(why, cap, "%s has no %s", library, hid_symbols[i].name);
            dlclose(lib);
            return -1;
        }
        /* POSIX gives data and function pointers one representation (dlsym depends on it). */
        memcpy((char *)api + hid_symbols[i].offset, &symbol, sizeof(symbol));
    }
    if (api->init() < 0) {
        snprintf(why, cap, "%s: hid_init failed", library);
        return -1; /* it stays loaded: hidapi may hold state from the attempt */
    }
    return 0;
}

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static const struct solar_hid_api *chosen;
static struct solar_hid_api loaded;
static char load_error[256];

static void load_library(void)
{
    if (chosen)
        return;
    if (solar_hid_api_load(SOLAR_HIDAPI_LIBRARY, &loaded, load_error, sizeof(load_error)) == 0)
        chosen = &loaded;
    else /* once per process: every later hid: port fails the same way, with ELIBACC */
        solar_log(SOLAR_LOG_ERR, "HID devices need hidapi: %s", load_error);
}

const struct solar_hid_api *solar_hid_api(const char **why)
{
    pthread_once(&load_once, load_library);
    if (why)
        *why = load_error;
    return chosen;
}

void solar_hid_api_use(const struct solar_hid_api *api)
{
    chosen = api;
}
