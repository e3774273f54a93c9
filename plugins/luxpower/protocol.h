/* LuxPower / EG4 hybrid inverters: the input-register map and the Wi-Fi dongle's port-8000
 * framing. Pure: nothing here does I/O, allocates or logs.
 *
 * Registers are read in 40-register banks aligned at 0/40/80/120/160/200 (the vendor caps a
 * read at 40 registers that must not span a group). One table (luxpower_registers) drives the
 * decoding for every transport: Modbus RTU and TCP deliver big-endian words that libmodbus
 * hands over as host integers, the dongle delivers little-endian words that
 * luxpower_dongle_reply_decode() turns into the same host integers.
 *
 * Dongle frame (all fields little-endian):
 *   A1 1A proto:u16 len:u16 01 func datalog[10] | func C2: dlen:u16 inner[dlen-2] crc:u16
 *   inner (request):  action=00 fc serial[10] reg:u16 count:u16
 *   inner (reply):    action=01 fc serial[10] reg:u16 nbytes:u8 values[nbytes]
 *   inner (exception) action fc|80 serial[10] reg:u16 code:u8
 * len = bytes after the len field; CRC16/MODBUS covers the inner frame only. */
#ifndef LUXPOWER_PROTOCOL_H
#define LUXPOWER_PROTOCOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LUXPOWER_BANK_SIZE   40
#define LUXPOWER_BANKS       6 /* 0..239 */
#define LUXPOWER_INPUT_COUNT (LUXPOWER_BANK_SIZE * LUXPOWER_BANKS)
#define LUXPOWER_FAST_BANKS  0x07 /* banks 0-119, read every poll */

#define LUXPOWER_FC_READ_HOLD  0x03
#define LUXPOWER_FC_READ_INPUT 0x04

/* Identity registers. */
#define LUXPOWER_INPUT_SERIAL 115 /* 115-119: 10 ASCII characters, low byte first */
#define LUXPOWER_HOLD_FW      7   /* 7-8: firmware code, 4 ASCII characters */
#define LUXPOWER_HOLD_MODEL   19  /* device type code */
#define LUXPOWER_SERIAL_LEN   10

enum luxpower_kind {
    LUXPOWER_U16,
    LUXPOWER_S16,
    LUXPOWER_U32,  /* reg = low word, reg + 1 = high word */
    LUXPOWER_BITS, /* (raw >> shift) & ((1 << width) - 1): packed fields (SOC/SOH, reg 113) */
    LUXPOWER_PF,   /* power factor: (0,1000] -> x/1000, (1000,2000) -> (1000-x)/1000 */
};

/* One row of the register map: a value emitted as type-type_instance. A decoded value outside
 * [min, max] is a corruption spike (0xFFFF words are common) and is dropped, never emitted;
 * when zero_ok is set, 0 is accepted besides the range (a frequency of 0: no grid). */
struct luxpower_register {
    uint16_t reg;
    uint8_t kind;
    uint8_t shift, width;
    bool zero_ok;
    double scale; /* value = raw / scale */
    double min, max;
    const char *type;
    const char *type_instance;
    const char *unit;
    const char *help;
};

/* The map, in register order; fewer than LUXPOWER_MAX_ROWS rows (per-row state is sized so). */
#define LUXPOWER_MAX_ROWS 256
extern const struct luxpower_register luxpower_registers[];
extern const size_t luxpower_register_count;

/* The bank (0..5) a register belongs to. */
static inline unsigned luxpower_bank_of(unsigned reg)
{
    return reg / LUXPOWER_BANK_SIZE;
}

/* Decodes row r from the input image regs (LUXPOWER_INPUT_COUNT host-order words). Returns 0
 * and *out, or -ERANGE with the rejected value in *out when it is outside the row's range. */
int luxpower_register_decode(const struct luxpower_register *r, const uint16_t *regs, double *out);

/* Copies count registers of ASCII, first character in the low byte of each word, into out
 * (2 * count + 1 bytes, NUL-terminated). Non-printable bytes become '?'; trailing NULs and
 * spaces are cut. */
void luxpower_ascii_decode(const uint16_t *words, unsigned count, char *out);

/* Name of input register 0's status code ("pv_on_grid"), NULL for an unknown code. */
const char *luxpower_status_name(unsigned code);
/* Names of the 32 bits of FaultCode (input 60-61) and WarningCode (input 62-63), snake_case;
 * NULL for a reserved bit. */
extern const char *const luxpower_fault_names[32];
extern const char *const luxpower_warning_names[32];
/* Model name of holding register 19's device type code, NULL when unknown. */
const char *luxpower_model_name(unsigned code);

/* --- the dongle's port-8000 protocol --- */

#define LUXPOWER_DONGLE_PREFIX0   0xA1
#define LUXPOWER_DONGLE_PREFIX1   0x1A
#define LUXPOWER_DONGLE_HEADER    18 /* prefix, protocol, length, address, function, datalog */
#define LUXPOWER_DONGLE_REQUEST   38
#define LUXPOWER_DONGLE_FRAME_MAX 512
#define LUXPOWER_TCP_HEARTBEAT    0xC1
#define LUXPOWER_TCP_TRANSLATED   0xC2
#define LUXPOWER_TCP_READ_PARAM   0xC3

/* A decoded dongle frame. For TranslatedData (0xC2) the inner fields are set; values points
 * into the frame (count little-endian words, see luxpower_dongle_values()). */
struct luxpower_dongle_frame {
    unsigned protocol;
    unsigned function; /* LUXPOWER_TCP_* */
    char datalog[LUXPOWER_SERIAL_LEN + 1];
    /* 0xC2 only: */
    unsigned action; /* 0 to the inverter, 1 from it */
    unsigned fc;     /* device function without the exception bit */
    bool exception;
    unsigned exception_code;
    char serial[LUXPOWER_SERIAL_LEN + 1];
    unsigned reg;
    unsigned count; /* registers in values */
    const uint8_t *values;
};

/* Builds the 38-byte read request (fc 3 or 4) for count registers at reg. datalog and serial
 * are 10 characters (shorter ones are padded with NULs, longer ones cut). Returns
 * LUXPOWER_DONGLE_REQUEST. */
size_t luxpower_dongle_request_build(const char *datalog, const char *serial, unsigned fc,
                                     unsigned reg, unsigned count,
                                     uint8_t out[LUXPOWER_DONGLE_REQUEST]);

/* Framer for solar_port_read_frame(): finds A1 1A, waits for the announced length. Returns
 * the frame length, the length still awaited (more than len: the announced length, or the
 * shortest frame before the header is in), or -k to skip noise (bytes before A1 1A, a length that
 * no frame can have). When arg points to a struct luxpower_dongle_match, whole frames that are not
 * the awaited reply (heartbeats, pushed uploads, replies to other requests) are skipped too, so
 * that the exchange waits for its own reply; and when it has a seen record, a damaged frame is
 * stepped over by one byte (it may be a false start) and its error kept there. */
long luxpower_dongle_frame_find(const uint8_t *buf, size_t len, const void *arg);

/* What the framer saw while skipping frames: the last heartbeat (to be echoed) and the
 * inverter serial of the last frame from the inverter (to learn it when not configured). */
struct luxpower_dongle_seen {
    uint8_t heartbeat[32];
    size_t heartbeat_len;
    char serial[LUXPOWER_SERIAL_LEN + 1];
    unsigned skipped; /* whole frames skipped */
    int damaged;      /* error of the last damaged frame stepped over, 0 if none */
};

/* What a reply must echo: function, register, count; serial when not empty. fc 0 matches
 * nothing, so that the framer only collects what is pending. seen may be NULL. */
struct luxpower_dongle_match {
    unsigned fc, reg, count;
    const char *serial;
    struct luxpower_dongle_seen *seen;
};

/* Validates and decodes one complete frame: prefix, length field, address byte; for 0xC2 the
 * data length, the CRC of the inner frame, the byte count. Errors:
 *   -SOLAR_EFRAME   bad prefix, length fields disagreeing with the frame size
 *   -SOLAR_ESHORT   shorter than the fields it announces
 *   -SOLAR_EBADCRC  CRC mismatch */
int luxpower_dongle_frame_decode(const uint8_t *frame, size_t len,
                                 struct luxpower_dongle_frame *out);

/* Checks a decoded frame as the reply to m: -SOLAR_EMISMATCH when it answers something else
 * (function, register, count, inverter serial), -SOLAR_EDEVICE for an exception reply. */
int luxpower_dongle_reply_check(const struct luxpower_dongle_frame *f,
                                const struct luxpower_dongle_match *m);

/* Copies the frame's count little-endian registers into host-order words. */
void luxpower_dongle_values(const struct luxpower_dongle_frame *f, uint16_t *out);

/* Builds the echo of a heartbeat frame (the dongle stays silent unless heartbeats are answered
 * when it has no cloud connection). Returns the length, or 0 when it does not fit in cap. */
size_t luxpower_dongle_heartbeat_reply(const uint8_t *frame, size_t len, uint8_t *out, size_t cap);

#endif
