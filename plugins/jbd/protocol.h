/* JBD / Xiaoxiang BMS "DD ... 77" protocol: pure request building and reply decoding.
 *
 *   request: DD A5 reg len=0 chkH chkL 77
 *   reply:   DD reg status len data[len] chkH chkL 77
 *
 * checksum = two's complement of the 16-bit sum of status, len and data (request: reg, len).
 * Nothing here does I/O, allocates or logs. Decoded values are in SI units; a field the frame
 * does not carry is NAN. */
#ifndef JBD_PROTOCOL_H
#define JBD_PROTOCOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JBD_REG_BASIC_INFO 0x03
#define JBD_REG_CELLS      0x04
#define JBD_REG_HW_VERSION 0x05

#define JBD_START          0xDD
#define JBD_END            0x77
#define JBD_OP_READ        0xA5
#define JBD_REQUEST_LEN    7
#define JBD_OVERHEAD       7 /* start, reg, status, len, 2 checksum, end */
#define JBD_FRAME_MAX      (JBD_OVERHEAD + 255)
#define JBD_MAX_CELLS      32
#define JBD_MAX_NTC        8
#define JBD_HW_VERSION_MAX 32 /* 31 characters and the terminating NUL */

/* Status byte of a reply (V11 protocol document, section 2). */
#define JBD_STATUS_OK 0x00

/* Protection status bits (register 0x03, offset 16). */
#define JBD_PROTECTION_BITS 15

struct jbd_basic_info {
    double pack_voltage;     /* V */
    double current;          /* A, positive = charging */
    double remaining_ah;     /* Ah */
    double nominal_ah;       /* Ah */
    double cycles;           /* count */
    double soc;              /* % */
    double charge_fet;       /* 1 = on */
    double discharge_fet;    /* 1 = on */
    double ntc[JBD_MAX_NTC]; /* degC; NAN past ntc_count */
    /* Extended fields of newer firmware (len >= 32 + 2 * NTCs); NAN when absent. */
    double humidity;          /* % */
    double full_charge_ah;    /* Ah */
    double balance_current;   /* A */
    unsigned production_year; /* 2000 + (date >> 9) */
    unsigned production_month;
    unsigned production_day;
    uint32_t balancing;       /* bit k = cell k + 1 balancing */
    uint16_t protection;      /* JBD_PROTECTION_BITS meaningful bits */
    uint16_t alarm;           /* extended firmware only, else 0 */
    uint8_t software_version; /* 0x23 = 2.3 */
    uint8_t fet_status;       /* raw byte: bit 7 = capacities and current in 10x units */
    unsigned cell_count;
    unsigned ntc_count; /* NTCs decoded, at most JBD_MAX_NTC */
    bool extended;
};

struct jbd_cells {
    unsigned count;
    double voltage[JBD_MAX_CELLS]; /* V */
};

/* Writes the 7-byte read request for register reg into out. Returns JBD_REQUEST_LEN. */
size_t jbd_request_build(uint8_t reg, uint8_t out[JBD_REQUEST_LEN]);

/* Framer for solar_port_read_frame(): looks at the len bytes received so far.
 * Returns the length of the complete frame at buf[0], the length of the frame still arriving
 * (more than len: what its length byte announces, or the 7 bytes of the shortest frame), or -k to
 * discard k leading bytes (noise before DD, a DD that does not start a frame, and, when arg
 * points to a register number, a whole frame answering another register: a late reply to an
 * earlier request, which the exchange must outwait rather than fail on). */
long jbd_frame_find(const uint8_t *buf, size_t len, const void *arg);

/* Validates one complete reply frame to a read of register reg: start and end bytes, the length
 * byte against the frame size, the checksum, the register echo, then the status byte.
 * On success points *data and *data_len at the payload and returns 0. Errors:
 *   -SOLAR_EFRAME     bad start/end byte or len byte disagreeing with the frame size
 *   -SOLAR_EBADCRC    checksum mismatch
 *   -SOLAR_EMISMATCH  a valid reply for another register
 *   -SOLAR_EDEVICE    status byte other than 0 (0x80: register unknown to this BMS) */
int jbd_frame_check(const uint8_t *frame, size_t len, uint8_t reg, const uint8_t **data,
                    size_t *data_len);

/* Decodes the payload of register 0x03. Returns 0, or -SOLAR_ESHORT when len is shorter than
 * the fields the payload announces (23 + 2 * NTCs), -SOLAR_EFRAME for more than 32 cells. */
int jbd_basic_info_decode(const uint8_t *data, size_t len, struct jbd_basic_info *out);

/* Decodes the payload of register 0x04: len / 2 cell voltages. Returns 0, or -SOLAR_EFRAME for
 * an odd length or more than JBD_MAX_CELLS cells. */
int jbd_cells_decode(const uint8_t *data, size_t len, struct jbd_cells *out);

/* Copies the ASCII model string of register 0x05 into out (NUL-terminated, non-printable bytes
 * replaced by '?'). Returns 0, or -SOLAR_EFRAME when it would not fit in cap. */
int jbd_hw_version_decode(const uint8_t *data, size_t len, char *out, size_t cap);

/* Name of protection bit `bit` in snake_case (e.g. "cell_overvoltage"), NULL past the last. */
const char *jbd_protection_name(unsigned bit);

#endif
