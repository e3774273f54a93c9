/* LuxPower / EG4: the input-register map, its decoding, and the dongle's port-8000 framing.
 * Register facts: protocols/luxpower.md section 2.2 (EG4 PDF V58, Lux PDF 2025, cross-checked
 * by the open-source readers); names: DESIGN.md's luxpower row, the rest snake_case. */
#include "protocol.h"

#include "checksum.h"
#include "error.h"

#include <errno.h>
#include <math.h>
#include <string.h>

/* Plausible ranges: a value outside one is a corruption spike (a 0xFFFF word reads as 6553.5 V
 * or 65535 W), as the pylxpweb canaries and the notes' section 6.9 describe. */
#define PV_V    (0, 600)
#define AC_V    (0, 1000)
#define BAT_V   (0, 600)
#define CELL_V  (0, 5)
#define WATT    (0, 30000)
#define SWATT   (-30000, 30000)
#define PCT     (0, 100)
#define E_DAY   (0, 1000)
#define E_TOTAL (0, 1e8)
#define TEMP    (-40, 150)
#define AMP     (0, 600)
#define SAMP    (-600, 600)
#define RAW     (0, 65535)
#define RAW32   (0, 4294967295.0)

#define LO(lo, hi) (lo)
#define HI(lo, hi) (hi)
#define ROW(r, k, s, range, t, ti, u, h)                                              \
    {                                                                                 \
        .reg = r, .kind = k, .scale = s, .min = LO range, .max = HI range, .type = t, \
        .type_instance = ti, .unit = u, .help = h                                     \
    }
#define U(r, s, range, t, ti, u, h)   ROW(r, LUXPOWER_U16, s, range, t, ti, u, h)
#define S(r, s, range, t, ti, u, h)   ROW(r, LUXPOWER_S16, s, range, t, ti, u, h)
#define U32(r, s, range, t, ti, u, h) ROW(r, LUXPOWER_U32, s, range, t, ti, u, h)
#define HZ(r, ti, h)                                                                         \
    {                                                                                        \
        .reg = r, .kind = LUXPOWER_U16, .scale = 100, .min = 30, .max = 90, .zero_ok = true, \
        .type = "frequency", .type_instance = ti, .unit = "Hz", .help = h                    \
    }
#define PF(r, ti, h)                                                                        \
    {                                                                                       \
        .reg = r, .kind = LUXPOWER_PF, .scale = 1000, .min = -1, .max = 1, .type = "gauge", \
        .type_instance = ti, .unit = "", .help = h                                          \
    }
#define BITS(r, sh, w, range, t, ti, u, h)                                                     \
    {                                                                                          \
        .reg = r, .kind = LUXPOWER_BITS, .shift = sh, .width = w, .scale = 1, .min = LO range, \
        .max = HI range, .type = t, .type_instance = ti, .unit = u, .help = h                  \
    }

const struct luxpower_register luxpower_registers[] = {
    /* Bank 0-39: realtime. */
    U(0, 1, RAW, "gauge", "status", "",
      "operating state (notified on change): 0 standby, 1 fault, 2 programming, 4 PV on-grid, "
      "8 PV charging, 12 PV charging on-grid, 16 battery on-grid, 17 bypass, 20 PV+battery "
      "on-grid, 25 PV charging+bypass, 32 AC charging, 40 PV+AC charging, 64 battery off-grid, "
      "96 off-grid charging, 128 PV off-grid, 136 PV charging off-grid, 192 PV+battery "
      "off-grid"),
    U(1, 10, PV_V, "voltage", "pv1", "V", "PV string 1 voltage"),
    U(2, 10, PV_V, "voltage", "pv2", "V", "PV string 2 voltage"),
    U(3, 10, PV_V, "voltage", "pv3", "V", "PV string 3 voltage"),
    U(4, 10, BAT_V, "voltage", "battery", "V", "battery voltage"),
    BITS(5, 0, 8, PCT, "percent", "soc", "%", "battery state of charge"),
    BITS(5, 8, 8, PCT, "percent", "soh", "%", "battery state of health"),
    U(6, 1, RAW, "gauge", "internal_fault", "", "internal fault code"),
    U(7, 1, WATT, "power", "pv1", "W", "PV string 1 power"),
    U(8, 1, WATT, "power", "pv2", "W", "PV string 2 power"),
    U(9, 1, WATT, "power", "pv3", "W", "PV string 3 power"),
    U(10, 1, WATT, "power", "battery_charge", "W", "battery charging power"),
    U(11, 1, WATT, "power", "battery_discharge", "W", "battery discharging power"),
    U(12, 10, AC_V, "voltage", "grid", "V", "grid voltage R (split phase: L1-L2)"),
    U(13, 10, AC_V, "voltage", "grid_s", "V", "grid voltage S"),
    U(14, 10, AC_V, "voltage", "grid_t", "V", "grid voltage T"),
    HZ(15, "grid", "grid frequency"),
    U(16, 1, WATT, "power", "inverter", "W", "on-grid inverter power"),
    U(17, 1, WATT, "power", "rectifier", "W", "AC charging (rectifier) power"),
    U(18, 100, AMP, "current", "inverter_rms", "A", "inverter RMS current"),
    PF(19, "power_factor", "power factor"),
    U(20, 10, AC_V, "voltage", "eps", "V", "EPS (backup output) voltage R"),
    U(21, 10, AC_V, "voltage", "eps_s", "V", "EPS voltage S"),
    U(22, 10, AC_V, "voltage", "eps_t", "V", "EPS voltage T"),
    HZ(23, "eps", "EPS frequency"),
    U(24, 1, WATT, "power", "eps", "W", "EPS active power"),
    U(25, 1, WATT, "apparent_power", "eps", "VA", "EPS apparent power"),
    U(26, 1, WATT, "power", "to_grid", "W", "power exported to the grid"),
    U(27, 1, WATT, "power", "to_user", "W", "power imported from the grid"),
    U(28, 10, E_DAY, "energy", "pv1_today", "kWh", "PV string 1 energy today"),
    U(29, 10, E_DAY, "energy", "pv2_today", "kWh", "PV string 2 energy today"),
    U(30, 10, E_DAY, "energy", "pv3_today", "kWh", "PV string 3 energy today"),
    U(31, 10, E_DAY, "energy", "inverter_today", "kWh", "inverter output energy today"),
    U(32, 10, E_DAY, "energy", "rectifier_today", "kWh", "AC charge energy today"),
    U(33, 10, E_DAY, "energy", "charge_today", "kWh", "battery charge energy today"),
    U(34, 10, E_DAY, "energy", "discharge_today", "kWh", "battery discharge energy today"),
    U(35, 10, E_DAY, "energy", "eps_today", "kWh", "EPS energy today"),
    U(36, 10, E_DAY, "energy", "to_grid_today", "kWh", "exported energy today"),
    U(37, 10, E_DAY, "energy", "to_user_today", "kWh", "imported energy today"),
    U(38, 10, AC_V, "voltage", "bus_1", "V", "DC bus 1 voltage"),
    U(39, 10, AC_V, "voltage", "bus_2", "V", "DC bus 2 voltage"),
    /* Bank 40-79: totals, faults, temperatures. 60-63 are the fault and warning bits. */
    U32(40, 10, E_TOTAL, "energy", "pv1_total", "kWh", "PV string 1 energy, lifetime"),
    U32(42, 10, E_TOTAL, "energy", "pv2_total", "kWh", "PV string 2 energy, lifetime"),
    U32(44, 10, E_TOTAL, "energy", "pv3_total", "kWh", "PV string 3 energy, lifetime"),
    U32(46, 10, E_TOTAL, "energy", "inverter_total", "kWh", "inverter output energy, lifetime"),
    U32(48, 10, E_TOTAL, "energy", "rectifier_total", "kWh", "AC charge energy, lifetime"),
    U32(50, 10, E_TOTAL, "energy", "charge_total", "kWh", "battery charge energy, lifetime"),
    U32(52, 10, E_TOTAL, "energy", "discharge_total", "kWh", "battery discharge energy, lifetime"),
    U32(54, 10, E_TOTAL, "energy", "eps_total", "kWh", "EPS energy, lifetime"),
    U32(56, 10, E_TOTAL, "energy", "to_grid_total", "kWh", "exported energy, lifetime"),
    U32(58, 10, E_TOTAL, "energy", "to_user_total", "kWh", "imported energy, lifetime"),
    U32(60, 1, RAW32, "gauge", "fault_code", "", "FaultCode bits (bit n = E0nn)"),
    U32(62, 1, RAW32, "gauge", "warning_code", "", "WarningCode bits (bit n = W0nn)"),
    S(64, 1, TEMP, "temperature", "inner", "°C", "internal temperature"),
    S(65, 1, TEMP, "temperature", "radiator_1", "°C", "heatsink 1 temperature"),
    S(66, 1, TEMP, "temperature", "radiator_2", "°C", "heatsink 2 temperature"),
    S(67, 1, TEMP, "temperature", "battery", "°C", "battery temperature (inverter side)"),
    U32(69, 1, RAW32, "duration", "runtime", "s", "running time"),
    U(71, 1, RAW, "gauge", "autotest", "", "auto-test bits: b0-3 start, b4-7 status, b8-11 step"),
    U(72, 1, RAW, "gauge", "autotest_limit", "", "auto-test limit (raw)"),
    U(73, 1, RAW, "gauge", "autotest_default_time", "", "auto-test default time (raw)"),
    U(74, 1, RAW, "gauge", "autotest_trip_value", "", "auto-test trip value (raw)"),
    U(75, 1, RAW, "gauge", "autotest_trip_time", "", "auto-test trip time (raw)"),
    U(77, 1, RAW, "gauge", "ac_input_type", "", "AC input bits: b0 generator, b1-2 AC couple ..."),
    /* Bank 80-119: BMS, parallel; 115-119 is the serial (identity). */
    U(80, 1, RAW, "gauge", "battery_type", "", "battery type/brand and BMS link (raw)"),
    U(81, 100, AMP, "current", "bms_charge_limit", "A", "BMS charge current limit"),
    U(82, 100, AMP, "current", "bms_discharge_limit", "A", "BMS discharge current limit"),
    U(83, 10, BAT_V, "voltage", "bms_charge_limit", "V", "BMS charge voltage reference"),
    U(84, 10, BAT_V, "voltage", "bms_discharge_cutoff", "V", "BMS discharge cut-off voltage"),
    U(85, 1, RAW, "gauge", "bms_status_0", "", "BMS status word 0 (raw)"),
    U(86, 1, RAW, "gauge", "bms_status_1", "", "BMS status word 1 (raw)"),
    U(87, 1, RAW, "gauge", "bms_status_2", "", "BMS status word 2 (raw)"),
    U(88, 1, RAW, "gauge", "bms_status_3", "", "BMS status word 3 (raw)"),
    U(89, 1, RAW, "gauge", "bms_status_4", "", "BMS status word 4 (raw)"),
    U(90, 1, RAW, "gauge", "bms_status_5", "", "BMS status word 5 (raw)"),
    U(91, 1, RAW, "gauge", "bms_status_6", "", "BMS status word 6 (raw)"),
    U(92, 1, RAW, "gauge", "bms_status_7", "", "BMS status word 7 (raw)"),
    U(93, 1, RAW, "gauge", "bms_status_8", "", "BMS status word 8 (raw)"),
    U(94, 1, RAW, "gauge", "bms_status_9", "", "BMS status word 9 (raw)"),
    U(95, 1, RAW, "gauge", "battery_status", "", "battery status bits (inverter view)"),
    U(96, 1, RAW, "count", "battery_units", "", "batteries in parallel"),
    U(97, 1, RAW, "capacity", "battery", "Ah", "battery capacity"),
    S(98, 10, SAMP, "current", "battery", "A", "battery current from the BMS"),
    U(99, 1, RAW, "gauge", "bms_fault", "", "BMS fault code (enum)"),
    U(100, 1, RAW, "gauge", "bms_warning", "", "BMS warning code (enum)"),
    U(101, 1000, CELL_V, "voltage", "cell_max", "V", "highest cell voltage"),
    U(102, 1000, CELL_V, "voltage", "cell_min", "V", "lowest cell voltage"),
    S(103, 10, TEMP, "temperature", "cell_max", "°C", "highest cell temperature"),
    S(104, 10, TEMP, "temperature", "cell_min", "°C", "lowest cell temperature"),
    U(105, 1, RAW, "gauge", "bms_update", "", "b0-2 BMS firmware update state, b4 dry contact"),
    U(106, 1, RAW, "count", "cycles", "", "battery charge cycles"),
    U(107, 10, BAT_V, "voltage", "battery_sample", "V", "battery voltage sampled by the inverter"),
    S(108, 10, TEMP, "temperature", "t1", "°C", "temperature probe 1"),
    S(109, 10, TEMP, "temperature", "t2", "°C", "temperature probe 2"),
    S(110, 10, TEMP, "temperature", "t3", "°C", "temperature probe 3"),
    S(111, 10, TEMP, "temperature", "t4", "°C", "temperature probe 4"),
    S(112, 10, TEMP, "temperature", "t5", "°C", "temperature probe 5"),
    BITS(113, 0, 2, (0, 3), "gauge", "parallel_role", "", "1 primary, 2 secondary"),
    BITS(113, 2, 2, (0, 3), "gauge", "parallel_phase", "", "1 R, 2 S, 3 T"),
    BITS(113, 8, 8, (0, 255), "count", "parallel_units", "", "inverters in parallel"),
    U(114, 1, WATT, "power", "on_grid_load", "W", "on-grid load power"),
    /* Bank 120-159: generator, split-phase EPS, AFCI. */
    U(120, 10, AC_V, "voltage", "bus_half", "V", "half bus voltage"),
    U(121, 10, AC_V, "voltage", "generator", "V", "generator voltage"),
    HZ(122, "generator", "generator frequency"),
    U(123, 1, WATT, "power", "generator", "W", "generator power (not power on the XP family)"),
    U(124, 10, E_DAY, "energy", "generator_today", "kWh", "generator energy today"),
    U32(125, 10, E_TOTAL, "energy", "generator_total", "kWh", "generator energy, lifetime"),
    U(127, 10, AC_V, "voltage", "eps_l1", "V", "EPS voltage L1-N"),
    U(128, 10, AC_V, "voltage", "eps_l2", "V", "EPS voltage L2-N"),
    U(129, 1, WATT, "power", "eps_l1", "W", "EPS power L1-N"),
    U(130, 1, WATT, "power", "eps_l2", "W", "EPS power L2-N"),
    U(131, 1, WATT, "apparent_power", "eps_l1", "VA", "EPS apparent power L1-N"),
    U(132, 1, WATT, "apparent_power", "eps_l2", "VA", "EPS apparent power L2-N"),
    U(133, 10, E_DAY, "energy", "eps_l1_today", "kWh", "EPS energy L1-N today"),
    U(134, 10, E_DAY, "energy", "eps_l2_today", "kWh", "EPS energy L2-N today"),
    U32(135, 10, E_TOTAL, "energy", "eps_l1_total", "kWh", "EPS energy L1-N, lifetime"),
    U32(137, 10, E_TOTAL, "energy", "eps_l2_total", "kWh", "EPS energy L2-N, lifetime"),
    U(139, 1, WATT, "reactive_power", "inverter", "var", "inverter reactive power"),
    U(140, 1000, AMP, "current", "afci_ch1", "A", "AFCI current channel 1"),
    U(141, 1000, AMP, "current", "afci_ch2", "A", "AFCI current channel 2"),
    U(142, 1000, AMP, "current", "afci_ch3", "A", "AFCI current channel 3"),
    U(143, 1000, AMP, "current", "afci_ch4", "A", "AFCI current channel 4"),
    U(144, 1, RAW, "gauge", "afci_flags", "", "b0-3 arc alarm, b4-7 self-test failed"),
    U(145, 1, RAW, "gauge", "afci_arc_ch1", "", "AFCI arc level channel 1"),
    U(146, 1, RAW, "gauge", "afci_arc_ch2", "", "AFCI arc level channel 2"),
    U(147, 1, RAW, "gauge", "afci_arc_ch3", "", "AFCI arc level channel 3"),
    U(148, 1, RAW, "gauge", "afci_arc_ch4", "", "AFCI arc level channel 4"),
    U(149, 1, RAW, "gauge", "afci_arc_max_ch1", "", "AFCI maximum arc channel 1"),
    U(150, 1, RAW, "gauge", "afci_arc_max_ch2", "", "AFCI maximum arc channel 2"),
    U(151, 1, RAW, "gauge", "afci_arc_max_ch3", "", "AFCI maximum arc channel 3"),
    U(152, 1, RAW, "gauge", "afci_arc_max_ch4", "", "AFCI maximum arc channel 4"),
    U(153, 1, WATT, "power", "ac_couple", "W", "AC-coupled power"),
    /* Bank 160-239: load, three-phase S/T, US split-phase legs, PV 4-6. */
    S(170, 1, SWATT, "power", "load", "W", "on-grid load power"),
    U(171, 10, E_DAY, "energy", "load_today", "kWh", "load energy today"),
    U32(172, 10, E_TOTAL, "energy", "load_total", "kWh", "load energy, lifetime"),
    U(174, 1, RAW, "gauge", "switch_state", "", "b0-4 safety DIP, b8 EPS, b9-10 generator"),
    U(175, 1, RAW, "gauge", "eps_overload_reconnect", "s", "EPS overload reconnect countdown"),
    U(176, 1, RAW, "gauge", "exception_reason_1", "", "exception/exit reason bits 1"),
    U(177, 1, RAW, "gauge", "exception_reason_2", "", "exception/exit reason bits 2"),
    U(178, 1, RAW, "gauge", "exception_reason_3", "", "exception/exit reason bits 3"),
    U(180, 1, WATT, "power", "inverter_s", "W", "inverter power phase S"),
    U(181, 1, WATT, "power", "inverter_t", "W", "inverter power phase T"),
    U(182, 1, WATT, "power", "rectifier_s", "W", "rectifier power phase S"),
    U(183, 1, WATT, "power", "rectifier_t", "W", "rectifier power phase T"),
    U(184, 1, WATT, "power", "to_grid_s", "W", "export power phase S"),
    U(185, 1, WATT, "power", "to_grid_t", "W", "export power phase T"),
    U(186, 1, WATT, "power", "to_user_s", "W", "import power phase S"),
    U(187, 1, WATT, "power", "to_user_t", "W", "import power phase T"),
    U(188, 1, WATT, "power", "generator_s", "W", "generator power phase S"),
    U(189, 1, WATT, "power", "generator_t", "W", "generator power phase T"),
    U(190, 100, AMP, "current", "inverter_rms_s", "A", "inverter RMS current phase S"),
    U(191, 100, AMP, "current", "inverter_rms_t", "A", "inverter RMS current phase T"),
    PF(192, "power_factor_s", "power factor phase S"),
    U(193, 10, AC_V, "voltage", "grid_l1", "V", "grid voltage L1-N"),
    U(194, 10, AC_V, "voltage", "grid_l2", "V", "grid voltage L2-N"),
    U(195, 10, AC_V, "voltage", "generator_l1", "V", "generator voltage L1-N"),
    U(196, 10, AC_V, "voltage", "generator_l2", "V", "generator voltage L2-N"),
    U(197, 1, WATT, "power", "inverter_l1", "W", "inverter power L1-N"),
    U(198, 1, WATT, "power", "inverter_l2", "W", "inverter power L2-N"),
    U(199, 1, WATT, "power", "rectifier_l1", "W", "rectifier power L1-N"),
    U(200, 1, WATT, "power", "rectifier_l2", "W", "rectifier power L2-N"),
    U(201, 1, WATT, "power", "to_grid_l1", "W", "export power L1-N"),
    U(202, 1, WATT, "power", "to_grid_l2", "W", "export power L2-N"),
    U(203, 1, WATT, "power", "to_user_l1", "W", "import power L1-N"),
    U(204, 1, WATT, "power", "to_user_l2", "W", "import power L2-N"),
    PF(205, "power_factor_t", "power factor phase T"),
    U(206, 1, WATT, "power", "ac_couple_s", "W", "AC-coupled power phase S"),
    U(207, 1, WATT, "power", "ac_couple_t", "W", "AC-coupled power phase T"),
    U(210, 1, RAW, "gauge", "quick_charge_remaining", "s", "quick charge time remaining"),
    S(214, 1, TEMP, "temperature", "ntc_inner", "°C", "NTC inner temperature"),
    S(215, 1, TEMP, "temperature", "ntc_dcdc_low", "°C", "NTC DC-DC low side temperature"),
    S(216, 1, TEMP, "temperature", "ntc_dcdc_high", "°C", "NTC DC-DC high side temperature"),
    U(217, 10, PV_V, "voltage", "pv4", "V", "PV string 4 voltage"),
    U(218, 10, PV_V, "voltage", "pv5", "V", "PV string 5 voltage"),
    U(219, 10, PV_V, "voltage", "pv6", "V", "PV string 6 voltage"),
    U(220, 1, WATT, "power", "pv4", "W", "PV string 4 power"),
    U(221, 1, WATT, "power", "pv5", "W", "PV string 5 power"),
    U(222, 1, WATT, "power", "pv6", "W", "PV string 6 power"),
    U(223, 10, E_DAY, "energy", "pv4_today", "kWh", "PV string 4 energy today"),
    U32(224, 10, E_TOTAL, "energy", "pv4_total", "kWh", "PV string 4 energy, lifetime"),
    U(226, 10, E_DAY, "energy", "pv5_today", "kWh", "PV string 5 energy today"),
    U32(227, 10, E_TOTAL, "energy", "pv5_total", "kWh", "PV string 5 energy, lifetime"),
    U(229, 10, E_DAY, "energy", "pv6_today", "kWh", "PV string 6 energy today"),
    U32(230, 10, E_TOTAL, "energy", "pv6_total", "kWh", "PV string 6 energy, lifetime"),
    U(232, 1, WATT, "power", "smart_load", "W", "smart load power"),
};

const size_t luxpower_register_count = sizeof(luxpower_registers) / sizeof(luxpower_registers[0]);

int luxpower_register_decode(const struct luxpower_register *r, const uint16_t *regs, double *out)
{
    uint16_t raw = regs[r->reg];
    double v;
    switch (r->kind) {
    case LUXPOWER_S16:
        v = (int16_t)raw;
        break;
    case LUXPOWER_U32:
        v = (double)((uint32_t)raw | (uint32_t)regs[r->reg + 1] << 16);
        break;
    case LUXPOWER_BITS:
        v = (raw >> r->shift) & ((1u << r->width) - 1);
        break;
    case LUXPOWER_PF:
        /* 1..1000 leading, 1001..1999 lagging (negative); 2000 and up mean nothing. */
        v = raw <= 1000 ? raw : raw < 2000 ? 1000.0 - raw : INFINITY;
        break;
    default:
        v = raw;
        break;
    }
    *out = v / r->scale;
    if (*out == 0 && r->zero_ok)
        return 0;
    return *out < r->min || *out > r->max ? -ERANGE : 0;
}

void luxpower_ascii_decode(const uint16_t *words, unsigned count, char *out)
{
    size_t n = 0;
    for (unsigned i = 0; i < count; i++) {
        uint8_t pair[2] = {words[i] & 0xFF, words[i] >> 8};
        for (int k = 0; k < 2; k++)
            out[n++] = pair[k] >= 0x20 && pair[k] < 0x7F ? (char)pair[k] : pair[k] ? '?' : '\0';
    }
    out[n] = '\0';
    /* Cut at the first NUL, then trailing blanks. */
    n = strlen(out);
    while (n > 0 && out[n - 1] == ' ')
        out[--n] = '\0';
}

static const struct {
    unsigned code;
    const char *name;
} status_names[] = {
    {0x00, "standby"},
    {0x01, "fault"},
    {0x02, "programming"},
    {0x04, "pv_on_grid"},
    {0x08, "pv_charging"},
    {0x0C, "pv_charging_on_grid"},
    {0x10, "battery_on_grid"},
    {0x11, "bypass"},
    {0x14, "pv_battery_on_grid"},
    {0x19, "pv_charging_bypass"},
    {0x20, "ac_charging"},
    {0x28, "pv_ac_charging"},
    {0x40, "battery_off_grid"},
    {0x60, "off_grid_charging"},
    {0x80, "pv_off_grid"},
    {0x88, "pv_charging_off_grid"},
    {0xC0, "pv_battery_off_grid"},
};

const char *luxpower_status_name(unsigned code)
{
    for (size_t i = 0; i < sizeof(status_names) / sizeof(status_names[0]); i++)
        if (status_names[i].code == code)
            return status_names[i].name;
    return NULL;
}

const char *const luxpower_fault_names[32] = {
    "e000_internal_comm_1",
    "e001_model",
    "e002_bat_on_mos",
    "e003_ct",
    NULL,
    NULL,
    NULL,
    NULL,
    "e008_parallel_can_comm",
    "e009_no_master",
    "e010_rated_power_mismatch",
    "e011_parallel_settings_mismatch",
    "e012_ups_short",
    "e013_ups_back_feed",
    "e014_bus_short",
    "e015_phase_abnormal",
    "e016_relay",
    "e017_internal_comm_2",
    "e018_internal_comm_3",
    "e019_bus_overvoltage",
    "e020_eps_connection",
    "e021_pv_overvoltage",
    "e022_overcurrent",
    "e023_neutral",
    "e024_pv_short",
    "e025_heatsink_temperature",
    "e026_internal",
    "e027_cpu_sample_mismatch",
    "e028_parallel_sync_loss",
    "e029_parallel_sync_trigger",
    NULL,
    "e031_internal_comm_4",
};

const char *const luxpower_warning_names[32] = {
    "w000_battery_comm",
    "w001_afci_comm",
    "w002_afci_high",
    "w003_meter_comm",
    "w004_battery_forbidden",
    "w005_autotest_failed",
    "w006_rsd_active",
    "w007_lcd_comm",
    "w008_firmware_mismatch",
    "w009_fan_stuck",
    "w010_parallel_address",
    "w011_parallel_count",
    "w012_parallel_phase_loss",
    "w013_overtemperature",
    "w014_multiple_primaries",
    "w015_battery_reversed",
    "w016_no_grid",
    "w017_grid_voltage",
    "w018_grid_frequency",
    "w019_parallel_ac_mismatch",
    "w020_pv_insulation_low",
    "w021_leakage_current_high",
    "w022_dci_high",
    "w023_pv_short",
    NULL,
    "w025_battery_voltage_high",
    "w026_battery_voltage_low",
    "w027_battery_open",
    "w028_eps_overload",
    "w029_eps_voltage_high",
    "w030_meter_reversed",
    "w031_dcv_high",
};

const char *luxpower_model_name(unsigned code)
{
    switch (code) {
    case 54:
        return "EG4 XP (6000XP/12000XP)";
    case 38:
        return "EG4 6000XP";
    case 2092:
        return "EG4 18kPV/12kPV";
    case 10284:
        return "EG4 FlexBOSS";
    case 12:
        return "LXP-EU 12K";
    case 44:
        return "LXP-LB-BR";
    case 50:
        return "GridBOSS";
    default:
        return NULL;
    }
}

/* --- dongle --- */

static void put16(uint8_t *p, unsigned v)
{
    p[0] = v & 0xFF;
    p[1] = (v >> 8) & 0xFF;
}

static unsigned get16(const uint8_t *p)
{
    return p[0] | (unsigned)p[1] << 8;
}

static void put_serial(uint8_t *p, const char *s)
{
    size_t n = s ? strnlen(s, LUXPOWER_SERIAL_LEN) : 0;
    memset(p, 0, LUXPOWER_SERIAL_LEN);
    memcpy(p, s, n);
}

static void get_serial(const uint8_t *p, char *out)
{
    memcpy(out, p, LUXPOWER_SERIAL_LEN);
    out[LUXPOWER_SERIAL_LEN] = '\0';
}

size_t luxpower_dongle_request_build(const char *datalog, const char *serial, unsigned fc,
                                     unsigned reg, unsigned count,
                                     uint8_t out[LUXPOWER_DONGLE_REQUEST])
{
    out[0] = LUXPOWER_DONGLE_PREFIX0;
    out[1] = LUXPOWER_DONGLE_PREFIX1;
    put16(out + 2, 1); /* protocol 1: TranslatedData from a client */
    put16(out + 4, LUXPOWER_DONGLE_REQUEST - 6);
    out[6] = 0x01;
    out[7] = LUXPOWER_TCP_TRANSLATED;
    put_serial(out + 8, datalog);
    put16(out + 18, 16 + 2); /* inner frame and its CRC */
    uint8_t *inner = out + 20;
    inner[0] = 0x00; /* to the inverter */
    inner[1] = (uint8_t)fc;
    put_serial(inner + 2, serial);
    put16(inner + 12, reg);
    put16(inner + 14, count);
    put16(out + 36, solar_crc16_modbus(inner, 16));
    return LUXPOWER_DONGLE_REQUEST;
}

static void dongle_note(struct luxpower_dongle_seen *seen, const uint8_t *frame, size_t len,
                        const struct luxpower_dongle_frame *f)
{
    seen->skipped++;
    if (f->function == LUXPOWER_TCP_HEARTBEAT && len <= sizeof(seen->heartbeat)) {
        memcpy(seen->heartbeat, frame, len);
        seen->heartbeat_len = len;
    }
    if (f->function == LUXPOWER_TCP_TRANSLATED && f->action == 1 && f->serial[0])
        memcpy(seen->serial, f->serial, sizeof(seen->serial));
}

/* Smallest frame: a heartbeat, header + one byte. */
#define DONGLE_MIN (LUXPOWER_DONGLE_HEADER + 1)

long luxpower_dongle_frame_find(const uint8_t *buf, size_t len, const void *arg)
{
    if (len >= 1 && buf[0] != LUXPOWER_DONGLE_PREFIX0)
        return -1;
    if (len >= 2 && buf[1] != LUXPOWER_DONGLE_PREFIX1)
        return -1;
    if (len < 6)
        return DONGLE_MIN; /* no frame is shorter */
    size_t total = get16(buf + 4) + 6;
    if (total < DONGLE_MIN || total > LUXPOWER_DONGLE_FRAME_MAX)
        return -1;
    if (len < total)
        return (long)total;
    if (arg) {
        const struct luxpower_dongle_match *m = arg;
        struct luxpower_dongle_frame f;
        int err = luxpower_dongle_frame_decode(buf, total, &f);
        /* A damaged frame may be a false start (A1 1A inside noise) hiding the real reply:
         * step one byte past it to resync, and keep its error for the caller to report when
         * no good reply follows. */
        if (err < 0 && m->seen) {
            m->seen->damaged = err;
            return -1;
        }
        if (err == 0 && luxpower_dongle_reply_check(&f, m) == -SOLAR_EMISMATCH) {
            if (m->seen)
                dongle_note(m->seen, buf, total, &f);
            return -(long)total;
        }
    }
    return (long)total;
}

static int decode_translated(const uint8_t *frame, size_t len, struct luxpower_dongle_frame *out)
{
    if (len < 20)
        return -SOLAR_ESHORT;
    size_t dlen = get16(frame + 18);
    if (20 + dlen != len)
        return -SOLAR_EFRAME;
    if (dlen < 14 + 2)
        return -SOLAR_ESHORT;
    const uint8_t *inner = frame + 20;
    size_t ilen = dlen - 2;
    if (solar_crc16_modbus(inner, ilen) != get16(inner + ilen))
        return -SOLAR_EBADCRC;
    out->action = inner[0];
    out->fc = inner[1] & 0x7F;
    out->exception = (inner[1] & 0x80) != 0;
    get_serial(inner + 2, out->serial);
    out->reg = get16(inner + 12);
    const uint8_t *p = inner + 14;
    size_t left = ilen - 14;
    if (out->exception) {
        if (left < 1)
            return -SOLAR_ESHORT;
        out->exception_code = p[0];
        return 0;
    }
    bool is_read = out->fc == LUXPOWER_FC_READ_HOLD || out->fc == LUXPOWER_FC_READ_INPUT;
    /* A reply carries a byte count; a client's request (protocol 1) carries a register count. */
    if (is_read && out->protocol != 1) {
        if (left < 1)
            return -SOLAR_ESHORT;
        size_t nbytes = p[0];
        if (nbytes % 2 != 0 || left - 1 != nbytes)
            return left - 1 < nbytes ? -SOLAR_ESHORT : -SOLAR_EFRAME;
        out->count = (unsigned)nbytes / 2;
        out->values = p + 1;
    } else if (left >= 2) {
        out->count = get16(p);
    }
    return 0;
}

int luxpower_dongle_frame_decode(const uint8_t *frame, size_t len,
                                 struct luxpower_dongle_frame *out)
{
    memset(out, 0, sizeof(*out));
    if (len < 6 || frame[0] != LUXPOWER_DONGLE_PREFIX0 || frame[1] != LUXPOWER_DONGLE_PREFIX1)
        return len < 6 ? -SOLAR_ESHORT : -SOLAR_EFRAME;
    if (get16(frame + 4) + 6 != len)
        return -SOLAR_EFRAME;
    if (len < DONGLE_MIN)
        return -SOLAR_ESHORT;
    if (frame[6] != 0x01)
        return -SOLAR_EFRAME;
    out->protocol = get16(frame + 2);
    out->function = frame[7];
    get_serial(frame + 8, out->datalog);
    if (out->function != LUXPOWER_TCP_TRANSLATED)
        return 0;
    return decode_translated(frame, len, out);
}

int luxpower_dongle_reply_check(const struct luxpower_dongle_frame *f,
                                const struct luxpower_dongle_match *m)
{
    if (f->function != LUXPOWER_TCP_TRANSLATED || f->fc != m->fc || f->reg != m->reg)
        return -SOLAR_EMISMATCH;
    if (m->serial && m->serial[0] && strncmp(f->serial, m->serial, LUXPOWER_SERIAL_LEN) != 0)
        return -SOLAR_EMISMATCH;
    if (f->exception)
        return -SOLAR_EDEVICE;
    /* A request echoed back by another client, or a pushed read of another size. */
    if (f->values == NULL || f->count != m->count)
        return -SOLAR_EMISMATCH;
    return 0;
}

void luxpower_dongle_values(const struct luxpower_dongle_frame *f, uint16_t *out)
{
    for (unsigned i = 0; i < f->count; i++)
        out[i] = (uint16_t)get16(f->values + 2 * i);
}

size_t luxpower_dongle_heartbeat_reply(const uint8_t *frame, size_t len, uint8_t *out, size_t cap)
{
    if (len > cap)
        return 0;
    memcpy(out, frame, len);
    return len;
}
