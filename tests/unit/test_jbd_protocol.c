/* The JBD decoder against the real frames of protocols/jbd.md section 4 (checksums verified
 * there) and against hostile ones. */
#include "checksum.h"
#include "error.h"
#include "protocol.h"
#include "tap.h"

#include <math.h>

struct basic_case {
    const char *what;
    const char *hex;
    double voltage, current, remaining, nominal, cycles, soc;
    unsigned year, month, day;
    uint32_t balancing;
    uint16_t protection;
    uint8_t version, fet;
    unsigned cells, ntcs;
    double ntc[3];
    int extended;
    double full_charge;
};

static const struct basic_case basic_cases[] = {
    {"4S 3 NTC, MOS software lock (esphome README)",
     "DD 03 00 1D 06 0B 00 00 01 ED 01 F4 00 00 2C 7C 00 00 00 00 10 00 80 63 02 04 03 0B A0 0B 9D "
     "0B 98 FA 55 77",
     15.47,
     0.0,
     4.93,
     5.00,
     0,
     99,
     2022,
     3,
     28,
     0,
     0x1000,
     0x80,
     0x02,
     4,
     3,
     {24.5, 24.2, 23.7},
     0,
     NAN},
    {"4S discharging -2.87 A (aiobmsble)",
     "dd 03 00 1d 06 18 fe e1 01 f2 01 f4 00 2a 2c 7c 00 00 00 00 00 00 80 64 03 04 03 0b 8b 0b 8a "
     "0b 84 f8 84 77",
     15.60,
     -2.87,
     4.98,
     5.00,
     42,
     100,
     2022,
     3,
     28,
     0,
     0,
     0x80,
     0x03,
     4,
     3,
     {22.4, 22.3, 21.7},
     0,
     NAN},
    {"8S 2 NTC, charging +8.28 A, cell 4 balancing (esphome #4)",
     "DD 03 00 1B 0A 88 03 3C 0E 26 13 88 00 A5 29 89 00 08 00 00 00 00 28 48 03 08 02 0B B5 0B B4 "
     "FA EA 77",
     26.96,
     8.28,
     36.22,
     50.00,
     165,
     72,
     2020,
     12,
     9,
     0x0008,
     0,
     0x28,
     0x03,
     8,
     2,
     {26.6, 26.5},
     0,
     NAN},
    {"4S 1 NTC extended (DP04S007)",
     "DD 03 00 22 05 5F 00 00 4A DF 4E 20 00 02 2D 14 00 00 00 00 00 00 23 60 03 04 01 0B B1 00 00 "
     "00 4E 20 4A DF 00 00 FA C2 77",
     13.75,
     0.0,
     191.67,
     200.00,
     2,
     96,
     2022,
     8,
     20,
     0,
     0,
     0x23,
     0x03,
     4,
     1,
     {26.2},
     1,
     200.00},
    {"4S balancing +3.74 A (bt-sensors #94)",
     "dd 03 00 1b 05 4a 01 76 4d c3 4e 20 00 e7 28 91 00 08 00 00 00 00 16 64 03 04 02 0b d8 0b e3 "
     "f9 a5 77",
     13.54,
     3.74,
     199.07,
     200.00,
     231,
     100,
     2020,
     4,
     17,
     0x0008,
     0,
     0x16,
     0x03,
     4,
     2,
     {30.1, 31.2},
     0,
     NAN},
};

static void test_basic_case(const struct basic_case *c)
{
    uint8_t frame[JBD_FRAME_MAX];
    int n = tap_hex(c->hex, frame, sizeof(frame));
    const uint8_t *data;
    size_t len;
    struct jbd_basic_info info;
    is_int(jbd_frame_find(frame, (size_t)n, NULL), n, "%s: framed whole", c->what);
    is_int(jbd_frame_check(frame, (size_t)n, JBD_REG_BASIC_INFO, &data, &len), 0, "%s: frame valid",
           c->what);
    is_int(jbd_basic_info_decode(data, len, &info), 0, "%s: decodes", c->what);
    is_num(info.pack_voltage, c->voltage, "%s: voltage", c->what);
    is_num(info.current, c->current, "%s: current", c->what);
    is_num(info.remaining_ah, c->remaining, "%s: remaining", c->what);
    is_num(info.nominal_ah, c->nominal, "%s: nominal", c->what);
    is_num(info.cycles, c->cycles, "%s: cycles", c->what);
    is_num(info.soc, c->soc, "%s: soc", c->what);
    ok(info.production_year == c->year && info.production_month == c->month &&
           info.production_day == c->day,
       "%s: production date %u-%02u-%02u", c->what, info.production_year, info.production_month,
       info.production_day);
    is_int(info.balancing, c->balancing, "%s: balancing bits", c->what);
    is_int(info.protection, c->protection, "%s: protection bits", c->what);
    is_int(info.software_version, c->version, "%s: software version", c->what);
    is_num(info.charge_fet, c->fet & 1, "%s: charge FET", c->what);
    is_num(info.discharge_fet, (c->fet >> 1) & 1, "%s: discharge FET", c->what);
    is_int(info.cell_count, c->cells, "%s: cells", c->what);
    is_int(info.ntc_count, c->ntcs, "%s: NTCs", c->what);
    for (unsigned i = 0; i < c->ntcs; i++)
        is_num(info.ntc[i], c->ntc[i], "%s: NTC %u", c->what, i + 1);
    ok(isnan(info.ntc[c->ntcs]), "%s: no NTC past the count", c->what);
    is_int(info.extended, c->extended, "%s: extended fields", c->what);
    if (c->extended)
        is_num(info.full_charge_ah, c->full_charge, "%s: full-charge capacity", c->what);
    else
        ok(isnan(info.full_charge_ah) && isnan(info.humidity), "%s: no extended values", c->what);
}

struct cells_case {
    const char *what;
    const char *hex;
    unsigned count;
    double volts[4];
};

static const struct cells_case cells_cases[] = {
    {"cells, esphome README",
     "DD 04 00 08 0F 23 0F 1C 0F 12 0F 1D FF 4E 77",
     4,
     {3.875, 3.868, 3.858, 3.869}},
    {"cells, aiobmsble",
     "dd 04 00 08 0d 66 0d 61 0d 68 0d 59 fe 3c 77",
     4,
     {3.430, 3.425, 3.432, 3.417}},
};

static void test_cells_case(const struct cells_case *c)
{
    uint8_t frame[JBD_FRAME_MAX];
    int n = tap_hex(c->hex, frame, sizeof(frame));
    const uint8_t *data;
    size_t len;
    struct jbd_cells cells;
    is_int(jbd_frame_check(frame, (size_t)n, JBD_REG_CELLS, &data, &len), 0, "%s: valid", c->what);
    is_int(jbd_cells_decode(data, len, &cells), 0, "%s: decodes", c->what);
    is_int(cells.count, c->count, "%s: count", c->what);
    for (unsigned i = 0; i < c->count; i++)
        is_num(cells.voltage[i], c->volts[i], "%s: cell %u", c->what, i + 1);
}

static void test_hw_version(void)
{
    static const struct {
        const char *hex;
        const char *model;
    } cases[] = {
        {"DD 05 00 19 4A 42 44 2D 53 50 30 34 53 30 33 34 2D 4C 34 53 2D 32 30 30 41 2D 42 2D 55 "
         "FA 08 77",
         "JBD-SP04S034-L4S-200A-B-U"},
        {"dd 05 00 0a 30 31 32 33 34 35 36 37 38 39 fd e9 77", "0123456789"},
    };
    for (size_t i = 0; i < 2; i++) {
        uint8_t frame[JBD_FRAME_MAX];
        int n = tap_hex(cases[i].hex, frame, sizeof(frame));
        const uint8_t *data;
        size_t len;
        char model[JBD_HW_VERSION_MAX];
        is_int(jbd_frame_check(frame, (size_t)n, JBD_REG_HW_VERSION, &data, &len), 0,
               "model frame %zu valid", i);
        is_int(jbd_hw_version_decode(data, len, model, sizeof(model)), 0, "model %zu decodes", i);
        is_str(model, cases[i].model, "model %zu string", i);
    }
}

static void test_requests(void)
{
    static const struct {
        uint8_t reg;
        const char *hex;
    } cases[] = {
        {0x03, "DD A5 03 00 FF FD 77"},
        {0x04, "DD A5 04 00 FF FC 77"},
        {0x05, "DD A5 05 00 FF FB 77"},
        {0xAA, "DD A5 AA 00 FF 56 77"},
    };
    for (size_t i = 0; i < 4; i++) {
        uint8_t want[JBD_REQUEST_LEN], got[JBD_REQUEST_LEN];
        tap_hex(cases[i].hex, want, sizeof(want));
        is_int(jbd_request_build(cases[i].reg, got), JBD_REQUEST_LEN, "request 0x%02X length",
               cases[i].reg);
        ok(memcmp(got, want, sizeof(want)) == 0, "request 0x%02X bytes", cases[i].reg);
    }
    uint8_t write_frame[9];
    tap_hex("DD 5A E1 02 00 02 FF 1B 77", write_frame, sizeof(write_frame));
    is_int(solar_sum16_negated(write_frame + 2, 4), 0xFF1B, "checksum of the V4 write example");
    uint8_t ack[7];
    tap_hex("DD E1 00 00 00 00 77", ack, sizeof(ack));
    const uint8_t *data;
    size_t len;
    is_int(jbd_frame_check(ack, 7, 0xE1, &data, &len), 0, "an empty ACK has checksum 0x0000");
    is_int(len, 0, "an empty ACK has no payload");
}

/* Frames a BMS, a noisy line or a clone can produce, and what the decoder must say. */
static void test_hostile(void)
{
    static const struct {
        const char *what;
        const char *hex;
        uint8_t reg;
        int err;
    } cases[] = {
        {"bad checksum", "DD 04 00 08 0F 23 0F 1C 0F 12 0F 1D FF 4F 77", 0x04, -SOLAR_EBADCRC},
        {"status 0x80 (register unknown)", "dd 05 80 00 ff 80 77", 0x05, -SOLAR_EDEVICE},
        {"reply for another register", "DD 04 00 08 0F 23 0F 1C 0F 12 0F 1D FF 4E 77", 0x03,
         -SOLAR_EMISMATCH},
        {"length byte larger than the frame", "DD 04 00 09 0F 23 0F 1C 0F 12 0F 1D FF 4E 77", 0x04,
         -SOLAR_EFRAME},
        {"no end byte", "DD 04 00 08 0F 23 0F 1C 0F 12 0F 1D FF 4E 78", 0x04, -SOLAR_EFRAME},
        {"too short to be a frame", "DD 04 00 08 77", 0x04, -SOLAR_EFRAME},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint8_t frame[64];
        int n = tap_hex(cases[i].hex, frame, sizeof(frame));
        const uint8_t *data;
        size_t len;
        is_int(jbd_frame_check(frame, (size_t)n, cases[i].reg, &data, &len), cases[i].err, "%s",
               cases[i].what);
    }

    /* A 0x03 payload announcing more NTCs than it carries. */
    uint8_t payload[64] = {0};
    payload[21] = 4;
    payload[22] = 3;
    struct jbd_basic_info info;
    is_int(jbd_basic_info_decode(payload, 23 + 4, &info), -SOLAR_ESHORT,
           "0x03 payload shorter than its NTC count");
    is_int(jbd_basic_info_decode(payload, 10, &info), -SOLAR_ESHORT, "0x03 payload of 10 bytes");
    payload[21] = 33;
    payload[22] = 0;
    is_int(jbd_basic_info_decode(payload, 23, &info), -SOLAR_EFRAME, "0x03 with 33 cells");
    struct jbd_cells cells;
    is_int(jbd_cells_decode(payload, 7, &cells), -SOLAR_EFRAME, "0x04 of odd length");
    is_int(jbd_cells_decode(payload, 66, &cells), -SOLAR_EFRAME, "0x04 with 33 cells");
    char model[8];
    is_int(jbd_hw_version_decode((const uint8_t *)"0123456789", 10, model, sizeof(model)),
           -SOLAR_EFRAME, "model string longer than the buffer");
}

/* Fields the notes describe but no real capture covers: FET bit 7, capacities above 327.67 Ah,
 * a 32-cell balance mask, more NTCs than kept. */
static void test_built_frames(void)
{
    uint8_t p[64] = {0};
    p[2] = 0xFF, p[3] = 0x38;   /* -2.00 (x10 units: -20.0 A) */
    p[4] = 0x90, p[5] = 0x00;   /* 36864 */
    p[6] = 0xA0, p[7] = 0x00;   /* 40960: bit 15 set, must stay unsigned */
    p[12] = 0x00, p[13] = 0x01; /* cell 1 */
    p[14] = 0x80, p[15] = 0x00; /* cell 32 */
    p[20] = 0x83;
    p[21] = 32;
    p[22] = 10; /* more NTCs than JBD_MAX_NTC */
    for (int i = 0; i < 10; i++)
        p[23 + 2 * i] = 0x0B, p[24 + 2 * i] = 0xA5; /* 2981 = 25.0 degC */
    struct jbd_basic_info info;
    is_int(jbd_basic_info_decode(p, 43, &info), 0, "built frame decodes");
    is_num(info.current, -20.0, "FET bit 7: current in 100 mA");
    is_num(info.remaining_ah, 3686.4, "FET bit 7: capacity in 100 mAh");
    is_num(info.nominal_ah, 4096.0, "capacity with bit 15 set is unsigned");
    is_int(info.balancing, 0x80000001u, "balance bits of cells 1 and 32");
    is_int(info.ntc_count, JBD_MAX_NTC, "NTCs kept at most %d", JBD_MAX_NTC);
    is_num(info.ntc[JBD_MAX_NTC - 1], 25.0, "last NTC kept");
    is_str(jbd_protection_name(12), "software_lock", "protection bit 12 name");
    ok(jbd_protection_name(JBD_PROTECTION_BITS) == NULL, "no name past the last bit");
}

static void test_framer(void)
{
    uint8_t stream[80];
    int n =
        tap_hex("00 13 77 DD 04 00 08 0F 23 0F 1C 0F 12 0F 1D FF 4E 77", stream, sizeof(stream));
    is_int(jbd_frame_find(stream, (size_t)n, NULL), -3, "noise before DD is skipped");
    is_int(jbd_frame_find(stream, 0, NULL), 7, "before any byte: the shortest frame is 7 bytes");
    is_int(jbd_frame_find(stream + 3, 3, NULL), 7, "a partial header waits for a whole frame");
    is_int(jbd_frame_find(stream + 3, 10, NULL), 15, "a partial frame waits for its length");
    uint8_t want = 0x03;
    is_int(jbd_frame_find(stream + 3, (size_t)n - 3, &want), -(n - 3),
           "a whole frame for another register is skipped");
    uint8_t false_start[] = {0xDD, 0x01, 0x00, 0x00, 0x11, 0x22, 0x33};
    is_int(jbd_frame_find(false_start, sizeof(false_start), NULL), -1,
           "a DD not followed by a frame ending in 77 is skipped");
    is_int(jbd_frame_find((const uint8_t *)"\x01\x02", 2, NULL), -2, "all noise is skipped");
}

int main(void)
{
    for (size_t i = 0; i < sizeof(basic_cases) / sizeof(basic_cases[0]); i++)
        test_basic_case(&basic_cases[i]);
    for (size_t i = 0; i < sizeof(cells_cases) / sizeof(cells_cases[0]); i++)
        test_cells_case(&cells_cases[i]);
    test_hw_version();
    test_requests();
    test_hostile();
    test_built_frames();
    test_framer();
    return tap_done();
}
