/* Voltronic / Axpert PI30 ASCII protocol: pure request building and reply decoding.
 *
 *   request: <command> <CRC hi> <CRC lo> CR
 *   reply:   '(' <space-separated fields> <CRC hi> <CRC lo> CR
 *
 * CRC = CRC-16/XMODEM over the command (request) or over '(' and the payload (reply). A CRC
 * byte equal to 0x28 '(', 0x0D CR or 0x0A LF is sent as byte + 1, so that no frame holds a CR
 * before its end; requests also send 0x00 as 0x01 (some firmware cuts a command at a NUL),
 * while replies carry a raw 0x00. A reply is accepted when each CRC byte matches either form.
 * `(NAK` answers an unknown command, `(ACK` a setting. Fields are split on whitespace, never
 * read at fixed offsets; `-` and `--` fields are "not sent" (NAN), extra fields are ignored.
 * Nothing here does I/O, allocates or logs. */
#ifndef VOLTRONIC_PROTOCOL_H
#define VOLTRONIC_PROTOCOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VOLTRONIC_COMMAND_MAX  16  /* longest command text, CRC and CR excluded */
#define VOLTRONIC_REQUEST_MAX  19  /* command, 2 CRC bytes, CR */
#define VOLTRONIC_FRAME_MAX    512 /* QPGS0 on a MAX is 143 bytes; room for noise before '(' */
#define VOLTRONIC_MAX_TOKENS   40
#define VOLTRONIC_WARNING_BITS 38 /* QPIWS of PI30-2015, b1..b38 */
#define VOLTRONIC_ID_MAX       32

/* Positive results of voltronic_frame_check() besides 0 (a data reply). */
#define VOLTRONIC_REPLY_ACK 1

/* The whitespace-separated fields of a payload, each also read as a plain decimal number on
 * the way (one pass: the QPIGS decode budget is ~2,000 instructions). text[i] is not
 * NUL-terminated; plain[i] is false for a field that is not digits with at most one '.'
 * (a sign, '-', a letter), which decoders then look at closer. */
struct voltronic_tokens {
    unsigned count; /* fields present, at most VOLTRONIC_MAX_TOKENS kept */
    const char *text[VOLTRONIC_MAX_TOKENS];
    uint16_t len[VOLTRONIC_MAX_TOKENS];
    bool plain[VOLTRONIC_MAX_TOKENS];
    uint8_t decimals[VOLTRONIC_MAX_TOKENS];
    uint64_t mantissa[VOLTRONIC_MAX_TOKENS]; /* value = mantissa / 10^decimals when plain */
};

/* QPIGS, general status. Every value NAN when the reply does not carry it. */
struct voltronic_qpigs {
    double grid_voltage;              /* V */
    double grid_frequency;            /* Hz */
    double output_voltage;            /* V */
    double output_frequency;          /* Hz */
    double output_apparent_power;     /* VA */
    double output_power;              /* W */
    double load_percent;              /* % */
    double bus_voltage;               /* V */
    double battery_voltage;           /* V */
    double battery_charge_current;    /* A */
    double battery_capacity;          /* % */
    double heatsink_temperature;      /* degC (a raw A/D count on some 1-3 kVA units) */
    double pv1_current;               /* A */
    double pv1_voltage;               /* V */
    double battery_voltage_scc;       /* V */
    double battery_discharge_current; /* A */
    double battery_fan_offset;        /* V (sent in 10 mV), 21+ fields */
    double eeprom_version;            /* 21+ fields */
    double pv1_power;                 /* W, 21+ fields: never SCC voltage x current */
    double feed_to_grid;              /* 0/1, 24 fields */
    double country_regulation;        /* code, 24 fields */
    double feed_to_grid_power;        /* W, 24 fields */
    /* Status byte b7..b0 and status 2 b10..b8, one double (0/1) per bit, NAN when absent. */
    double sbu_priority_version;   /* b7 */
    double configuration_changed;  /* b6 */
    double scc_firmware_updated;   /* b5 */
    double load_on;                /* b4 */
    double battery_voltage_steady; /* b3 */
    double charging;               /* b2 */
    double scc_charging;           /* b1 */
    double ac_charging;            /* b0 */
    double charging_to_float;      /* b10 */
    double switched_on;            /* b9 */
    double dustproof_installed;    /* b8 */
    unsigned fields;               /* tokens in the reply: 17, 21, 24 ... */
};

/* QPIGS2 in either layout: MAX (3 fields: PV2 current, voltage, power) or PI30-2015
 * multi-tracker (12+ fields: PV2 and PV3, SCC2/3, AC charging). NAN where not carried. */
struct voltronic_qpigs2 {
    double pv2_current, pv2_voltage, pv2_power, battery_voltage_scc2;
    double scc2_charging, scc3_charging;
    double ac_charging_current, ac_charging_power;
    double pv3_current, pv3_voltage, battery_voltage_scc3, pv3_power, pv_total_power;
    unsigned fields;
};

/* QPIRI, rated values and current settings. Enumerations as the device sends them. */
struct voltronic_qpiri {
    double grid_rating_voltage, grid_rating_current;
    double output_rating_voltage, output_rating_frequency, output_rating_current;
    double output_rating_apparent_power, output_rating_power;
    double battery_rating_voltage, battery_recharge_voltage, battery_under_voltage;
    double battery_bulk_voltage, battery_float_voltage;
    double battery_type, max_ac_charging_current, max_charging_current;
    double input_voltage_range, output_source_priority, charger_source_priority;
    double parallel_max, machine_type, topology, output_mode, battery_redischarge_voltage;
    double pv_ok_condition, pv_power_balance, max_cv_charging_time, operation_logic;
    double max_discharging_current;
    unsigned fields;
};

/* QDI, the default settings. */
struct voltronic_qdi {
    double output_voltage, output_frequency, max_ac_charging_current, battery_under_voltage;
    double float_voltage, bulk_voltage, battery_recharge_voltage, max_charging_current;
    double input_voltage_range, output_source_priority, charger_source_priority, battery_type;
    double buzzer_disabled, power_saving, overload_restart, over_temperature_restart;
    double backlight, primary_source_alarm, fault_code_record, overload_bypass, lcd_escape;
    double output_mode, battery_redischarge_voltage, pv_ok_condition, pv_power_balance;
    unsigned fields;
};

/* QFLAG: bit (letter - 'a') of known is set for every letter the reply names, of enabled for
 * those after 'E' and before 'D'. */
struct voltronic_qflag {
    uint32_t known;
    uint32_t enabled;
};

/* QPGSn, one unit of a parallel system. */
struct voltronic_qpgs {
    double exists;
    char serial[VOLTRONIC_ID_MAX];
    double mode; /* voltronic_mode_value() of mode_letter */
    char mode_letter;
    double fault_code;
    double grid_voltage, grid_frequency, output_voltage, output_frequency;
    double output_apparent_power, output_power, load_percent;
    double battery_voltage, battery_charge_current, battery_capacity, pv1_voltage;
    double total_charge_current, total_output_apparent_power, total_output_power;
    double total_load_percent;
    /* inverter status b7..b0 */
    double scc_ok, ac_charging, scc_charging, battery_status, line_loss, load_on;
    double configuration_changed;
    double output_mode, charger_source_priority, max_charging_current, max_charging_range;
    double max_ac_charging_current, pv1_current, battery_discharge_current;
    double pv2_voltage, pv2_current;
    unsigned fields;
};

/* Writes command, its CRC (reserved bytes and 0x00 bumped by one) and CR into out.
 * Returns the request length, or 0 when command is empty, longer than VOLTRONIC_COMMAND_MAX or
 * holds a byte below 0x20. */
size_t voltronic_request_build(const char *command, uint8_t out[VOLTRONIC_REQUEST_MAX]);

/* The CRC as a request sends it: each byte in {0x28, 0x0D, 0x0A, 0x00} becomes byte + 1. */
uint16_t voltronic_crc_escape(uint16_t crc);

/* Framer for solar_port_read_frame(): a reply runs from '(' to the first CR. Bytes before '('
 * are discarded; when arg points to the request (struct voltronic_request), an echo of it is
 * returned as a frame too (firmware that echoes a command it does not know). */
struct voltronic_request {
    const uint8_t *bytes;
    size_t len;
};
long voltronic_frame_find(const uint8_t *buf, size_t len, const void *arg);

/* Validates one complete frame answering req (may be NULL): '(' and CR, the CRC in either
 * form. On a data reply points *payload and *payload_len at the bytes between '(' and the CRC and
 * returns 0; returns VOLTRONIC_REPLY_ACK for `(ACK`. Errors:
 *   -SOLAR_EFRAME     no '(' / CR, shorter than 5 bytes, a NUL or CR inside the payload
 *   -SOLAR_EBADCRC    CRC mismatch
 *   -SOLAR_EUNSUPPORT `(NAK`, or the request echoed back */
int voltronic_frame_check(const uint8_t *frame, size_t len, const struct voltronic_request *req,
                          const char **payload, size_t *payload_len);

/* Splits payload on whitespace (any byte <= 0x20); fields past VOLTRONIC_MAX_TOKENS are counted
 * but not kept. */
void voltronic_tokenize(const char *payload, size_t len, struct voltronic_tokens *out);

/* Decoders of a payload. Return 0, -SOLAR_ESHORT when fewer fields arrive than the reply must
 * carry, -SOLAR_EFRAME when a field that must be a number or a bit string is not one. */
int voltronic_qpigs_decode(const char *payload, size_t len, struct voltronic_qpigs *out);
int voltronic_qpigs2_decode(const char *payload, size_t len, struct voltronic_qpigs2 *out);
int voltronic_qpiri_decode(const char *payload, size_t len, struct voltronic_qpiri *out);
int voltronic_qdi_decode(const char *payload, size_t len, struct voltronic_qdi *out);
int voltronic_qpgs_decode(const char *payload, size_t len, struct voltronic_qpgs *out);
int voltronic_qflag_decode(const char *payload, size_t len, struct voltronic_qflag *out);

/* QMOD: one mode letter. *letter receives it. Errors: -SOLAR_EFRAME when the payload is not
 * one printable letter. */
int voltronic_qmod_decode(const char *payload, size_t len, char *letter);

/* The documented numeric value of a QMOD letter (P 1, S 2, L 3, B 4, F 5, H 6, D 7, C 8, Y 9,
 * E 10), 0 for a letter this driver does not know. */
unsigned voltronic_mode_value(char letter);
/* The mode's name ("Line"), "unknown" for 0. */
const char *voltronic_mode_name(char letter);

/* QPIWS: a string of '0'/'1', bit i = character i. *bits receives them, *count how many
 * arrived (at most 64 kept). Errors: -SOLAR_EFRAME on another character or an empty string. */
int voltronic_qpiws_decode(const char *payload, size_t len, uint64_t *bits, unsigned *count);

/* snake_case name of QPIWS bit i ("line_fail"), NULL past VOLTRONIC_WARNING_BITS. */
const char *voltronic_warning_name(unsigned bit);

/* snake_case name of QFLAG letter (letter - 'a'), NULL for letters without a known meaning. */
const char *voltronic_flag_name(unsigned letter_index);

/* Identity replies (QPI "PI30", QID serial, QSID "NN"+serial, QVFW "VERFW:00072.70"): copies the
 * identifier into out (NUL-terminated). QSID keeps the NN characters its length prefix names.
 * Errors: -SOLAR_EFRAME when it is empty, not printable or would not fit in cap. */
int voltronic_id_decode(const char *payload, size_t len, char *out, size_t cap);
int voltronic_qsid_decode(const char *payload, size_t len, char *out, size_t cap);

#endif
