#include "error.h"

#include <stdlib.h>
#include <string.h>

const char *solar_strerror(int err)
{
    switch (abs(err)) {
    case SOLAR_EBADCRC:
        return "checksum mismatch";
    case SOLAR_EFRAME:
        return "malformed frame";
    case SOLAR_ESHORT:
        return "frame shorter than its fields";
    case SOLAR_EMISMATCH:
        return "reply does not match the request";
    case SOLAR_EDEVICE:
        return "device answered with an error status";
    case SOLAR_ETIMEDOUT:
        return "no reply before the deadline";
    case SOLAR_EUNSUPPORT:
        return "command not supported by the device";
    case ENOTTY:
        return "not a serial port (tty)";
    default:
        return strerror(abs(err));
    }
}
