/* JBD BMS driver: at connect the model string (register 0x05), every poll the basic info (0x03)
 * and the cell voltages (0x04), both read before anything is emitted so that a poll that fails
 * half-way emits nothing. */
#include "driver.h"
#include "protocol.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

struct jbd_state {
    char model[JBD_HW_VERSION_MAX];
    struct solar_flags protection;
    struct solar_flags alarm;
};

/* Scalars of register 0x03, emitted in this order. */
static const struct {
    const char *type;
    const char *type_instance;
    size_t offset;
} basic_fields[] = {
    {"voltage", "pack", offsetof(struct jbd_basic_info, pack_voltage)},
    {"current", "pack", offsetof(struct jbd_basic_info, current)},
    {"capacity", "remaining", offsetof(struct jbd_basic_info, remaining_ah)},
    {"capacity", "nominal", offsetof(struct jbd_basic_info, nominal_ah)},
    {"capacity", "full_charge", offsetof(struct jbd_basic_info, full_charge_ah)},
    {"count", "cycles", offsetof(struct jbd_basic_info, cycles)},
    {"percent", "soc", offsetof(struct jbd_basic_info, soc)},
    {"percent", "humidity", offsetof(struct jbd_basic_info, humidity)},
    {"current", "balance", offsetof(struct jbd_basic_info, balance_current)},
    {"bool", "charge_fet", offsetof(struct jbd_basic_info, charge_fet)},
    {"bool", "discharge_fet", offsetof(struct jbd_basic_info, discharge_fet)},
};

static const char *const alarm_names[] = {
    "cell_high_voltage",      "cell_low_voltage",        "pack_high_voltage",
    "pack_low_voltage",       "charge_high_temp",        "charge_low_temp",
    "discharge_high_temp",    "discharge_low_temp",      "charge_high_current",
    "discharge_high_current", "cell_voltage_difference", "low_capacity",
};

static const struct solar_metric_doc jbd_metrics[] = {
    {"voltage", "pack", "V", "pack voltage"},
    {"current", "pack", "A", "pack current, positive when charging"},
    {"capacity", "remaining", "Ah", "remaining capacity"},
    {"capacity", "nominal", "Ah", "nominal (design) capacity"},
    {"capacity", "full_charge", "Ah", "full-charge capacity (extended firmware)"},
    {"count", "cycles", "", "charge cycles"},
    {"percent", "soc", "%", "state of charge"},
    {"percent", "humidity", "%", "humidity inside the pack (extended firmware)"},
    {"current", "balance", "A", "balancing current (extended firmware)"},
    {"bool", "charge_fet", "", "charge MOSFET on"},
    {"bool", "discharge_fet", "", "discharge MOSFET on"},
    {"temperature", "ntc_N", "°C", "temperature probe N (1-based, unpadded)"},
    {"voltage", "cell_NN", "V", "voltage of cell NN (01..32)"},
    {"voltage", "cell_min", "V", "lowest cell voltage"},
    {"voltage", "cell_max", "V", "highest cell voltage"},
    {"voltage", "cell_delta", "V", "highest minus lowest cell voltage"},
    {"bool", "balancing_cell_NN", "", "cell NN is being balanced"},
    {"bool", "protection_NAME", "",
     "protection active: cell_overvoltage, cell_undervoltage, pack_overvoltage, "
     "pack_undervoltage, charge_overtemp, charge_undertemp, discharge_overtemp, "
     "discharge_undertemp, charge_overcurrent, discharge_overcurrent, short_circuit, afe_error, "
     "software_lock, charge_mos_fault, discharge_mos_fault"},
    {"bool", "alarm_NAME", "",
     "alarm active (extended firmware): cell_high_voltage, cell_low_voltage, pack_high_voltage, "
     "pack_low_voltage, charge_high_temp, charge_low_temp, discharge_high_temp, "
     "discharge_low_temp, charge_high_current, discharge_high_current, cell_voltage_difference, "
     "low_capacity"},
    {"bool", "up", "", "1 while the BMS answers, 0 while it does not"},
    {NULL},
};

/* A sleeping BMS wakes on a request without answering it (V11 protocol, section 1); an awake
 * one starts answering within ~150 ms. So when the first request of a poll meets this share of
 * the Timeout in silence it is sent again, and the two together still fail within one Timeout. */
#define WAKE_SILENCE_SHARE 0.4

/* Reads one register into its payload; when wake is set, resends once after silence. */
static int read_register(struct solar_device *dev, uint8_t reg, uint8_t *frame,
                         const uint8_t **data, size_t *len, bool wake)
{
    uint8_t request[JBD_REQUEST_LEN];
    jbd_request_build(reg, request);
    int timeout_ms = (int)(dev->config->timeout * 1000);
    int silence_ms = wake ? (int)(timeout_ms * WAKE_SILENCE_SHARE) : 0;
    int64_t start = solar_now_ms();
    long n = solar_exchange(dev, request, sizeof(request), frame, JBD_FRAME_MAX, jbd_frame_find,
                            &reg, timeout_ms, silence_ms);
    int left_ms = timeout_ms - (int)(solar_now_ms() - start);
    if (n == -SOLAR_ETIMEDOUT && wake && left_ms > 0)
        n = solar_exchange(dev, request, sizeof(request), frame, JBD_FRAME_MAX, jbd_frame_find,
                           &reg, left_ms, 0);
    if (n < 0)
        return (int)n;
    return jbd_frame_check(frame, (size_t)n, reg, data, len);
}

static int jbd_connect(struct solar_device *dev)
{
    struct jbd_state *state = dev->state;
    uint8_t frame[JBD_FRAME_MAX];
    const uint8_t *data;
    size_t len;
    int err = read_register(dev, JBD_REG_HW_VERSION, frame, &data, &len, true);
    if (err == -SOLAR_EDEVICE) {
        /* Some clones do not know register 0x05; the data registers still work. */
        strcpy(state->model, "unknown");
    } else if (err < 0 ||
               (err = jbd_hw_version_decode(data, len, state->model, sizeof(state->model))) < 0) {
        return err;
    }
    solar_device_log(dev, SOLAR_LOG_INFO, "connected to BMS model \"%s\"", state->model);
    return 0;
}

static void emit_cells(struct solar_device *dev, const struct jbd_cells *cells, uint32_t balancing)
{
    double lo = NAN, hi = NAN;
    for (unsigned i = 0; i < cells->count; i++) {
        double v = cells->voltage[i];
        solar_emit_indexed(dev, "voltage", "cell", i + 1, v);
        lo = i == 0 || v < lo ? v : lo;
        hi = i == 0 || v > hi ? v : hi;
    }
    solar_emit(dev, "voltage", "cell_min", lo);
    solar_emit(dev, "voltage", "cell_max", hi);
    solar_emit(dev, "voltage", "cell_delta", hi - lo);
    for (unsigned i = 0; i < cells->count; i++)
        solar_emit_indexed(dev, "bool", "balancing_cell", i + 1, (balancing >> i) & 1);
}

static void emit_basic(struct solar_device *dev, const struct jbd_basic_info *info)
{
    struct jbd_state *state = dev->state;
    for (size_t i = 0; i < sizeof(basic_fields) / sizeof(basic_fields[0]); i++)
        solar_emit(dev, basic_fields[i].type, basic_fields[i].type_instance,
                   *(const double *)((const char *)info + basic_fields[i].offset));
    for (unsigned i = 0; i < info->ntc_count; i++)
        solar_emit_numbered(dev, "temperature", "ntc", i + 1, info->ntc[i]);
    const char *protection[JBD_PROTECTION_BITS];
    for (unsigned i = 0; i < JBD_PROTECTION_BITS; i++)
        protection[i] = jbd_protection_name(i);
    solar_emit_flags(dev, "protection", protection, JBD_PROTECTION_BITS, info->protection,
                     &state->protection);
    if (info->extended)
        solar_emit_flags(dev, "alarm", alarm_names, sizeof(alarm_names) / sizeof(alarm_names[0]),
                         info->alarm, &state->alarm);
}

static int jbd_poll(struct solar_device *dev)
{
    uint8_t frame[JBD_FRAME_MAX];
    const uint8_t *data;
    size_t len;
    struct jbd_basic_info info;
    struct jbd_cells cells;

    int err = read_register(dev, JBD_REG_BASIC_INFO, frame, &data, &len, true);
    if (err < 0 || (err = jbd_basic_info_decode(data, len, &info)) < 0)
        return err;
    err = read_register(dev, JBD_REG_CELLS, frame, &data, &len, false);
    if (err < 0 || (err = jbd_cells_decode(data, len, &cells)) < 0)
        return err;

    emit_basic(dev, &info);
    emit_cells(dev, &cells, info.balancing);
    return 0;
}

const struct solar_driver jbd_driver = {
    .name = "jbd",
    .description = "JBD / Xiaoxiang / Overkill / ECO-WORTHY BMS (DD ... 77 over UART, RS485, "
                   "Bluetooth SPP, TCP)",
    .port_kinds = SOLAR_PORT_SERIAL | SOLAR_PORT_TCP,
    .default_baud = 9600,
    .default_timeout = 1.0,
    /* An awake BMS answers within ~150 ms; a sleeping one is woken inside the Timeout. */
    .probe_timeout = 0.5,
    /* 0x77 may also occur inside a frame (a cell voltage, the checksum): the reader then wakes
     * early and reads on, still once or twice per reply rather than once per FIFO load. */
    .line_end = JBD_END,
    .options = NULL,
    .config_size = sizeof(struct solar_config),
    .state_size = sizeof(struct jbd_state),
    .metrics = jbd_metrics,
    .connect = jbd_connect,
    .poll = jbd_poll,
};
