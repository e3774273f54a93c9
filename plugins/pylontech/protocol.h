/* Pylontech RS485/RS232 "binary-in-ASCII" protocol: pure request building and reply decoding.
 *
 *   '~' VER ADR CID1 CID2|RTN LENGTH INFO CHKSUM '\r'
 *
 * Every byte between SOI and EOI travels as two ASCII hex digits. LENGTH = LCHKSUM (4 bits) |
 * LENID (12 bits, the number of INFO characters); CHKSUM = two's complement of the 16-bit sum of
 * the characters VER..INFO. Nothing here does I/O, allocates or logs. Decoded values are in SI
 * units; a field the frame does not carry is NAN. Decoders walk the counts the frame announces
 * (cells, temperatures, user-defined items, packs), never fixed offsets. */
#ifndef PYLONTECH_PROTOCOL_H
#define PYLONTECH_PROTOCOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PYLONTECH_SOI  '~'
#define PYLONTECH_EOI  '\r'
#define PYLONTECH_VER  0x20
#define PYLONTECH_CID1 0x46

#define PYLONTECH_CMD_ANALOG       0x42
#define PYLONTECH_CMD_ALARM        0x44
#define PYLONTECH_CMD_SYSTEM_PARAM 0x47
#define PYLONTECH_CMD_PROTOCOL     0x4F
#define PYLONTECH_CMD_MANUFACTURER 0x51
#define PYLONTECH_CMD_MANAGEMENT   0x92
#define PYLONTECH_CMD_SERIAL       0x93

/* INFO of 0x42/0x44 asking the master for every pack at once. */
#define PYLONTECH_ALL_PACKS 0xFF

/* RTN codes (SPEC-3.3 section 2.5.2). */
#define PYLONTECH_RTN_OK 0x00

#define PYLONTECH_OVERHEAD   18 /* SOI, 12 header characters, 4 checksum characters, EOI */
#define PYLONTECH_LENID_MAX  4095
#define PYLONTECH_FRAME_MAX  (PYLONTECH_OVERHEAD + PYLONTECH_LENID_MAX)
#define PYLONTECH_INFO_MAX   (PYLONTECH_LENID_MAX / 2)
#define PYLONTECH_MAX_CELLS  24
#define PYLONTECH_MAX_TEMPS  8
#define PYLONTECH_MAX_PACKS  16
#define PYLONTECH_SERIAL_LEN 16
#define PYLONTECH_NAME_LEN   10
#define PYLONTECH_MAKER_LEN  20

/* Scales of the fields compatibles send differently; pylontech_dialect_pylon is the genuine one.
 * A value on the wire times the scale gives the SI unit. */
struct pylontech_dialect {
    const char *name;
    double cell_voltage; /* V per count */
    double pack_voltage; /* V per count */
    double current;      /* A per count */
    double capacity;     /* Ah per count */
};

extern const struct pylontech_dialect pylontech_dialect_pylon;

/* Header of a checked reply. */
struct pylontech_header {
    uint8_t ver, adr, cid1, rtn;
};

struct pylontech_analog {
    unsigned address; /* command value echoed by the pack (single-pack form) */
    unsigned cell_count;
    double cell_voltage[PYLONTECH_MAX_CELLS]; /* V */
    unsigned temp_count;                      /* as announced; at most MAX_TEMPS kept */
    double temperature[PYLONTECH_MAX_TEMPS];  /* degC: BMS, cells 1-4 .. 13-16, MOSFET */
    double current;                           /* A, positive = charging */
    double voltage;                           /* V */
    double remaining_ah, full_ah;             /* Ah, from the 3-byte fields when udi >= 4 */
    double cycles;
    double soc; /* %, remaining / full */
    unsigned user_defined;
};

/* Alarm states: 0 normal, 1 below the lower limit, 2 above the upper limit, 0xF0 other. */
#define PYLONTECH_STATE_LOW   0x01
#define PYLONTECH_STATE_HIGH  0x02
#define PYLONTECH_STATE_OTHER 0xF0

struct pylontech_alarm {
    unsigned address;
    unsigned cell_count;
    uint8_t cell_state[PYLONTECH_MAX_CELLS];
    unsigned temp_count;
    uint8_t temp_state[PYLONTECH_MAX_TEMPS];
    uint8_t charge_current_state, voltage_state, discharge_current_state;
    uint8_t status[5]; /* Status1..Status5 */
};

/* Status bits of 0x44 (SPEC-3.3 section 3.5). */
#define PYLONTECH_S1_MODULE_UV  0x80
#define PYLONTECH_S1_CHARGE_OT  0x40
#define PYLONTECH_S1_DISCH_OT   0x20
#define PYLONTECH_S1_DISCH_OC   0x10
#define PYLONTECH_S1_CHARGE_OC  0x04
#define PYLONTECH_S1_CELL_UV    0x02
#define PYLONTECH_S1_MODULE_OV  0x01
#define PYLONTECH_S2_ON_BATTERY 0x08
#define PYLONTECH_S2_DISCH_FET  0x04
#define PYLONTECH_S2_CHARGE_FET 0x02
#define PYLONTECH_S3_CHARGING   0x80
#define PYLONTECH_S3_DISCHARGE  0x40
#define PYLONTECH_S3_FULL       0x08
#define PYLONTECH_S3_BUZZER     0x01

/* 0x92 status bits. */
#define PYLONTECH_MG_CHARGE_ENABLE 0x80
#define PYLONTECH_MG_DISCH_ENABLE  0x40
#define PYLONTECH_MG_CHARGE_NOW_1  0x20
#define PYLONTECH_MG_CHARGE_NOW_2  0x10
#define PYLONTECH_MG_FULL_REQUEST  0x08

struct pylontech_management {
    unsigned address;
    double charge_voltage_limit, discharge_voltage_limit; /* V */
    double charge_current_limit, discharge_current_limit; /* A, signed as sent */
    uint8_t status;
};

struct pylontech_system_param {
    double cell_high_v, cell_low_v, cell_under_v;       /* V */
    double charge_high_t, charge_low_t;                 /* degC */
    double charge_current;                              /* A */
    double module_high_v, module_low_v, module_under_v; /* V */
    double discharge_high_t, discharge_low_t;           /* degC */
    double discharge_current;                           /* A */
};

struct pylontech_manufacturer {
    char device[PYLONTECH_NAME_LEN + 1];
    unsigned version_major, version_minor;
    char manufacturer[PYLONTECH_MAKER_LEN + 1];
};

/* Parses the Addresses option: "2", "2-5", "2,3,7" (ranges and lists mixed) or "auto". Fills
 * out with the addresses in ascending order without duplicates and sets *count; "auto" sets
 * *automatic and leaves *count 0. Addresses 0 and 255 are reserved. Returns 0 or -EINVAL. */
int pylontech_addresses_parse(const char *text, uint8_t *out, unsigned cap, unsigned *count,
                              bool *automatic);

/* Returns the LENGTH word for lenid INFO characters (LCHKSUM in the top nibble; 0 for 0). */
uint16_t pylontech_length_encode(unsigned lenid);

/* Writes a request frame into out: VER, ADR, CID1 0x46, command cid2, info_len INFO bytes (sent
 * as upper-case hex). Returns its length, or 0 when it does not fit in cap. */
size_t pylontech_request_build(uint8_t ver, uint8_t adr, uint8_t cid2, const uint8_t *info,
                               size_t info_len, uint8_t *out, size_t cap);

/* What pylontech_frame_find() is told about the request, so that it skips other traffic. */
struct pylontech_expect {
    uint8_t adr;
    uint8_t cid2; /* the command: a frame carrying it in CID2 is our own echo */
};

/* Framer for solar_port_read_frame(): finds '~' ... '\r'. Returns the length of the complete
 * frame at buf[0]; n > len when more bytes are needed (n: the size LENGTH announces, or the
 * shortest frame before LENGTH has arrived), 0 when LENGTH is garbage and only EOI can
 * end the frame; -k to discard k leading bytes: noise before
 * '~', a frame whose LENGTH disagrees with its size, and, when arg points to a struct
 * pylontech_expect, a frame from another address (a late reply) or the echo of the request on a
 * half-duplex adapter. */
long pylontech_frame_find(const uint8_t *buf, size_t len, const void *arg);

/* Validates one complete frame (SOI, EOI, hex digits, LENGTH's LCHKSUM and LENID, CHKSUM) and
 * converts its INFO to bytes in info (cap bytes). Returns the number of INFO bytes; fills hdr.
 * Errors: -SOLAR_EFRAME (markers, hex, LENGTH), -SOLAR_EBADCRC (CHKSUM), -SOLAR_ESHORT (info
 * does not fit in cap). RTN is not judged here: see pylontech_reply_check(). */
long pylontech_frame_decode(const uint8_t *frame, size_t len, struct pylontech_header *hdr,
                            uint8_t *info, size_t cap);

/* Judges a decoded reply to a request sent to adr: -SOLAR_EMISMATCH for another address or
 * CID1, -SOLAR_EUNSUPPORT for RTN 04 (command unknown), -SOLAR_EDEVICE for any other RTN. */
int pylontech_reply_check(const struct pylontech_header *hdr, uint8_t adr);

/* Words for an RTN code ("ADR error"), "unknown RTN" for codes not in the specification. */
const char *pylontech_rtn_describe(uint8_t rtn);

/* Decodes a 0x42 reply's INFO: INFOFLAG, command value, then pack blocks. all = the request was
 * the all-packs form, whose command value is the pack count. Fills up to cap packs, sets *count.
 * Trailing bytes after the announced blocks are tolerated. Errors: -SOLAR_ESHORT (a count points
 * past the end), -SOLAR_EFRAME (more cells/packs than kept, a user-defined count other than 2 or
 * >= 4). */
int pylontech_analog_decode(const uint8_t *info, size_t len, bool all,
                            const struct pylontech_dialect *dialect, struct pylontech_analog *packs,
                            unsigned cap, unsigned *count);

/* Decodes a 0x44 reply's INFO the same way (DATAFLAG, command value, pack blocks). Newer
 * firmware appends one byte after Status5: tolerated, also once per block of the all-packs form. */
int pylontech_alarm_decode(const uint8_t *info, size_t len, bool all, struct pylontech_alarm *packs,
                           unsigned cap, unsigned *count);

/* 0x92: command value, 2 voltage limits, 2 current limits, status. */
int pylontech_management_decode(const uint8_t *info, size_t len,
                                const struct pylontech_dialect *dialect,
                                struct pylontech_management *out);

/* 0x47: INFOFLAG then 12 two-byte parameters. */
int pylontech_system_param_decode(const uint8_t *info, size_t len,
                                  const struct pylontech_dialect *dialect,
                                  struct pylontech_system_param *out);

/* 0x93: command value then 16 ASCII characters; out gets them NUL-terminated, trailing NULs and
 * spaces removed, non-printable characters as '?'. *address = the command value. */
int pylontech_serial_decode(const uint8_t *info, size_t len, unsigned *address,
                            char out[PYLONTECH_SERIAL_LEN + 1]);

/* 0x51: device name (10, NUL-padded), version (2), manufacturer (20, '-'-padded). */
int pylontech_manufacturer_decode(const uint8_t *info, size_t len,
                                  struct pylontech_manufacturer *out);

#endif
