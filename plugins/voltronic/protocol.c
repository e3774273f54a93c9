#include "protocol.h"

#include "checksum.h"
#include "error.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

#define FRAME_START '('
#define FRAME_END   '\r'
/* '(' + at least one payload byte + 2 CRC bytes + CR; "(NAKss\r" is 7. */
#define FRAME_MIN 5
/* More digits than a uint64_t mantissa holds exactly is not a PI30 field. */
#define MAX_DIGITS 18

/* One numeric field: token index, offset of its double in the decoded struct, and the power
 * of ten the wire value is divided by (the battery fan offset is sent in 10 mV). */
struct field {
    uint8_t token;
    uint8_t shift;
    uint16_t offset;
};

#define F(tok, type, member)           \
    {                                  \
        tok, 0, offsetof(type, member) \
    }
#define F_SCALED(tok, type, member, shift) \
    {                                      \
        tok, shift, offsetof(type, member) \
    }
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const double pow10_table[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,
                                     1e7,  1e8,  1e9,  1e10, 1e11, 1e12, 1e13,
                                     1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20};

static const char *const warning_names[VOLTRONIC_WARNING_BITS] = {
    "pv_loss", /* 0: reserved on PI30/HS, PV loss on MAX and GK/MK */
    "inverter_fault",
    "bus_over",
    "bus_under",
    "bus_soft_fail",
    "line_fail",
    "opv_short",
    "inverter_voltage_low",
    "inverter_voltage_high",
    "over_temperature",
    "fan_locked",
    "battery_voltage_high",
    "battery_low",
    "overcharge",
    "battery_under_shutdown",
    "battery_derating",
    "overload",
    "eeprom_fault",
    "inverter_over_current",
    "inverter_soft_fail",
    "self_test_fail",
    "op_dc_voltage_over",
    "battery_open",
    "current_sensor_fail",
    "battery_short",
    "power_limit",
    "pv_voltage_high",
    "mppt_overload_fault",
    "mppt_overload_warning",
    "battery_low_to_charge",
    "pv2_voltage_high",
    "mppt2_overload_fault",
    "mppt2_overload_warning",
    "battery_low_to_charge_2",
    "pv3_voltage_high",
    "mppt3_overload_fault",
    "mppt3_overload_warning",
    "battery_low_to_charge_3",
};

static const char *const flag_names[26] = {
    ['a' - 'a'] = "buzzer",
    ['b' - 'a'] = "overload_bypass",
    ['d' - 'a'] = "solar_feed_to_grid",
    ['j' - 'a'] = "power_saving",
    ['k' - 'a'] = "lcd_escape",
    ['l' - 'a'] = "data_log_popup",
    ['u' - 'a'] = "overload_restart",
    ['v' - 'a'] = "over_temperature_restart",
    ['x' - 'a'] = "backlight",
    ['y' - 'a'] = "primary_source_alarm",
    ['z' - 'a'] = "fault_code_record",
};

/* QMOD letters in the order of their documented numeric value (index + 1). */
static const struct {
    char letter;
    const char *name;
} modes[] = {
    {'P', "Power on"},     {'S', "Standby"},  {'L', "Line"},   {'B', "Battery"}, {'F', "Fault"},
    {'H', "Power saving"}, {'D', "Shutdown"}, {'C', "Charge"}, {'Y', "Bypass"},  {'E', "ECO"},
};

/* --- framing --- */

uint16_t voltronic_crc_escape(uint16_t crc)
{
    uint8_t b[2] = {(uint8_t)(crc >> 8), (uint8_t)crc};
    for (int i = 0; i < 2; i++)
        if (b[i] == 0x28 || b[i] == 0x0D || b[i] == 0x0A || b[i] == 0x00)
            b[i]++;
    return (uint16_t)(b[0] << 8 | b[1]);
}

size_t voltronic_request_build(const char *command, uint8_t out[VOLTRONIC_REQUEST_MAX])
{
    size_t n = strnlen(command, VOLTRONIC_COMMAND_MAX + 1);
    if (n == 0 || n > VOLTRONIC_COMMAND_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((uint8_t)command[i] < 0x20)
            return 0;
    memcpy(out, command, n);
    uint16_t crc = voltronic_crc_escape(solar_crc16_xmodem(out, n));
    out[n] = (uint8_t)(crc >> 8);
    out[n + 1] = (uint8_t)crc;
    out[n + 2] = FRAME_END;
    return n + 3;
}

/* Bytes to skip before the next possible start: '(' or the first byte of the request. */
static long skip_to_start(const uint8_t *buf, size_t len, const struct voltronic_request *req)
{
    for (size_t i = 1; i < len; i++)
        if (buf[i] == FRAME_START || (req && req->len && buf[i] == req->bytes[0]))
            return -(long)i;
    return -(long)len;
}

long voltronic_frame_find(const uint8_t *buf, size_t len, const void *arg)
{
    const struct voltronic_request *req = arg;
    if (len == 0)
        return 0;
    if (buf[0] != FRAME_START) {
        if (req && req->len && buf[0] == req->bytes[0]) {
            size_t n = len < req->len ? len : req->len;
            if (memcmp(buf, req->bytes, n) == 0)
                return len >= req->len ? (long)req->len : 0;
        }
        return skip_to_start(buf, len, req);
    }
    const uint8_t *end = memchr(buf, FRAME_END, len);
    return end ? (long)(end - buf + 1) : 0;
}

int voltronic_frame_check(const uint8_t *frame, size_t len, const struct voltronic_request *req,
                          const char **payload, size_t *payload_len)
{
    if (req && len == req->len && memcmp(frame, req->bytes, len) == 0)
        return -SOLAR_EUNSUPPORT;
    if (len < FRAME_MIN || frame[0] != FRAME_START || frame[len - 1] != FRAME_END)
        return -SOLAR_EFRAME;
    size_t body = len - 3;
    uint16_t crc = solar_crc16_xmodem(frame, body);
    uint8_t hi = (uint8_t)(crc >> 8), lo = (uint8_t)crc;
    if (!(frame[body] == hi || frame[body] == (uint8_t)(voltronic_crc_escape(crc) >> 8)) ||
        !(frame[body + 1] == lo || frame[body + 1] == (uint8_t)voltronic_crc_escape(crc)))
        return -SOLAR_EBADCRC;
    const char *p = (const char *)frame + 1;
    size_t n = body - 1;
    if (memchr(p, '\0', n) || memchr(p, FRAME_END, n))
        return -SOLAR_EFRAME;
    if (n == 3 && memcmp(p, "NAK", 3) == 0)
        return -SOLAR_EUNSUPPORT;
    if (n == 3 && memcmp(p, "ACK", 3) == 0)
        return VOLTRONIC_REPLY_ACK;
    *payload = p;
    *payload_len = n;
    return 0;
}

/* --- fields --- */

static bool is_space(char c)
{
    return (unsigned char)c <= ' ';
}

/* Longest field read as a plain number on the first pass; longer ones take parse_number(). */
#define PLAIN_MAX_LEN MAX_DIGITS

/* Reads a run of digits into *mantissa; returns where it stopped. Unbounded: the caller
 * knows a non-digit comes before the end (see voltronic_tokenize). */
static inline const unsigned char *scan_digits(const unsigned char *p, uint64_t *mantissa,
                                               unsigned *stop)
{
    uint64_t m = *mantissa;
    unsigned digit;
    while ((digit = (unsigned)*p - '0') < 10) {
        m = m * 10 + digit;
        p++;
    }
    *mantissa = m;
    *stop = digit; /* the byte that ended the run, minus '0' */
    return p;
}

/* Scans one field into out's slot k, reading it as a decimal number on the way: digits, then
 * an optional '.' and digits; anything else makes the field not plain. A byte <= ' ' must
 * follow the field before the end of the buffer. */
static inline const unsigned char *scan_field(const unsigned char *p, struct voltronic_tokens *out,
                                              unsigned k)
{
    const unsigned char *start = p;
    uint64_t mantissa = 0;
    size_t decimals = 0, point = 0;
    unsigned stop;
    p = scan_digits(p, &mantissa, &stop);
    if (stop == (unsigned)('.' - '0')) {
        const unsigned char *fraction = ++p;
        p = scan_digits(p, &mantissa, &stop);
        decimals = (size_t)(p - fraction);
        point = 1;
    }
    size_t n = (size_t)(p - start);
    /* 1..PLAIN_MAX_LEN digits (unsigned: no digit at all wraps around). */
    bool plain = n - point - 1 < PLAIN_MAX_LEN;
    if (stop + '0' > ' ') { /* a sign, a second '.', a letter */
        plain = false;
        while (*p > ' ')
            p++;
        n = (size_t)(p - start);
    }
    out->text[k] = (const char *)start;
    out->len[k] = (uint16_t)n;
    out->mantissa[k] = mantissa;
    out->decimals[k] = (uint8_t)decimals;
    out->plain[k] = plain;
    return p;
}

void voltronic_tokenize(const char *payload, size_t len, struct voltronic_tokens *out)
{
    const unsigned char *p = (const unsigned char *)payload, *end = p + len;
    /* The last field is copied out with a space after it, so that every scan below stops at a
     * byte <= ' ' without comparing against the end on each byte. */
    const unsigned char *last = end;
    while (last > p && last[-1] > ' ')
        last--;
    unsigned char tail[256];
    size_t tail_len = (size_t)(end - last);
    if (tail_len >= sizeof(tail)) {
        tail_len = sizeof(tail) - 1;
    }
    memcpy(tail, last, tail_len);
    tail[tail_len] = ' ';

    unsigned count = 0;
    while (p < last && count < VOLTRONIC_MAX_TOKENS) {
        if (*p > ' ')
            p = scan_field(p, out, count++);
        p++; /* the separator that ended the field, or one more */
    }
    /* Fields past VOLTRONIC_MAX_TOKENS are only counted. */
    for (; p < last; p++)
        count += p[0] > ' ' && p[1] <= ' ';
    if (tail_len > 0) {
        if (count < VOLTRONIC_MAX_TOKENS) {
            scan_field(tail, out, count);
            out->text[count] = (const char *)last; /* the payload's bytes, not the copy's */
            out->len[count] = (uint16_t)(end - last);
        }
        count++;
    }
    out->count = count;
}

/* A decimal field ("057.45", "-12", "0014"). '-' or '--' is a field the unit does not send:
 * NAN. Anything else is -SOLAR_EFRAME. */
static int parse_number(const char *s, unsigned n, double *out)
{
    unsigned i = 0;
    bool negative = false;
    if (n > 0 && s[0] == '-') {
        unsigned dashes = 0;
        while (dashes < n && s[dashes] == '-')
            dashes++;
        if (dashes == n) {
            *out = NAN;
            return 0;
        }
        negative = true;
        i = 1;
    } else if (n > 0 && s[0] == '+') {
        i = 1;
    }
    uint64_t mantissa = 0;
    unsigned digits = 0, decimals = 0;
    bool point = false;
    for (; i < n; i++) {
        char c = s[i];
        if (c >= '0' && c <= '9') {
            if (++digits > MAX_DIGITS)
                return -SOLAR_EFRAME;
            mantissa = mantissa * 10 + (unsigned)(c - '0');
            decimals += point;
        } else if (c == '.' && !point) {
            point = true;
        } else {
            return -SOLAR_EFRAME;
        }
    }
    if (digits == 0)
        return -SOLAR_EFRAME;
    double v = (double)mantissa / pow10_table[decimals];
    *out = negative ? -v : v;
    return 0;
}

/* A field of '0'/'1' characters, first character = most significant bit. */
static int parse_bits(const char *s, unsigned n, uint32_t *out)
{
    if (n == 8) {
        /* The QPIGS status byte, 8 characters at once: each '0' or '1', then their low bits
         * gathered into one byte, the first character on top. */
        uint64_t v;
        memcpy(&v, s, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        v = __builtin_bswap64(v);
#endif
        if ((v & ~0x0101010101010101ull) != 0x3030303030303030ull)
            return -SOLAR_EFRAME;
        *out = (uint32_t)(((v & 0x0101010101010101ull) * 0x8040201008040201ull) >> 56);
        return 0;
    }
    uint32_t v = 0;
    if (n == 0 || n > 32)
        return -SOLAR_EFRAME;
    for (unsigned i = 0; i < n; i++) {
        if (s[i] != '0' && s[i] != '1')
            return -SOLAR_EFRAME;
        v = v << 1 | (uint32_t)(s[i] - '0');
    }
    *out = v;
    return 0;
}

static void set_nan(void *out, const struct field *fields, size_t n)
{
    for (size_t i = 0; i < n; i++)
        *(double *)((char *)out + fields[i].offset) = NAN;
}

/* Parses the fields of the table that the reply carries; the others stay NAN. */
static int decode_fields(const struct voltronic_tokens *t, const struct field *fields, size_t n,
                         void *out)
{
    for (size_t i = 0; i < n; i++) {
        double *dst = (double *)((char *)out + fields[i].offset);
        unsigned k = fields[i].token; /* < VOLTRONIC_MAX_TOKENS in every table */
        if (k >= t->count) {
            *dst = NAN;
            continue;
        }
        if (t->plain[k]) {
            /* At most 18 digits: the signed conversion is exact and one instruction. */
            *dst = (double)(int64_t)t->mantissa[k] /
                   pow10_table[(size_t)t->decimals[k] + fields[i].shift];
            continue;
        }
        int err = parse_number(t->text[k], t->len[k], dst);
        if (err < 0)
            return err;
        *dst /= pow10_table[fields[i].shift];
    }
    return 0;
}

/* Sets the doubles at offsets[0..n) from the bits of value, offsets[0] = the highest bit. */
static void set_bits(void *out, const uint16_t *offsets, unsigned n, uint32_t value)
{
    static const double bit_value[2] = {0.0, 1.0};
    for (unsigned i = n; i-- > 0; value >>= 1)
        *(double *)((char *)out + offsets[i]) = bit_value[value & 1];
}

static void bits_nan(void *out, const uint16_t *offsets, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        *(double *)((char *)out + offsets[i]) = NAN;
}

/* Decodes a bit-string token of exactly n characters into the doubles at offsets. */
static int decode_bit_token(const struct voltronic_tokens *t, unsigned k, const uint16_t *offsets,
                            unsigned n, void *out)
{
    uint32_t v;
    if (t->len[k] != n || parse_bits(t->text[k], n, &v) < 0)
        return -SOLAR_EFRAME;
    set_bits(out, offsets, n, v);
    return 0;
}

/* --- QPIGS --- */

#define QPIGS_MIN_FIELDS 17
#define QPIGS_STATUS     16
#define QPIGS_STATUS2    20

static const struct field qpigs_fields[] = {
    F(0, struct voltronic_qpigs, grid_voltage),
    F(1, struct voltronic_qpigs, grid_frequency),
    F(2, struct voltronic_qpigs, output_voltage),
    F(3, struct voltronic_qpigs, output_frequency),
    F(4, struct voltronic_qpigs, output_apparent_power),
    F(5, struct voltronic_qpigs, output_power),
    F(6, struct voltronic_qpigs, load_percent),
    F(7, struct voltronic_qpigs, bus_voltage),
    F(8, struct voltronic_qpigs, battery_voltage),
    F(9, struct voltronic_qpigs, battery_charge_current),
    F(10, struct voltronic_qpigs, battery_capacity),
    F(11, struct voltronic_qpigs, heatsink_temperature),
    F(12, struct voltronic_qpigs, pv1_current),
    F(13, struct voltronic_qpigs, pv1_voltage),
    F(14, struct voltronic_qpigs, battery_voltage_scc),
    F(15, struct voltronic_qpigs, battery_discharge_current),
    F_SCALED(17, struct voltronic_qpigs, battery_fan_offset, 2),
    F(18, struct voltronic_qpigs, eeprom_version),
    F(19, struct voltronic_qpigs, pv1_power),
    F(21, struct voltronic_qpigs, feed_to_grid),
    F(22, struct voltronic_qpigs, country_regulation),
    F(23, struct voltronic_qpigs, feed_to_grid_power),
};

static const uint16_t qpigs_status_bits[] = {
    offsetof(struct voltronic_qpigs, sbu_priority_version),
    offsetof(struct voltronic_qpigs, configuration_changed),
    offsetof(struct voltronic_qpigs, scc_firmware_updated),
    offsetof(struct voltronic_qpigs, load_on),
    offsetof(struct voltronic_qpigs, battery_voltage_steady),
    offsetof(struct voltronic_qpigs, charging),
    offsetof(struct voltronic_qpigs, scc_charging),
    offsetof(struct voltronic_qpigs, ac_charging),
};

static const uint16_t qpigs_status2_bits[] = {
    offsetof(struct voltronic_qpigs, charging_to_float),
    offsetof(struct voltronic_qpigs, switched_on),
    offsetof(struct voltronic_qpigs, dustproof_installed),
};

int voltronic_qpigs_decode(const char *payload, size_t len, struct voltronic_qpigs *out)
{
    struct voltronic_tokens t;
    voltronic_tokenize(payload, len, &t);
    if (t.count < QPIGS_MIN_FIELDS)
        return -SOLAR_ESHORT;
    out->fields = t.count;
    int err = decode_fields(&t, qpigs_fields, COUNT(qpigs_fields), out);
    if (err < 0)
        return err;
    err = decode_bit_token(&t, QPIGS_STATUS, qpigs_status_bits, COUNT(qpigs_status_bits), out);
    if (err < 0)
        return err;
    if (t.count > QPIGS_STATUS2)
        return decode_bit_token(&t, QPIGS_STATUS2, qpigs_status2_bits, COUNT(qpigs_status2_bits),
                                out);
    bits_nan(out, qpigs_status2_bits, COUNT(qpigs_status2_bits));
    return 0;
}

/* --- QPIGS2 --- */

#define QPIGS2_MAX_FIELDS     3  /* MAX layout: PV2 current, voltage, power */
#define QPIGS2_TRACKER_FIELDS 12 /* PI30-2015 multi-tracker layout */
#define QPIGS2_STATUS         4

static const struct field qpigs2_max_fields[] = {
    F(0, struct voltronic_qpigs2, pv2_current),
    F(1, struct voltronic_qpigs2, pv2_voltage),
    F(2, struct voltronic_qpigs2, pv2_power),
};

static const struct field qpigs2_tracker_fields[] = {
    F(0, struct voltronic_qpigs2, pv2_current),
    F(1, struct voltronic_qpigs2, pv2_voltage),
    F(2, struct voltronic_qpigs2, battery_voltage_scc2),
    F(3, struct voltronic_qpigs2, pv2_power),
    F(5, struct voltronic_qpigs2, ac_charging_current),
    F(6, struct voltronic_qpigs2, ac_charging_power),
    F(7, struct voltronic_qpigs2, pv3_current),
    F(8, struct voltronic_qpigs2, pv3_voltage),
    F(9, struct voltronic_qpigs2, battery_voltage_scc3),
    F(10, struct voltronic_qpigs2, pv3_power),
    F(11, struct voltronic_qpigs2, pv_total_power),
};

int voltronic_qpigs2_decode(const char *payload, size_t len, struct voltronic_qpigs2 *out)
{
    struct voltronic_tokens t;
    voltronic_tokenize(payload, len, &t);
    set_nan(out, qpigs2_tracker_fields, COUNT(qpigs2_tracker_fields));
    out->scc2_charging = out->scc3_charging = NAN;
    out->fields = t.count;
    if (t.count < QPIGS2_MAX_FIELDS)
        return -SOLAR_ESHORT;
    if (t.count < QPIGS2_TRACKER_FIELDS)
        return decode_fields(&t, qpigs2_max_fields, COUNT(qpigs2_max_fields), out);
    int err = decode_fields(&t, qpigs2_tracker_fields, COUNT(qpigs2_tracker_fields), out);
    if (err < 0)
        return err;
    /* b31..b24, leftmost first as in QPIGS: b24 (SCC2 charging) is the last character. */
    uint32_t status;
    unsigned n = t.len[QPIGS2_STATUS];
    if (parse_bits(t.text[QPIGS2_STATUS], n, &status) < 0)
        return -SOLAR_EFRAME;
    out->scc2_charging = status & 1;
    out->scc3_charging = n >= 2 ? (status >> 1) & 1 : NAN;
    return 0;
}

/* --- QPIRI --- */

#define QPIRI_MIN_FIELDS 20

static const struct field qpiri_fields[] = {
    F(0, struct voltronic_qpiri, grid_rating_voltage),
    F(1, struct voltronic_qpiri, grid_rating_current),
    F(2, struct voltronic_qpiri, output_rating_voltage),
    F(3, struct voltronic_qpiri, output_rating_frequency),
    F(4, struct voltronic_qpiri, output_rating_current),
    F(5, struct voltronic_qpiri, output_rating_apparent_power),
    F(6, struct voltronic_qpiri, output_rating_power),
    F(7, struct voltronic_qpiri, battery_rating_voltage),
    F(8, struct voltronic_qpiri, battery_recharge_voltage),
    F(9, struct voltronic_qpiri, battery_under_voltage),
    F(10, struct voltronic_qpiri, battery_bulk_voltage),
    F(11, struct voltronic_qpiri, battery_float_voltage),
    F(12, struct voltronic_qpiri, battery_type),
    F(13, struct voltronic_qpiri, max_ac_charging_current),
    F(14, struct voltronic_qpiri, max_charging_current),
    F(15, struct voltronic_qpiri, input_voltage_range),
    F(16, struct voltronic_qpiri, output_source_priority),
    F(17, struct voltronic_qpiri, charger_source_priority),
    F(18, struct voltronic_qpiri, parallel_max),
    F(19, struct voltronic_qpiri, machine_type),
    F(20, struct voltronic_qpiri, topology),
    F(21, struct voltronic_qpiri, output_mode),
    F(22, struct voltronic_qpiri, battery_redischarge_voltage),
    F(23, struct voltronic_qpiri, pv_ok_condition),
    F(24, struct voltronic_qpiri, pv_power_balance),
    F(25, struct voltronic_qpiri, max_cv_charging_time),
    F(26, struct voltronic_qpiri, operation_logic),
    F(27, struct voltronic_qpiri, max_discharging_current),
};

int voltronic_qpiri_decode(const char *payload, size_t len, struct voltronic_qpiri *out)
{
    struct voltronic_tokens t;
    voltronic_tokenize(payload, len, &t);
    if (t.count < QPIRI_MIN_FIELDS)
        return -SOLAR_ESHORT;
    out->fields = t.count;
    return decode_fields(&t, qpiri_fields, COUNT(qpiri_fields), out);
}

/* --- QDI --- */

#define QDI_MIN_FIELDS 20

static const struct field qdi_fields[] = {
    F(0, struct voltronic_qdi, output_voltage),
    F(1, struct voltronic_qdi, output_frequency),
    F(2, struct voltronic_qdi, max_ac_charging_current),
    F(3, struct voltronic_qdi, battery_under_voltage),
    F(4, struct voltronic_qdi, float_voltage),
    F(5, struct voltronic_qdi, bulk_voltage),
    F(6, struct voltronic_qdi, battery_recharge_voltage),
    F(7, struct voltronic_qdi, max_charging_current),
    F(8, struct voltronic_qdi, input_voltage_range),
    F(9, struct voltronic_qdi, output_source_priority),
    F(10, struct voltronic_qdi, charger_source_priority),
    F(11, struct voltronic_qdi, battery_type),
    F(12, struct voltronic_qdi, buzzer_disabled),
    F(13, struct voltronic_qdi, power_saving),
    F(14, struct voltronic_qdi, overload_restart),
    F(15, struct voltronic_qdi, over_temperature_restart),
    F(16, struct voltronic_qdi, backlight),
    F(17, struct voltronic_qdi, primary_source_alarm),
    F(18, struct voltronic_qdi, fault_code_record),
    F(19, struct voltronic_qdi, overload_bypass),
    F(20, struct voltronic_qdi, lcd_escape),
    F(21, struct voltronic_qdi, output_mode),
    F(22, struct voltronic_qdi, battery_redischarge_voltage),
    F(23, struct voltronic_qdi, pv_ok_condition),
    F(24, struct voltronic_qdi, pv_power_balance),
};

int voltronic_qdi_decode(const char *payload, size_t len, struct voltronic_qdi *out)
{
    struct voltronic_tokens t;
    voltronic_tokenize(payload, len, &t);
    if (t.count < QDI_MIN_FIELDS)
        return -SOLAR_ESHORT;
    out->fields = t.count;
    return decode_fields(&t, qdi_fields, COUNT(qdi_fields), out);
}

/* --- QPGSn --- */

#define QPGS_MIN_FIELDS 20
#define QPGS_SERIAL     1
#define QPGS_MODE       2
#define QPGS_STATUS     19

static const struct field qpgs_fields[] = {
    F(0, struct voltronic_qpgs, exists),
    F(3, struct voltronic_qpgs, fault_code),
    F(4, struct voltronic_qpgs, grid_voltage),
    F(5, struct voltronic_qpgs, grid_frequency),
    F(6, struct voltronic_qpgs, output_voltage),
    F(7, struct voltronic_qpgs, output_frequency),
    F(8, struct voltronic_qpgs, output_apparent_power),
    F(9, struct voltronic_qpgs, output_power),
    F(10, struct voltronic_qpgs, load_percent),
    F(11, struct voltronic_qpgs, battery_voltage),
    F(12, struct voltronic_qpgs, battery_charge_current),
    F(13, struct voltronic_qpgs, battery_capacity),
    F(14, struct voltronic_qpgs, pv1_voltage),
    F(15, struct voltronic_qpgs, total_charge_current),
    F(16, struct voltronic_qpgs, total_output_apparent_power),
    F(17, struct voltronic_qpgs, total_output_power),
    F(18, struct voltronic_qpgs, total_load_percent),
    F(20, struct voltronic_qpgs, output_mode),
    F(21, struct voltronic_qpgs, charger_source_priority),
    F(22, struct voltronic_qpgs, max_charging_current),
    F(23, struct voltronic_qpgs, max_charging_range),
    F(24, struct voltronic_qpgs, max_ac_charging_current),
    F(25, struct voltronic_qpgs, pv1_current),
    F(26, struct voltronic_qpgs, battery_discharge_current),
    F(27, struct voltronic_qpgs, pv2_voltage),
    F(28, struct voltronic_qpgs, pv2_current),
};

static int copy_id(const char *s, size_t n, char *out, size_t cap)
{
    if (n == 0 || n >= cap)
        return -SOLAR_EFRAME;
    for (size_t i = 0; i < n; i++) {
        if (s[i] <= 0x20 || s[i] >= 0x7F)
            return -SOLAR_EFRAME;
        out[i] = s[i];
    }
    out[n] = '\0';
    return 0;
}

int voltronic_qpgs_decode(const char *payload, size_t len, struct voltronic_qpgs *out)
{
    struct voltronic_tokens t;
    voltronic_tokenize(payload, len, &t);
    if (t.count < QPGS_MIN_FIELDS)
        return -SOLAR_ESHORT;
    out->fields = t.count;
    int err = decode_fields(&t, qpgs_fields, COUNT(qpgs_fields), out);
    if (err < 0)
        return err;
    if (copy_id(t.text[QPGS_SERIAL], t.len[QPGS_SERIAL], out->serial, sizeof(out->serial)) < 0 ||
        t.len[QPGS_MODE] != 1)
        return -SOLAR_EFRAME;
    out->mode_letter = t.text[QPGS_MODE][0];
    out->mode = voltronic_mode_value(out->mode_letter);
    uint32_t s;
    if (t.len[QPGS_STATUS] != 8 || parse_bits(t.text[QPGS_STATUS], 8, &s) < 0)
        return -SOLAR_EFRAME;
    out->scc_ok = s >> 7 & 1;
    out->ac_charging = s >> 6 & 1;
    out->scc_charging = s >> 5 & 1;
    out->battery_status = s >> 3 & 3;
    out->line_loss = s >> 2 & 1;
    out->load_on = s >> 1 & 1;
    out->configuration_changed = s & 1;
    return 0;
}

/* --- QMOD, QPIWS, QFLAG, identity --- */

int voltronic_qmod_decode(const char *payload, size_t len, char *letter)
{
    if (len != 1 || payload[0] < 'A' || payload[0] > 'Z')
        return -SOLAR_EFRAME;
    *letter = payload[0];
    return 0;
}

unsigned voltronic_mode_value(char letter)
{
    for (unsigned i = 0; i < COUNT(modes); i++)
        if (modes[i].letter == letter)
            return i + 1;
    return 0;
}

const char *voltronic_mode_name(char letter)
{
    unsigned v = voltronic_mode_value(letter);
    return v ? modes[v - 1].name : "unknown";
}

int voltronic_qpiws_decode(const char *payload, size_t len, uint64_t *bits, unsigned *count)
{
    /* Some firmware pads the string with a trailing space. */
    while (len > 0 && is_space(payload[len - 1]))
        len--;
    if (len == 0)
        return -SOLAR_EFRAME;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (payload[i] != '0' && payload[i] != '1')
            return -SOLAR_EFRAME;
        if (i < 64 && payload[i] == '1')
            v |= (uint64_t)1 << i;
    }
    *bits = v;
    *count = len < 64 ? (unsigned)len : 64;
    return 0;
}

const char *voltronic_warning_name(unsigned bit)
{
    return bit < VOLTRONIC_WARNING_BITS ? warning_names[bit] : NULL;
}

const char *voltronic_flag_name(unsigned letter_index)
{
    return letter_index < 26 ? flag_names[letter_index] : NULL;
}

int voltronic_qflag_decode(const char *payload, size_t len, struct voltronic_qflag *out)
{
    if (len == 0 || payload[0] != 'E')
        return -SOLAR_EFRAME;
    bool enabled = true;
    out->known = out->enabled = 0;
    for (size_t i = 1; i < len; i++) {
        char c = payload[i];
        if (c == 'D' && enabled) {
            enabled = false;
        } else if (c >= 'a' && c <= 'z') {
            uint32_t bit = (uint32_t)1 << (c - 'a');
            out->known |= bit;
            out->enabled |= enabled ? bit : 0;
        } else if (c < 0x21 || c > 0x7E) {
            return -SOLAR_EFRAME;
        }
        /* Other printable characters (';' on POWMR) are letters of unknown meaning. */
    }
    return 0;
}

int voltronic_id_decode(const char *payload, size_t len, char *out, size_t cap)
{
    while (len > 0 && payload[len - 1] == ' ')
        len--;
    return copy_id(payload, len, out, cap);
}

int voltronic_qsid_decode(const char *payload, size_t len, char *out, size_t cap)
{
    if (len < 2 || payload[0] < '0' || payload[0] > '9' || payload[1] < '0' || payload[1] > '9')
        return -SOLAR_EFRAME;
    size_t n = (size_t)(payload[0] - '0') * 10 + (size_t)(payload[1] - '0');
    if (n == 0 || n > len - 2)
        return -SOLAR_EFRAME;
    return copy_id(payload + 2, n, out, cap);
}
