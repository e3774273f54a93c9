#include "protocol.h"

#include "checksum.h"
#include "error.h"
#include "port.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Temperatures travel in 0.1 K. */
#define KELVIN_TENTHS_AT_0C 2731
/* Character offsets of the header fields inside a frame ('~' at 0). */
#define OFF_VER    1
#define OFF_ADR    3
#define OFF_CID1   5
#define OFF_CID2   7
#define OFF_LENGTH 9
#define OFF_INFO   13

const struct pylontech_dialect pylontech_dialect_pylon = {
    .name = "pylon",
    .cell_voltage = 0.001,
    .pack_voltage = 0.001,
    .current = 0.1,
    .capacity = 0.001,
};

static const char hex_digits[] = "0123456789ABCDEF";

static int hex_nibble(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Parses n hex characters (n <= 6); -1 for a character that is not a hex digit. */
static long hex_value(const uint8_t *p, size_t n)
{
    long v = 0;
    for (size_t i = 0; i < n; i++) {
        int d = hex_nibble(p[i]);
        if (d < 0)
            return -1;
        v = v << 4 | d;
    }
    return v;
}

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be24(const uint8_t *p)
{
    return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

static double kelvin_tenths(const uint8_t *p)
{
    return ((int16_t)be16(p) - KELVIN_TENTHS_AT_0C) / 10.0;
}

uint16_t pylontech_length_encode(unsigned lenid)
{
    if (lenid == 0)
        return 0;
    unsigned sum = (lenid & 0xF) + (lenid >> 4 & 0xF) + (lenid >> 8 & 0xF);
    unsigned lchksum = (~sum + 1) & 0xF;
    return (uint16_t)(lchksum << 12 | (lenid & 0xFFF));
}

static uint8_t *put_hex(uint8_t *p, unsigned value, unsigned digits)
{
    for (unsigned i = 0; i < digits; i++)
        p[i] = (uint8_t)hex_digits[value >> (4 * (digits - 1 - i)) & 0xF];
    return p + digits;
}

size_t pylontech_request_build(uint8_t ver, uint8_t adr, uint8_t cid2, const uint8_t *info,
                               size_t info_len, uint8_t *out, size_t cap)
{
    size_t total = PYLONTECH_OVERHEAD + 2 * info_len;
    if (info_len > PYLONTECH_INFO_MAX || total > cap)
        return 0;
    uint8_t *p = out;
    *p++ = PYLONTECH_SOI;
    p = put_hex(p, ver, 2);
    p = put_hex(p, adr, 2);
    p = put_hex(p, PYLONTECH_CID1, 2);
    p = put_hex(p, cid2, 2);
    p = put_hex(p, pylontech_length_encode((unsigned)(2 * info_len)), 4);
    for (size_t i = 0; i < info_len; i++)
        p = put_hex(p, info[i], 2);
    p = put_hex(p, solar_sum16_negated(out + 1, (size_t)(p - out - 1)), 4);
    *p++ = PYLONTECH_EOI;
    return (size_t)(p - out);
}

long pylontech_frame_find(const uint8_t *buf, size_t len, const void *arg)
{
    const struct pylontech_expect *expect = arg;
    if (len == 0)
        return PYLONTECH_OVERHEAD; /* no frame is shorter */
    if (buf[0] != PYLONTECH_SOI) {
        const uint8_t *start = memchr(buf, PYLONTECH_SOI, len);
        return -(long)(start ? (size_t)(start - buf) : len);
    }
    size_t end = 1;
    while (end < len && buf[end] != PYLONTECH_EOI && buf[end] != PYLONTECH_SOI)
        end++;
    if (end == len) {
        if (len >= PYLONTECH_FRAME_MAX)
            return -1;
        if (len < OFF_INFO)
            return PYLONTECH_OVERHEAD; /* until LENGTH is in, only the shortest frame is sure */
        /* LENGTH announces the size: wait for all of it, and resync when no EOI ends it. */
        long length = hex_value(buf + OFF_LENGTH, 4);
        size_t total = (size_t)(length & 0xFFF) + PYLONTECH_OVERHEAD;
        if (length < 0)
            return 0;
        return len >= total ? -1 : (long)total;
    }
    /* A new '~' before '\r': the first start was noise or a frame cut short. */
    if (buf[end] == PYLONTECH_SOI)
        return -(long)end;
    size_t total = end + 1;
    long length = total >= PYLONTECH_OVERHEAD ? hex_value(buf + OFF_LENGTH, 4) : -1;
    if (length < 0 || (size_t)(length & 0xFFF) + PYLONTECH_OVERHEAD != total)
        return -1;
    if (expect && (hex_value(buf + OFF_ADR, 2) != expect->adr ||
                   hex_value(buf + OFF_CID2, 2) == expect->cid2))
        return -(long)total;
    return (long)total;
}

long pylontech_frame_decode(const uint8_t *frame, size_t len, struct pylontech_header *hdr,
                            uint8_t *info, size_t cap)
{
    if (len < PYLONTECH_OVERHEAD || frame[0] != PYLONTECH_SOI || frame[len - 1] != PYLONTECH_EOI)
        return -SOLAR_EFRAME;
    for (size_t i = 1; i < len - 1; i++)
        if (hex_nibble(frame[i]) < 0)
            return -SOLAR_EFRAME;
    unsigned length = (unsigned)hex_value(frame + OFF_LENGTH, 4);
    unsigned lenid = length & 0xFFF;
    if (pylontech_length_encode(lenid) != length || lenid % 2 != 0 ||
        lenid + PYLONTECH_OVERHEAD != len)
        return -SOLAR_EFRAME;
    uint16_t sum = solar_sum16_negated(frame + 1, len - 6);
    if (hex_value(frame + len - 5, 4) != sum)
        return -SOLAR_EBADCRC;
    if (lenid / 2 > cap)
        return -SOLAR_ESHORT;
    hdr->ver = (uint8_t)hex_value(frame + OFF_VER, 2);
    hdr->adr = (uint8_t)hex_value(frame + OFF_ADR, 2);
    hdr->cid1 = (uint8_t)hex_value(frame + OFF_CID1, 2);
    hdr->rtn = (uint8_t)hex_value(frame + OFF_CID2, 2);
    for (unsigned i = 0; i < lenid / 2; i++)
        info[i] = (uint8_t)hex_value(frame + OFF_INFO + 2 * i, 2);
    return lenid / 2;
}

int pylontech_reply_check(const struct pylontech_header *hdr, uint8_t adr)
{
    if (hdr->adr != adr || hdr->cid1 != PYLONTECH_CID1)
        return -SOLAR_EMISMATCH;
    if (hdr->rtn == 0x04)
        return -SOLAR_EUNSUPPORT;
    if (hdr->rtn != PYLONTECH_RTN_OK)
        return -SOLAR_EDEVICE;
    return 0;
}

const char *pylontech_rtn_describe(uint8_t rtn)
{
    switch (rtn) {
    case 0x00:
        return "normal";
    case 0x01:
        return "VER error";
    case 0x02:
        return "CHKSUM error";
    case 0x03:
        return "LCHKSUM error";
    case 0x04:
        return "CID2 invalid (command not supported)";
    case 0x05:
        return "command format error";
    case 0x06:
        return "invalid data";
    case 0x90:
        return "ADR error";
    case 0x91:
        return "internal communication error between master and slave pack";
    default:
        return "unknown RTN";
    }
}

/* A read cursor over INFO bytes: every field is taken through need(), so a count that points
 * past the end stops the decoder instead of reading beyond the buffer. */
struct cursor {
    const uint8_t *p;
    size_t left;
};

static const uint8_t *need(struct cursor *c, size_t n)
{
    if (c->left < n)
        return NULL;
    const uint8_t *p = c->p;
    c->p += n;
    c->left -= n;
    return p;
}

static int analog_block(struct cursor *c, const struct pylontech_dialect *d,
                        struct pylontech_analog *out)
{
    const uint8_t *p = need(c, 1);
    if (!p)
        return -SOLAR_ESHORT;
    out->cell_count = *p;
    if (out->cell_count > PYLONTECH_MAX_CELLS)
        return -SOLAR_EFRAME;
    if (!(p = need(c, 2 * (size_t)out->cell_count)))
        return -SOLAR_ESHORT;
    for (unsigned i = 0; i < out->cell_count; i++)
        out->cell_voltage[i] = (int16_t)be16(p + 2 * i) * d->cell_voltage;
    if (!(p = need(c, 1)))
        return -SOLAR_ESHORT;
    out->temp_count = *p;
    if (!(p = need(c, 2 * (size_t)out->temp_count)))
        return -SOLAR_ESHORT;
    for (unsigned i = 0; i < PYLONTECH_MAX_TEMPS; i++)
        out->temperature[i] = i < out->temp_count ? kelvin_tenths(p + 2 * i) : NAN;
    if (out->temp_count > PYLONTECH_MAX_TEMPS)
        out->temp_count = PYLONTECH_MAX_TEMPS;
    /* current, voltage, remaining 1, user-defined count, total 1, cycles */
    if (!(p = need(c, 11)))
        return -SOLAR_ESHORT;
    out->current = (int16_t)be16(p) * d->current;
    out->voltage = be16(p + 2) * d->pack_voltage;
    out->user_defined = p[6];
    out->cycles = be16(p + 9);
    if (out->user_defined == 2) {
        out->remaining_ah = be16(p + 4) * d->capacity;
        out->full_ah = be16(p + 7) * d->capacity;
    } else if (out->user_defined == 4) {
        /* Packs above 65 Ah send FFFF in the 2-byte fields and 3-byte ones after the cycles. */
        const uint8_t *q = need(c, 6);
        if (!q)
            return -SOLAR_ESHORT;
        out->remaining_ah = be24(q) * d->capacity;
        out->full_ah = be24(q + 3) * d->capacity;
    } else {
        return -SOLAR_EFRAME;
    }
    out->soc = out->full_ah > 0 ? 100.0 * out->remaining_ah / out->full_ah : NAN;
    return 0;
}

/* INFOFLAG and command value; the pack count is the command value in the all-packs form. */
static int packs_header(struct cursor *c, bool all, unsigned cap, unsigned *count,
                        unsigned *address)
{
    const uint8_t *p = need(c, 2);
    if (!p)
        return -SOLAR_ESHORT;
    *address = p[1];
    *count = all ? p[1] : 1;
    if (*count == 0 || *count > cap)
        return -SOLAR_EFRAME;
    return 0;
}

int pylontech_analog_decode(const uint8_t *info, size_t len, bool all,
                            const struct pylontech_dialect *dialect, struct pylontech_analog *packs,
                            unsigned cap, unsigned *count)
{
    struct cursor c = {info, len};
    unsigned address;
    int err = packs_header(&c, all, cap, count, &address);
    for (unsigned i = 0; err == 0 && i < *count; i++) {
        memset(&packs[i], 0, sizeof(packs[i]));
        packs[i].address = all ? 0 : address;
        err = analog_block(&c, dialect ? dialect : &pylontech_dialect_pylon, &packs[i]);
    }
    return err;
}

static int alarm_block(struct cursor *c, size_t extra, struct pylontech_alarm *out)
{
    const uint8_t *p = need(c, 1);
    if (!p)
        return -SOLAR_ESHORT;
    out->cell_count = *p;
    if (out->cell_count > PYLONTECH_MAX_CELLS)
        return -SOLAR_EFRAME;
    if (!(p = need(c, out->cell_count)))
        return -SOLAR_ESHORT;
    memcpy(out->cell_state, p, out->cell_count);
    if (!(p = need(c, 1)))
        return -SOLAR_ESHORT;
    unsigned temps = *p;
    if (!(p = need(c, temps)))
        return -SOLAR_ESHORT;
    out->temp_count = temps < PYLONTECH_MAX_TEMPS ? temps : PYLONTECH_MAX_TEMPS;
    memcpy(out->temp_state, p, out->temp_count);
    if (!(p = need(c, 8 + extra)))
        return -SOLAR_ESHORT;
    out->charge_current_state = p[0];
    out->voltage_state = p[1];
    out->discharge_current_state = p[2];
    memcpy(out->status, p + 3, 5);
    return 0;
}

static int alarm_blocks(const uint8_t *info, size_t len, bool all, size_t extra,
                        struct pylontech_alarm *packs, unsigned cap, unsigned *count, size_t *left)
{
    struct cursor c = {info, len};
    unsigned address;
    int err = packs_header(&c, all, cap, count, &address);
    for (unsigned i = 0; err == 0 && i < *count; i++) {
        memset(&packs[i], 0, sizeof(packs[i]));
        packs[i].address = all ? 0 : address;
        err = alarm_block(&c, extra, &packs[i]);
    }
    *left = c.left;
    return err;
}

int pylontech_alarm_decode(const uint8_t *info, size_t len, bool all, struct pylontech_alarm *packs,
                           unsigned cap, unsigned *count)
{
    size_t left;
    int err = alarm_blocks(info, len, all, 0, packs, cap, count, &left);
    if (!all || (err == 0 && left == 0))
        return err;
    /* Newer firmware appends a byte to every block: the all-packs answer then parses exactly
     * only with it. Otherwise the plain reading stands, trailing bytes tolerated. */
    size_t left_extra;
    if (alarm_blocks(info, len, all, 1, packs, cap, count, &left_extra) == 0 && left_extra == 0)
        return 0;
    return alarm_blocks(info, len, all, 0, packs, cap, count, &left);
}

int pylontech_management_decode(const uint8_t *info, size_t len,
                                const struct pylontech_dialect *dialect,
                                struct pylontech_management *out)
{
    const struct pylontech_dialect *d = dialect ? dialect : &pylontech_dialect_pylon;
    if (len < 10)
        return -SOLAR_ESHORT;
    out->address = info[0];
    out->charge_voltage_limit = be16(info + 1) * d->pack_voltage;
    out->discharge_voltage_limit = be16(info + 3) * d->pack_voltage;
    out->charge_current_limit = (int16_t)be16(info + 5) * d->current;
    out->discharge_current_limit = (int16_t)be16(info + 7) * d->current;
    out->status = info[9];
    return 0;
}

int pylontech_system_param_decode(const uint8_t *info, size_t len,
                                  const struct pylontech_dialect *dialect,
                                  struct pylontech_system_param *out)
{
    const struct pylontech_dialect *d = dialect ? dialect : &pylontech_dialect_pylon;
    if (len < 25)
        return -SOLAR_ESHORT;
    const uint8_t *p = info + 1; /* after INFOFLAG */
    out->cell_high_v = be16(p) * d->cell_voltage;
    out->cell_low_v = be16(p + 2) * d->cell_voltage;
    out->cell_under_v = be16(p + 4) * d->cell_voltage;
    out->charge_high_t = kelvin_tenths(p + 6);
    out->charge_low_t = kelvin_tenths(p + 8);
    out->charge_current = (int16_t)be16(p + 10) * d->current;
    out->module_high_v = be16(p + 12) * d->pack_voltage;
    out->module_low_v = be16(p + 14) * d->pack_voltage;
    out->module_under_v = be16(p + 16) * d->pack_voltage;
    out->discharge_high_t = kelvin_tenths(p + 18);
    out->discharge_low_t = kelvin_tenths(p + 20);
    out->discharge_current = (int16_t)be16(p + 22) * d->current;
    return 0;
}

/* Copies n characters, printable ones as they are, and trims the padding. */
static void ascii_copy(char *out, const uint8_t *p, size_t n, char pad)
{
    for (size_t i = 0; i < n; i++)
        out[i] = p[i] == 0 ? '\0' : (p[i] >= 0x20 && p[i] < 0x7F) ? (char)p[i] : '?';
    out[n] = '\0';
    size_t end = strlen(out);
    while (end > 0 && (out[end - 1] == ' ' || out[end - 1] == pad))
        out[--end] = '\0';
}

int pylontech_serial_decode(const uint8_t *info, size_t len, unsigned *address,
                            char out[PYLONTECH_SERIAL_LEN + 1])
{
    if (len < 1 + PYLONTECH_SERIAL_LEN)
        return -SOLAR_ESHORT;
    *address = info[0];
    ascii_copy(out, info + 1, PYLONTECH_SERIAL_LEN, ' ');
    return 0;
}

int pylontech_manufacturer_decode(const uint8_t *info, size_t len,
                                  struct pylontech_manufacturer *out)
{
    if (len < PYLONTECH_NAME_LEN + 2 + PYLONTECH_MAKER_LEN)
        return -SOLAR_ESHORT;
    ascii_copy(out->device, info, PYLONTECH_NAME_LEN, ' ');
    out->version_major = info[PYLONTECH_NAME_LEN];
    out->version_minor = info[PYLONTECH_NAME_LEN + 1];
    ascii_copy(out->manufacturer, info + PYLONTECH_NAME_LEN + 2, PYLONTECH_MAKER_LEN, '-');
    return 0;
}

int pylontech_addresses_parse(const char *text, uint8_t *out, unsigned cap, unsigned *count,
                              bool *automatic)
{
    bool seen[256] = {false};
    *count = 0;
    *automatic = strcasecmp(text, "auto") == 0;
    if (*automatic)
        return 0;
    const char *p = text;
    do {
        char *end;
        long lo = strtol(p, &end, 0), hi = lo;
        if (end == p)
            return -EINVAL;
        if (*end == '-') {
            p = end + 1;
            hi = strtol(p, &end, 0);
            if (end == p)
                return -EINVAL;
        }
        if (lo < 1 || hi > 254 || lo > hi || (*end != ',' && *end != '\0'))
            return -EINVAL;
        for (long a = lo; a <= hi; a++)
            seen[a] = true;
        p = end + 1;
        if (*end == '\0')
            break;
    } while (1);
    for (unsigned a = 1; a < 255; a++) {
        if (!seen[a])
            continue;
        if (*count == cap)
            return -EINVAL;
        out[(*count)++] = (uint8_t)a;
    }
    return 0;
}
