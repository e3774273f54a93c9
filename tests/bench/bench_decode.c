/* Decode cost of every frame type of every driver: the frame check plus the decode of a real
 * reply (the captures of the unit tests), as the driver does it per exchange.
 *
 *   bench_decode list                    the frame names, one a line
 *   bench_decode time CONSOLE_DIR N      per frame: ns per decode over N decodes (at most 2 s), in
 *                                        batches of 1000: "NAME median p25 p75 min max batches"
 *   bench_decode count CONSOLE_DIR NAME N   N decodes of NAME only; under
 *                                        valgrind --tool=callgrind --toggle-collect=decode_one
 *                                        the instructions per decode are the total / N
 * CONSOLE_DIR holds the pylontech console captures (tests/unit/pylontech_console). */
#include "solar-config.h"

#include "checksum.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if HAVE_DRIVER_JBD
#include "../../plugins/jbd/protocol.h"
#endif
#if HAVE_DRIVER_PYLONTECH
#include "../../plugins/pylontech/console.h"
#include "../../plugins/pylontech/protocol.h"
#endif
#if HAVE_DRIVER_VOLTRONIC
#include "../../plugins/voltronic/protocol.h"
#endif
#if HAVE_DRIVER_LUXPOWER
#include "../../plugins/luxpower/protocol.h"
#endif

struct frame {
    const char *name;
    int (*decode)(const struct frame *f);
    const char *text; /* the frame (pylontech, voltronic payload), hex (jbd, luxpower), or the
                         console capture's file name */
    uint8_t bytes[4096];
    size_t len;
};

static size_t from_hex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = 0;
    for (; hex[0] && hex[1] && n < cap; hex += 2)
        out[n++] = (uint8_t)strtoul((char[]){hex[0], hex[1], 0}, NULL, 16);
    return n;
}

#if HAVE_DRIVER_JBD
static int jbd_decode(const struct frame *f)
{
    static struct jbd_basic_info info;
    static struct jbd_cells cells;
    static char version[64];
    const uint8_t *data;
    size_t len;
    int err = jbd_frame_check(f->bytes, f->len, f->bytes[1], &data, &len);
    if (err)
        return err;
    switch (f->bytes[1]) {
    case JBD_REG_BASIC_INFO:
        return jbd_basic_info_decode(data, len, &info);
    case JBD_REG_CELLS:
        return jbd_cells_decode(data, len, &cells);
    default:
        return jbd_hw_version_decode(data, len, version, sizeof(version));
    }
}
#endif

#if HAVE_DRIVER_PYLONTECH
static int pylontech_decode(const struct frame *f)
{
    static uint8_t info[PYLONTECH_INFO_MAX];
    static struct pylontech_analog analog[8];
    static struct pylontech_alarm alarm[8];
    static struct pylontech_management management;
    static struct pylontech_system_param param;
    static struct pylontech_manufacturer manufacturer;
    static char serial[PYLONTECH_SERIAL_LEN + 1];
    struct pylontech_header hdr;
    unsigned count;
    long n = pylontech_frame_decode(f->bytes, f->len, &hdr, info, sizeof(info));
    if (n < 0)
        return (int)n;
    int err = pylontech_reply_check(&hdr, hdr.adr);
    if (err)
        return err;
    bool all = strstr(f->name, "all packs") != NULL;
    switch (strtoul(f->name + strlen("pylontech 0x"), NULL, 16)) {
    case 0x42:
        return pylontech_analog_decode(info, (size_t)n, all, NULL, analog, 8, &count);
    case 0x44:
        return pylontech_alarm_decode(info, (size_t)n, all, alarm, 8, &count);
    case 0x47:
        return pylontech_system_param_decode(info, (size_t)n, NULL, &param);
    case 0x92:
        return pylontech_management_decode(info, (size_t)n, NULL, &management);
    case 0x93:
        return pylontech_serial_decode(info, (size_t)n, &count, serial);
    case 0x51:
        return pylontech_manufacturer_decode(info, (size_t)n, &manufacturer);
    default: /* 0x4F: the version is the header's VER */
        return hdr.ver == PYLONTECH_VER ? 0 : -1;
    }
}

static int console_decode(const struct frame *f)
{
    static struct pylontech_pwr pwr;
    static struct pylontech_bat bat;
    static struct pylontech_soh soh;
    const char *text = (const char *)f->bytes;
    int err = pylontech_console_check(text, f->len);
    if (err < 0)
        return err;
    if (strstr(f->name, "console pwr"))
        return pylontech_pwr_parse(text, f->len, &pwr);
    if (strstr(f->name, "console bat"))
        return pylontech_bat_parse(text, f->len, &bat);
    return pylontech_soh_parse(text, f->len, &soh);
}
#endif

#if HAVE_DRIVER_VOLTRONIC
static int voltronic_decode(const struct frame *f)
{
    static struct voltronic_qpigs qpigs;
    static struct voltronic_qpigs2 qpigs2;
    static struct voltronic_qpiri qpiri;
    static struct voltronic_qdi qdi;
    static struct voltronic_qpgs qpgs;
    static struct voltronic_qflag qflag;
    static char text[64];
    uint64_t bits;
    unsigned count;
    const char *p;
    size_t n;
    int err = voltronic_frame_check(f->bytes, f->len, NULL, &p, &n);
    if (err)
        return err;
    const char *command = f->name + strlen("voltronic ");
    if (strcmp(command, "QPIGS") == 0)
        return voltronic_qpigs_decode(p, n, &qpigs);
    if (strcmp(command, "QPIGS2") == 0)
        return voltronic_qpigs2_decode(p, n, &qpigs2);
    if (strcmp(command, "QPIRI") == 0)
        return voltronic_qpiri_decode(p, n, &qpiri);
    if (strcmp(command, "QDI") == 0)
        return voltronic_qdi_decode(p, n, &qdi);
    if (strcmp(command, "QPGS0") == 0)
        return voltronic_qpgs_decode(p, n, &qpgs);
    if (strcmp(command, "QFLAG") == 0)
        return voltronic_qflag_decode(p, n, &qflag);
    if (strcmp(command, "QMOD") == 0)
        return voltronic_qmod_decode(p, n, text);
    if (strcmp(command, "QPIWS") == 0)
        return voltronic_qpiws_decode(p, n, &bits, &count);
    if (strcmp(command, "QSID") == 0)
        return voltronic_qsid_decode(p, n, text, sizeof(text));
    return voltronic_id_decode(p, n, text, sizeof(text)); /* QPI, QID, QVFW */
}
#endif

#if HAVE_DRIVER_LUXPOWER
static uint16_t luxpower_image[LUXPOWER_INPUT_COUNT];

/* The registers of bank 0 through the register map: what the driver does with the 40 words
 * libmodbus returns over RTU (libmodbus checks that frame), and with a dongle frame's values.
 * A value out of its row's range is dropped, as in the driver. */
static int luxpower_map_bank0(const uint16_t *image)
{
    static double values[LUXPOWER_MAX_ROWS];
    for (size_t i = 0; i < luxpower_register_count; i++)
        if (luxpower_bank_of(luxpower_registers[i].reg) == 0)
            luxpower_register_decode(&luxpower_registers[i], image, &values[i]);
    return 0;
}

static int luxpower_decode(const struct frame *f)
{
    struct luxpower_dongle_frame d;
    int err = luxpower_dongle_frame_decode(f->bytes, f->len, &d);
    if (err)
        return err;
    luxpower_dongle_values(&d, luxpower_image + d.reg);
    return luxpower_map_bank0(luxpower_image);
}

static int luxpower_rtu_decode(const struct frame *f)
{
    (void)f;
    return luxpower_map_bank0(luxpower_image); /* the words of the dongle frame below */
}
#endif

#define VOLTRONIC_QPIGS_5KVA                                                                      \
    "000.0 00.0 230.0 49.9 0161 0119 003 460 57.50 012 100 0069 0014 103.8 57.45 00000 00110110 " \
    "00 00 00856 010"

#define FRAME(n, fn, t)                          \
    {                                            \
        .name = (n), .decode = (fn), .text = (t) \
    }

static struct frame frames[] = {
#if HAVE_DRIVER_JBD
    FRAME("jbd 0x03 basic info (8S, 2 NTC)", jbd_decode,
          "DD03001B0A88033C0E26138800A5298900080000000028480308020BB50BB4FAEA77"),
    FRAME("jbd 0x04 cells (4S)", jbd_decode, "DD0400080F230F1C0F120F1DFF4E77"),
    FRAME("jbd 0x05 hardware version", jbd_decode, NULL),
#endif
#if HAVE_DRIVER_PYLONTECH
    FRAME("pylontech 0x42 analog, 1 pack of 15 cells", pylontech_decode,
          "~20024600C06E10020F0C9A0C980C990C980C9A0C9A0C990C9B0C9C0C9A0C9B0C9B0C9B0C9B0C99050B740"
          "B550B570B530B630000BD06190F02C3500084E545\r"),
    FRAME("pylontech 0x42 analog, all packs (4)", pylontech_decode,
          "~2002460061DC11040F0CFD0CFC0CFC0CFB0CFC0CFB0CFD0CFC0CFC0CFB0CFA0CFD0CFB0CFE0CFA050BE10"
          "BCD0BCD0BCD0BCD0000C2C1FFFF04FFFF002F00EFEC0121100F0CEB0CEB0CEB0CEA0CEA0CEC0CEB0CEB0CE"
          "90CE80CE60CE90CE90CEA0CE8050BE10BCD0BCD0BCD0BCDFFBCC1B2FFFF04FFFF002800F2D00121100F0CE"
          "80CE90CEA0CEA0CEA0CE90CEA0CEA0CEB0CEC0CEB0CEB0CEB0CEA0CEA050BE10BC30BC30BC30BC3FFB7C1B"
          "8FFFF04FFFF007100E7400121100F0CE90CEC0CEB0CEA0CEA0CEB0CE90CE80CEA0CEA0CEA0CEB0CEC0CEA0"
          "CEA050BD70BC30BC30BC30BB9FFBBC1B9FFFF04FFFF006B00ED080121108D63\r"),
    FRAME("pylontech 0x44 alarm, 1 pack", pylontech_decode,
          "~20024600A04210020F000000000000000000000000000000050000000000000000000E00000000F108\r"),
    FRAME("pylontech 0x47 system parameters", pylontech_decode,
          "~20024600B032110E420BEA0AF00D030A4703E8D2F0B3B0A7F80D030A47FC18F27E\r"),
    FRAME("pylontech 0x92 charge/discharge management", pylontech_decode,
          "~20024600B01402D002AFC80000FCE040F93F\r"),
    FRAME("pylontech 0x93 serial number", pylontech_decode,
          "~20024600C0220248505443523033313731313132353930F6D2\r"),
    FRAME("pylontech 0x51 manufacturer", pylontech_decode,
          "~20024600C04055533230303043000000010750796C6F6E2D2D2D2D2D2D2D2D2D2D2D2D2D2D2DEFBD\r"),
    FRAME("pylontech 0x4F protocol version", pylontech_decode, "~200246000000FDB2\r"),
    FRAME("pylontech console pwr (US5000)", console_decode, "pwr-us5000-b69.txt"),
    FRAME("pylontech console bat (US5000)", console_decode, "bat-us5000-b69.txt"),
    FRAME("pylontech console soh (US5000)", console_decode, "soh-us5000-b69.txt"),
#endif
#if HAVE_DRIVER_VOLTRONIC
    FRAME("voltronic QPIGS", voltronic_decode, VOLTRONIC_QPIGS_5KVA),
    FRAME("voltronic QPIGS2", voltronic_decode, "01.0 202.0 00205 "),
    FRAME("voltronic QPIRI", voltronic_decode,
          "230.0 21.7 230.0 50.0 21.7 5000 4000 48.0 46.0 42.0 56.4 54.0 0 10 010 1 0 0 6 01 0 0 "
          "54.0 0 1"),
    FRAME("voltronic QDI", voltronic_decode,
          "230.0 50.0 0030 42.0 54.0 56.4 46.0 60 0 0 2 0 0 0 0 0 1 1 1 0 1 0 54.0 0 1 000"),
    FRAME("voltronic QPGS0", voltronic_decode,
          "1 92932105105335 B 00 000.0 00.00 230.0 50.00 0460 0420 008 52.1 010 085 310.2 020 092"
          "0 0840 008 10100110 0 1 060 120 30 05.1 000 290.5 03.2"),
    FRAME("voltronic QFLAG", voltronic_decode, "EakxyDbjuvz"),
    FRAME("voltronic QMOD", voltronic_decode, "B"),
    FRAME("voltronic QPIWS", voltronic_decode, "100000000000000000000000000000000000"),
    FRAME("voltronic QPI", voltronic_decode, "PI30"),
    FRAME("voltronic QID", voltronic_decode, "92932105105335"),
    FRAME("voltronic QVFW", voltronic_decode, "VERFW:00072.70"),
    FRAME("voltronic QSID", voltronic_decode, "1492932105105335"),
#endif
#if HAVE_DRIVER_LUXPOWER
    FRAME("luxpower dongle input 0-39 (frame + map)", luxpower_decode,
          "a11a02006f0001c23232323232323232323261000104353535353535353535350000501000000000000200"
          "10025300002f000000000000000000022509010104008c13f6010000e700e8032509000040008c13000000"
          "0000000000000000000000160016001500160000000000de00420e810c2490"),
    FRAME("luxpower RTU input 0-39 (register map)", luxpower_rtu_decode, NULL),
#endif
};

#define FRAME_COUNT (sizeof(frames) / sizeof(frames[0]))

static void load_file(struct frame *f, const char *dir)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", dir, f->text);
    FILE *in = fopen(path, "rb");
    f->len = in ? fread(f->bytes, 1, sizeof(f->bytes) - 1, in) : 0;
    if (in)
        fclose(in);
    f->bytes[f->len] = 0;
}

/* The frame's bytes: ASCII frames as they are, hex converted, voltronic payloads framed with
 * their CRC, files read. */
static void prepare(struct frame *f, const char *console_dir)
{
    const char *name = f->name;
    if (strncmp(name, "jbd 0x05", 8) == 0) { /* "JBD-SP04S034" as the BMS answers 0x05 */
        static const char version[] = "JBD-SP04S034";
        uint8_t *b = f->bytes;
        size_t n = sizeof(version) - 1;
        b[0] = 0xDD, b[1] = 0x05, b[2] = 0, b[3] = (uint8_t)n;
        memcpy(b + 4, version, n);
        unsigned sum = b[3];
        for (size_t i = 0; i < n; i++)
            sum += b[4 + i];
        uint16_t check = (uint16_t)(0x10000 - sum);
        b[4 + n] = check >> 8, b[5 + n] = check & 0xFF, b[6 + n] = 0x77;
        f->len = n + 7;
    } else if (strncmp(name, "jbd", 3) == 0 || strstr(name, "dongle")) {
        char hex[1024];
        size_t k = 0;
        for (const char *s = f->text; *s && k < sizeof(hex) - 1; s++)
            if (*s != ' ')
                hex[k++] = *s;
        hex[k] = 0;
        f->len = from_hex(hex, f->bytes, sizeof(f->bytes));
    } else if (strstr(name, "console")) {
        load_file(f, console_dir);
    } else if (strncmp(name, "voltronic", 9) == 0) {
        size_t n = strlen(f->text);
        f->bytes[0] = '(';
        memcpy(f->bytes + 1, f->text, n);
#if HAVE_DRIVER_VOLTRONIC
        uint16_t crc = voltronic_crc_escape(solar_crc16_xmodem(f->bytes, n + 1));
        f->bytes[n + 1] = (uint8_t)(crc >> 8), f->bytes[n + 2] = (uint8_t)crc;
#endif
        f->bytes[n + 3] = '\r';
        f->len = n + 4;
    } else if (strstr(name, "RTU")) {
        f->len = 0;
    } else {
        f->len = strlen(f->text);
        memcpy(f->bytes, f->text, f->len);
    }
}

__attribute__((noinline)) int decode_one(const struct frame *f)
{
    return f->decode(f);
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* ns per decode of f in batches of 1000: N decodes, or as many batches (at least 100) as fit
 * in 2 s for the slow ones (the console's text). Prints the median, quartiles and extremes of
 * the batches and their count. */
static int time_frame(const struct frame *f, long n)
{
    long batches = n / 1000 > 0 ? n / 1000 : 1, done = 0;
    double *ns = malloc((size_t)batches * sizeof(*ns)), start = now_ns();
    int err = 0;
    for (; done < batches; done++) {
        if (done >= 100 && now_ns() - start > 2e9)
            break;
        double t0 = now_ns();
        for (int i = 0; i < 1000; i++)
            err |= decode_one(f);
        ns[done] = (now_ns() - t0) / 1000;
    }
    qsort(ns, (size_t)done, sizeof(*ns), by_value);
    printf("%s\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%ld\n", f->name, ns[done / 2], ns[done / 4],
           ns[done * 3 / 4], ns[0], ns[done - 1], done);
    free(ns);
    return err;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    if (strcmp(mode, "list") == 0) {
        for (size_t i = 0; i < FRAME_COUNT; i++)
            puts(frames[i].name);
        return 0;
    }
    if (argc < 4) {
        fprintf(stderr,
                "usage: bench_decode list | time CONSOLE_DIR N | count CONSOLE_DIR NAME N\n");
        return 2;
    }
    for (size_t i = 0; i < FRAME_COUNT; i++) {
        prepare(&frames[i], argv[2]);
        if (decode_one(&frames[i]) != 0) {
            fprintf(stderr, "bench_decode: %s does not decode\n", frames[i].name);
            return 1;
        }
    }
    if (strcmp(mode, "time") == 0) {
        int err = 0;
        for (size_t i = 0; i < FRAME_COUNT; i++)
            err |= time_frame(&frames[i], atol(argv[3]));
        return err != 0;
    }
    if (strcmp(mode, "count") == 0 && argc >= 5) {
        long n = atol(argv[4]);
        for (size_t i = 0; i < FRAME_COUNT; i++)
            if (strcmp(frames[i].name, argv[3]) == 0) {
                int err = 0;
                for (long k = 0; k < n; k++)
                    err |= decode_one(&frames[i]);
                return err != 0;
            }
        fprintf(stderr, "bench_decode: no frame %s\n", argv[3]);
    }
    return 2;
}
