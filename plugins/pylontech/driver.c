/* Pylontech driver, RS485/RS232 frame protocol: many packs behind one master on one bus.
 *
 * At connect: 0x93 (serial) per pack (with Addresses "auto": every address 2..9 is probed with
 * it), 0x4F (protocol version) and 0x51 (manufacturer, which the master answers for the whole
 * stack). Every poll: 0x42 analog, 0x44 alarms and 0x92 charge/discharge management per pack
 * (0x42/0x44 in one exchange each with AllPacks), 0x47 system parameters every SettingsInterval.
 * Every pack is read before anything is emitted; a pack that stops answering gets bool-up 0 as
 * NAME-N while the others keep flowing, and the device answers while one pack does. */
#include "console.h"
#include "driver.h"
#include "protocol.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Addresses "auto" probes the master and the usual slave positions of one group. */
#define AUTO_FIRST 2
#define AUTO_LAST  9
/* An absent pack is looked for again this often. */
#define REPROBE_MS (10 * 60 * 1000)
/* A pack starts answering ~80 ms after a request; silence this long means nobody is there. */
#define PROBE_SILENCE_MS 400

/* The console answers `pwr` of 16 packs in ~2.5 kB, `bat N` of 16 cells in ~2.2 kB. */
#define CONSOLE_TEXT_MAX  16384
#define CONSOLE_PIECE_MAX 8192
#define CONSOLE_MAX_PAGES 8
/* The console port wakes at 1200 baud and then talks at 115200 (notes, section 2.1). */
#define CONSOLE_WAKE_BAUD 1200
#define CONSOLE_BAUD      115200
#define CONSOLE_WAKE_MS   500

struct pylontech_config {
    struct solar_config base;
    char protocol[16];
    char addresses[128];
    bool all_packs;
    double settings_interval;
    char dialect[16];
};

struct pack {
    uint8_t adr;
    char serial[PYLONTECH_SERIAL_LEN + 1];
    bool reported, up;
    int64_t params_due_ms;
    struct solar_flags alarms, status;
};

/* Everything one poll reads from one pack. */
struct pack_reading {
    int err;
    uint8_t rtn; /* when err is -SOLAR_EDEVICE */
    struct pylontech_analog analog;
    struct pylontech_alarm alarm;
    struct pylontech_management mgmt;
    struct pylontech_system_param params;
    bool have_mgmt, have_params;
};

struct pylontech_state {
    const struct pylontech_dialect *dialect;
    struct pack packs[PYLONTECH_MAX_PACKS];
    unsigned count;
    bool automatic;
    int64_t reprobe_ms;
    struct pylontech_manufacturer maker;
    uint8_t protocol_version;
    uint8_t last_rtn;            /* of the last reply with an error status */
    bool console;                /* Protocol "console" */
    bool soh_unsupported;        /* the console said "Unknown command" to soh */
    char text[CONSOLE_TEXT_MAX]; /* the console's last answer */
};

static const struct solar_option pylontech_options[] = {
    SOLAR_OPTION_STRING("Protocol", struct pylontech_config, protocol, "rs485",
                        "rs485 (the RS485/RS232 frame protocol) or console (pylon>, 115200 baud)"),
    SOLAR_OPTION_STRING("Addresses", struct pylontech_config, addresses, "2",
                        "pack addresses: 2, 2-5, 2,3,7 or auto (probe 2..9); pack N = address N+1"),
    SOLAR_OPTION_NUMBER("AllPacks", SOLAR_OPT_BOOL, struct pylontech_config, all_packs, "false", 0,
                        1, "read 0x42/0x44 of every pack from the master at once (INFO 0xFF)"),
    SOLAR_OPTION_NUMBER("SettingsInterval", SOLAR_OPT_DOUBLE, struct pylontech_config,
                        settings_interval, "3600", 0, 86400,
                        "seconds between reads of the system parameters (0x47); 0: never"),
    SOLAR_OPTION_STRING("Dialect", struct pylontech_config, dialect, "pylon",
                        "field scaling: pylon (genuine packs)"),
    {NULL},
};

static const struct solar_metric_doc pylontech_metrics[] = {
    {"voltage", "pack", "V", "pack voltage"},
    {"current", "pack", "A", "pack current, positive when charging"},
    {"capacity", "remaining", "Ah", "remaining capacity"},
    {"capacity", "full", "Ah", "full-charge capacity"},
    {"percent", "soc", "%", "state of charge, remaining / full"},
    {"count", "cycles", "", "charge cycles"},
    {"voltage", "cell_NN", "V", "voltage of cell NN (01..; console: from bat N)"},
    {"voltage", "cell_min", "V", "lowest cell voltage"},
    {"voltage", "cell_max", "V", "highest cell voltage"},
    {"voltage", "cell_delta", "V", "highest minus lowest cell voltage"},
    {"temperature", "bms", "°C", "BMS board temperature (sensor 1)"},
    {"temperature", "cells_N", "°C", "cell group N temperature (sensors 2..5: cells 1-4 .. 13-16)"},
    {"temperature", "mosfet", "°C", "MOSFET temperature (sensor 6, when sent)"},
    {"temperature", "sensor_N", "°C", "further temperature sensor N (7..)"},
    {"temperature", "cell_min", "°C", "lowest cell group temperature"},
    {"temperature", "cell_max", "°C", "highest cell group temperature"},
    {"bool", "charge_fet", "", "charge MOSFET on (0x44 Status2)"},
    {"bool", "discharge_fet", "", "discharge MOSFET on (0x44 Status2)"},
    {"bool", "on_battery", "", "using battery module power (0x44 Status2)"},
    {"bool", "charging", "", "effective charge current (0x44 Status3)"},
    {"bool", "discharging", "", "effective discharge current (0x44 Status3)"},
    {"bool", "full", "", "fully charged (0x44 Status3)"},
    {"bool", "buzzer", "", "buzzer on (0x44 Status3)"},
    {"bool", "charge_enable", "", "charging allowed (0x92)"},
    {"bool", "discharge_enable", "", "discharging allowed (0x92)"},
    {"bool", "charge_immediately_1", "", "charge immediately request 1 (0x92)"},
    {"bool", "charge_immediately_2", "", "charge immediately request 2 (0x92)"},
    {"bool", "full_charge_request", "", "full-charge request (0x92)"},
    {"bool", "alarm_NAME", "",
     "alarm active (0x44): cell_under_voltage, cell_over_voltage, module_under_voltage, "
     "module_over_voltage, charge_over_temperature, discharge_over_temperature, "
     "temperature_low, temperature_high, charge_over_current, discharge_over_current, "
     "cell_error, other_error"},
    {"voltage", "charge_limit", "V", "charge voltage limit (0x92)"},
    {"voltage", "discharge_limit", "V", "discharge voltage limit (0x92)"},
    {"current", "charge_limit", "A", "charge current limit (0x92)"},
    {"current", "discharge_limit", "A", "discharge current limit (0x92, negative)"},
    {"voltage", "param_cell_high", "V", "cell high-voltage limit (0x47)"},
    {"voltage", "param_cell_low", "V", "cell low-voltage alarm (0x47)"},
    {"voltage", "param_cell_under", "V", "cell under-voltage protection (0x47)"},
    {"temperature", "param_charge_high", "°C", "charge high-temperature limit (0x47)"},
    {"temperature", "param_charge_low", "°C", "charge low-temperature limit (0x47)"},
    {"current", "param_charge", "A", "charge current limit (0x47)"},
    {"voltage", "param_module_high", "V", "module high-voltage limit (0x47)"},
    {"voltage", "param_module_low", "V", "module low-voltage alarm (0x47)"},
    {"voltage", "param_module_under", "V", "module under-voltage protection (0x47)"},
    {"temperature", "param_discharge_high", "°C", "discharge high-temperature limit (0x47)"},
    {"temperature", "param_discharge_low", "°C", "discharge low-temperature limit (0x47)"},
    {"current", "param_discharge", "A", "discharge current limit (0x47, negative)"},
    {"count", "packs", "", "packs answering (instance NAME)"},
    {"temperature", "cell_NN", "°C", "console: cell NN temperature (bat N)"},
    {"percent", "soc_cell_NN", "%", "console: cell NN state of charge (bat N)"},
    {"capacity", "cell_NN", "Ah", "console: cell NN charge (bat N Coulomb)"},
    {"bool", "balancing_cell_NN", "", "console: cell NN is being balanced (bat N BAL)"},
    {"count", "soh_cell_NN", "", "console: cell NN SOHCount (soh N)"},
    {"bool", "soh_abnormal_cell_NN", "", "console: cell NN SOHStatus not Normal (soh N)"},
    {"bool", "console_NAME", "",
     "console: pwr status column not Normal: voltage, current, temperature, cell_voltage, "
     "cell_temperature, mosfet_temperature"},
    {"bool", "up", "",
     "1 while the device (NAME: at least one pack) or the pack (NAME-N) answers, 0 while not"},
    {NULL},
};

struct field {
    const char *type, *type_instance;
    size_t offset;
};

#define A(member) offsetof(struct pylontech_analog, member)
static const struct field analog_fields[] = {
    {"voltage", "pack", A(voltage)},
    {"current", "pack", A(current)},
    {"capacity", "remaining", A(remaining_ah)},
    {"capacity", "full", A(full_ah)},
    {"percent", "soc", A(soc)},
    {"count", "cycles", A(cycles)},
};
#undef A

#define M(member) offsetof(struct pylontech_management, member)
static const struct field mgmt_fields[] = {
    {"voltage", "charge_limit", M(charge_voltage_limit)},
    {"voltage", "discharge_limit", M(discharge_voltage_limit)},
    {"current", "charge_limit", M(charge_current_limit)},
    {"current", "discharge_limit", M(discharge_current_limit)},
};
#undef M

#define P(member) offsetof(struct pylontech_system_param, member)
static const struct field param_fields[] = {
    {"voltage", "param_cell_high", P(cell_high_v)},
    {"voltage", "param_cell_low", P(cell_low_v)},
    {"voltage", "param_cell_under", P(cell_under_v)},
    {"temperature", "param_charge_high", P(charge_high_t)},
    {"temperature", "param_charge_low", P(charge_low_t)},
    {"current", "param_charge", P(charge_current)},
    {"voltage", "param_module_high", P(module_high_v)},
    {"voltage", "param_module_low", P(module_low_v)},
    {"voltage", "param_module_under", P(module_under_v)},
    {"temperature", "param_discharge_high", P(discharge_high_t)},
    {"temperature", "param_discharge_low", P(discharge_low_t)},
    {"current", "param_discharge", P(discharge_current)},
};
#undef P

/* Alarm bits, derived from the 0x44 states and Status1/4/5 (see alarm_bits()). */
enum {
    AL_CELL_UV,
    AL_CELL_OV,
    AL_MODULE_UV,
    AL_MODULE_OV,
    AL_CHARGE_OT,
    AL_DISCH_OT,
    AL_TEMP_LOW,
    AL_TEMP_HIGH,
    AL_CHARGE_OC,
    AL_DISCH_OC,
    AL_CELL_ERROR,
    AL_OTHER,
    AL_COUNT
};
static const char *const alarm_names[AL_COUNT] = {
    "cell_under_voltage",
    "cell_over_voltage",
    "module_under_voltage",
    "module_over_voltage",
    "charge_over_temperature",
    "discharge_over_temperature",
    "temperature_low",
    "temperature_high",
    "charge_over_current",
    "discharge_over_current",
    "cell_error",
    "other_error",
};

/* Status bits: 0x44 Status2/Status3, then the 0x92 status byte. */
enum {
    ST_CHARGE_FET,
    ST_DISCH_FET,
    ST_ON_BATTERY,
    ST_CHARGING,
    ST_DISCHARGING,
    ST_FULL,
    ST_BUZZER,
    ST_CHARGE_ENABLE,
    ST_DISCH_ENABLE,
    ST_CHARGE_NOW_1,
    ST_CHARGE_NOW_2,
    ST_FULL_REQUEST,
    ST_COUNT
};
static const char *const status_names[ST_COUNT] = {
    "charge_fet",
    "discharge_fet",
    "on_battery",
    "charging",
    "discharging",
    "full",
    "buzzer",
    "charge_enable",
    "discharge_enable",
    "charge_immediately_1",
    "charge_immediately_2",
    "full_charge_request",
};

static const struct {
    uint8_t byte, mask;
    unsigned bit;
} status_map[] = {
    {1, PYLONTECH_S2_CHARGE_FET, ST_CHARGE_FET}, {1, PYLONTECH_S2_DISCH_FET, ST_DISCH_FET},
    {1, PYLONTECH_S2_ON_BATTERY, ST_ON_BATTERY}, {2, PYLONTECH_S3_CHARGING, ST_CHARGING},
    {2, PYLONTECH_S3_DISCHARGE, ST_DISCHARGING}, {2, PYLONTECH_S3_FULL, ST_FULL},
    {2, PYLONTECH_S3_BUZZER, ST_BUZZER},
};

static const struct {
    uint8_t mask;
    unsigned bit;
} mgmt_map[] = {
    {PYLONTECH_MG_CHARGE_ENABLE, ST_CHARGE_ENABLE}, {PYLONTECH_MG_DISCH_ENABLE, ST_DISCH_ENABLE},
    {PYLONTECH_MG_CHARGE_NOW_1, ST_CHARGE_NOW_1},   {PYLONTECH_MG_CHARGE_NOW_2, ST_CHARGE_NOW_2},
    {PYLONTECH_MG_FULL_REQUEST, ST_FULL_REQUEST},
};

/* The console path, at the end of this file. */
static int console_connect(struct solar_device *dev);
static int console_poll(struct solar_device *dev);

static struct pylontech_config *config_of(struct solar_device *dev)
{
    return (struct pylontech_config *)dev->config;
}

/* Pack N is the console's numbering: the master at address 2 is pack 1. */
static unsigned unit_of(uint8_t adr)
{
    return adr > 1 ? adr - 1u : adr;
}

/* Sends cid2 (INFO: info_len bytes) to adr and checks the reply; returns the INFO length. */
static long pack_exchange(struct solar_device *dev, uint8_t adr, uint8_t cid2,
                          const uint8_t *req_info, size_t req_info_len, uint8_t *info,
                          int silence_ms, struct pylontech_header *hdr)
{
    uint8_t request[32], frame[PYLONTECH_FRAME_MAX];
    size_t n = pylontech_request_build(PYLONTECH_VER, adr, cid2, req_info, req_info_len, request,
                                       sizeof(request));
    struct pylontech_expect expect = {adr, cid2};
    long len = solar_exchange(dev, request, n, frame, sizeof(frame), pylontech_frame_find, &expect,
                              0, silence_ms);
    if (len < 0)
        return len;
    long info_len = pylontech_frame_decode(frame, (size_t)len, hdr, info, PYLONTECH_INFO_MAX);
    if (info_len < 0)
        return info_len;
    int err = pylontech_reply_check(hdr, adr);
    if (err == -SOLAR_EDEVICE)
        ((struct pylontech_state *)dev->state)->last_rtn = hdr->rtn;
    return err < 0 ? err : info_len;
}

/* 0x93 with INFO = ADR: the per-pack identity, and the probe that finds a pack. */
static int pack_identify(struct solar_device *dev, struct pack *pack, int silence_ms)
{
    uint8_t info[PYLONTECH_INFO_MAX];
    struct pylontech_header hdr;
    unsigned address;
    long n =
        pack_exchange(dev, pack->adr, PYLONTECH_CMD_SERIAL, &pack->adr, 1, info, silence_ms, &hdr);
    if (n == -SOLAR_EUNSUPPORT) {
        strcpy(pack->serial, "unknown");
        return 0;
    }
    if (n < 0)
        return (int)n;
    return pylontech_serial_decode(info, (size_t)n, &address, pack->serial);
}

static void pack_add(struct pylontech_state *st, uint8_t adr)
{
    unsigned i = st->count++;
    while (i > 0 && st->packs[i - 1].adr > adr) {
        st->packs[i] = st->packs[i - 1];
        i--;
    }
    memset(&st->packs[i], 0, sizeof(st->packs[i]));
    st->packs[i].adr = adr;
}

static bool pack_known(const struct pylontech_state *st, uint8_t adr)
{
    for (unsigned i = 0; i < st->count; i++)
        if (st->packs[i].adr == adr)
            return true;
    return false;
}

/* Addresses "auto": asks every address of 2..9 not yet known for its serial. */
static void probe_addresses(struct solar_device *dev)
{
    struct pylontech_state *st = dev->state;
    double timeout_ms = dev->config->timeout * 1000;
    int silence = (int)(timeout_ms < PROBE_SILENCE_MS ? timeout_ms : PROBE_SILENCE_MS);
    for (unsigned adr = AUTO_FIRST; adr <= AUTO_LAST && st->count < PYLONTECH_MAX_PACKS; adr++) {
        if (pack_known(st, (uint8_t)adr))
            continue;
        struct pack probe = {.adr = (uint8_t)adr};
        if (pack_identify(dev, &probe, silence) < 0)
            continue;
        pack_add(st, (uint8_t)adr);
        for (unsigned i = 0; i < st->count; i++)
            if (st->packs[i].adr == adr)
                memcpy(st->packs[i].serial, probe.serial, sizeof(probe.serial));
        solar_device_log(dev, SOLAR_LOG_INFO, "found pack %u at ADR %u, serial %s", unit_of(adr),
                         adr, probe.serial);
    }
    st->reprobe_ms = solar_now_ms() + REPROBE_MS;
}

/* The options were checked by pylontech_check_config(); this turns them into the state. */
static int configure(struct solar_device *dev)
{
    struct pylontech_config *cfg = config_of(dev);
    struct pylontech_state *st = dev->state;
    uint8_t list[PYLONTECH_MAX_PACKS];
    unsigned count;
    st->console = strcasecmp(cfg->protocol, "console") == 0;
    st->dialect = &pylontech_dialect_pylon;
    if (pylontech_addresses_parse(cfg->addresses, list, PYLONTECH_MAX_PACKS, &count,
                                  &st->automatic) < 0)
        return -EINVAL;
    for (unsigned i = 0; i < count; i++)
        pack_add(st, list[i]);
    return 0;
}

/* 0x4F and 0x51 of the master; neither is needed to poll, so failures only leave them empty. */
static void identify_stack(struct solar_device *dev)
{
    struct pylontech_state *st = dev->state;
    uint8_t info[PYLONTECH_INFO_MAX];
    struct pylontech_header hdr;
    uint8_t master = st->packs[0].adr;
    if (pack_exchange(dev, master, PYLONTECH_CMD_PROTOCOL, NULL, 0, info, 0, &hdr) >= 0)
        st->protocol_version = hdr.ver;
    long n = pack_exchange(dev, master, PYLONTECH_CMD_MANUFACTURER, NULL, 0, info, 0, &hdr);
    if (n < 0 || pylontech_manufacturer_decode(info, (size_t)n, &st->maker) < 0)
        strcpy(st->maker.device, "unknown");
}

static int pylontech_connect(struct solar_device *dev)
{
    struct pylontech_state *st = dev->state;
    int err = configure(dev);
    if (err < 0)
        return err;
    /* Frames end in CR and hold only ASCII hex: a serial line hands over whole frames. The
     * console's prompt ends in no line end, so it reads raw bytes. */
    dev->line_end = st->console ? 0 : PYLONTECH_EOI;
    if (st->console)
        return console_connect(dev);
    if (st->automatic)
        probe_addresses(dev);
    unsigned answered = st->automatic ? st->count : 0;
    int first_err = st->automatic ? -SOLAR_ETIMEDOUT : 0;
    for (unsigned i = 0; !st->automatic && i < st->count; i++) {
        err = pack_identify(dev, &st->packs[i], 0);
        if (err == 0)
            answered++;
        else if (first_err == 0)
            first_err = err;
        if (err < 0)
            strcpy(st->packs[i].serial, "?");
    }
    if (answered == 0) {
        if (first_err == -SOLAR_EDEVICE)
            solar_device_log(dev, SOLAR_LOG_ERR, "the stack answers RTN 0x%02X: %s", st->last_rtn,
                             pylontech_rtn_describe(st->last_rtn));
        return first_err;
    }
    identify_stack(dev);
    char list[PYLONTECH_MAX_PACKS * 40] = "";
    for (unsigned i = 0; i < st->count; i++) {
        size_t used = strlen(list);
        snprintf(list + used, sizeof(list) - used, "%s%u (ADR %u, %s)", i ? ", " : "",
                 unit_of(st->packs[i].adr), st->packs[i].adr, st->packs[i].serial);
    }
    solar_device_log(dev, SOLAR_LOG_INFO, "connected to %s v%u.%u (%s), protocol 0x%02X; packs %s",
                     st->maker.device, st->maker.version_major, st->maker.version_minor,
                     st->maker.manufacturer, st->protocol_version, list);
    return 0;
}

/* 0x42 and 0x44 of one pack. */
static int read_pack_status(struct solar_device *dev, const struct pack *pack,
                            struct pack_reading *r)
{
    struct pylontech_state *st = dev->state;
    uint8_t info[PYLONTECH_INFO_MAX];
    struct pylontech_header hdr;
    unsigned count;
    long n = pack_exchange(dev, pack->adr, PYLONTECH_CMD_ANALOG, &pack->adr, 1, info, 0, &hdr);
    if (n < 0)
        return (int)n;
    int err = pylontech_analog_decode(info, (size_t)n, false, st->dialect, &r->analog, 1, &count);
    if (err < 0)
        return err;
    n = pack_exchange(dev, pack->adr, PYLONTECH_CMD_ALARM, &pack->adr, 1, info, 0, &hdr);
    if (n < 0)
        return (int)n;
    return pylontech_alarm_decode(info, (size_t)n, false, &r->alarm, 1, &count);
}

/* 0x92 every poll and 0x47 when due. A pack that does not know a command (RTN 04) is polled
 * without it; any other failure fails the pack. */
static int read_pack_limits(struct solar_device *dev, struct pack *pack, struct pack_reading *r)
{
    struct pylontech_state *st = dev->state;
    struct pylontech_config *cfg = config_of(dev);
    uint8_t info[PYLONTECH_INFO_MAX];
    struct pylontech_header hdr;
    long n = pack_exchange(dev, pack->adr, PYLONTECH_CMD_MANAGEMENT, &pack->adr, 1, info, 0, &hdr);
    if (n >= 0) {
        int err = pylontech_management_decode(info, (size_t)n, st->dialect, &r->mgmt);
        if (err < 0)
            return err;
        r->have_mgmt = true;
    } else if (n != -SOLAR_EUNSUPPORT) {
        return (int)n;
    }
    int64_t now = solar_now_ms();
    if (cfg->settings_interval <= 0 || now < pack->params_due_ms)
        return 0;
    n = pack_exchange(dev, pack->adr, PYLONTECH_CMD_SYSTEM_PARAM, NULL, 0, info, 0, &hdr);
    if (n >= 0) {
        int err = pylontech_system_param_decode(info, (size_t)n, st->dialect, &r->params);
        if (err < 0)
            return err;
        r->have_params = true;
    } else if (n != -SOLAR_EUNSUPPORT) {
        return (int)n;
    }
    pack->params_due_ms = now + (int64_t)(cfg->settings_interval * 1000);
    return 0;
}

/* AllPacks: 0x42 and 0x44 of the whole stack from the master, spread over the packs by
 * position (master + i). Packs the answer does not cover fail with -SOLAR_EMISMATCH. */
static int read_all_status(struct solar_device *dev, struct pack_reading *r)
{
    struct pylontech_state *st = dev->state;
    static const uint8_t all = PYLONTECH_ALL_PACKS;
    uint8_t master = st->packs[0].adr, info[PYLONTECH_INFO_MAX];
    struct pylontech_header hdr;
    struct pylontech_analog analog[PYLONTECH_MAX_PACKS];
    struct pylontech_alarm alarm[PYLONTECH_MAX_PACKS];
    unsigned na, nl;
    long n = pack_exchange(dev, master, PYLONTECH_CMD_ANALOG, &all, 1, info, 0, &hdr);
    int err = n < 0 ? (int)n
                    : pylontech_analog_decode(info, (size_t)n, true, st->dialect, analog,
                                              PYLONTECH_MAX_PACKS, &na);
    if (err == 0) {
        n = pack_exchange(dev, master, PYLONTECH_CMD_ALARM, &all, 1, info, 0, &hdr);
        err = n < 0
                  ? (int)n
                  : pylontech_alarm_decode(info, (size_t)n, true, alarm, PYLONTECH_MAX_PACKS, &nl);
    }
    for (unsigned i = 0; i < st->count; i++) {
        unsigned k = st->packs[i].adr - master;
        r[i].err = err < 0 ? err : (k < na && k < nl) ? 0 : -SOLAR_EMISMATCH;
        if (r[i].err == 0) {
            r[i].analog = analog[k];
            r[i].alarm = alarm[k];
        }
    }
    return err;
}

static uint64_t alarm_bits(const struct pylontech_alarm *a)
{
    uint64_t b = 0;
    for (unsigned i = 0; i < a->cell_count; i++) {
        b |= (uint64_t)(a->cell_state[i] == PYLONTECH_STATE_LOW) << AL_CELL_UV;
        b |= (uint64_t)(a->cell_state[i] == PYLONTECH_STATE_HIGH) << AL_CELL_OV;
        b |= (uint64_t)(a->cell_state[i] == PYLONTECH_STATE_OTHER) << AL_OTHER;
    }
    for (unsigned i = 0; i < a->temp_count; i++) {
        b |= (uint64_t)(a->temp_state[i] == PYLONTECH_STATE_LOW) << AL_TEMP_LOW;
        b |= (uint64_t)(a->temp_state[i] == PYLONTECH_STATE_HIGH) << AL_TEMP_HIGH;
        b |= (uint64_t)(a->temp_state[i] == PYLONTECH_STATE_OTHER) << AL_OTHER;
    }
    uint8_t s1 = a->status[0];
    b |= (uint64_t)((s1 & PYLONTECH_S1_CELL_UV) != 0) << AL_CELL_UV;
    b |= (uint64_t)((s1 & PYLONTECH_S1_MODULE_UV) || a->voltage_state == PYLONTECH_STATE_LOW)
         << AL_MODULE_UV;
    b |= (uint64_t)((s1 & PYLONTECH_S1_MODULE_OV) || a->voltage_state == PYLONTECH_STATE_HIGH)
         << AL_MODULE_OV;
    b |= (uint64_t)((s1 & PYLONTECH_S1_CHARGE_OT) != 0) << AL_CHARGE_OT;
    b |= (uint64_t)((s1 & PYLONTECH_S1_DISCH_OT) != 0) << AL_DISCH_OT;
    b |=
        (uint64_t)((s1 & PYLONTECH_S1_CHARGE_OC) || a->charge_current_state == PYLONTECH_STATE_HIGH)
        << AL_CHARGE_OC;
    b |= (uint64_t)((s1 & PYLONTECH_S1_DISCH_OC) ||
                    a->discharge_current_state == PYLONTECH_STATE_HIGH)
         << AL_DISCH_OC;
    b |= (uint64_t)((a->status[3] | a->status[4]) != 0) << AL_CELL_ERROR;
    return b;
}

static uint64_t status_bits(const struct pack_reading *r)
{
    uint64_t b = 0;
    for (size_t i = 0; i < sizeof(status_map) / sizeof(status_map[0]); i++)
        b |= (uint64_t)((r->alarm.status[status_map[i].byte] & status_map[i].mask) != 0)
             << status_map[i].bit;
    for (size_t i = 0; r->have_mgmt && i < sizeof(mgmt_map) / sizeof(mgmt_map[0]); i++)
        b |= (uint64_t)((r->mgmt.status & mgmt_map[i].mask) != 0) << mgmt_map[i].bit;
    return b;
}

/* Emits bool-NAME for the named bits (count of them, the 0x92 ones only when read) and notifies
 * each change. Unlike alarms, a status bit set at the first poll (a FET on) is no news. */
static void emit_status(struct solar_device *dev, uint64_t bits, unsigned count,
                        struct solar_flags *last)
{
    for (unsigned i = 0; i < count; i++) {
        bool set = (bits >> i) & 1, was = (last->bits >> i) & 1;
        solar_emit(dev, "bool", status_names[i], set);
        if (last->known && set != was)
            solar_notify(dev, SOLAR_SEVERITY_OKAY, "%s %s", status_names[i],
                         set ? "set" : "cleared");
    }
    last->bits = bits;
    last->known = true;
}

static void emit_fields(struct solar_device *dev, const struct field *f, size_t count,
                        const void *base)
{
    for (size_t i = 0; i < count; i++)
        solar_emit(dev, f[i].type, f[i].type_instance,
                   *(const double *)((const char *)base + f[i].offset));
}

static void emit_temperatures(struct solar_device *dev, const struct pylontech_analog *a)
{
    double lo = NAN, hi = NAN;
    for (unsigned i = 0; i < a->temp_count; i++) {
        double t = a->temperature[i];
        if (i == 0)
            solar_emit(dev, "temperature", "bms", t);
        else if (i <= 4)
            solar_emit_numbered(dev, "temperature", "cells", i, t);
        else if (i == 5)
            solar_emit(dev, "temperature", "mosfet", t);
        else
            solar_emit_numbered(dev, "temperature", "sensor", i + 1, t);
        if (i >= 1 && i <= 4) {
            lo = isnan(lo) || t < lo ? t : lo;
            hi = isnan(hi) || t > hi ? t : hi;
        }
    }
    solar_emit(dev, "temperature", "cell_min", lo);
    solar_emit(dev, "temperature", "cell_max", hi);
}

static void emit_cells(struct solar_device *dev, const struct pylontech_analog *a)
{
    double lo = NAN, hi = NAN;
    for (unsigned i = 0; i < a->cell_count; i++) {
        double v = a->cell_voltage[i];
        solar_emit_indexed(dev, "voltage", "cell", i + 1, v);
        lo = i == 0 || v < lo ? v : lo;
        hi = i == 0 || v > hi ? v : hi;
    }
    solar_emit(dev, "voltage", "cell_min", lo);
    solar_emit(dev, "voltage", "cell_max", hi);
    solar_emit(dev, "voltage", "cell_delta", hi - lo);
}

static void emit_pack(struct solar_device *dev, struct pack *pack, const struct pack_reading *r)
{
    emit_fields(dev, analog_fields, sizeof(analog_fields) / sizeof(analog_fields[0]), &r->analog);
    emit_cells(dev, &r->analog);
    emit_temperatures(dev, &r->analog);
    if (r->have_mgmt)
        emit_fields(dev, mgmt_fields, sizeof(mgmt_fields) / sizeof(mgmt_fields[0]), &r->mgmt);
    if (r->have_params)
        emit_fields(dev, param_fields, sizeof(param_fields) / sizeof(param_fields[0]), &r->params);
    solar_emit_flags(dev, "alarm", alarm_names, AL_COUNT, alarm_bits(&r->alarm), &pack->alarms);
    emit_status(dev, status_bits(r), r->have_mgmt ? ST_COUNT : ST_CHARGE_ENABLE, &pack->status);
}

/* bool-up of the pack, with a notification on each edge. */
static void report_pack(struct solar_device *dev, struct pack *pack, const struct pack_reading *r)
{
    int err = r->err;
    bool up = err == 0;
    if (!up && (!pack->reported || pack->up)) {
        char why[160];
        snprintf(why, sizeof(why), "%s%s%s", solar_strerror(err), err == -SOLAR_EDEVICE ? ": " : "",
                 err == -SOLAR_EDEVICE ? pylontech_rtn_describe(r->rtn) : "");
        solar_notify(dev, SOLAR_SEVERITY_FAILURE, "pack %u (ADR %u) is not answering: %s",
                     unit_of(pack->adr), pack->adr, why);
        solar_device_log(dev, SOLAR_LOG_WARNING, "pack %u (ADR %u) is not answering: %s",
                         unit_of(pack->adr), pack->adr, why);
    } else if (up && pack->reported && !pack->up) {
        solar_notify(dev, SOLAR_SEVERITY_OKAY, "pack %u (ADR %u) is answering again",
                     unit_of(pack->adr), pack->adr);
    }
    pack->up = up;
    pack->reported = true;
    solar_emit(dev, "bool", "up", up);
}

static int pylontech_poll(struct solar_device *dev)
{
    struct pylontech_state *st = dev->state;
    struct pack_reading readings[PYLONTECH_MAX_PACKS];
    if (st->console)
        return console_poll(dev);
    if (st->automatic && solar_now_ms() >= st->reprobe_ms)
        probe_addresses(dev);
    memset(readings, 0, sizeof(readings[0]) * st->count);
    if (config_of(dev)->all_packs)
        read_all_status(dev, readings);
    for (unsigned i = 0; i < st->count; i++) {
        struct pack_reading *r = &readings[i];
        if (!config_of(dev)->all_packs)
            r->err = read_pack_status(dev, &st->packs[i], r);
        if (r->err == 0)
            r->err = read_pack_limits(dev, &st->packs[i], r);
        r->rtn = st->last_rtn;
    }

    unsigned answering = 0;
    int first_err = st->count ? readings[0].err : -SOLAR_ETIMEDOUT;
    for (unsigned i = 0; i < st->count; i++) {
        struct pack *pack = &st->packs[i];
        solar_set_unit(dev, unit_of(pack->adr));
        if (readings[i].err == 0) {
            emit_pack(dev, pack, &readings[i]);
            answering++;
        }
        report_pack(dev, pack, &readings[i]);
    }
    solar_set_unit(dev, 0);
    if (answering == 0)
        return first_err;
    solar_emit(dev, "count", "packs", answering);
    return 0;
}

/* --- the console --- */

static const char *const console_status_names[PYLONTECH_PWR_ABNORMAL_COLUMNS] = {
    "voltage", "current", "temperature", "cell_voltage", "cell_temperature", "mosfet_temperature",
};

/* A framer that never finds a frame: an exchange with it is a bounded wait after a write. */
static long console_no_frame(const uint8_t *buf, size_t len, const void *arg)
{
    (void)buf, (void)len, (void)arg;
    return 0;
}

/* Sends text and reads the answer into st->text, answering the pager with CR. Returns the
 * answer's length, or an error (-SOLAR_EUNSUPPORT for an unknown command). */
static long console_command(struct solar_device *dev, const char *command)
{
    struct pylontech_state *st = dev->state;
    enum pylontech_console_wait wait = PYLONTECH_CONSOLE_ANSWER;
    uint8_t piece[CONSOLE_PIECE_MAX];
    size_t used = 0;
    const char *send = command;
    for (unsigned page = 0; page < CONSOLE_MAX_PAGES; page++) {
        long n = solar_exchange(dev, (const uint8_t *)send, strlen(send), piece, sizeof(piece),
                                pylontech_console_find, &wait, 0, 0);
        if (n < 0)
            return n;
        if (used + (size_t)n + 2 >= sizeof(st->text))
            return -SOLAR_ESHORT;
        /* The next page may start right after the pager line: keep its first row whole. */
        if (page > 0)
            st->text[used++] = '\n';
        memcpy(st->text + used, piece, (size_t)n);
        used += (size_t)n;
        st->text[used] = '\0';
        if (!pylontech_console_paged((const char *)piece, (size_t)n)) {
            int err = pylontech_console_check(st->text, used);
            return err < 0 ? err : (long)used;
        }
        send = "\r";
    }
    return -SOLAR_EFRAME;
}

/* CR, and a prompt within Timeout: the console is awake. */
static int console_prompt(struct solar_device *dev)
{
    enum pylontech_console_wait wait = PYLONTECH_CONSOLE_PROMPT;
    uint8_t piece[CONSOLE_PIECE_MAX];
    long n = solar_exchange(dev, (const uint8_t *)"\r\n", 2, piece, sizeof(piece),
                            pylontech_console_find, &wait, 0, 0);
    return n < 0 ? (int)n : 0;
}

/* A console that was powered off stays silent until the RS485 "switch to console" frame is sent
 * at 1200 baud (notes, section 2.1); then it talks at 115200. */
static int console_wake(struct solar_device *dev)
{
    static const uint8_t wake_info[] = {0x85, 0x20};
    uint8_t frame[32], scrap[64];
    size_t n = pylontech_request_build(PYLONTECH_VER, 1, 0x82, wake_info, sizeof(wake_info), frame,
                                       sizeof(frame));
    int err = solar_bus_set_baud(dev, CONSOLE_WAKE_BAUD);
    if (err < 0)
        return err;
    long r = solar_exchange(dev, frame, n, scrap, sizeof(scrap), console_no_frame, NULL,
                            CONSOLE_WAKE_MS, 0);
    err = solar_bus_set_baud(dev, CONSOLE_BAUD);
    if (err < 0)
        return err;
    return r == -SOLAR_ETIMEDOUT || r >= 0 ? console_prompt(dev) : (int)r;
}

static int console_connect(struct solar_device *dev)
{
    /* A serial server (tcp:) keeps its own line speed: it must be set to 115200 there, and the
     * 1200-baud wake-up cannot be sent through it. */
    int err = solar_bus_set_baud(dev, CONSOLE_BAUD);
    bool serial = err != -SOLAR_EUNSUPPORT;
    if (err < 0 && serial)
        return err;
    if ((err = console_prompt(dev)) == -SOLAR_ETIMEDOUT && serial) {
        solar_device_log(dev, SOLAR_LOG_INFO, "no console prompt: sending the 1200-baud wake-up");
        err = console_wake(dev);
    }
    if (err < 0)
        return err;
    solar_device_log(dev, SOLAR_LOG_INFO, "console awake");
    return 0;
}

struct console_reading {
    int err;
    const struct pylontech_pwr_row *row;
    struct pylontech_bat bat;
    struct pylontech_soh soh;
    bool have_soh;
};

static int console_read_pack(struct solar_device *dev, unsigned pack, struct console_reading *r)
{
    struct pylontech_state *st = dev->state;
    char command[16];
    snprintf(command, sizeof(command), "bat %u\n", pack);
    long n = console_command(dev, command);
    int err = n < 0 ? (int)n : pylontech_bat_parse(st->text, (size_t)n, &r->bat);
    if (err < 0 || st->soh_unsupported)
        return err;
    snprintf(command, sizeof(command), "soh %u\n", pack);
    n = console_command(dev, command);
    if (n == -SOLAR_EUNSUPPORT) {
        /* Newer firmware (US3000C B69.25) dropped soh: stop asking. */
        st->soh_unsupported = true;
        return 0;
    }
    err = n < 0 ? (int)n : pylontech_soh_parse(st->text, (size_t)n, &r->soh);
    r->have_soh = err == 0;
    return err;
}

static void console_emit_pack(struct solar_device *dev, struct pack *pack,
                              const struct console_reading *r)
{
    const struct pylontech_pwr_row *row = r->row;
    solar_emit(dev, "voltage", "pack", row->voltage);
    solar_emit(dev, "current", "pack", row->current);
    solar_emit(dev, "percent", "soc", row->soc);
    solar_emit(dev, "temperature", "bms", row->temperature);
    solar_emit(dev, "temperature", "cell_min", row->temp_low);
    solar_emit(dev, "temperature", "cell_max", row->temp_high);
    solar_emit(dev, "temperature", "mosfet", row->mos_temperature);
    solar_emit(dev, "voltage", "cell_min", row->cell_low);
    solar_emit(dev, "voltage", "cell_max", row->cell_high);
    solar_emit(dev, "bool", "charging", row->charging);
    solar_emit(dev, "bool", "discharging", row->discharging);
    solar_emit_flags(dev, "console", console_status_names, PYLONTECH_PWR_ABNORMAL_COLUMNS,
                     row->abnormal, &pack->alarms);
    for (unsigned i = 0; i < r->bat.count; i++) {
        const struct pylontech_bat_cell *c = &r->bat.cells[i];
        solar_emit_indexed(dev, "voltage", "cell", i + 1, c->voltage);
        solar_emit_indexed(dev, "temperature", "cell", i + 1, c->temperature);
        solar_emit_indexed(dev, "percent", "soc_cell", i + 1, c->soc);
        solar_emit_indexed(dev, "capacity", "cell", i + 1, c->coulomb_ah);
        if (c->balancing >= 0)
            solar_emit_indexed(dev, "bool", "balancing_cell", i + 1, c->balancing);
    }
    for (unsigned i = 0; r->have_soh && i < r->soh.count; i++) {
        solar_emit_indexed(dev, "count", "soh_cell", i + 1, r->soh.soh_count[i]);
        solar_emit_indexed(dev, "bool", "soh_abnormal_cell", i + 1, !r->soh.normal[i]);
    }
}

/* The row of pack n in pwr, NULL when it is not there or Absent. */
static const struct pylontech_pwr_row *pwr_row_of(const struct pylontech_pwr *pwr, unsigned n)
{
    for (unsigned i = 0; i < pwr->count; i++)
        if (pwr->rows[i].pack == n && pwr->rows[i].present)
            return &pwr->rows[i];
    return NULL;
}

static int console_poll(struct solar_device *dev)
{
    struct pylontech_state *st = dev->state;
    struct pylontech_pwr pwr;
    struct console_reading readings[PYLONTECH_MAX_PACKS];
    long n = console_command(dev, "pwr\n");
    int err = n < 0 ? (int)n : pylontech_pwr_parse(st->text, (size_t)n, &pwr);
    if (err < 0)
        return err;
    for (unsigned i = 0; st->automatic && i < pwr.count; i++)
        if (pwr.rows[i].present && !pack_known(st, (uint8_t)(pwr.rows[i].pack + 1)) &&
            st->count < PYLONTECH_MAX_PACKS)
            pack_add(st, (uint8_t)(pwr.rows[i].pack + 1));
    for (unsigned i = 0; i < st->count; i++) {
        struct console_reading *r = &readings[i];
        memset(r, 0, sizeof(*r));
        r->row = pwr_row_of(&pwr, unit_of(st->packs[i].adr));
        /* A pack pwr shows Absent (or not at all) is not there: nothing to ask it. */
        r->err = r->row ? console_read_pack(dev, unit_of(st->packs[i].adr), r) : -ENODEV;
    }
    unsigned answering = 0;
    for (unsigned i = 0; i < st->count; i++) {
        struct pack *pack = &st->packs[i];
        struct pack_reading status = {.err = readings[i].err};
        solar_set_unit(dev, unit_of(pack->adr));
        if (readings[i].err == 0) {
            console_emit_pack(dev, pack, &readings[i]);
            answering++;
        }
        report_pack(dev, pack, &status);
    }
    solar_set_unit(dev, 0);
    if (answering == 0)
        return st->count ? readings[0].err : -SOLAR_ETIMEDOUT;
    solar_emit(dev, "count", "packs", answering);
    return 0;
}

/* Protocol, Dialect and Addresses, checked when the configuration is read, not at connect. */
static int pylontech_check_config(const void *config, char *err, size_t errlen)
{
    const struct pylontech_config *cfg = config;
    uint8_t list[PYLONTECH_MAX_PACKS];
    unsigned count;
    bool automatic;
    if (strcasecmp(cfg->protocol, "rs485") != 0 && strcasecmp(cfg->protocol, "console") != 0)
        snprintf(err, errlen, "Protocol \"%s\": expected rs485 or console", cfg->protocol);
    else if (strcasecmp(cfg->dialect, "pylon") != 0)
        snprintf(err, errlen, "Dialect \"%s\": only pylon is known", cfg->dialect);
    else if (pylontech_addresses_parse(cfg->addresses, list, PYLONTECH_MAX_PACKS, &count,
                                       &automatic) < 0)
        snprintf(err, errlen,
                 "Addresses \"%s\": expected 2, 2-5, 2,3,7 or auto (1..254, at most %d packs)",
                 cfg->addresses, PYLONTECH_MAX_PACKS);
    else
        return 0;
    return -EINVAL;
}

const struct solar_driver pylontech_driver = {
    .name = "pylontech",
    .description = "Pylontech US2000/US3000/US5000/UP2500/Force and compatibles (RS485/RS232 "
                   "frames or the pylon> console; several packs on one bus)",
    .port_kinds = SOLAR_PORT_SERIAL | SOLAR_PORT_TCP,
    .default_baud = 9600,
    .default_timeout = 1.5,
    /* 0x93 is answered after ~80 ms of think time; the notes budget 400 ms an answer at 9600. */
    .probe_timeout = 0.5,
    .options = pylontech_options,
    .config_size = sizeof(struct pylontech_config),
    .state_size = sizeof(struct pylontech_state),
    .metrics = pylontech_metrics,
    .connect = pylontech_connect,
    .poll = pylontech_poll,
    .check_config = pylontech_check_config,
};
