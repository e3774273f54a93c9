#include "protocol.h"

#include "checksum.h"
#include "error.h"

#include <math.h>
#include <string.h>

/* Fixed part of the 0x03 payload before the NTC readings. */
#define BASIC_FIXED_LEN 23
/* Bytes the extended firmware appends after the NTCs: humidity, alarm, full-charge capacity,
 * remaining capacity, balance current. */
#define BASIC_EXTENSION_LEN 9
/* NTC readings are in 0.1 K. */
#define KELVIN_TENTHS_AT_0C 2731
/* FET status bit 7: current in 100 mA and capacities in 100 mAh instead of 10 mA / 10 mAh. */
#define FET_TENFOLD_UNITS 0x80

static const char *const protection_names[JBD_PROTECTION_BITS] = {
    "cell_overvoltage",   "cell_undervoltage",     "pack_overvoltage",    "pack_undervoltage",
    "charge_overtemp",    "charge_undertemp",      "discharge_overtemp",  "discharge_undertemp",
    "charge_overcurrent", "discharge_overcurrent", "short_circuit",       "afe_error",
    "software_lock",      "charge_mos_fault",      "discharge_mos_fault",
};

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

size_t jbd_request_build(uint8_t reg, uint8_t out[JBD_REQUEST_LEN])
{
    out[0] = JBD_START;
    out[1] = JBD_OP_READ;
    out[2] = reg;
    out[3] = 0;
    uint16_t sum = solar_sum16_negated(out + 2, 2);
    out[4] = (uint8_t)(sum >> 8);
    out[5] = (uint8_t)sum;
    out[6] = JBD_END;
    return JBD_REQUEST_LEN;
}

long jbd_frame_find(const uint8_t *buf, size_t len, const void *arg)
{
    const uint8_t *reg = arg;
    if (len > 0 && buf[0] != JBD_START) {
        const uint8_t *start = memchr(buf, JBD_START, len);
        return -(long)(start ? (size_t)(start - buf) : len);
    }
    if (len < 4)
        return JBD_OVERHEAD; /* no frame is shorter */
    size_t total = (size_t)buf[3] + JBD_OVERHEAD;
    if (len < total)
        return (long)total;
    /* A DD inside noise would announce a frame that does not end in 77: skip it and resync. */
    if (buf[total - 1] != JBD_END)
        return -1;
    if (reg && buf[1] != *reg)
        return -(long)total;
    return (long)total;
}

int jbd_frame_check(const uint8_t *frame, size_t len, uint8_t reg, const uint8_t **data,
                    size_t *data_len)
{
    if (len < JBD_OVERHEAD || frame[0] != JBD_START || frame[len - 1] != JBD_END ||
        (size_t)frame[3] + JBD_OVERHEAD != len)
        return -SOLAR_EFRAME;
    size_t payload = frame[3];
    uint16_t sum = solar_sum16_negated(frame + 2, payload + 2);
    if (be16(frame + 4 + payload) != sum)
        return -SOLAR_EBADCRC;
    if (frame[1] != reg)
        return -SOLAR_EMISMATCH;
    if (frame[2] != JBD_STATUS_OK)
        return -SOLAR_EDEVICE;
    *data = frame + 4;
    *data_len = payload;
    return 0;
}

static void decode_extension(const uint8_t *ext, double capacity_scale, struct jbd_basic_info *out)
{
    out->extended = true;
    out->humidity = ext[0];
    out->alarm = be16(ext + 1);
    out->full_charge_ah = be16(ext + 3) * capacity_scale;
    /* ext + 5 repeats the remaining capacity of offset 4. */
    out->balance_current = (int16_t)be16(ext + 7) / 1000.0;
}

int jbd_basic_info_decode(const uint8_t *data, size_t len, struct jbd_basic_info *out)
{
    if (len < BASIC_FIXED_LEN)
        return -SOLAR_ESHORT;
    unsigned ntc_count = data[22];
    if (len < BASIC_FIXED_LEN + 2 * (size_t)ntc_count)
        return -SOLAR_ESHORT;
    if (data[21] > JBD_MAX_CELLS)
        return -SOLAR_EFRAME;

    memset(out, 0, sizeof(*out));
    out->fet_status = data[20];
    double tenfold = (out->fet_status & FET_TENFOLD_UNITS) ? 10.0 : 1.0;
    double capacity_scale = 0.01 * tenfold;

    out->pack_voltage = be16(data) * 0.01;
    out->current = (int16_t)be16(data + 2) * 0.01 * tenfold;
    out->remaining_ah = be16(data + 4) * capacity_scale;
    out->nominal_ah = be16(data + 6) * capacity_scale;
    out->cycles = be16(data + 8);
    uint16_t date = be16(data + 10);
    out->production_year = 2000 + (date >> 9);
    out->production_month = (date >> 5) & 0x0F;
    out->production_day = date & 0x1F;
    out->balancing = (uint32_t)be16(data + 12) | (uint32_t)be16(data + 14) << 16;
    out->protection = be16(data + 16) & ((1u << JBD_PROTECTION_BITS) - 1);
    out->software_version = data[18];
    out->soc = data[19];
    out->charge_fet = (out->fet_status & 0x01) != 0;
    out->discharge_fet = (out->fet_status & 0x02) != 0;
    out->cell_count = data[21];

    /* A clone reporting more NTCs than we keep still decodes; the rest are ignored. */
    out->ntc_count = ntc_count < JBD_MAX_NTC ? ntc_count : JBD_MAX_NTC;
    for (unsigned i = 0; i < JBD_MAX_NTC; i++)
        out->ntc[i] =
            i < out->ntc_count ? ((int)be16(data + 23 + 2 * i) - KELVIN_TENTHS_AT_0C) / 10.0 : NAN;

    out->humidity = out->full_charge_ah = out->balance_current = NAN;
    size_t extension = BASIC_FIXED_LEN + 2 * (size_t)ntc_count;
    if (len >= extension + BASIC_EXTENSION_LEN)
        decode_extension(data + extension, capacity_scale, out);
    return 0;
}

int jbd_cells_decode(const uint8_t *data, size_t len, struct jbd_cells *out)
{
    if (len % 2 != 0 || len / 2 > JBD_MAX_CELLS)
        return -SOLAR_EFRAME;
    out->count = (unsigned)(len / 2);
    for (unsigned i = 0; i < out->count; i++)
        out->voltage[i] = be16(data + 2 * i) / 1000.0;
    return 0;
}

int jbd_hw_version_decode(const uint8_t *data, size_t len, char *out, size_t cap)
{
    if (len >= cap)
        return -SOLAR_EFRAME;
    for (size_t i = 0; i < len; i++)
        out[i] = (data[i] >= 0x20 && data[i] < 0x7F) ? (char)data[i] : '?';
    out[len] = '\0';
    return 0;
}

const char *jbd_protection_name(unsigned bit)
{
    return bit < JBD_PROTECTION_BITS ? protection_names[bit] : NULL;
}
