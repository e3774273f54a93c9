/* The PI30 framing and decoders against the real frames of protocols/voltronic.md section 4
 * (CRCs verified there), the CRC vectors of section 1.1, and hostile frames. */
#include "checksum.h"
#include "error.h"
#include "protocol.h"
#include "tap.h"

#include <math.h>
#include <string.h>

#define LIT(s) (const uint8_t *)(s), sizeof(s) - 1

/* --- requests: section 1.1's table, the reserved-byte cases included --- */

static const struct {
    const char *command;
    uint8_t hi, lo;
    const char *note;
} request_cases[] = {
    {"QPI", 0xBE, 0xAC, ""},
    {"QID", 0xD6, 0xEA, ""},
    {"QSID", 0xBB, 0x05, ""},
    {"QVFW", 0x62, 0x99, ""},
    {"QVFW2", 0xC3, 0xF5, ""},
    {"QPIRI", 0xF8, 0x54, ""},
    {"QFLAG", 0x98, 0x74, ""},
    {"QPIGS", 0xB7, 0xA9, ""},
    {"QPIGS2", 0x68, 0x2D, " (9 bytes)"},
    {"QMOD", 0x49, 0xC1, ""},
    {"QPIWS", 0xB4, 0xDA, ""},
    {"QDI", 0x71, 0x1B, ""},
    {"QPGS0", 0x3F, 0xDA, ""},
    {"QPGS1", 0x2F, 0xFB, ""},
    {"QGMN", 0x49, 0x29, ": low byte '(' 0x28 sent as 0x29"},
    {"QBOOT", 0x0B, 0x88, ": high byte LF 0x0A sent as 0x0B"},
    {"POP02", 0xE2, 0x0B, ": low byte LF sent as 0x0B"},
    {"POP00", 0xC2, 0x48, ""},
    {"POP01", 0xD2, 0x69, ""},
    {"PCP00", 0x8D, 0x7A, ""},
    {"PCP01", 0x9D, 0x5B, ""},
    {"PCP02", 0xAD, 0x38, ""},
    {"PCP03", 0xBD, 0x19, ""},
    {"PCVV45.3", 0x01, 0x5C, ": high byte 0x00 sent as 0x01"},
    {"PBFT48.8", 0x15, 0x01, ": low byte 0x00 sent as 0x01"},
    {"QED20231226", 0xA8, 0x01, ": low byte 0x00 sent as 0x01"},
};

static void test_requests(void)
{
    for (size_t i = 0; i < sizeof(request_cases) / sizeof(request_cases[0]); i++) {
        uint8_t out[VOLTRONIC_REQUEST_MAX];
        const char *cmd = request_cases[i].command;
        size_t n = voltronic_request_build(cmd, out);
        size_t len = strlen(cmd);
        ok(n == len + 3 && memcmp(out, cmd, len) == 0 && out[len] == request_cases[i].hi &&
               out[len + 1] == request_cases[i].lo && out[len + 2] == '\r',
           "request %s: CRC %02X %02X%s", cmd, request_cases[i].hi, request_cases[i].lo,
           request_cases[i].note);
    }
    uint8_t out[VOLTRONIC_REQUEST_MAX];
    is_int(voltronic_request_build("QPIGS", out), 8, "QPIGS is exactly 8 bytes on the wire");
    is_int(voltronic_request_build("", out), 0, "an empty command is refused");
    is_int(voltronic_request_build("Q\rX", out), 0, "a control character is refused");
    is_int(voltronic_request_build("QXXXXXXXXXXXXXXXX", out), 0, "a command too long is refused");
    is_int(solar_crc16_xmodem((const uint8_t *)"(NAK", 4), 0x7373, "\"ss\" is the CRC of (NAK");
}

/* --- frames --- */

static const char *frame_payload;
static size_t frame_payload_len;

static int check(const uint8_t *frame, size_t len)
{
    return voltronic_frame_check(frame, len, NULL, &frame_payload, &frame_payload_len);
}

#define QPIGS_1                                                                                    \
    "(000.0 00.0 230.0 49.9 0161 0119 003 460 57.50 012 100 0069 0014 103.8 57.45 00000 00110110 " \
    "00 00 00856 010"
#define QPIGS_2                                                                                    \
    "(222.6 49.9 230.1 50.0 0551 0499 006 398 54.30 000 061 0039 01.0 214.4 00.00 00000 00010110 " \
    "00 00 00226 010"
/* Frame 1 with another PV power, found so that its CRC hits the reserved bytes (synthetic). */
#define QPIGS_PV(pv)                                                                               \
    "(000.0 00.0 230.0 49.9 0161 0119 003 460 57.50 012 100 0069 0014 103.8 57.45 00000 00110110 " \
    "00 00 " pv " 010"

static void test_frames(void)
{
    is_int(check(LIT(QPIGS_1 "\x24\x8c\r")), 0, "QPIGS fw 72.70: CRC 24 8C");
    is_int(frame_payload_len, sizeof(QPIGS_1) - 2, "payload excludes '(' and the CRC");
    is_int(check(LIT(QPIGS_2 "\x48\xD1\r")), 0, "QPIGS MAX II: CRC 48 D1");
    is_int(check(LIT("(01.0 202.0 00205 \x27\x4A\r")), 0, "QPIGS2 MAX II (trailing space)");
    is_int(check(LIT("(B\xE7\xC9\r")), 0, "QMOD B");
    is_int(check(LIT("(S\xE5\xD9\r")), 0, "QMOD S");
    is_int(check(LIT("(NAKss\r")), -SOLAR_EUNSUPPORT, "(NAK recognised");
    is_int(check(LIT("(ACK9 \r")), VOLTRONIC_REPLY_ACK, "(ACK recognised");
    is_int(check(LIT(QPIGS_PV("00566") "\x00\x66\r")), 0,
           "raw 0x00 CRC byte accepted (as the VM IV Twin sends it)");
    is_int(check(LIT(QPIGS_PV("00566") "\x01\x66\r")), 0, "0x00 CRC byte sent as 0x01 accepted");
    is_int(check(LIT(QPIGS_PV("00137") "\x29\xF0\r")), 0, "CRC byte 0x28 escaped to 0x29 accepted");
    is_int(check(LIT(QPIGS_PV("00137") "\x28\xF0\r")), 0, "CRC byte 0x28 sent plain accepted");
    is_int(check(LIT(QPIGS_PV("00618") "\xDF\x0E\r")), 0, "CRC byte CR escaped to 0x0E accepted");
    is_int(check(LIT(QPIGS_PV("00308") "\xE3\x0B\r")), 0, "CRC byte LF escaped to 0x0B accepted");

    /* Hostile frames. */
    is_int(check(LIT(QPIGS_1 "\x24\x8d\r")), -SOLAR_EBADCRC, "bad CRC low byte");
    is_int(check(LIT(QPIGS_PV("00566") "\x02\x66\r")), -SOLAR_EBADCRC, "0x00 sent as 0x02 refused");
    is_int(check(LIT("(222.6 49.9 230.1 50.0 0551 0499 006 398 54.30 000 061 0039 01.0 2\xF6"
                     "4.4 00.00 00000 00010110 00 00 00226 010\x48\xD1\r")),
           -SOLAR_EBADCRC, "line noise: a flipped byte fails the CRC");
    is_int(check(LIT("(NAOss\r")), -SOLAR_EBADCRC, "(NAOss (MAX Twin capture) fails the CRC");
    is_int(check(LIT("000.0\x24\x8c\r")), -SOLAR_EFRAME, "no '('");
    is_int(check(LIT("(B\xE7\xC9")), -SOLAR_EFRAME, "no CR");
    is_int(check(LIT("(\r")), -SOLAR_EFRAME, "too short");
    is_int(check(LIT("")), -SOLAR_EFRAME, "empty");
    uint8_t req[VOLTRONIC_REQUEST_MAX];
    size_t req_len = voltronic_request_build("QPIGS2", req);
    struct voltronic_request r = {req, req_len};
    is_int(voltronic_frame_check(req, req_len, &r, &frame_payload, &frame_payload_len),
           -SOLAR_EUNSUPPORT, "the command echoed back = not recognised");
}

static void test_framer(void)
{
    uint8_t req[VOLTRONIC_REQUEST_MAX];
    struct voltronic_request r = {req, voltronic_request_build("QMOD", req)};
    is_int(voltronic_frame_find(LIT("\x00\x00\xFF(B\xE7\xC9\r"), &r), -3,
           "framer: noise before '(' is skipped");
    is_int(voltronic_frame_find(LIT("(B\xE7\xC9\r\x00\x00\x00"), &r), 5,
           "framer: ends at the first CR, HID padding left behind");
    is_int(voltronic_frame_find(LIT("(000.0 00.0 230"), &r), 0, "framer: no CR yet, wants more");
    is_int(voltronic_frame_find(LIT("QMO"), &r), 0, "framer: a partial echo waits");
    is_int(voltronic_frame_find(LIT("QMODI\xC1\r"), &r), 7, "framer: a whole echo is a frame");
    is_int(voltronic_frame_find(LIT("QX(B"), &r), -2, "framer: Q that is no echo is skipped");
    is_int(voltronic_frame_find(LIT("\x00\x00"), NULL), -2, "framer: pure noise discarded");
    /* A CRC byte 0x00 is no terminator: the frame runs to the CR. */
    is_int(voltronic_frame_find(LIT(QPIGS_PV("00566") "\x00\x66\r"), NULL),
           (long)sizeof(QPIGS_PV("00566") "\x00\x66\r") - 1, "framer: a 0x00 CRC byte is data");
}

/* --- QPIGS --- */

struct qpigs_case {
    const char *what;
    const char *payload;
    double v[22]; /* in the order of struct voltronic_qpigs's first 22 doubles */
    double bits[11];
    unsigned fields;
};

#define N NAN
static const struct qpigs_case qpigs_cases[] = {
    {"QPIGS fw 72.70 (mpp-solar)",
     QPIGS_1 + 1,
     {0.0, 0.0, 230.0, 49.9,  161, 119, 3, 460, 57.50, 12, 100,
      69,  14,  103.8, 57.45, 0,   0.0, 0, 856, N,     N,  N},
     {0, 0, 1, 1, 0, 1, 1, 0, 0, 1, 0},
     21},
    {"QPIGS Axpert MAX II 8 kW",
     QPIGS_2 + 1,
     {222.6, 49.9, 230.1, 50.0, 551, 499, 6, 398, 54.30, 0, 61,
      39,    1.0,  214.4, 0.0,  0,   0,   0, 226, N,     N, N},
     {0, 0, 0, 1, 0, 1, 1, 0, 0, 1, 0},
     21},
    {"QPIGS POWMR 4200 W 12 V",
     "224.4 50.0 229.2 50.0 0366 0283 016 379 13.10 000 080 0025 0000 000.0 00.00 00024 00010000 "
     "00 00 00001 010",
     {224.4, 50.0, 229.2, 50.0, 366, 283, 16, 379, 13.10, 0, 80,
      25,    0,    0.0,   0.0,  24,  0,   0,  1,   N,     N, N},
     {0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0},
     21},
    {"QPIGS ned-kelly #4 (no battery, 1791 W PV)",
     "230.9 50.0 230.9 50.0 1824 1773 036 383 00.20 000 000 0049 0000 324.7 00.00 00000 00010110 "
     "00 00 01791 010",
     {230.9, 50.0, 230.9, 50.0, 1824, 1773, 36, 383,  0.20, 0, 0,
      49,    0,    324.7, 0.0,  0,    0,    0,  1791, N,    N, N},
     {0, 0, 0, 1, 0, 1, 1, 0, 0, 1, 0},
     21},
    {"QPIGS 11 kW: 5-digit VA and W, 24 fields",
     "230.0 50.0 230.0 50.0 01012 00969 009 420 52.40 010 085 0045 05.2 300.1 52.40 00000 00010101 "
     "12 03 04321 111 1 02 0123",
     {230.0, 50.0, 230.0, 50.0,  1012, 969,  9, 420,  52.40, 10, 85,
      45,    5.2,  300.1, 52.40, 0,    0.12, 3, 4321, 1,     2,  123},
     {0, 0, 0, 1, 0, 1, 0, 1, 1, 1, 1},
     24},
    {"QPIGS 17 fields (HS/MS/MSX 2014): no PV power, no status 2",
     "230.0 50.0 230.0 50.0 0161 0119 003 460 57.50 012 100 0069 0014 103.8 57.45 00000 00110110",
     {230.0, 50.0, 230.0, 50.0,  161, 119, 3, 460, 57.50, 12, 100,
      69,    14,   103.8, 57.45, 0,   N,   N, N,   N,     N,  N},
     {0, 0, 1, 1, 0, 1, 1, 0, N, N, N},
     17},
    {"QPIGS with extra trailing fields",
     "230.0 50.0 230.0 50.0 0161 0119 003 460 57.50 012 100 0069 0014 103.8 57.45 00000 00110110 "
     "00 00 00856 010 0 00 0000 9 9 9",
     {230.0, 50.0, 230.0, 50.0,  161, 119, 3, 460, 57.50, 12, 100,
      69,    14,   103.8, 57.45, 0,   0,   0, 856, 0,     0,  0},
     {0, 0, 1, 1, 0, 1, 1, 0, 0, 1, 0},
     27},
};
#undef N

static const char *const qpigs_value_names[22] = {
    "grid V",      "grid Hz", "out V",     "out Hz",       "VA",         "W",
    "load %",      "bus V",   "battery V", "charge A",     "capacity %", "heatsink",
    "PV1 A",       "PV1 V",   "SCC V",     "discharge A",  "fan offset", "EEPROM",
    "PV1 power W", "feed",    "country",   "feed power W",
};
static const char *const qpigs_bit_names[11] = {
    "SBU version",  "config changed", "SCC fw updated", "load on",     "steady",    "charging",
    "SCC charging", "AC charging",    "to float",       "switched on", "dustproof",
};

static void is_value(double got, double want, const char *what, const char *field)
{
    if (isnan(want))
        ok(isnan(got), "%s: %s absent", what, field);
    else
        is_num(got, want, "%s: %s %g", what, field, want);
}

static void test_qpigs(void)
{
    for (size_t i = 0; i < sizeof(qpigs_cases) / sizeof(qpigs_cases[0]); i++) {
        const struct qpigs_case *c = &qpigs_cases[i];
        struct voltronic_qpigs q;
        memset(&q, 0x55, sizeof(q));
        int err = voltronic_qpigs_decode(c->payload, strlen(c->payload), &q);
        is_int(err, 0, "%s: decodes", c->what);
        is_int(q.fields, c->fields, "%s: %u fields", c->what, c->fields);
        const double *v = &q.grid_voltage;
        for (int k = 0; k < 22; k++)
            is_value(v[k], c->v[k], c->what, qpigs_value_names[k]);
        const double *b = &q.sbu_priority_version;
        for (int k = 0; k < 11; k++)
            is_value(b[k], c->bits[k], c->what, qpigs_bit_names[k]);
    }
    /* Decoded through the frame, the whole path. */
    const char *p;
    size_t n;
    struct voltronic_qpigs q;
    int err = voltronic_frame_check(LIT(QPIGS_1 "\x24\x8c\r"), NULL, &p, &n);
    ok(err == 0 && voltronic_qpigs_decode(p, n, &q) == 0 && q.pv1_power == 856 &&
           q.battery_voltage_scc == 57.45,
       "QPIGS: frame -> payload -> values");

    static const struct {
        const char *what, *payload;
        int err;
    } bad[] = {
        {"16 fields",
         "230.0 50.0 230.0 50.0 0161 0119 003 460 57.50 012 100 0069 0014 103.8 "
         "57.45 00000",
         -SOLAR_ESHORT},
        {"empty", "", -SOLAR_ESHORT},
        {"a letter in a number",
         "230.0 50.0 230.0 50.0 01x1 0119 003 460 57.50 012 100 0069 0014 "
         "103.8 57.45 00000 00110110 00 00 00856 010",
         -SOLAR_EFRAME},
        {"two decimal points",
         "230.0 50.0 230.0 50.0 0161 0119 003 460 57.5.0 012 100 0069 0014 "
         "103.8 57.45 00000 00110110 00 00 00856 010",
         -SOLAR_EFRAME},
        {"status bit '2'",
         "230.0 50.0 230.0 50.0 0161 0119 003 460 57.50 012 100 0069 0014 103.8 "
         "57.45 00000 00210110 00 00 00856 010",
         -SOLAR_EFRAME},
        {"status of 7 bits",
         "230.0 50.0 230.0 50.0 0161 0119 003 460 57.50 012 100 0069 0014 "
         "103.8 57.45 00000 0110110 00 00 00856 010",
         -SOLAR_EFRAME},
        {"status 2 of 4 bits",
         "230.0 50.0 230.0 50.0 0161 0119 003 460 57.50 012 100 0069 0014 "
         "103.8 57.45 00000 00110110 00 00 00856 0100",
         -SOLAR_EFRAME},
        {"a 20-digit number",
         "230.0 50.0 230.0 50.0 01234567890123456789 0119 003 460 57.50 012 "
         "100 0069 0014 103.8 57.45 00000 00110110 00 00 00856 010",
         -SOLAR_EFRAME},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        is_int(voltronic_qpigs_decode(bad[i].payload, strlen(bad[i].payload), &q), bad[i].err,
               "QPIGS hostile: %s", bad[i].what);
    const char *dash = "230.0 50.0 230.0 50.0 0161 0119 003 460 57.50 012 100 -- 0014 103.8 57.45 "
                       "00000 00110110 00 00 00856 010";
    ok(voltronic_qpigs_decode(dash, strlen(dash), &q) == 0 && isnan(q.heatsink_temperature) &&
           q.pv1_power == 856,
       "QPIGS: a '--' field is absent, the rest decodes");
}

/* --- QPIGS2 --- */

static void test_qpigs2(void)
{
    const char *p;
    size_t n;
    struct voltronic_qpigs2 q;
    ok(check(LIT("(01.0 202.0 00205 \x27\x4A\r")) == 0 &&
           voltronic_qpigs2_decode(frame_payload, frame_payload_len, &q) == 0,
       "QPIGS2 MAX II decodes");
    is_num(q.pv2_current, 1.0, "QPIGS2 MAX II: PV2 1.0 A");
    is_num(q.pv2_voltage, 202.0, "QPIGS2 MAX II: PV2 202.0 V");
    is_num(q.pv2_power, 205, "QPIGS2 MAX II: PV2 205 W");
    ok(isnan(q.pv3_voltage) && isnan(q.battery_voltage_scc2) && isnan(q.scc2_charging),
       "QPIGS2 MAX layout: tracker fields absent");
    int err = voltronic_frame_check(LIT("(03.1 327.3 01026 \xc9\x8b\r"), NULL, &p, &n);
    ok(err == 0 && voltronic_qpigs2_decode(p, n, &q) == 0 && q.pv2_current == 3.1 &&
           q.pv2_voltage == 327.3 && q.pv2_power == 1026,
       "QPIGS2 pi30max: 3.1 A, 327.3 V, 1026 W");
    const char *tracker = "05.5 310.2 54.10 1705 00000011 012 0650 04.0 280.5 54.05 1122 2827";
    ok(voltronic_qpigs2_decode(tracker, strlen(tracker), &q) == 0, "QPIGS2 tracker layout decodes");
    ok(q.pv2_current == 5.5 && q.pv2_voltage == 310.2 && q.battery_voltage_scc2 == 54.10 &&
           q.pv2_power == 1705,
       "QPIGS2 tracker: PV2 fields");
    ok(q.scc2_charging == 1 && q.scc3_charging == 1, "QPIGS2 tracker: b24 b25 from the right");
    ok(q.ac_charging_current == 12 && q.ac_charging_power == 650, "QPIGS2 tracker: AC charging");
    ok(q.pv3_current == 4.0 && q.pv3_voltage == 280.5 && q.battery_voltage_scc3 == 54.05 &&
           q.pv3_power == 1122 && q.pv_total_power == 2827,
       "QPIGS2 tracker: PV3 and total");
    is_int(voltronic_qpigs2_decode("01.0 202.0", 10, &q), -SOLAR_ESHORT, "QPIGS2: 2 fields short");
    is_int(voltronic_qpigs2_decode("01.0 2O2.0 00205", 16, &q), -SOLAR_EFRAME,
           "QPIGS2: letter O in a number");
}

/* --- QPIRI, QDI, QPGS --- */

static void test_qpiri(void)
{
    struct voltronic_qpiri q;
    ok(check(LIT("(230.0 21.7 230.0 50.0 21.7 5000 4000 48.0 46.0 42.0 56.4 54.0 0 10 010 1 0 0 6 "
                 "01 0 0 54.0 0 1\x6F\x7E\r")) == 0 &&
           voltronic_qpiri_decode(frame_payload, frame_payload_len, &q) == 0,
       "QPIRI 5 kVA decodes");
    ok(q.grid_rating_voltage == 230.0 && q.grid_rating_current == 21.7 &&
           q.output_rating_apparent_power == 5000 && q.output_rating_power == 4000,
       "QPIRI 5 kVA: ratings 230.0 V 21.7 A 5000 VA 4000 W");
    ok(q.battery_rating_voltage == 48.0 && q.battery_recharge_voltage == 46.0 &&
           q.battery_under_voltage == 42.0 && q.battery_bulk_voltage == 56.4 &&
           q.battery_float_voltage == 54.0,
       "QPIRI 5 kVA: battery voltages");
    is_num(q.battery_type, 0, "QPIRI 5 kVA: AGM (0)");
    is_num(q.max_ac_charging_current, 10, "QPIRI 5 kVA: max AC charge 10 A");
    is_num(q.max_charging_current, 10, "QPIRI 5 kVA: max charge 10 A");
    is_num(q.input_voltage_range, 1, "QPIRI 5 kVA: input range UPS (1)");
    is_num(q.output_source_priority, 0, "QPIRI 5 kVA: output Utility first (0)");
    is_num(q.charger_source_priority, 0, "QPIRI 5 kVA: charger Utility first (0)");
    is_num(q.parallel_max, 6, "QPIRI 5 kVA: parallel max 6");
    is_num(q.machine_type, 1, "QPIRI 5 kVA: Off Grid (01)");
    is_num(q.topology, 0, "QPIRI 5 kVA: transformerless");
    is_num(q.output_mode, 0, "QPIRI 5 kVA: single output");
    is_num(q.battery_redischarge_voltage, 54.0, "QPIRI 5 kVA: re-discharge 54.0 V");
    is_num(q.pv_ok_condition, 0, "QPIRI 5 kVA: PV OK any unit");
    is_num(q.pv_power_balance, 1, "QPIRI 5 kVA: PV balance 1");
    ok(isnan(q.max_cv_charging_time) && isnan(q.max_discharging_current),
       "QPIRI 5 kVA: MAX-only fields absent");

    ok(check(LIT("(120.0 25.0 120.0 60.0 25.0 3000 3000 48.0 46.0 44.0 58.4 54.4 2 30 060 1 2 0 9 "
                 "01 0 7 54.0 0 1 000 0\x27\xC9\r")) == 0 &&
           voltronic_qpiri_decode(frame_payload, frame_payload_len, &q) == 0,
       "QPIRI 120 V split phase decodes");
    is_num(q.output_mode, 7, "QPIRI split phase: output mode 7 (phase 2 of 2, 180 deg)");
    is_num(q.output_source_priority, 2, "QPIRI split phase: SBU (2)");
    is_num(q.max_cv_charging_time, 0, "QPIRI split phase: CV time 000");
    is_num(q.operation_logic, 0, "QPIRI split phase: operation logic 0");

    const char *dash = "230.0 21.7 230.0 50.0 21.7 5000 4000 24.0 23.0 21.0 28.2 27.0 2 30 060 1 2 "
                       "0 - 01 0 0 54.0 0 1 23.5 12 22.0";
    ok(voltronic_qpiri_decode(dash, strlen(dash), &q) == 0 && isnan(q.parallel_max) &&
           q.machine_type == 1,
       "QPIRI 24 V: parallel max '-' absent, extra trailing fields tolerated");
    const char *eleven = "230.0 21.7 230.0 50.0 21.7 10000 10000 48.0 46.0 42.0 56.4";
    is_int(voltronic_qpiri_decode(eleven, strlen(eleven), &q), -SOLAR_ESHORT, "QPIRI: 11 fields");
}

static void test_qdi(void)
{
    struct voltronic_qdi q;
    const char *qdi = "230.0 50.0 0030 42.0 54.0 56.4 46.0 60 0 0 2 0 0 0 0 0 1 1 1 0 1 0 54.0 0 1 "
                      "000";
    ok(voltronic_qdi_decode(qdi, strlen(qdi), &q) == 0, "QDI decodes");
    ok(q.output_voltage == 230.0 && q.max_ac_charging_current == 30 && q.bulk_voltage == 56.4 &&
           q.max_charging_current == 60 && q.charger_source_priority == 2,
       "QDI: defaults");
    ok(q.backlight == 1 && q.lcd_escape == 1 && q.overload_bypass == 0 &&
           q.battery_redischarge_voltage == 54.0 && q.pv_power_balance == 1,
       "QDI: flags and late fields");
    is_int(voltronic_qdi_decode("230.0 50.0", 10, &q), -SOLAR_ESHORT, "QDI: short");
}

static void test_qpgs(void)
{
    struct voltronic_qpgs q;
    const char *p = "1 92932105105335 B 00 000.0 00.00 230.0 50.00 0460 0420 008 52.1 010 085 "
                    "310.2 020 0920 0840 008 10100110 0 1 060 120 30 05.1 000 290.5 03.2";
    ok(voltronic_qpgs_decode(p, strlen(p), &q) == 0, "QPGS decodes");
    is_str(q.serial, "92932105105335", "QPGS: serial");
    is_num(q.mode, 4, "QPGS: mode B = 4");
    ok(q.exists == 1 && q.fault_code == 0 && q.output_power == 420 && q.battery_voltage == 52.1,
       "QPGS: unit values");
    ok(q.total_output_power == 840 && q.total_output_apparent_power == 920 &&
           q.total_charge_current == 20,
       "QPGS: totals");
    ok(q.scc_ok == 1 && q.ac_charging == 0 && q.scc_charging == 1 && q.battery_status == 0 &&
           q.line_loss == 1 && q.load_on == 1 && q.configuration_changed == 0,
       "QPGS: status bits b7..b0");
    ok(q.pv1_current == 5.1 && q.pv2_voltage == 290.5 && q.pv2_current == 3.2,
       "QPGS: PV1 current, PV2 (MAX)");
    const char *b = "1 92932105105335 BB 00 000.0 00.00 230.0 50.00 0460 0420 008 52.1 010 085 "
                    "310.2 020 0920 0840 008 10100110 0 1 060 120 30 05.1 000";
    is_int(voltronic_qpgs_decode(b, strlen(b), &q), -SOLAR_EFRAME, "QPGS: two mode letters");
}

/* --- QMOD, QPIWS, QFLAG, identity --- */

static void test_small(void)
{
    char letter = 0;
    ok(check(LIT("(B\xE7\xC9\r")) == 0 &&
           voltronic_qmod_decode(frame_payload, frame_payload_len, &letter) == 0 && letter == 'B',
       "QMOD (B -> B");
    is_int(voltronic_mode_value('B'), 4, "mode B = 4 (Battery)");
    is_str(voltronic_mode_name('B'), "Battery", "mode B is named Battery");
    is_int(voltronic_mode_value('S'), 2, "mode S = 2 (Standby)");
    is_int(voltronic_mode_value('L'), 3, "mode L = 3 (Line)");
    is_int(voltronic_mode_value('E'), 10, "mode E = 10 (ECO)");
    is_int(voltronic_mode_value('Q'), 0, "an unknown letter = 0");
    is_int(voltronic_qmod_decode("BL", 2, &letter), -SOLAR_EFRAME, "QMOD: two letters");
    is_int(voltronic_qmod_decode("b", 1, &letter), -SOLAR_EFRAME, "QMOD: lower case");

    uint64_t bits;
    unsigned count;
    ok(check(LIT("(00000100000000001000000000000000\x56\xA6\r")) == 0 &&
           voltronic_qpiws_decode(frame_payload, frame_payload_len, &bits, &count) == 0,
       "QPIWS 32 bits decodes");
    is_int(count, 32, "QPIWS: 32 bits");
    ok(bits == ((1ull << 5) | (1ull << 16)), "QPIWS: bit 5 and bit 16, nothing else");
    is_str(voltronic_warning_name(5), "line_fail", "QPIWS bit 5 is line_fail");
    is_str(voltronic_warning_name(16), "overload", "QPIWS bit 16 is overload");
    ok(check(LIT("(100000000000000000000000000000000000\x15\xCF\r")) == 0 &&
           voltronic_qpiws_decode(frame_payload, frame_payload_len, &bits, &count) == 0 &&
           count == 36 && bits == 1,
       "QPIWS 36 bits: bit 0 only");
    const char *b38 = "00000000000000000000000000000000000001";
    ok(voltronic_qpiws_decode(b38, 38, &bits, &count) == 0 && count == 38 && bits == 1ull << 37,
       "QPIWS 38 bits: bit 37");
    is_str(voltronic_warning_name(37), "battery_low_to_charge_3", "bit 37 has a name");
    ok(voltronic_warning_name(38) == NULL, "no name past bit 37");
    is_int(voltronic_qpiws_decode("0001x000", 8, &bits, &count), -SOLAR_EFRAME, "QPIWS: an x");
    is_int(voltronic_qpiws_decode("", 0, &bits, &count), -SOLAR_EFRAME, "QPIWS: empty");

    struct voltronic_qflag f;
    ok(check(LIT("(EakxyDbjuvz\x2F\x29\r")) == 0 &&
           voltronic_qflag_decode(frame_payload, frame_payload_len, &f) == 0,
       "QFLAG decodes");
#define L(c) (1u << ((c) - 'a'))
    ok(f.enabled == (L('a') | L('k') | L('x') | L('y')), "QFLAG: buzzer, LCD escape, backlight, "
                                                         "primary source alarm enabled");
    ok(f.known == (L('a') | L('k') | L('x') | L('y') | L('b') | L('j') | L('u') | L('v') | L('z')),
       "QFLAG: bypass, power saving, restarts, fault record disabled");
    ok(voltronic_qflag_decode("EauxyzDbjkv;", 12, &f) == 0 && (f.known & L('v')) &&
           !(f.enabled & L('v')),
       "QFLAG POWMR: the unknown ';' is ignored");
#undef L
    is_int(voltronic_qflag_decode("akxy", 4, &f), -SOLAR_EFRAME, "QFLAG: no E");
    is_str(voltronic_flag_name('x' - 'a'), "backlight", "QFLAG x is backlight");
    ok(voltronic_flag_name('n' - 'a') == NULL, "QFLAG n has no name");

    char id[VOLTRONIC_ID_MAX];
    ok(voltronic_id_decode("PI30", 4, id, sizeof(id)) == 0 && strcmp(id, "PI30") == 0, "QPI: PI30");
    ok(voltronic_id_decode("VERFW:00072.70", 14, id, sizeof(id)) == 0 &&
           strcmp(id, "VERFW:00072.70") == 0,
       "QVFW: VERFW:00072.70");
    ok(voltronic_qsid_decode("1492932105105335005535", 22, id, sizeof(id)) == 0 &&
           strcmp(id, "92932105105335") == 0,
       "QSID: the 14 characters its prefix names");
    is_int(voltronic_qsid_decode("3092932105", 10, id, sizeof(id)), -SOLAR_EFRAME,
           "QSID: a length longer than the reply");
    is_int(voltronic_id_decode("", 0, id, sizeof(id)), -SOLAR_EFRAME, "identity: empty");
    is_int(voltronic_id_decode("AB\x01", 3, id, sizeof(id)), -SOLAR_EFRAME,
           "identity: not printable");
}

static void test_tokenize(void)
{
    struct voltronic_tokens t;
    voltronic_tokenize("a  b\tc ", 7, &t);
    ok(t.count == 3 && t.len[0] == 1 && t.len[1] == 1 && t.text[2][0] == 'c',
       "tokenize: spaces, runs of them and a tab separate fields");
    char many[200] = "";
    for (int i = 0; i < 45; i++)
        strcat(many, i ? " 7" : "7");
    voltronic_tokenize(many, strlen(many), &t);
    is_int(t.count, 45, "tokenize: 45 fields counted, 40 kept");
    voltronic_tokenize("1 2", 3, &t);
    ok(t.count == 2 && t.plain[1] && t.mantissa[1] == 2,
       "tokenize: the last field, no space after");
    static const struct {
        const char *text;
        int plain;
        unsigned long long mantissa;
        unsigned decimals;
    } fields[] = {
        {"57.45", 1, 5745, 2},
        {"0014", 1, 14, 0},
        {"5.", 1, 5, 0},
        {".5", 1, 5, 1},
        {"-12", 0, 0, 0},
        {"1.2.3", 0, 0, 0},
        {".", 0, 0, 0},
        {"12a", 0, 0, 0},
        {"--", 0, 0, 0},
        {"+3", 0, 0, 0},
        {"1234567890123456789", 0, 0, 0},
    };
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        char text[64];
        snprintf(text, sizeof(text), "%s 0", fields[i].text);
        voltronic_tokenize(text, strlen(text), &t);
        ok(t.count == 2 && t.len[0] == strlen(fields[i].text) && t.plain[0] == fields[i].plain &&
               (!fields[i].plain ||
                (t.mantissa[0] == fields[i].mantissa && t.decimals[0] == fields[i].decimals)),
           "tokenize: \"%s\" %s", fields[i].text, fields[i].plain ? "is a number" : "is not plain");
        voltronic_tokenize(fields[i].text, strlen(fields[i].text), &t);
        ok(t.count == 1 && t.plain[0] == fields[i].plain, "tokenize: \"%s\" as the last field",
           fields[i].text);
    }
}

int main(void)
{
    test_tokenize();
    test_requests();
    test_frames();
    test_framer();
    test_qpigs();
    test_qpigs2();
    test_qpiri();
    test_qdi();
    test_qpgs();
    test_small();
    return tap_done();
}
