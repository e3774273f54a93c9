/* The luxpower register table and dongle codec against the frames of protocols/luxpower.md
 * section 5 (lxp-bridge fixtures, a live dongle's log, RTU captures) and hostile frames. */
#include "checksum.h"
#include "error.h"
#include "protocol.h"
#include "tap.h"

#include <errno.h>
#include <math.h>

#define DATALOG "2222222222"
#define SERIAL  "5555555555"

static uint8_t frame[LUXPOWER_DONGLE_FRAME_MAX];
static uint16_t image[LUXPOWER_INPUT_COUNT];

static int hex(const char *h)
{
    return tap_hex(h, frame, sizeof(frame));
}

static const struct luxpower_register *row(const char *type, const char *type_instance)
{
    for (size_t i = 0; i < luxpower_register_count; i++)
        if (strcmp(luxpower_registers[i].type, type) == 0 &&
            strcmp(luxpower_registers[i].type_instance, type_instance) == 0)
            return &luxpower_registers[i];
    return NULL;
}

/* The value of metric TYPE-INSTANCE from the image, NAN when the row is missing or rejected. */
static double metric(const char *type, const char *type_instance)
{
    const struct luxpower_register *r = row(type, type_instance);
    double v;
    if (!r || luxpower_register_decode(r, image, &v) < 0)
        return NAN;
    return v;
}

/* Decodes frame[0..n) as a read reply and stores its registers in the image. */
static void load_reply(int n, unsigned fc, unsigned reg, unsigned count, const char *what)
{
    struct luxpower_dongle_frame f;
    struct luxpower_dongle_match m = {fc, reg, count, SERIAL, NULL};
    is_int(luxpower_dongle_frame_find(frame, (size_t)n, &m), n, "%s: framed whole", what);
    is_int(luxpower_dongle_frame_decode(frame, (size_t)n, &f), 0, "%s: decodes", what);
    is_int(luxpower_dongle_reply_check(&f, &m), 0, "%s: answers the request", what);
    is_str(f.datalog, DATALOG, "%s: datalog", what);
    is_int(f.protocol, 2, "%s: protocol 2", what);
    luxpower_dongle_values(&f, image + reg);
}

static void test_requests(void)
{
    uint8_t req[LUXPOWER_DONGLE_REQUEST];
    uint8_t want[LUXPOWER_DONGLE_REQUEST];
    static const struct {
        const char *what, *datalog, *serial;
        unsigned fc, reg, count;
        const char *hex;
    } cases[] = {
        {"5.1.1 read input 0x40", DATALOG, SERIAL, 4, 0, 40,
         "A1 1A 01 00 20 00 01 C2 32323232323232323232 12 00 00 04 35353535353535353535 00 00 "
         "28 00 2A 84"},
        {"5.1.2 read hold 12x3", DATALOG, SERIAL, 3, 12, 3,
         "A1 1A 01 00 20 00 01 C2 32323232323232323232 12 00 00 03 35353535353535353535 0C 00 "
         "03 00 70 26"},
        {"5.1.11 live dongle, input 240x40", "BA12382025", "2352006013", 4, 240, 40,
         "a11a0100200001c2424131323338323032351200000432333532303036303133f0002800bf20"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        tap_hex(cases[i].hex, want, sizeof(want));
        is_int(luxpower_dongle_request_build(cases[i].datalog, cases[i].serial, cases[i].fc,
                                             cases[i].reg, cases[i].count, req),
               38, "%s: 38 bytes", cases[i].what);
        ok(memcmp(req, want, sizeof(want)) == 0, "%s: byte for byte", cases[i].what);
    }
    /* The request decodes as a protocol-1 frame carrying a register count. */
    struct luxpower_dongle_frame f;
    luxpower_dongle_request_build(DATALOG, SERIAL, 4, 80, 40, req);
    is_int(luxpower_dongle_frame_decode(req, sizeof(req), &f), 0, "request decodes");
    ok(f.action == 0 && f.fc == 4 && f.reg == 80 && f.count == 40 && f.values == NULL,
       "request: action 0, fc 4, reg 80, count 40, no values");
    struct luxpower_dongle_match m = {4, 80, 40, SERIAL, NULL};
    is_int(luxpower_dongle_reply_check(&f, &m), -SOLAR_EMISMATCH,
           "a request echoed back is not a reply");
    /* No inverter serial yet: zeros in its place, as lxp-bridge sends. */
    luxpower_dongle_request_build(DATALOG, "", 4, 0, 40, req);
    ok(req[22] == 0 && req[31] == 0, "empty serial: zero-filled");
}

static void test_hold_and_writes(void)
{
    struct luxpower_dongle_frame f;
    uint16_t v[3];
    int n = hex("A1 1A 02 00 25 00 01 C2 32323232323232323232 17 00 01 03 35353535353535353535 0C "
                "00 06 16 06 14 05 10 39 5D 87");
    is_int(n, 43, "5.1.3 hold reply: 43 bytes");
    is_int(luxpower_dongle_frame_decode(frame, (size_t)n, &f), 0, "5.1.3: decodes");
    struct luxpower_dongle_match m = {3, 12, 3, SERIAL, NULL};
    is_int(luxpower_dongle_reply_check(&f, &m), 0, "5.1.3: answers read hold 12x3");
    luxpower_dongle_values(&f, v);
    ok(v[0] == 0x0616 && v[1] == 0x0514 && v[2] == 0x3910, "5.1.3: clock 2022-06-20 05:16:57");
    ok((v[0] & 0xFF) == 22 && (v[0] >> 8) == 6 && (v[2] >> 8) == 57, "5.1.3: packed year/month/s");

    static const struct {
        const char *what, *hex;
        unsigned protocol, action, fc, reg, count;
    } writes[] = {
        {"5.1.4 write single 66=100",
         "A1 1A 01 00 20 00 01 C2 32323232323232323232 12 00 00 06 35353535353535353535 42 00 "
         "64 00 88 3D",
         1, 0, 6, 66, 100},
        {"5.1.4 write single reply",
         "A1 1A 02 00 20 00 01 C2 32323232323232323232 12 00 01 06 35353535353535353535 42 00 "
         "64 00 49 AD",
         2, 1, 6, 66, 100},
        {"5.1.5 write multi 12-14",
         "A1 1A 02 00 27 00 01 C2 32323232323232323232 19 00 00 10 35353535353535353535 0C 00 "
         "03 00 06 16 06 13 14 17 21 73 47",
         2, 0, 0x10, 12, 3},
        {"5.1.5 write multi reply",
         "A1 1A 02 00 20 00 01 C2 32323232323232323232 12 00 01 10 35353535353535353535 0C 00 "
         "03 00 E2 BB",
         2, 1, 0x10, 12, 3},
    };
    for (size_t i = 0; i < sizeof(writes) / sizeof(writes[0]); i++) {
        n = hex(writes[i].hex);
        is_int(luxpower_dongle_frame_find(frame, (size_t)n, NULL), n, "%s: framed", writes[i].what);
        is_int(luxpower_dongle_frame_decode(frame, (size_t)n, &f), 0, "%s: CRC and lengths",
               writes[i].what);
        ok(f.protocol == writes[i].protocol && f.action == writes[i].action &&
               f.fc == writes[i].fc && f.reg == writes[i].reg && f.count == writes[i].count,
           "%s: fields", writes[i].what);
        struct luxpower_dongle_match any = {writes[i].fc, writes[i].reg, writes[i].count, NULL,
                                            NULL};
        is_int(luxpower_dongle_reply_check(&f, &any), -SOLAR_EMISMATCH,
               "%s: never taken for read data", writes[i].what);
    }
}

static void test_other_functions(void)
{
    struct luxpower_dongle_frame f;
    uint8_t echo[64];
    int n = hex("A1 1A 02 00 0D 00 01 C1 32323232323232323232 00");
    is_int(luxpower_dongle_frame_find(frame, (size_t)n, NULL), 19, "5.1.6 heartbeat: 19 bytes");
    is_int(luxpower_dongle_frame_decode(frame, (size_t)n, &f), 0, "heartbeat decodes");
    ok(f.function == LUXPOWER_TCP_HEARTBEAT && strcmp(f.datalog, DATALOG) == 0,
       "heartbeat: function C1, datalog");
    is_int(luxpower_dongle_heartbeat_reply(frame, (size_t)n, echo, sizeof(echo)), 19,
           "heartbeat: echoed whole");
    ok(memcmp(echo, frame, 19) == 0, "heartbeat: echo identical");
    is_int(luxpower_dongle_heartbeat_reply(frame, (size_t)n, echo, 10), 0,
           "heartbeat: no echo past cap");
    struct luxpower_dongle_seen seen = {0};
    struct luxpower_dongle_match m = {4, 0, 40, NULL, &seen};
    is_int(luxpower_dongle_frame_find(frame, (size_t)n, &m), -19,
           "heartbeat skipped while awaiting a reply");
    ok(seen.heartbeat_len == 19 && memcmp(seen.heartbeat, frame, 19) == 0 && seen.skipped == 1,
       "skipped heartbeat kept for its echo");
    /* fc 0 collects: even a good reply is skipped, its serial learned. */
    n = hex("A1 1A 02 00 25 00 01 C2 32323232323232323232 17 00 01 03 35353535353535353535 0C "
            "00 06 16 06 14 05 10 39 5D 87");
    struct luxpower_dongle_match collect = {0, 0, 0, NULL, &seen};
    is_int(luxpower_dongle_frame_find(frame, (size_t)n, &collect), -n, "collect: reply skipped");
    is_str(seen.serial, SERIAL, "collect: inverter serial learned from a pushed frame");

    n = hex("A1 1A 02 00 0E 00 01 C3 32323232323232323232 07 00");
    is_int(luxpower_dongle_frame_decode(frame, (size_t)n, &f), 0, "5.1.6 read param 7 decodes");
    is_int(f.function, LUXPOWER_TCP_READ_PARAM, "read param: function C3");
    n = hex("A1 1A 02 00 12 00 01 C3 32323232323232323232 00 00 02 00 2C 01");
    is_int(luxpower_dongle_frame_decode(frame, (size_t)n, &f), 0, "5.1.6 read param reply decodes");
    is_int(frame[22] | frame[23] << 8, 300, "read param 0 = 300 s");
}

static void test_bank_0(void)
{
    int n = hex("a11a02006f0001c23232323232323232323261000104353535353535353535350000501000000000"
                "00020010025300002f000000000000000000022509010104008c13f6010000e700e8032509000040"
                "008c130000000000000000000000000000160016001500160000000000de00420e810c2490");
    is_int(n, 117, "5.1.7 input 0-39: 117 bytes");
    load_reply(n, 4, 0, 40, "input 0-39");
    static const struct {
        const char *type, *ti;
        double want;
    } want[] = {
        {"gauge", "status", 16},
        {"voltage", "pv1", 0.0},
        {"voltage", "pv3", 0.2},
        {"voltage", "battery", 52.8},
        {"percent", "soc", 83},
        {"percent", "soh", 0},
        {"power", "battery_charge", 0},
        {"power", "battery_discharge", 512},
        {"voltage", "grid", 234.1},
        {"voltage", "grid_s", 25.7},
        {"voltage", "grid_t", 0.4},
        {"frequency", "grid", 50.04},
        {"power", "inverter", 502},
        {"power", "rectifier", 0},
        {"gauge", "power_factor", 1.0},
        {"voltage", "eps", 234.1},
        {"voltage", "eps_t", 6.4},
        {"frequency", "eps", 50.04},
        {"power", "to_grid", 0},
        {"energy", "inverter_today", 2.2},
        {"energy", "rectifier_today", 2.2},
        {"energy", "charge_today", 2.1},
        {"energy", "discharge_today", 2.2},
        {"energy", "to_user_today", 22.2},
        {"voltage", "bus_1", 365.0},
        {"voltage", "bus_2", 320.1},
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        is_num(metric(want[i].type, want[i].ti), want[i].want, "input 0-39: %s-%s", want[i].type,
               want[i].ti);
    is_str(luxpower_status_name((unsigned)metric("gauge", "status")), "battery_on_grid",
           "status 0x10 is battery on grid");
}

static void test_bank_40(void)
{
    int n =
        hex("a1 1a 02 00 6f 00 01 c2 32 32 32 32 32 32 32 32 32 32 61 00 01 04 35 35 35 35 35 35"
            " 35 35 35 35 28 00 50 ae a4 00 00 00 00 00 00 00 00 00 00 f2 c1 00 00 4f e8 00 00"
            " ce f8 00 00 e9 eb 00 00 00 00 00 00 4a 27 00 00 c2 8c 01 00 00 00 00 00 00 00 00"
            " 00 1c 00 1b 00 1b 00 00 00 00 00 54 ce ec 04 00 00 00 00 00 00 00 00 00 00 00 00"
            " 00 00 00 00 00 00 37 35");
    load_reply(n, 4, 40, 40, "input 40-79");
    static const struct {
        const char *type, *ti;
        double want;
    } want[] = {
        {"energy", "pv1_total", 4215.8},       {"energy", "inverter_total", 4965.0},
        {"energy", "rectifier_total", 5947.1}, {"energy", "charge_total", 6369.4},
        {"energy", "discharge_total", 6039.3}, {"energy", "to_grid_total", 1005.8},
        {"energy", "to_user_total", 10157.0},  {"temperature", "inner", 28},
        {"temperature", "radiator_1", 27},     {"temperature", "radiator_2", 27},
        {"duration", "runtime", 82628180},     {"gauge", "fault_code", 0},
        {"gauge", "warning_code", 0},
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        is_num(metric(want[i].type, want[i].ti), want[i].want, "input 40-79: %s-%s", want[i].type,
               want[i].ti);
}

static void test_bank_80(void)
{
    int n = hex("a11a02006f0001c23232323232323232323261000104353535353535353535355000501100c819c8"
                "19170290010000000000000000000000000000000000000000000000000000000000000000000000"
                "0000000000000000000f02000000000000000000000000000039323932303036303633ed49");
    load_reply(n, 4, 80, 40, "input 80-119");
    is_num(metric("gauge", "battery_type"), 0x11, "input 80: battery type 0x11");
    is_num(metric("current", "bms_charge_limit"), 66.0, "input 81: 66.0 A");
    is_num(metric("current", "bms_discharge_limit"), 66.0, "input 82: 66.0 A");
    is_num(metric("voltage", "bms_charge_limit"), 53.5, "input 83: 53.5 V");
    is_num(metric("voltage", "bms_discharge_cutoff"), 40.0, "input 84: 40.0 V");
    is_num(metric("voltage", "battery_sample"), 52.7, "input 107: 52.7 V");
    char serial[2 * 5 + 1];
    luxpower_ascii_decode(image + LUXPOWER_INPUT_SERIAL, 5, serial);
    is_str(serial, "9292006063", "input 115-119: serial, low byte first");
}

static void test_live_dongle(void)
{
    /* lxp_modbus #154: 117-byte reply to input 240x40, all zero. */
    char h[600];
    snprintf(h, sizeof(h), "%s%0160d%s",
             "a11a02006f0001c2424131323338323032356100010432333532303036303133f00050", 0, "f26f");
    int n = hex(h);
    struct luxpower_dongle_frame f;
    struct luxpower_dongle_match m = {4, 240, 40, "2352006013", NULL};
    is_int(n, 117, "5.1.11 live reply: 117 bytes");
    is_int(luxpower_dongle_frame_decode(frame, (size_t)n, &f), 0, "live reply: CRC f26f");
    is_int(luxpower_dongle_reply_check(&f, &m), 0, "live reply: answers input 240x40");
    ok(strcmp(f.datalog, "BA12382025") == 0 && f.count == 40, "live reply: datalog, 40 regs");
    /* The same reply, read with another inverter configured: skipped, not taken. */
    struct luxpower_dongle_match other = {4, 240, 40, "0000000000", NULL};
    is_int(luxpower_dongle_frame_find(frame, (size_t)n, &other), -n, "wrong serial: skipped");
    is_int(luxpower_dongle_reply_check(&f, &other), -SOLAR_EMISMATCH, "wrong serial: mismatch");
}

static void test_hostile(void)
{
    struct luxpower_dongle_frame f;
    const char *good = "A1 1A 02 00 25 00 01 C2 32323232323232323232 17 00 01 03 "
                       "35353535353535353535 0C 00 06 16 06 14 05 10 39 5D 87";
    struct luxpower_dongle_match m = {3, 12, 3, SERIAL, NULL};
    int n = hex(good);

    frame[n - 1] ^= 0x01;
    is_int(luxpower_dongle_frame_decode(frame, (size_t)n, &f), -SOLAR_EBADCRC, "bad CRC");
    is_int(luxpower_dongle_frame_find(frame, (size_t)n, &m), n,
           "bad CRC, no seen record: framed for the caller to reject");
    struct luxpower_dongle_seen seen = {0};
    struct luxpower_dongle_match ms = {3, 12, 3, SERIAL, &seen};
    ok(luxpower_dongle_frame_find(frame, (size_t)n, &ms) == -1 && seen.damaged == -SOLAR_EBADCRC,
       "bad CRC while awaiting a reply: stepped over, its error kept");
    /* A false start: A1 1A and a plausible length in noise, then the real reply. */
    uint8_t stream[2 * LUXPOWER_DONGLE_FRAME_MAX];
    const uint8_t false_start[] = {0xA1, 0x1A, 0x02, 0x00, 0x20, 0x00, 0x01, 0xC2};
    memcpy(stream, false_start, sizeof(false_start));
    n = hex(good);
    memcpy(stream + sizeof(false_start), frame, (size_t)n);
    size_t have = sizeof(false_start) + (size_t)n, at = 0;
    long verdict;
    while ((verdict = luxpower_dongle_frame_find(stream + at, have - at, &ms)) < 0)
        at += (size_t)-verdict;
    ok(at == sizeof(false_start) && verdict == n, "false start stepped over, real reply found");
    n = hex(good);
    frame[30] ^= 0x01; /* a register byte: the CRC covers it */
    is_int(luxpower_dongle_frame_decode(frame, (size_t)n, &f), -SOLAR_EBADCRC,
           "flipped data bit: bad CRC");

    n = hex(good);
    for (int cut = 1; cut < n; cut += 7) {
        long awaited = luxpower_dongle_frame_find(frame, (size_t)cut, &m);
        ok(awaited > cut && awaited <= n, "truncated at %d: waits for more (%ld)", cut, awaited);
    }
    is_int(luxpower_dongle_frame_find(frame, 7, &m), n, "once the header is in: its length");
    is_int(luxpower_dongle_frame_decode(frame, (size_t)n - 3, &f), -SOLAR_EFRAME,
           "truncated: length field disagrees");

    n = hex(good);
    frame[18] = 0x19; /* data length 25 in a frame with room for 23 */
    is_int(luxpower_dongle_frame_decode(frame, (size_t)n, &f), -SOLAR_EFRAME,
           "data length disagrees with frame length");

    /* Byte count 7 (odd), CRC recomputed so that only the count is wrong. */
    n = hex(good);
    frame[34] = 5;
    uint16_t crc = solar_crc16_modbus(frame + 20, (size_t)n - 22);
    frame[n - 2] = crc & 0xFF;
    frame[n - 1] = crc >> 8;
    is_int(luxpower_dongle_frame_decode(frame, (size_t)n, &f), -SOLAR_EFRAME, "odd byte count");
    frame[34] = 8;
    crc = solar_crc16_modbus(frame + 20, (size_t)n - 22);
    frame[n - 2] = crc & 0xFF;
    frame[n - 1] = crc >> 8;
    is_int(luxpower_dongle_frame_decode(frame, (size_t)n, &f), -SOLAR_ESHORT,
           "byte count past the frame");

    n = hex("00 FF 13 A1 55 "
            "A1 1A 02 00 0D 00 01 C1 32323232323232323232 00");
    is_int(luxpower_dongle_frame_find(frame, (size_t)n, NULL), -1, "noise: skip a byte");
    is_int(luxpower_dongle_frame_find(frame + 3, (size_t)n - 3, NULL), -1,
           "A1 not followed by 1A: skip");
    n = hex("A1 1A 02 00 FF FF");
    is_int(luxpower_dongle_frame_find(frame, (size_t)n, NULL), -1, "impossible length: skip");
    n = hex("A1 1A 02 00 02 00 01 C1");
    is_int(luxpower_dongle_frame_find(frame, (size_t)n, NULL), -1, "too short a length: skip");
    n = hex("A1 1A 02 00 0D 00 07 C1 32323232323232323232 00");
    is_int(luxpower_dongle_frame_decode(frame, (size_t)n, &f), -SOLAR_EFRAME,
           "address byte other than 1");

    /* The reply to another register: skipped by the framer, a mismatch for the checker. */
    n = hex(good);
    struct luxpower_dongle_match other = {3, 13, 3, SERIAL, NULL};
    is_int(luxpower_dongle_frame_find(frame, (size_t)n, &other), -n, "other register: skipped");
    struct luxpower_dongle_match input = {4, 12, 3, SERIAL, NULL};
    is_int(luxpower_dongle_frame_find(frame, (size_t)n, &input), -n, "other function: skipped");

    /* Exception replies, each code of EG4 PDF V58 table 3. */
    static const unsigned codes[] = {1, 2, 3, 4, 6};
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        uint8_t *p = frame;
        const uint8_t head[] = {0xA1, 0x1A, 0x02, 0x00, 0x1F, 0x00, 0x01, 0xC2};
        memcpy(p, head, sizeof(head));
        memcpy(p + 8, DATALOG, 10);
        p[18] = 17;
        p[19] = 0;
        p[20] = 0x00; /* exception replies come with action 0 (lxp_modbus test frame) */
        p[21] = 0x84;
        memcpy(p + 22, SERIAL, 10);
        p[32] = 0;
        p[33] = 0;
        p[34] = (uint8_t)codes[i];
        crc = solar_crc16_modbus(p + 20, 15);
        p[35] = crc & 0xFF;
        p[36] = crc >> 8;
        struct luxpower_dongle_match m0 = {4, 0, 40, SERIAL, NULL};
        is_int(luxpower_dongle_frame_find(frame, 37, &m0), 37, "exception %u: framed", codes[i]);
        is_int(luxpower_dongle_frame_decode(frame, 37, &f), 0, "exception %u: decodes", codes[i]);
        is_int(luxpower_dongle_reply_check(&f, &m0), -SOLAR_EDEVICE, "exception %u: device error",
               codes[i]);
        ok(f.exception && f.exception_code == codes[i], "exception %u: code kept", codes[i]);
    }
}

static void test_rtu_frames(void)
{
    /* Section 5.2: requests for the aligned banks and the captured exception, CRC low first. */
    static const struct {
        const char *what, *hex;
    } rtu[] = {
        {"bank 0", "01 04 00 00 00 28 F0 14"},     {"bank 40", "01 04 00 28 00 28 70 1C"},
        {"bank 80", "01 04 00 50 00 28 F0 05"},    {"bank 120", "01 04 00 78 00 28 70 0D"},
        {"hold clock", "01 03 00 0C 00 03 C5 C8"}, {"hold 7..44", "01 03 00 07 00 26 75 D1"},
        {"994+18", "01 04 03 E2 00 12 D0 75"},     {"exception 3", "01 84 03 03 01"},
    };
    for (size_t i = 0; i < sizeof(rtu) / sizeof(rtu[0]); i++) {
        int n = hex(rtu[i].hex);
        uint16_t crc = solar_crc16_modbus(frame, (size_t)n - 2);
        ok(frame[n - 2] == (crc & 0xFF) && frame[n - 1] == crc >> 8, "RTU %s: CRC", rtu[i].what);
    }
    /* The banks the driver asks for are the aligned 40-register groups of those frames. */
    for (unsigned b = 0; b < 4; b++) {
        hex(rtu[b].hex);
        unsigned start = frame[2] << 8 | frame[3], count = frame[4] << 8 | frame[5];
        ok(start == b * LUXPOWER_BANK_SIZE && count == LUXPOWER_BANK_SIZE &&
               luxpower_bank_of(start) == b && luxpower_bank_of(start + count - 1) == b,
           "RTU bank %u: one aligned group", b);
    }
}

static void test_guards(void)
{
    memset(image, 0, sizeof(image));
    double v;
    image[5] = 0xFFFF;
    ok(luxpower_register_decode(row("percent", "soc"), image, &v) == -ERANGE && v == 255,
       "SOC 255: spike");
    ok(luxpower_register_decode(row("percent", "soh"), image, &v) == -ERANGE, "SOH 255: spike");
    image[5] = 0x6451;
    ok(luxpower_register_decode(row("percent", "soc"), image, &v) == 0 && v == 81, "SOC 81");
    ok(luxpower_register_decode(row("percent", "soh"), image, &v) == 0 && v == 100, "SOH 100");
    image[15] = 0xFFFF;
    is_int(luxpower_register_decode(row("frequency", "grid"), image, &v), -ERANGE,
           "655.35 Hz: spike");
    image[15] = 2500;
    is_int(luxpower_register_decode(row("frequency", "grid"), image, &v), -ERANGE,
           "25 Hz: outside 30-90");
    image[15] = 9100;
    is_int(luxpower_register_decode(row("frequency", "grid"), image, &v), -ERANGE,
           "91 Hz: outside 30-90");
    image[15] = 0;
    is_int(luxpower_register_decode(row("frequency", "grid"), image, &v), 0, "0 Hz: no grid");
    image[7] = 0xFFFF;
    is_int(luxpower_register_decode(row("power", "pv1"), image, &v), -ERANGE, "65535 W: spike");
    image[1] = 0xFFFF;
    is_int(luxpower_register_decode(row("voltage", "pv1"), image, &v), -ERANGE, "6553.5 V: spike");
    image[101] = 0xFFFF;
    is_int(luxpower_register_decode(row("voltage", "cell_max"), image, &v), -ERANGE,
           "65.535 V cell: spike");

    static const struct {
        uint16_t raw;
        double pf;
        int err;
    } pf[] = {{1000, 1.0, 0},    {500, 0.5, 0}, {1, 0.001, 0},      {1500, -0.5, 0},
              {1999, -0.999, 0}, {0, 0, 0},     {2000, 0, -ERANGE}, {0xFFFF, 0, -ERANGE}};
    for (size_t i = 0; i < sizeof(pf) / sizeof(pf[0]); i++) {
        image[19] = pf[i].raw;
        int err = luxpower_register_decode(row("gauge", "power_factor"), image, &v);
        ok(err == pf[i].err && (err < 0 || fabs(v - pf[i].pf) < 1e-9), "PF raw %u -> %g", pf[i].raw,
           pf[i].pf);
    }
    image[64] = 0xFFF6;
    ok(luxpower_register_decode(row("temperature", "inner"), image, &v) == 0 && v == -10,
       "inner temperature is signed: -10");
    image[98] = 0xFF9C;
    ok(luxpower_register_decode(row("current", "battery"), image, &v) == 0 && fabs(v + 10) < 1e-9,
       "BMS current is signed: -10.0 A");
    image[113] = 0x0306;
    ok(metric("gauge", "parallel_role") == 2 && metric("gauge", "parallel_phase") == 1 &&
           metric("count", "parallel_units") == 3,
       "reg 113: secondary, phase R, 3 units");
}

static void test_table(void)
{
    int bad_bank = 0, dup = 0;
    for (size_t i = 0; i < luxpower_register_count; i++) {
        const struct luxpower_register *r = &luxpower_registers[i];
        unsigned last = r->reg + (r->kind == LUXPOWER_U32 ? 1 : 0);
        if (last >= LUXPOWER_INPUT_COUNT || luxpower_bank_of(r->reg) != luxpower_bank_of(last))
            bad_bank++;
        for (size_t j = 0; j < i; j++)
            if (strcmp(r->type, luxpower_registers[j].type) == 0 &&
                strcmp(r->type_instance, luxpower_registers[j].type_instance) == 0)
                dup++;
    }
    is_int(bad_bank, 0, "every row inside one bank of 0-239");
    ok(luxpower_register_count < LUXPOWER_MAX_ROWS, "%zu rows, fewer than LUXPOWER_MAX_ROWS",
       luxpower_register_count);
    is_int(dup, 0, "no metric name twice");
    static const char *const design[] = {
        "gauge-status",
        "voltage-pv1",
        "voltage-pv2",
        "voltage-pv3",
        "power-pv1",
        "power-pv2",
        "power-pv3",
        "voltage-battery",
        "percent-soc",
        "percent-soh",
        "power-battery_charge",
        "power-battery_discharge",
        "voltage-grid",
        "frequency-grid",
        "power-inverter",
        "power-rectifier",
        "power-to_grid",
        "power-to_user",
        "voltage-eps",
        "frequency-eps",
        "power-eps",
        "energy-pv1_today",
        "energy-to_grid_total",
        "energy-to_user_total",
        "energy-charge_total",
        "energy-discharge_total",
        "temperature-inner",
        "temperature-radiator_1",
        "voltage-bus_1",
        "voltage-bus_2",
        "count-cycles",
    };
    for (size_t i = 0; i < sizeof(design) / sizeof(design[0]); i++) {
        char type[32];
        const char *dash = strchr(design[i], '-');
        snprintf(type, sizeof(type), "%.*s", (int)(dash - design[i]), design[i]);
        ok(row(type, dash + 1) != NULL, "DESIGN.md name %s in the table", design[i]);
    }
    int named = 0;
    for (int i = 0; i < 32; i++)
        named += (luxpower_fault_names[i] != NULL) + (luxpower_warning_names[i] != NULL);
    is_int(named, 27 + 31, "fault and warning bits named, reserved ones NULL");
    is_str(luxpower_status_name(0xC0), "pv_battery_off_grid", "status 0xC0");
    ok(luxpower_status_name(0x33) == NULL, "unknown status: no name");
    is_str(luxpower_model_name(2092), "EG4 18kPV/12kPV", "model 2092");

    uint16_t words[2] = {0x4146, 0x4241}; /* "FAAB" */
    char fw[5];
    luxpower_ascii_decode(words, 2, fw);
    is_str(fw, "FAAB", "firmware code, low byte first");
    uint16_t noisy[3] = {0x0141, 0x2042, 0x0000};
    char s[7];
    luxpower_ascii_decode(noisy, 3, s);
    is_str(s, "A?B", "ASCII: control bytes shown, trailing blank and NULs cut");
}

static void test_protocol5_all(void)
{
    /* 5.1.9: a protocol-5 reply of all 127 registers, as a dongle pushes it to the cloud. */
    int n = hex("a11a05001d0101c2323232323232323232320f010104353535353535353535350000fe1000000000"
                "00790ff70164000000000000000000000000004a09000000008d1300000000780000004909d401c1"
                "7c8c1300000000000008020000000000000000090008000100000000003700760fe80d0000000000"
                "0000000000000000000000e8010000b10100003d0000002900000000000000d90a00000000000000"
                "000000180019002700180000004b341e000000000000000000000000000000000000002200000088"
                "131702000000000108001010dcff2a3012ffab0e83f0609d100200010032004cff0000f501000000"
                "000000000000000310f6010000000000000000000004010000323034333032323430310000000000"
                "000000000000000000bd14");
    struct luxpower_dongle_frame f;
    is_int(n, 291, "5.1.9 protocol 5, 127 registers: 291 bytes");
    is_int(luxpower_dongle_frame_decode(frame, (size_t)n, &f), 0, "protocol 5: decodes");
    ok(f.protocol == 5 && f.count == 127 && f.reg == 0, "protocol 5: 127 registers from 0");
    memset(image, 0, sizeof(image));
    luxpower_dongle_values(&f, image);
    is_num(metric("gauge", "status"), 16, "protocol 5: status 16");
    is_num(metric("voltage", "pv3"), 396.1, "protocol 5: voltage-pv3 396.1");
    is_num(metric("voltage", "battery"), 50.3, "protocol 5: voltage-battery 50.3");
    is_num(metric("percent", "soc"), 100, "protocol 5: soc 100");
    is_num(metric("voltage", "grid"), 237.8, "protocol 5: voltage-grid 237.8");
    is_num(metric("frequency", "grid"), 50.05, "protocol 5: frequency-grid 50.05");
    is_num(metric("temperature", "inner"), 24, "protocol 5: temperature-inner 24");
    is_num(metric("current", "battery"), -18.0, "protocol 5: signed BMS current -18.0 A");
    char serial[11];
    luxpower_ascii_decode(image + LUXPOWER_INPUT_SERIAL, 5, serial);
    is_str(serial, "2043022401", "protocol 5: serial at 115-119");
    /* Pushed while the driver waits for its 40-register read: skipped, its serial noted. */
    struct luxpower_dongle_seen seen = {0};
    struct luxpower_dongle_match m = {4, 0, 40, "", &seen};
    is_int(luxpower_dongle_frame_find(frame, (size_t)n, &m), -n, "pushed (0, 127): skipped");
    is_str(seen.serial, "5555555555", "pushed frame: inverter serial noted");
}

/* Mutated and cut copies of a good reply: never a read past the frame, never a decoded frame
 * whose CRC does not hold, never a frame longer than what was given. */
static void test_mutations(void)
{
    uint8_t good[LUXPOWER_DONGLE_FRAME_MAX];
    int n = hex("a11a02006f0001c23232323232323232323261000104353535353535353535350000501000000000"
                "00020010025300002f000000000000000000022509010104008c13f6010000e700e8032509000040"
                "008c130000000000000000000000000000160016001500160000000000de00420e810c2490");
    is_int(n, 117, "mutations: a good 117-byte reply to start from");
    memcpy(good, frame, (size_t)n);
    unsigned seed = 12345, accepted = 0, bad = 0;
    for (int i = 0; i < 20000; i++) {
        memcpy(frame, good, (size_t)n);
        seed = seed * 1103515245 + 12345;
        int len = n;
        int flips = 1 + (seed >> 16) % 3;
        for (int k = 0; k < flips; k++) {
            seed = seed * 1103515245 + 12345;
            frame[(seed >> 8) % (unsigned)n] ^= (uint8_t)(1 + (seed >> 20) % 255);
        }
        if (i % 4 == 0)
            len = (int)((seed >> 4) % (unsigned)n);
        struct luxpower_dongle_frame f;
        struct luxpower_dongle_match m = {4, 0, 40, "5555555555", NULL};
        /* A frame found lies within the bytes; a length awaited within the largest frame. */
        long found = luxpower_dongle_frame_find(frame, (size_t)len, &m);
        if (found > LUXPOWER_DONGLE_FRAME_MAX)
            bad++;
        if (luxpower_dongle_frame_decode(frame, (size_t)len, &f) == 0 &&
            f.function == LUXPOWER_TCP_TRANSLATED) {
            size_t ilen = (size_t)len - 22;
            uint16_t crc = solar_crc16_modbus(frame + 20, ilen);
            if ((frame[len - 2] | frame[len - 1] << 8) != crc ||
                (f.values && f.values + 2 * f.count > frame + len))
                bad++;
            accepted++;
        }
    }
    is_int(bad, 0, "20000 mutated frames: no read past the end, no bad CRC accepted");
    printf("# %u of 20000 mutations still decoded (changes outside the CRC's reach)\n", accepted);
}

int main(void)
{
    test_requests();
    test_hold_and_writes();
    test_other_functions();
    test_bank_0();
    test_bank_40();
    test_bank_80();
    test_live_dongle();
    test_protocol5_all();
    test_mutations();
    test_hostile();
    test_rtu_frames();
    test_guards();
    test_table();
    return tap_done();
}
