/* Loading hidapi at run time: the library this build names, and the ways loading fails. */
#include "hid_api.h"
#include "tap.h"

#include "solar-config.h"

#include <string.h>

int main(void)
{
    struct solar_hid_api api;
    char why[256] = "";

    memset(&api, 0, sizeof(api));
    is_int(solar_hid_api_load(SOLAR_HIDAPI_LIBRARY, &api, why, sizeof(why)), 0,
           "loads " SOLAR_HIDAPI_LIBRARY);
    ok(api.init && api.enumerate && api.free_enumeration && api.open_path && api.close &&
           api.write && api.read_timeout,
       "every call resolved");
    is_int(solar_hid_api_load("libsolar-test-no-such-library.so.9", &api, why, sizeof(why)), -1,
           "a missing library fails");
    ok(strstr(why, "libsolar-test-no-such-library.so.9") != NULL, "and the reason names it (%s)",
       why);

    is_int(solar_hid_api_load("libc.so.6", &api, why, sizeof(why)), -1,
           "a library without hidapi's calls fails");
    is_str(why, "libc.so.6 has no hid_init", "and the reason names the missing call");

    const char *process_why = NULL;
    const struct solar_hid_api *process_api = solar_hid_api(&process_why);
    ok(process_api != NULL, "the process's hidapi loads on first use (%s)", process_why);
    ok(solar_hid_api(NULL) == process_api, "and once");
    return tap_done();
}
