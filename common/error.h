/* Error codes of the protocol core.
 *
 * Every function that can fail returns a negative errno value (libmodbus style); the codes below
 * carry a protocol meaning, and solar_strerror() turns any of them into the words a log line
 * shows. Pure decoders return only the protocol codes; port backends add system errors
 * (-ENOENT, -EACCES, -EIO, -ENODEV, -ECONNREFUSED ...). */
#ifndef SOLAR_ERROR_H
#define SOLAR_ERROR_H

#include <errno.h>

#define SOLAR_EBADCRC    EBADMSG    /* checksum or CRC mismatch */
#define SOLAR_EFRAME     EPROTO     /* malformed frame: start/end marker, bad hex, length field */
#define SOLAR_ESHORT     EMSGSIZE   /* frame shorter than the fields it announces */
#define SOLAR_EMISMATCH  ENOMSG     /* a valid reply, but not to the request that was sent */
#define SOLAR_EDEVICE    EREMOTEIO  /* the device answered with an error status (NAK, RTN, 0x80) */
#define SOLAR_ETIMEDOUT  ETIMEDOUT  /* no complete reply before the deadline */
#define SOLAR_EUNSUPPORT EOPNOTSUPP /* the device does not know this command */

/* Returns a static string describing err (negative or positive errno value). */
const char *solar_strerror(int err);

#endif
