/* Voltronic / Axpert PI30 driver. At connect the identity (QPI, QID or QSID, QVFW); every poll
 * QPIGS, QPIGS2, QMOD and QPIWS; every SettingsInterval QPIRI, QFLAG and QDI; with Parallel N
 * QPGS0..QPGS(N-1) as units NAME-1..NAME-N. Everything is read before anything is emitted, so
 * that a poll failing half-way emits nothing. A command the inverter refuses (NAK, or echoed
 * back) is not asked again until the next connect. */
#include "driver.h"
#include "protocol.h"

#include <ctype.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define VOLTRONIC_MAX_PARALLEL 9
/* SettingsInterval 0: this many poll intervals (Interval, or when that is 0 and the host's
 * interval applies, the time between the last two polls). */
#define SETTINGS_INTERVALS 10

enum voltronic_command {
    CMD_QPIGS,
    CMD_QPIGS2,
    CMD_QMOD,
    CMD_QPIWS,
    CMD_QPIRI,
    CMD_QFLAG,
    CMD_QDI,
    CMD_QPGS,
    CMD_QPI,
    CMD_QID,
    CMD_QSID,
    CMD_QVFW,
    CMD_COUNT
};

static const char *const command_names[CMD_COUNT] = {
    "QPIGS", "QPIGS2", "QMOD", "QPIWS", "QPIRI", "QFLAG",
    "QDI",   "QPGS",   "QPI",  "QID",   "QSID",  "QVFW",
};

#define CMD_BIT(c) (1u << (c))
#define CMD_ALL    ((1u << CMD_COUNT) - 1)

struct voltronic_config {
    struct solar_config base;
    char commands[256];
    double settings_interval;
    int parallel;
    int parallel_first;
    char serial[VOLTRONIC_ID_MAX];
    /* Not an option: the last other inverter reported, so that a wrong Serial is logged once
     * per inverter found rather than at every reconnect (the state is cleared at connect). */
    char mismatch_reported[VOLTRONIC_ID_MAX];
};

struct voltronic_state {
    unsigned commands; /* CMD_BIT set of the commands to send */
    unsigned refused;  /* commands answered with NAK or an echo since connect */
    char protocol[VOLTRONIC_ID_MAX];
    char serial[VOLTRONIC_ID_MAX];
    char firmware[VOLTRONIC_ID_MAX];
    char mode; /* last QMOD letter, 0 before the first */
    char unit_mode[VOLTRONIC_MAX_PARALLEL];
    struct solar_flags warnings;
    int64_t last_poll_ms;     /* 0 before the first poll since connect */
    double poll_interval_ms;  /* the time between polls, smoothed; 0 before the second */
    int64_t settings_read_ms; /* 0: not read since connect */
};

/* Everything one poll reads, then emits. */
struct voltronic_reading {
    struct voltronic_qpigs qpigs;
    struct voltronic_qpigs2 qpigs2;
    struct voltronic_qpiri qpiri;
    struct voltronic_qdi qdi;
    struct voltronic_qflag qflag;
    struct voltronic_qpgs units[VOLTRONIC_MAX_PARALLEL];
    uint64_t warnings;
    unsigned warning_count;
    char mode;
    unsigned have; /* CMD_BIT of each reply decoded in this poll */
};

static const struct solar_option voltronic_options[] = {
    SOLAR_OPTION_STRING("Commands", struct voltronic_config, commands, "",
                        "queries to send, space-separated, of QPIGS QPIGS2 QMOD QPIWS QPIRI QFLAG "
                        "QDI QPGS QPI QID QSID QVFW (default: all)"),
    SOLAR_OPTION_NUMBER("SettingsInterval", SOLAR_OPT_DOUBLE, struct voltronic_config,
                        settings_interval, "0", 0, 86400,
                        "seconds between QPIRI/QFLAG/QDI reads (0: 10 x the poll interval)"),
    SOLAR_OPTION_NUMBER("Parallel", SOLAR_OPT_INT, struct voltronic_config, parallel, "0", 0,
                        VOLTRONIC_MAX_PARALLEL,
                        "units of a parallel system, read by QPGS0.. as NAME-1..NAME-N (0: none)"),
    SOLAR_OPTION_NUMBER("ParallelFirst", SOLAR_OPT_INT, struct voltronic_config, parallel_first,
                        "0", 0, 9,
                        "n of the QPGSn read as NAME-1 (0; 1 where QPGS1 is the master)"),
    SOLAR_OPTION_STRING("Serial", struct voltronic_config, serial, "",
                        "the inverter's serial (QID/QSID); another inverter is refused"),
    {NULL},
};

/* --- value tables --- */

struct value_row {
    const char *type;
    const char *type_instance;
    size_t offset; /* of a double */
};

#define ROW(type, ti, st, member)      \
    {                                  \
        type, ti, offsetof(st, member) \
    }
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

#define QPIGS struct voltronic_qpigs
static const struct value_row qpigs_rows[] = {
    ROW("voltage", "grid", QPIGS, grid_voltage),
    ROW("frequency", "grid", QPIGS, grid_frequency),
    ROW("voltage", "output", QPIGS, output_voltage),
    ROW("frequency", "output", QPIGS, output_frequency),
    ROW("apparent_power", "output", QPIGS, output_apparent_power),
    ROW("power", "output", QPIGS, output_power),
    ROW("percent", "load", QPIGS, load_percent),
    ROW("voltage", "bus", QPIGS, bus_voltage),
    ROW("voltage", "battery", QPIGS, battery_voltage),
    ROW("current", "battery_charge", QPIGS, battery_charge_current),
    ROW("current", "battery_discharge", QPIGS, battery_discharge_current),
    ROW("percent", "battery", QPIGS, battery_capacity),
    ROW("temperature", "heatsink", QPIGS, heatsink_temperature),
    ROW("current", "pv1", QPIGS, pv1_current),
    ROW("voltage", "pv1", QPIGS, pv1_voltage),
    ROW("power", "pv1", QPIGS, pv1_power),
    ROW("voltage", "battery_scc", QPIGS, battery_voltage_scc),
    ROW("voltage", "battery_fan_offset", QPIGS, battery_fan_offset),
    ROW("gauge", "eeprom_version", QPIGS, eeprom_version),
    ROW("bool", "feed_to_grid", QPIGS, feed_to_grid),
    ROW("gauge", "country_regulation", QPIGS, country_regulation),
    ROW("power", "feed_to_grid", QPIGS, feed_to_grid_power),
    ROW("bool", "load_on", QPIGS, load_on),
    ROW("bool", "charging", QPIGS, charging),
    ROW("bool", "scc_charging", QPIGS, scc_charging),
    ROW("bool", "ac_charging", QPIGS, ac_charging),
    ROW("bool", "sbu_priority_version", QPIGS, sbu_priority_version),
    ROW("bool", "configuration_changed", QPIGS, configuration_changed),
    ROW("bool", "scc_firmware_updated", QPIGS, scc_firmware_updated),
    ROW("bool", "battery_voltage_steady", QPIGS, battery_voltage_steady),
    ROW("bool", "charging_to_float", QPIGS, charging_to_float),
    ROW("bool", "switched_on", QPIGS, switched_on),
    ROW("bool", "dustproof_installed", QPIGS, dustproof_installed),
};
#undef QPIGS

#define QPIGS2 struct voltronic_qpigs2
static const struct value_row qpigs2_rows[] = {
    ROW("current", "pv2", QPIGS2, pv2_current),
    ROW("voltage", "pv2", QPIGS2, pv2_voltage),
    ROW("power", "pv2", QPIGS2, pv2_power),
    ROW("voltage", "battery_scc2", QPIGS2, battery_voltage_scc2),
    ROW("bool", "scc2_charging", QPIGS2, scc2_charging),
    ROW("bool", "scc3_charging", QPIGS2, scc3_charging),
    ROW("current", "ac_charging", QPIGS2, ac_charging_current),
    ROW("power", "ac_charging", QPIGS2, ac_charging_power),
    ROW("current", "pv3", QPIGS2, pv3_current),
    ROW("voltage", "pv3", QPIGS2, pv3_voltage),
    ROW("voltage", "battery_scc3", QPIGS2, battery_voltage_scc3),
    ROW("power", "pv3", QPIGS2, pv3_power),
    ROW("power", "pv_total", QPIGS2, pv_total_power),
};
#undef QPIGS2

#define QPIRI struct voltronic_qpiri
static const struct value_row qpiri_rows[] = {
    ROW("voltage", "grid_rating", QPIRI, grid_rating_voltage),
    ROW("current", "grid_rating", QPIRI, grid_rating_current),
    ROW("voltage", "output_rating", QPIRI, output_rating_voltage),
    ROW("frequency", "output_rating", QPIRI, output_rating_frequency),
    ROW("current", "output_rating", QPIRI, output_rating_current),
    ROW("apparent_power", "output_rating", QPIRI, output_rating_apparent_power),
    ROW("power", "output_rating", QPIRI, output_rating_power),
    ROW("voltage", "battery_rating", QPIRI, battery_rating_voltage),
    ROW("voltage", "battery_recharge", QPIRI, battery_recharge_voltage),
    ROW("voltage", "battery_under", QPIRI, battery_under_voltage),
    ROW("voltage", "battery_bulk", QPIRI, battery_bulk_voltage),
    ROW("voltage", "battery_float", QPIRI, battery_float_voltage),
    ROW("gauge", "battery_type", QPIRI, battery_type),
    ROW("current", "max_ac_charging", QPIRI, max_ac_charging_current),
    ROW("current", "max_charging", QPIRI, max_charging_current),
    ROW("gauge", "input_voltage_range", QPIRI, input_voltage_range),
    ROW("gauge", "output_source_priority", QPIRI, output_source_priority),
    ROW("gauge", "charger_source_priority", QPIRI, charger_source_priority),
    ROW("gauge", "parallel_max", QPIRI, parallel_max),
    ROW("gauge", "machine_type", QPIRI, machine_type),
    ROW("gauge", "topology", QPIRI, topology),
    ROW("gauge", "output_mode", QPIRI, output_mode),
    ROW("voltage", "battery_redischarge", QPIRI, battery_redischarge_voltage),
    ROW("gauge", "pv_ok_condition", QPIRI, pv_ok_condition),
    ROW("gauge", "pv_power_balance", QPIRI, pv_power_balance),
    ROW("gauge", "max_cv_charging_time", QPIRI, max_cv_charging_time),
    ROW("gauge", "operation_logic", QPIRI, operation_logic),
    ROW("current", "max_discharging", QPIRI, max_discharging_current),
};
#undef QPIRI

#define QDI struct voltronic_qdi
static const struct value_row qdi_rows[] = {
    ROW("voltage", "default_output", QDI, output_voltage),
    ROW("frequency", "default_output", QDI, output_frequency),
    ROW("current", "default_max_ac_charging", QDI, max_ac_charging_current),
    ROW("voltage", "default_battery_under", QDI, battery_under_voltage),
    ROW("voltage", "default_battery_float", QDI, float_voltage),
    ROW("voltage", "default_battery_bulk", QDI, bulk_voltage),
    ROW("voltage", "default_battery_recharge", QDI, battery_recharge_voltage),
    ROW("current", "default_max_charging", QDI, max_charging_current),
    ROW("gauge", "default_input_voltage_range", QDI, input_voltage_range),
    ROW("gauge", "default_output_source_priority", QDI, output_source_priority),
    ROW("gauge", "default_charger_source_priority", QDI, charger_source_priority),
    ROW("gauge", "default_battery_type", QDI, battery_type),
    ROW("gauge", "default_buzzer_off", QDI, buzzer_disabled),
    ROW("gauge", "default_power_saving", QDI, power_saving),
    ROW("gauge", "default_overload_restart", QDI, overload_restart),
    ROW("gauge", "default_over_temperature_restart", QDI, over_temperature_restart),
    ROW("gauge", "default_backlight", QDI, backlight),
    ROW("gauge", "default_primary_source_alarm", QDI, primary_source_alarm),
    ROW("gauge", "default_fault_code_record", QDI, fault_code_record),
    ROW("gauge", "default_overload_bypass", QDI, overload_bypass),
    ROW("gauge", "default_lcd_escape", QDI, lcd_escape),
    ROW("gauge", "default_output_mode", QDI, output_mode),
    ROW("voltage", "default_battery_redischarge", QDI, battery_redischarge_voltage),
    ROW("gauge", "default_pv_ok_condition", QDI, pv_ok_condition),
    ROW("gauge", "default_pv_power_balance", QDI, pv_power_balance),
};
#undef QDI

#define QPGS struct voltronic_qpgs
static const struct value_row qpgs_rows[] = {
    ROW("bool", "parallel_exists", QPGS, exists),
    ROW("gauge", "mode", QPGS, mode),
    ROW("gauge", "fault_code", QPGS, fault_code),
    ROW("voltage", "grid", QPGS, grid_voltage),
    ROW("frequency", "grid", QPGS, grid_frequency),
    ROW("voltage", "output", QPGS, output_voltage),
    ROW("frequency", "output", QPGS, output_frequency),
    ROW("apparent_power", "output", QPGS, output_apparent_power),
    ROW("power", "output", QPGS, output_power),
    ROW("percent", "load", QPGS, load_percent),
    ROW("voltage", "battery", QPGS, battery_voltage),
    ROW("current", "battery_charge", QPGS, battery_charge_current),
    ROW("current", "battery_discharge", QPGS, battery_discharge_current),
    ROW("percent", "battery", QPGS, battery_capacity),
    ROW("voltage", "pv1", QPGS, pv1_voltage),
    ROW("current", "pv1", QPGS, pv1_current),
    ROW("voltage", "pv2", QPGS, pv2_voltage),
    ROW("current", "pv2", QPGS, pv2_current),
    ROW("current", "battery_charge_total", QPGS, total_charge_current),
    ROW("apparent_power", "output_total", QPGS, total_output_apparent_power),
    ROW("power", "output_total", QPGS, total_output_power),
    ROW("percent", "load_total", QPGS, total_load_percent),
    ROW("bool", "scc_ok", QPGS, scc_ok),
    ROW("bool", "ac_charging", QPGS, ac_charging),
    ROW("bool", "scc_charging", QPGS, scc_charging),
    ROW("gauge", "battery_status", QPGS, battery_status),
    ROW("bool", "line_loss", QPGS, line_loss),
    ROW("bool", "load_on", QPGS, load_on),
    ROW("bool", "configuration_changed", QPGS, configuration_changed),
    ROW("gauge", "output_mode", QPGS, output_mode),
    ROW("gauge", "charger_source_priority", QPGS, charger_source_priority),
    ROW("current", "max_charging", QPGS, max_charging_current),
    ROW("current", "max_charging_range", QPGS, max_charging_range),
    ROW("current", "max_ac_charging", QPGS, max_ac_charging_current),
};
#undef QPGS

static const struct solar_metric_doc voltronic_metrics[] = {
    {"voltage", "grid", "V", "AC input (grid) voltage (QPIGS; also per parallel unit, QPGSn)"},
    {"frequency", "grid", "Hz", "AC input frequency"},
    {"voltage", "output", "V", "AC output voltage"},
    {"frequency", "output", "Hz", "AC output frequency"},
    {"apparent_power", "output", "VA", "AC output apparent power"},
    {"power", "output", "W", "AC output active power"},
    {"percent", "load", "%", "output load"},
    {"voltage", "bus", "V", "DC bus voltage"},
    {"voltage", "battery", "V", "battery voltage"},
    {"current", "battery", "A", "battery current, charge minus discharge (positive = charging)"},
    {"current", "battery_charge", "A", "battery charging current"},
    {"current", "battery_discharge", "A", "battery discharge current"},
    {"percent", "battery", "%", "battery capacity"},
    {"temperature", "heatsink", "°C", "inverter heat-sink temperature (a raw count on 1-3 kVA)"},
    {"current", "pv1", "A", "PV1 input current"},
    {"voltage", "pv1", "V", "PV1 input voltage"},
    {"power", "pv1", "W", "PV1 charging power, as the inverter reports it (QPIGS field 19)"},
    {"voltage", "battery_scc", "V", "battery voltage measured by the solar charger"},
    {"voltage", "battery_fan_offset", "V", "battery voltage offset for fans on"},
    {"gauge", "eeprom_version", "", "EEPROM version"},
    {"bool", "feed_to_grid", "", "solar feed to grid active (24-field QPIGS)"},
    {"gauge", "country_regulation", "", "country regulation: 0 India, 1 Germany, 2 South America"},
    {"power", "feed_to_grid", "W", "solar feed-to-grid power (24-field QPIGS)"},
    {"bool", "load_on", "", "load on (status b4)"},
    {"bool", "charging", "", "battery charging (status b2)"},
    {"bool", "scc_charging", "", "solar charger charging (status b1)"},
    {"bool", "ac_charging", "", "AC charger charging (status b0)"},
    {"bool", "sbu_priority_version", "", "SBU priority version added (status b7)"},
    {"bool", "configuration_changed", "", "configuration changed (status b6)"},
    {"bool", "scc_firmware_updated", "", "SCC firmware updated (status b5)"},
    {"bool", "battery_voltage_steady", "", "battery voltage steady while charging (status b3)"},
    {"bool", "charging_to_float", "", "charging to float (status b10)"},
    {"bool", "switched_on", "", "switched on (status b9)"},
    {"bool", "dustproof_installed", "", "dustproof installed (status b8)"},
    {"current", "pv2", "A", "PV2 input current (QPIGS2; QPGSn on MAX)"},
    {"voltage", "pv2", "V", "PV2 input voltage"},
    {"power", "pv2", "W", "PV2 charging power (QPIGS2)"},
    {"voltage", "battery_scc2", "V", "battery voltage from SCC2 (multi-tracker QPIGS2)"},
    {"bool", "scc2_charging", "", "SCC2 charging (multi-tracker QPIGS2)"},
    {"bool", "scc3_charging", "", "SCC3 charging (multi-tracker QPIGS2)"},
    {"current", "ac_charging", "A", "AC charging current (multi-tracker QPIGS2)"},
    {"power", "ac_charging", "W", "AC charging power (multi-tracker QPIGS2)"},
    {"current", "pv3", "A", "PV3 input current (multi-tracker QPIGS2)"},
    {"voltage", "pv3", "V", "PV3 input voltage"},
    {"voltage", "battery_scc3", "V", "battery voltage from SCC3"},
    {"power", "pv3", "W", "PV3 charging power"},
    {"power", "pv_total", "W", "total PV charging power (multi-tracker QPIGS2)"},
    {"gauge", "mode", "",
     "QMOD mode: 1 P power on, 2 S standby, 3 L line, 4 B battery, 5 F fault, 6 H power "
     "saving, 7 D shutdown, 8 C charge, 9 Y bypass, 10 E ECO, 0 a letter not listed here; a "
     "notification on each change"},
    {"bool", "warning_NAME", "",
     "QPIWS bit set (bits 0..37; as many as the inverter sends); a notification on each "
     "change: pv_loss (bit 0, reserved on PI30/HS), inverter_fault, bus_over, bus_under, "
     "bus_soft_fail, line_fail, opv_short, inverter_voltage_low, inverter_voltage_high, "
     "over_temperature, fan_locked, battery_voltage_high, battery_low, overcharge, "
     "battery_under_shutdown, battery_derating, overload, eeprom_fault, inverter_over_current, "
     "inverter_soft_fail, self_test_fail, op_dc_voltage_over, battery_open, current_sensor_fail, "
     "battery_short, power_limit, pv_voltage_high, mppt_overload_fault, mppt_overload_warning, "
     "battery_low_to_charge, pv2_voltage_high, mppt2_overload_fault, mppt2_overload_warning, "
     "battery_low_to_charge_2, pv3_voltage_high, mppt3_overload_fault (battery equalization on "
     "MAX), mppt3_overload_warning, battery_low_to_charge_3"},
    {"voltage", "grid_rating", "V", "grid rating voltage (QPIRI, every SettingsInterval)"},
    {"current", "grid_rating", "A", "grid rating current"},
    {"voltage", "output_rating", "V", "AC output rating voltage"},
    {"frequency", "output_rating", "Hz", "AC output rating frequency"},
    {"current", "output_rating", "A", "AC output rating current"},
    {"apparent_power", "output_rating", "VA", "AC output rating apparent power"},
    {"power", "output_rating", "W", "AC output rating active power"},
    {"voltage", "battery_rating", "V", "battery rating voltage"},
    {"voltage", "battery_recharge", "V", "battery re-charge voltage"},
    {"voltage", "battery_under", "V", "battery under (cut-off) voltage"},
    {"voltage", "battery_bulk", "V", "battery bulk (C.V.) voltage"},
    {"voltage", "battery_float", "V", "battery float voltage"},
    {"gauge", "battery_type", "",
     "0 AGM, 1 flooded, 2 user, 3 Pylontech, 4 Shinheung, 5 WECO, 6 Soltaro, 8 LIb, 9 LIc"},
    {"current", "max_ac_charging", "A", "max AC (utility) charging current"},
    {"current", "max_charging", "A", "max charging current"},
    {"gauge", "input_voltage_range", "", "0 appliance, 1 UPS"},
    {"gauge", "output_source_priority", "", "0 utility first, 1 solar first, 2 SBU"},
    {"gauge", "charger_source_priority", "",
     "0 utility first, 1 solar first, 2 solar + utility, 3 only solar"},
    {"gauge", "parallel_max", "", "parallel max number"},
    {"gauge", "machine_type", "",
     "0 grid-tie, 1 off-grid, 10 hybrid, 11 off-grid 2 trackers, 20 off-grid 3 trackers"},
    {"gauge", "topology", "", "0 transformerless, 1 transformer"},
    {"gauge", "output_mode", "",
     "0 single, 1 parallel, 2/3/4 phase 1/2/3 of 3, 5 phase 1 of 2, 6 phase 2 of 2 (120°), "
     "7 phase 2 of 2 (180°)"},
    {"voltage", "battery_redischarge", "V", "battery re-discharge voltage (0 = battery full)"},
    {"gauge", "pv_ok_condition", "", "0 any unit has PV, 1 all units have PV"},
    {"gauge", "pv_power_balance", "",
     "0 PV current = max charge current, 1 PV power = charge + load"},
    {"gauge", "max_cv_charging_time", "min", "max charging time at C.V. stage (MAX)"},
    {"gauge", "operation_logic", "", "0 auto, 1 on-line, 2 ECO (MAX)"},
    {"current", "max_discharging", "A", "max discharging current (MAX)"},
    {"bool", "flag_NAME", "",
     "QFLAG setting enabled (every SettingsInterval): buzzer, overload_bypass, "
     "solar_feed_to_grid, power_saving, lcd_escape, data_log_popup, overload_restart, "
     "over_temperature_restart, backlight, primary_source_alarm, fault_code_record"},
    {"voltage", "default_output", "V", "QDI default AC output voltage (every SettingsInterval)"},
    {"frequency", "default_output", "Hz", "QDI default AC output frequency"},
    {"current", "default_max_ac_charging", "A", "QDI default max AC charging current"},
    {"voltage", "default_battery_under", "V", "QDI default battery under voltage"},
    {"voltage", "default_battery_float", "V", "QDI default float voltage"},
    {"voltage", "default_battery_bulk", "V", "QDI default bulk voltage"},
    {"voltage", "default_battery_recharge", "V", "QDI default re-charge voltage"},
    {"current", "default_max_charging", "A", "QDI default max charging current"},
    {"gauge", "default_input_voltage_range", "", "QDI default, as input_voltage_range"},
    {"gauge", "default_output_source_priority", "", "QDI default, as output_source_priority"},
    {"gauge", "default_charger_source_priority", "", "QDI default, as charger_source_priority"},
    {"gauge", "default_battery_type", "", "QDI default, as battery_type"},
    {"gauge", "default_buzzer_off", "", "QDI default buzzer: 0 on, 1 off"},
    {"gauge", "default_power_saving", "", "QDI default power saving: 0 off, 1 on"},
    {"gauge", "default_overload_restart", "", "QDI default overload restart"},
    {"gauge", "default_over_temperature_restart", "", "QDI default over-temperature restart"},
    {"gauge", "default_backlight", "", "QDI default LCD backlight"},
    {"gauge", "default_primary_source_alarm", "", "QDI default primary source alarm"},
    {"gauge", "default_fault_code_record", "", "QDI default fault code record"},
    {"gauge", "default_overload_bypass", "", "QDI default overload bypass"},
    {"gauge", "default_lcd_escape", "", "QDI default LCD escape to default page"},
    {"gauge", "default_output_mode", "", "QDI default, as output_mode"},
    {"voltage", "default_battery_redischarge", "V", "QDI default re-discharge voltage"},
    {"gauge", "default_pv_ok_condition", "", "QDI default, as pv_ok_condition"},
    {"gauge", "default_pv_power_balance", "", "QDI default, as pv_power_balance"},
    {"bool", "parallel_exists", "", "NAME-N only (QPGSn): the parallel unit exists"},
    {"gauge", "fault_code", "", "NAME-N only: fault code (00 none, 01 fan locked ...)"},
    {"current", "battery_charge_total", "A", "NAME-N only: total charging current"},
    {"apparent_power", "output_total", "VA", "NAME-N only: total AC output apparent power"},
    {"power", "output_total", "W", "NAME-N only: total AC output active power"},
    {"percent", "load_total", "%", "NAME-N only: total output load"},
    {"bool", "scc_ok", "", "NAME-N only: SCC OK"},
    {"gauge", "battery_status", "", "NAME-N only: 0 normal, 1 under, 2 open"},
    {"bool", "line_loss", "", "NAME-N only: line loss"},
    {"current", "max_charging_range", "A", "NAME-N only: max charger range"},
    {"bool", "up", "", "1 while the inverter answers, 0 while it does not"},
    {NULL},
};

/* --- configuration --- */

/* Parses a Commands list ("QPIGS QMOD, QPIWS") into CMD_BIT flags; "" = all. Returns -EINVAL
 * and names the word in err when one is not a command this driver sends. */
static int voltronic_commands_parse(const char *text, unsigned *out, char *err, size_t errlen)
{
    unsigned set = 0;
    const char *p = text;
    for (;;) {
        while (*p == ' ' || *p == ',' || *p == '\t')
            p++;
        if (!*p)
            break;
        size_t n = strcspn(p, " ,\t");
        int found = -1;
        for (int c = 0; c < CMD_COUNT; c++)
            if (strlen(command_names[c]) == n && strncasecmp(p, command_names[c], n) == 0)
                found = c;
        if (found < 0) {
            snprintf(err, errlen,
                     "Commands: \"%.*s\" is not one of QPIGS QPIGS2 QMOD QPIWS QPIRI "
                     "QFLAG QDI QPGS QPI QID QSID QVFW",
                     (int)n, p);
            return -EINVAL;
        }
        set |= CMD_BIT(found);
        p += n;
    }
    *out = set ? set : CMD_ALL;
    return 0;
}

static int voltronic_config_check(const void *cfg, char *err, size_t errlen)
{
    const struct voltronic_config *config = cfg;
    unsigned set;
    return voltronic_commands_parse(config->commands, &set, err, errlen);
}

/* --- exchanges --- */

static bool wanted(const struct voltronic_state *state, enum voltronic_command c)
{
    return (state->commands & CMD_BIT(c)) && !(state->refused & CMD_BIT(c));
}

/* Sends command and validates the reply into frame; retries once after a garbled reply (line
 * noise is real on long RS-232 runs). Returns 0 with *payload set, or a negative error. */
static int voltronic_query(struct solar_device *dev, const char *command, uint8_t *frame,
                           const char **payload, size_t *len)
{
    uint8_t request[VOLTRONIC_REQUEST_MAX];
    struct voltronic_request req = {request, voltronic_request_build(command, request)};
    int err = -SOLAR_EBADCRC;
    for (int attempt = 0; attempt < 2 && (err == -SOLAR_EBADCRC || err == -SOLAR_EFRAME);
         attempt++) {
        long n = solar_exchange(dev, request, req.len, frame, VOLTRONIC_FRAME_MAX,
                                voltronic_frame_find, &req, 0, 0);
        err = n < 0 ? (int)n : voltronic_frame_check(frame, (size_t)n, &req, payload, len);
    }
    if (err == VOLTRONIC_REPLY_ACK)
        return -SOLAR_EMISMATCH; /* a query answered like a setting */
    return err;
}

/* As voltronic_query() for command c (sent as text, "QPGS1" for CMD_QPGS); a refusal (NAK or
 * echo) marks c as not to be asked again before the next connect and returns
 * -SOLAR_EUNSUPPORT. */
static int voltronic_query_cmd(struct solar_device *dev, enum voltronic_command c, const char *text,
                               uint8_t *frame, const char **payload, size_t *len)
{
    struct voltronic_state *state = dev->state;
    int err = voltronic_query(dev, text, frame, payload, len);
    if (err == -SOLAR_EUNSUPPORT && !(state->refused & CMD_BIT(c))) {
        state->refused |= CMD_BIT(c);
        solar_device_log(dev, SOLAR_LOG_INFO, "%s is not supported (NAK); not asked again", text);
    }
    return err;
}

/* Reads an identity string into out; a refusal leaves it empty and is no error. */
static int read_identity(struct solar_device *dev, enum voltronic_command c, char *out, size_t cap)
{
    uint8_t frame[VOLTRONIC_FRAME_MAX];
    const char *p;
    size_t n;
    struct voltronic_state *state = dev->state;
    out[0] = '\0';
    if (!wanted(state, c))
        return 0;
    int err = voltronic_query_cmd(dev, c, command_names[c], frame, &p, &n);
    if (err == -SOLAR_EUNSUPPORT)
        return 0;
    if (err < 0)
        return err;
    err =
        c == CMD_QSID ? voltronic_qsid_decode(p, n, out, cap) : voltronic_id_decode(p, n, out, cap);
    if (err < 0)
        out[0] = '\0';
    return 0;
}

static int voltronic_connect(struct solar_device *dev)
{
    struct voltronic_config *config = (struct voltronic_config *)dev->config;
    struct voltronic_state *state = dev->state;
    char err_text[160];
    if (voltronic_commands_parse(config->commands, &state->commands, err_text, sizeof(err_text)) <
        0)
        return -EINVAL;
    int err = read_identity(dev, CMD_QPI, state->protocol, sizeof(state->protocol));
    if (err == 0)
        err = read_identity(dev, CMD_QID, state->serial, sizeof(state->serial));
    if (err == 0 && state->serial[0] == '\0')
        err = read_identity(dev, CMD_QSID, state->serial, sizeof(state->serial));
    if (err == 0)
        err = read_identity(dev, CMD_QVFW, state->firmware, sizeof(state->firmware));
    if (err < 0)
        return err;
    if (config->serial[0] && strcmp(config->serial, state->serial) != 0) {
        bool again = strcmp(config->mismatch_reported, state->serial) == 0;
        solar_device_log(dev, again ? SOLAR_LOG_DEBUG : SOLAR_LOG_ERR,
                         "inverter serial \"%s\" is not the configured \"%s\"", state->serial,
                         config->serial);
        snprintf(config->mismatch_reported, sizeof(config->mismatch_reported), "%s", state->serial);
        return -SOLAR_EMISMATCH;
    }
    solar_device_log(dev, SOLAR_LOG_INFO,
                     "connected to inverter protocol \"%s\" serial \"%s\" "
                     "firmware \"%s\"",
                     state->protocol[0] ? state->protocol : "?",
                     state->serial[0] ? state->serial : "?",
                     state->firmware[0] ? state->firmware : "?");
    return 0;
}

/* --- one poll --- */

typedef int (*decode_fn)(const char *payload, size_t len, void *out);

/* Queries c (as text, NULL: its name) and decodes the reply into out; a refused optional
 * command is no error and decodes nothing. */
static int read_decoded(struct solar_device *dev, enum voltronic_command c, const char *text,
                        decode_fn decode, void *out, bool optional, struct voltronic_reading *r)
{
    uint8_t frame[VOLTRONIC_FRAME_MAX];
    const char *p;
    size_t n;
    int err = voltronic_query_cmd(dev, c, text ? text : command_names[c], frame, &p, &n);
    if (err == -SOLAR_EUNSUPPORT && optional)
        return 0;
    if (err < 0 || (err = decode(p, n, out)) < 0)
        return err;
    r->have |= CMD_BIT(c);
    return 0;
}

/* The decoders in one shape, for the table-free calls below. */
#define DECODER(name, type)                                      \
    static int decode_##name(const char *p, size_t n, void *out) \
    {                                                            \
        return voltronic_##name##_decode(p, n, (type *)out);     \
    }
DECODER(qpigs, struct voltronic_qpigs)
DECODER(qpigs2, struct voltronic_qpigs2)
DECODER(qpiri, struct voltronic_qpiri)
DECODER(qdi, struct voltronic_qdi)
DECODER(qpgs, struct voltronic_qpgs)
DECODER(qflag, struct voltronic_qflag)
DECODER(qmod, char)

static int decode_qpiws(const char *p, size_t n, void *out)
{
    struct voltronic_reading *r = out;
    return voltronic_qpiws_decode(p, n, &r->warnings, &r->warning_count);
}

/* QPIRI, QFLAG and QDI are due at the first poll after connect, then every SettingsInterval. */
static bool settings_due(const struct voltronic_config *config, const struct voltronic_state *state,
                         int64_t now)
{
    if (state->settings_read_ms == 0)
        return true;
    double interval_ms = config->base.interval > 0     ? config->base.interval * 1000
                         : state->poll_interval_ms > 0 ? state->poll_interval_ms
                                                       : (double)(now - state->last_poll_ms);
    double every_ms = config->settings_interval > 0 ? config->settings_interval * 1000
                                                    : SETTINGS_INTERVALS * interval_ms;
    /* Polls within one millisecond tell nothing about the interval yet. */
    return every_ms > 0 && (double)(now - state->settings_read_ms) >= every_ms;
}

static int read_settings(struct solar_device *dev, struct voltronic_reading *r)
{
    struct voltronic_state *state = dev->state;
    int err = 0;
    if (wanted(state, CMD_QPIRI))
        err = read_decoded(dev, CMD_QPIRI, NULL, decode_qpiri, &r->qpiri, true, r);
    if (err == 0 && wanted(state, CMD_QFLAG))
        err = read_decoded(dev, CMD_QFLAG, NULL, decode_qflag, &r->qflag, true, r);
    if (err == 0 && wanted(state, CMD_QDI))
        err = read_decoded(dev, CMD_QDI, NULL, decode_qdi, &r->qdi, true, r);
    return err;
}

static int read_parallel(struct solar_device *dev, struct voltronic_reading *r)
{
    const struct voltronic_config *config = (const struct voltronic_config *)dev->config;
    if (!wanted(dev->state, CMD_QPGS))
        return 0;
    for (int k = 0; k < config->parallel; k++) {
        char command[16];
        snprintf(command, sizeof(command), "QPGS%d", config->parallel_first + k);
        int err = read_decoded(dev, CMD_QPGS, command, decode_qpgs, &r->units[k], false, r);
        if (err < 0)
            return err;
    }
    return 0;
}

static int read_all(struct solar_device *dev, bool settings_due, struct voltronic_reading *r)
{
    struct voltronic_state *state = dev->state;
    int err = 0;
    if (wanted(state, CMD_QPIGS))
        err = read_decoded(dev, CMD_QPIGS, NULL, decode_qpigs, &r->qpigs, false, r);
    if (err == 0 && wanted(state, CMD_QPIGS2))
        err = read_decoded(dev, CMD_QPIGS2, NULL, decode_qpigs2, &r->qpigs2, true, r);
    if (err == 0 && wanted(state, CMD_QMOD))
        err = read_decoded(dev, CMD_QMOD, NULL, decode_qmod, &r->mode, false, r);
    if (err == 0 && wanted(state, CMD_QPIWS))
        err = read_decoded(dev, CMD_QPIWS, NULL, decode_qpiws, r, false, r);
    if (err == 0 && settings_due)
        err = read_settings(dev, r);
    if (err == 0)
        err = read_parallel(dev, r);
    return err;
}

static void emit_rows(struct solar_device *dev, const struct value_row *rows, size_t n,
                      const void *values)
{
    for (size_t i = 0; i < n; i++)
        solar_emit(dev, rows[i].type, rows[i].type_instance,
                   *(const double *)((const char *)values + rows[i].offset));
}

static void emit_mode(struct solar_device *dev, char letter, char *last)
{
    solar_emit(dev, "gauge", "mode", voltronic_mode_value(letter));
    if (*last && *last != letter)
        solar_notify(dev, letter == 'F' ? SOLAR_SEVERITY_FAILURE : SOLAR_SEVERITY_OKAY,
                     "mode changed from %s (%c) to %s (%c)", voltronic_mode_name(*last), *last,
                     voltronic_mode_name(letter), letter);
    *last = letter;
}

static void emit_flags(struct solar_device *dev, const struct voltronic_qflag *f)
{
    for (unsigned i = 0; i < 26; i++) {
        const char *flag = voltronic_flag_name(i);
        if (flag && (f->known >> i & 1))
            solar_emit_joined(dev, "bool", "flag", flag, f->enabled >> i & 1);
    }
}

static void emit_units(struct solar_device *dev, const struct voltronic_reading *r)
{
    const struct voltronic_config *config = (const struct voltronic_config *)dev->config;
    struct voltronic_state *state = dev->state;
    for (int k = 0; k < config->parallel; k++) {
        const struct voltronic_qpgs *u = &r->units[k];
        solar_set_unit(dev, (unsigned)k + 1);
        emit_rows(dev, qpgs_rows, COUNT(qpgs_rows), u);
        char letter = u->mode_letter;
        if (state->unit_mode[k] && state->unit_mode[k] != letter)
            solar_notify(dev, SOLAR_SEVERITY_OKAY, "unit %s mode changed from %s to %s", u->serial,
                         voltronic_mode_name(state->unit_mode[k]), voltronic_mode_name(letter));
        state->unit_mode[k] = letter;
    }
    solar_set_unit(dev, 0);
}

static void emit_all(struct solar_device *dev, const struct voltronic_reading *r)
{
    struct voltronic_state *state = dev->state;
    if (r->have & CMD_BIT(CMD_QPIGS)) {
        emit_rows(dev, qpigs_rows, COUNT(qpigs_rows), &r->qpigs);
        solar_emit(dev, "current", "battery",
                   r->qpigs.battery_charge_current - r->qpigs.battery_discharge_current);
    }
    if (r->have & CMD_BIT(CMD_QPIGS2))
        emit_rows(dev, qpigs2_rows, COUNT(qpigs2_rows), &r->qpigs2);
    if (r->have & CMD_BIT(CMD_QMOD))
        emit_mode(dev, r->mode, &state->mode);
    if (r->have & CMD_BIT(CMD_QPIWS)) {
        const char *names[VOLTRONIC_WARNING_BITS];
        unsigned count =
            r->warning_count < VOLTRONIC_WARNING_BITS ? r->warning_count : VOLTRONIC_WARNING_BITS;
        for (unsigned i = 0; i < count; i++)
            names[i] = voltronic_warning_name(i);
        solar_emit_flags(dev, "warning", names, count, r->warnings, &state->warnings);
    }
    if (r->have & CMD_BIT(CMD_QPIRI))
        emit_rows(dev, qpiri_rows, COUNT(qpiri_rows), &r->qpiri);
    if (r->have & CMD_BIT(CMD_QFLAG))
        emit_flags(dev, &r->qflag);
    if (r->have & CMD_BIT(CMD_QDI))
        emit_rows(dev, qdi_rows, COUNT(qdi_rows), &r->qdi);
    if (r->have & CMD_BIT(CMD_QPGS))
        emit_units(dev, r);
}

static int voltronic_poll(struct solar_device *dev)
{
    struct voltronic_state *state = dev->state;
    struct voltronic_reading r;
    r.have = 0;
    int64_t start = solar_now_ms();
    bool due = settings_due((const struct voltronic_config *)dev->config, state, start);
    int err = read_all(dev, due, &r);
    /* Smoothed, so that two polls back to back (a host catching up) do not shorten it. */
    if (state->last_poll_ms) {
        double gap = (double)(start - state->last_poll_ms);
        state->poll_interval_ms =
            state->poll_interval_ms > 0 ? (3 * state->poll_interval_ms + gap) / 4 : gap;
    }
    state->last_poll_ms = start;
    if (err < 0)
        return err;
    if (due)
        state->settings_read_ms = start;
    emit_all(dev, &r);
    return 0;
}

const struct solar_driver voltronic_driver = {
    .name = "voltronic",
    .description = "Voltronic / Axpert / MPP Solar / EASUN / PowMr inverters (PI30 over USB-HID, "
                   "RS232, TCP)",
    .port_kinds = SOLAR_PORT_SERIAL | SOLAR_PORT_TCP | SOLAR_PORT_HID,
    .default_baud = 2400,
    .default_timeout = 3.0,
    /* QPI's 8-byte reply: ~40 ms at 2400 baud after 70-100 ms of firmware latency. */
    .probe_timeout = 1.0,
    .line_end = '\r',
    .options = voltronic_options,
    .config_size = sizeof(struct voltronic_config),
    .state_size = sizeof(struct voltronic_state),
    .metrics = voltronic_metrics,
    .check_config = voltronic_config_check,
    .connect = voltronic_connect,
    .poll = voltronic_poll,
};
