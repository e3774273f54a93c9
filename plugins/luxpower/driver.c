/* LuxPower / EG4 driver. Three transports read the same 40-register input banks: Modbus RTU on
 * the INV485 port and Modbus TCP to an RS485 gateway (both through libmodbus, which opens its
 * own descriptor, so each bank read holds the bus lock and carries libmodbus's own deadline),
 * and the Wi-Fi dongle's port-8000 framing over a TCP port this driver keeps open.
 *
 * Banks 0-119 are read every poll, banks 120-239 every SlowInterval. A bank that fails with an
 * exception or a timeout loses only its own values; the poll fails when no bank answered.
 * Everything is read first, then emitted through the register table. */
#include "driver.h"
#include "protocol.h"

#include <errno.h>
#include <math.h>
#include <modbus.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SLOW_BANKS        (((1u << LUXPOWER_BANKS) - 1) & ~LUXPOWER_FAST_BANKS)
#define DONGLE_PORT       "8000"
#define MODBUS_TCP_PORT   "502"
#define DONGLE_MIN_GAP_MS 5000 /* a dongle cannot sustain faster polls (notes, section 7) */
#define DONGLE_JITTER_MS  250
#define BYTE_TIMEOUT_MAX  0.25 /* s between two bytes of one Modbus reply */

struct luxpower_config {
    struct solar_config common;
    int slave;
    char banks[64];
    double slow_interval;
    char datalog[LUXPOWER_SERIAL_LEN + 1];
    char serial[LUXPOWER_SERIAL_LEN + 1];
};

/* Reads count registers of function fc at reg into out (host order). */
typedef int (*luxpower_read_fn)(struct solar_device *dev, unsigned fc, unsigned reg, unsigned count,
                                uint16_t *out);

struct luxpower_state {
    luxpower_read_fn read;
    modbus_t *mb;            /* RTU and TCP */
    struct solar_port *port; /* dongle */
    char dongle_spec[300];   /* tcp:HOST:PORT */
    int64_t last_poll_ms;    /* dongle */
    bool gap_logged;
    unsigned banks;     /* bank mask chosen by Banks */
    unsigned failed;    /* banks whose failure was logged, for the recovery line */
    unsigned exception; /* code of the last exception reply, for the log */
    uint64_t spiking[LUXPOWER_MAX_ROWS / 64]; /* rows whose last value was dropped */
    int64_t slow_due_ms;
    char serial[LUXPOWER_SERIAL_LEN + 1];
    char firmware[8];
    unsigned model;
    bool model_known;
    int status;
    bool status_known;
    struct solar_flags fault, warning;
    uint16_t input[LUXPOWER_INPUT_COUNT];
};

static const struct solar_option luxpower_options[] = {
    SOLAR_OPTION_NUMBER("Slave", SOLAR_OPT_INT, struct luxpower_config, slave, "1", 0, 247,
                        "Modbus unit address of the inverter (RTU and modbus-tcp)"),
    SOLAR_OPTION_STRING("Banks", struct luxpower_config, banks, "0-239",
                        "input registers to read, as ranges (\"0-119,200-239\"); whole "
                        "40-register banks of each range are read"),
    SOLAR_OPTION_NUMBER("SlowInterval", SOLAR_OPT_DOUBLE, struct luxpower_config, slow_interval,
                        "60", 0, 86400, "seconds between reads of banks 120-239 (0: every poll)"),
    SOLAR_OPTION_STRING("Datalog", struct luxpower_config, datalog, "",
                        "the Wi-Fi dongle's serial, 10 characters (required for luxdongle ports)"),
    SOLAR_OPTION_STRING("Serial", struct luxpower_config, serial, "",
                        "the inverter's serial, 10 characters (default: learned)"),
    {NULL},
};

/* Metrics besides the register table's rows. */
static const struct solar_metric_doc extra_metrics[] = {
    {"energy", "pv_today", "kWh", "PV energy today, all strings"},
    {"energy", "pv_total", "kWh", "PV energy, lifetime, all strings"},
    {"bool", "fault_NAME", "",
     "FaultCode bit set: e000_internal_comm_1, e001_model, e002_bat_on_mos, e003_ct, "
     "e008_parallel_can_comm ... e031_internal_comm_4 (notified on change)"},
    {"bool", "warning_NAME", "",
     "WarningCode bit set: w000_battery_comm ... w031_dcv_high (notified on change)"},
    {"bool", "up", "", "1 while the inverter answers, 0 while it does not"},
};

#define N_EXTRA (sizeof(extra_metrics) / sizeof(extra_metrics[0]))
#define N_DOCS  (LUXPOWER_MAX_ROWS + N_EXTRA + 1)

/* The metric reference is the register table plus the rows above, so that a new register row
 * is documented by being written; built once when the library is loaded. */
static struct solar_metric_doc luxpower_metrics[N_DOCS];

__attribute__((constructor)) static void luxpower_metrics_build(void)
{
    size_t n = 0;
    for (size_t i = 0; i < luxpower_register_count && i < LUXPOWER_MAX_ROWS; i++) {
        const struct luxpower_register *r = &luxpower_registers[i];
        luxpower_metrics[n++] =
            (struct solar_metric_doc){r->type, r->type_instance, r->unit, r->help};
    }
    for (size_t i = 0; i < N_EXTRA; i++)
        luxpower_metrics[n++] = extra_metrics[i];
}

static struct luxpower_config *config_of(struct solar_device *dev)
{
    return (struct luxpower_config *)dev->config;
}

/* --- Banks --- */

/* Parses "0-119,200-239" into the mask of banks the ranges touch. */
static int banks_parse(const char *text, unsigned *mask)
{
    *mask = 0;
    const char *p = text;
    while (*p) {
        char *end;
        long lo = strtol(p, &end, 10), hi = lo;
        if (end == p)
            return -EINVAL;
        if (*end == '-') {
            p = end + 1;
            hi = strtol(p, &end, 10);
            if (end == p)
                return -EINVAL;
        }
        if (lo < 0 || hi < lo || hi >= LUXPOWER_INPUT_COUNT)
            return -EINVAL;
        for (long b = lo / LUXPOWER_BANK_SIZE; b <= hi / LUXPOWER_BANK_SIZE; b++)
            *mask |= 1u << b;
        p = end;
        if (*p == ',')
            p++;
        else if (*p)
            return -EINVAL;
    }
    return *mask ? 0 : -EINVAL;
}

/* --- Modbus RTU and TCP through libmodbus --- */

static int mb_error(int err)
{
    if (err == ETIMEDOUT)
        return -SOLAR_ETIMEDOUT;
    if (err > MODBUS_ENOBASE && err <= EMBXGTAR)
        return -SOLAR_EDEVICE;
    switch (err) {
    case EMBBADCRC:
        return -SOLAR_EBADCRC;
    case EMBBADSLAVE:
        return -SOLAR_EMISMATCH;
    case EMBBADDATA:
    case EMBBADEXC:
    case EMBMDATA:
        return -SOLAR_EFRAME;
    case EMBUNKEXC:
        return -SOLAR_EDEVICE;
    default:
        return err > 0 && err < MODBUS_ENOBASE ? -err : -EIO;
    }
}

static int mb_read(struct solar_device *dev, unsigned fc, unsigned reg, unsigned count,
                   uint16_t *out)
{
    struct luxpower_state *state = dev->state;
    solar_bus_lock(dev);
    /* A late answer to a request that timed out must not be taken for this one. */
    modbus_flush(state->mb);
    int n = fc == LUXPOWER_FC_READ_INPUT
                ? modbus_read_input_registers(state->mb, (int)reg, (int)count, out)
                : modbus_read_registers(state->mb, (int)reg, (int)count, out);
    int err = n < 0 ? mb_error(errno) : n == (int)count ? 0 : -SOLAR_ESHORT;
    if (n < 0 && errno > MODBUS_ENOBASE && errno <= EMBXGTAR)
        state->exception = (unsigned)(errno - MODBUS_ENOBASE);
    solar_bus_unlock(dev);
    return err;
}

/* Splits "HOST[:PORT]" into host and service, with a default service. */
static int host_split(const char *address, const char *def, char *host, size_t hcap, char *service,
                      size_t scap)
{
    const char *colon = strrchr(address, ':');
    size_t hlen = colon ? (size_t)(colon - address) : strlen(address);
    if (hlen == 0 || hlen >= hcap || (colon && (colon[1] == '\0' || strlen(colon + 1) >= scap)))
        return -EINVAL;
    memcpy(host, address, hlen);
    host[hlen] = '\0';
    snprintf(service, scap, "%s", colon ? colon + 1 : def);
    return 0;
}

static void timeout_split(double seconds, uint32_t *sec, uint32_t *usec)
{
    *sec = (uint32_t)seconds;
    *usec = (uint32_t)((seconds - *sec) * 1e6);
}

static int mb_open(struct solar_device *dev, enum solar_port_kind kind, const char *address)
{
    struct luxpower_state *state = dev->state;
    struct luxpower_config *cfg = config_of(dev);
    /* libmodbus opens the tty itself, a descriptor per device: the line is claimed for the
     * bus first, so that a second master is refused before libmodbus configures the line. */
    int claimed = solar_bus_claim_line(dev);
    if (claimed < 0)
        return claimed;
    if (kind == SOLAR_PORT_SERIAL) {
        state->mb = modbus_new_rtu(address, cfg->common.baud, 'N', 8, 1);
    } else {
        char host[256], service[32];
        if (host_split(address, MODBUS_TCP_PORT, host, sizeof(host), service, sizeof(service)))
            return -EINVAL;
        state->mb = modbus_new_tcp_pi(host, service);
    }
    if (!state->mb)
        return errno ? -errno : -ENOMEM;
    uint32_t sec, usec;
    /* The first byte within Timeout. libmodbus waits for each later byte afresh: a short
     * limit there bounds a trickling reply (a whole RTU reply streams in milliseconds; a
     * gateway sends it in one segment or a few). */
    timeout_split(cfg->common.timeout, &sec, &usec);
    modbus_set_response_timeout(state->mb, sec, usec);
    double byte_timeout = cfg->common.timeout / 2;
    timeout_split(byte_timeout < BYTE_TIMEOUT_MAX ? byte_timeout : BYTE_TIMEOUT_MAX, &sec, &usec);
    modbus_set_byte_timeout(state->mb, sec, usec);
    modbus_set_slave(state->mb, cfg->slave);
    if (modbus_connect(state->mb) < 0) {
        int err = errno;
        modbus_free(state->mb);
        state->mb = NULL;
        return err == ENOENT || err == EACCES || err == ECONNREFUSED ? -err : mb_error(err);
    }
    state->read = mb_read;
    return 0;
}

/* --- the Wi-Fi dongle --- */

static void dongle_close(struct luxpower_state *state)
{
    solar_port_close(state->port);
    state->port = NULL;
}

/* Echoes a heartbeat the framer kept: without it a dongle that has no cloud stays silent. */
static void dongle_echo(struct luxpower_state *state, struct luxpower_dongle_seen *seen,
                        int64_t deadline)
{
    uint8_t echo[sizeof(seen->heartbeat)];
    size_t n =
        luxpower_dongle_heartbeat_reply(seen->heartbeat, seen->heartbeat_len, echo, sizeof(echo));
    if (n > 0 && state->port)
        solar_port_write(state->port, echo, n, deadline);
    seen->heartbeat_len = 0;
}

/* Reads what the dongle pushed since the last exchange (heartbeats, cloud uploads), answering
 * heartbeats and learning the inverter serial, until wait_ms pass in silence. */
static void dongle_collect(struct solar_device *dev, struct luxpower_dongle_seen *seen, int wait_ms,
                           int limit_ms)
{
    struct luxpower_state *state = dev->state;
    struct luxpower_dongle_match collect = {.seen = seen};
    uint8_t buf[LUXPOWER_DONGLE_FRAME_MAX];
    int64_t now = solar_now_ms();
    long r = solar_port_read_frame(state->port, buf, sizeof(buf), luxpower_dongle_frame_find,
                                   &collect, now + wait_ms, now + limit_ms);
    if (r == -SOLAR_ESHORT || r > 0) /* noise filling the buffer, or a damaged frame */
        solar_port_drain(state->port);
    else if (r < 0 && r != -SOLAR_ETIMEDOUT)
        dongle_close(state);
    if (seen->heartbeat_len)
        dongle_echo(state, seen, solar_now_ms() + 1000);
    if (!state->serial[0] && seen->serial[0])
        memcpy(state->serial, seen->serial, sizeof(state->serial));
}

static int dongle_dial(struct solar_device *dev, struct luxpower_dongle_seen *seen)
{
    struct luxpower_state *state = dev->state;
    int64_t deadline = solar_now_ms() + (int64_t)(dev->config->timeout * 1000);
    int err = solar_port_open(state->dongle_spec, 0, deadline, &state->port);
    if (err < 0)
        return err;
    /* Right after connect a dongle may replay junk or pushed frames: read them away. */
    dongle_collect(dev, seen, 100, 1000);
    return state->port ? 0 : -EPIPE;
}

static int dongle_exchange(struct solar_device *dev, const uint8_t *req,
                           const struct luxpower_dongle_match *m, uint8_t *buf, size_t cap)
{
    struct luxpower_state *state = dev->state;
    int err = 0;
    if (!state->port)
        err = dongle_dial(dev, m->seen);
    if (err == 0 && state->port)
        dongle_collect(dev, m->seen, 0, 0);
    m->seen->damaged = 0; /* only what comes after the request speaks for its reply */
    if (err == 0 && !state->port)
        err = -EPIPE;
    int64_t deadline = solar_now_ms() + (int64_t)(dev->config->timeout * 1000);
    if (err == 0)
        err = solar_port_write(state->port, req, LUXPOWER_DONGLE_REQUEST, deadline);
    long n = err;
    if (err == 0)
        n = solar_port_read_frame(state->port, buf, cap, luxpower_dongle_frame_find, m, deadline,
                                  deadline);
    if (m->seen->heartbeat_len && state->port)
        dongle_echo(state, m->seen, deadline);
    if (n == -SOLAR_ETIMEDOUT && m->seen->damaged)
        n = m->seen->damaged; /* the reply came, damaged: say so rather than "no reply" */
    /* A dongle can go deaf on a half-open connection: after any failure, dial again. */
    if (n < 0 && n != -SOLAR_EBADCRC && n != -SOLAR_EFRAME)
        dongle_close(state);
    return (int)n;
}

static int dongle_read(struct solar_device *dev, unsigned fc, unsigned reg, unsigned count,
                       uint16_t *out)
{
    struct luxpower_state *state = dev->state;
    struct luxpower_config *cfg = config_of(dev);
    struct luxpower_dongle_seen seen = {0};
    const char *serial = cfg->serial[0] ? cfg->serial : state->serial;
    struct luxpower_dongle_match m = {fc, reg, count, serial, &seen};
    uint8_t req[LUXPOWER_DONGLE_REQUEST];
    uint8_t buf[LUXPOWER_DONGLE_FRAME_MAX];
    luxpower_dongle_request_build(cfg->datalog, serial, fc, reg, count, req);

    solar_bus_lock(dev);
    long n = dongle_exchange(dev, req, &m, buf, sizeof(buf));
    solar_bus_unlock(dev);
    if (n < 0)
        return (int)n;
    struct luxpower_dongle_frame f;
    int err = luxpower_dongle_frame_decode(buf, (size_t)n, &f);
    if (err == 0)
        err = luxpower_dongle_reply_check(&f, &m);
    if (err == -SOLAR_EDEVICE)
        state->exception = f.exception_code;
    if (err < 0)
        return err;
    luxpower_dongle_values(&f, out);
    if (!state->serial[0])
        memcpy(state->serial, f.serial, sizeof(state->serial));
    return 0;
}

static int dongle_open(struct solar_device *dev, const char *address)
{
    struct luxpower_state *state = dev->state;
    char host[256], service[32];
    if (host_split(address, DONGLE_PORT, host, sizeof(host), service, sizeof(service)))
        return -EINVAL;
    snprintf(state->dongle_spec, sizeof(state->dongle_spec), "tcp:%s:%s", host, service);
    struct luxpower_config *cfg = config_of(dev);
    if (!cfg->datalog[0]) {
        solar_device_log(dev, SOLAR_LOG_ERR, "a luxdongle port needs Datalog, the dongle's serial");
        return -EINVAL;
    }
    /* The dongle matches serials byte for byte: a short one would never be answered. */
    if (strlen(cfg->datalog) != LUXPOWER_SERIAL_LEN ||
        (cfg->serial[0] && strlen(cfg->serial) != LUXPOWER_SERIAL_LEN)) {
        solar_device_log(dev, SOLAR_LOG_ERR, "Datalog and Serial must have 10 characters");
        return -EINVAL;
    }
    if (dev->config->interval > 0 && dev->config->interval * 1000 < DONGLE_MIN_GAP_MS)
        solar_device_log(dev, SOLAR_LOG_WARNING,
                         "Interval %g s is below the dongle's 5 s: polls come 5 s apart",
                         dev->config->interval);
    state->read = dongle_read;
    return 0;
}

/* --- connect, poll --- */

static void luxpower_disconnect(struct solar_device *dev)
{
    struct luxpower_state *state = dev->state;
    if (state->mb) {
        modbus_close(state->mb);
        modbus_free(state->mb);
        state->mb = NULL;
    }
    dongle_close(state);
}

/* The first read after opening a line often times out (notes, section 6.2): one retry. */
static int read_retry(struct solar_device *dev, unsigned fc, unsigned reg, unsigned count,
                      uint16_t *out)
{
    struct luxpower_state *state = dev->state;
    int err = state->read(dev, fc, reg, count, out);
    if (err == -SOLAR_ETIMEDOUT)
        err = state->read(dev, fc, reg, count, out);
    return err;
}

static int identify(struct solar_device *dev)
{
    struct luxpower_state *state = dev->state;
    uint16_t words[LUXPOWER_HOLD_MODEL - LUXPOWER_HOLD_FW + 1];
    int err = read_retry(dev, LUXPOWER_FC_READ_INPUT, LUXPOWER_INPUT_SERIAL, 5, words);
    if (err == 0)
        luxpower_ascii_decode(words, 5, state->serial);
    else if (err != -SOLAR_EDEVICE)
        return err;
    const char *want = config_of(dev)->serial;
    if (want[0] && state->serial[0] && strcmp(want, state->serial) != 0)
        solar_device_log(dev, SOLAR_LOG_WARNING, "inverter serial is %s, Serial says %s",
                         state->serial, want);
    /* Holding registers are identity only: a unit refusing them is still read. */
    if (state->read(dev, LUXPOWER_FC_READ_HOLD, LUXPOWER_HOLD_FW,
                    LUXPOWER_HOLD_MODEL - LUXPOWER_HOLD_FW + 1, words) == 0) {
        luxpower_ascii_decode(words, 2, state->firmware);
        state->model = words[LUXPOWER_HOLD_MODEL - LUXPOWER_HOLD_FW];
        state->model_known = true;
    }
    const char *model = state->model_known ? luxpower_model_name(state->model) : NULL;
    solar_device_log(dev, SOLAR_LOG_INFO, "connected to inverter %s, model %s (%u), firmware %s",
                     state->serial[0] ? state->serial : "(serial unknown)",
                     model ? model : "unknown", state->model,
                     state->firmware[0] ? state->firmware : "unknown");
    return 0;
}

static int luxpower_connect(struct solar_device *dev)
{
    struct luxpower_state *state = dev->state;
    struct luxpower_config *cfg = config_of(dev);
    if (banks_parse(cfg->banks, &state->banks) < 0) {
        solar_device_log(dev, SOLAR_LOG_ERR, "Banks \"%s\": not ranges of registers 0-239",
                         cfg->banks);
        return -EINVAL;
    }
    const char *address;
    enum solar_port_kind kind = solar_port_kind_parse(cfg->common.port, &address);
    int err =
        kind == SOLAR_PORT_LUXDONGLE ? dongle_open(dev, address) : mb_open(dev, kind, address);
    if (err == 0)
        err = identify(dev);
    if (err < 0)
        luxpower_disconnect(dev);
    return err;
}

/* Reads the banks due now into the image; returns the mask of banks read. */
static unsigned read_banks(struct solar_device *dev, unsigned due, int *last_err)
{
    struct luxpower_state *state = dev->state;
    unsigned got = 0, silent = 0;
    for (unsigned b = 0; b < LUXPOWER_BANKS; b++) {
        if (!(due & (1u << b)))
            continue;
        unsigned reg = b * LUXPOWER_BANK_SIZE;
        int err =
            state->read(dev, LUXPOWER_FC_READ_INPUT, reg, LUXPOWER_BANK_SIZE, state->input + reg);
        if (err == 0) {
            got |= 1u << b;
            if (state->failed & (1u << b))
                solar_device_log(dev, SOLAR_LOG_INFO, "input %u-%u answers again", reg,
                                 reg + LUXPOWER_BANK_SIZE - 1);
            state->failed &= ~(1u << b);
            continue;
        }
        *last_err = err;
        /* A broken connection fails the poll: the core reconnects. Two silent banks and none
         * answered: the inverter is gone, and waiting a Timeout for each other bank would
         * only hold the read thread. */
        if (solar_port_error_is_fatal(err) || (err == -SOLAR_ETIMEDOUT && !got && ++silent == 2))
            return 0;
        char code[24] = "";
        if (err == -SOLAR_EDEVICE)
            snprintf(code, sizeof(code), " (exception %u)", state->exception);
        if (!(state->failed & (1u << b)))
            solar_device_log(dev, SOLAR_LOG_WARNING, "input %u-%u: %s%s; its values are skipped",
                             reg, reg + LUXPOWER_BANK_SIZE - 1, solar_strerror(err), code);
        state->failed |= 1u << b;
    }
    return got;
}

static void emit_status(struct solar_device *dev, int status)
{
    struct luxpower_state *state = dev->state;
    if (state->status_known && status != state->status) {
        const char *name = luxpower_status_name((unsigned)status);
        char code[16];
        snprintf(code, sizeof(code), "0x%02X", (unsigned)status);
        solar_notify(dev, SOLAR_SEVERITY_OKAY, "status %s (%s)", name ? name : "unknown", code);
    }
    state->status = status;
    state->status_known = true;
}

static void emit_sum(struct solar_device *dev, const char *type_instance, const double *v, int n)
{
    double sum = 0;
    for (int i = 0; i < n; i++)
        sum += v[i];
    solar_emit(dev, "energy", type_instance, sum);
}

/* Decodes row i; a value outside its range is dropped, and logged when a run of them starts
 * (a model without PV3 may answer 0xFFFF there on every poll). */
static bool value_plausible(struct solar_device *dev, size_t i, double *v)
{
    struct luxpower_state *state = dev->state;
    const struct luxpower_register *r = &luxpower_registers[i];
    uint64_t bit = (uint64_t)1 << (i % 64);
    uint64_t *word = &state->spiking[i / 64];
    if (luxpower_register_decode(r, state->input, v) == 0) {
        *word &= ~bit;
        return true;
    }
    if (!(*word & bit))
        solar_device_log(dev, SOLAR_LOG_WARNING,
                         "input %u (%s-%s): %g outside %g..%g, dropped as a spike", r->reg, r->type,
                         r->type_instance, *v, r->min, r->max);
    *word |= bit;
    return false;
}

static void emit_registers(struct solar_device *dev, unsigned got)
{
    struct luxpower_state *state = dev->state;
    double pv_today[3] = {NAN, NAN, NAN}, pv_total[3] = {NAN, NAN, NAN};
    for (size_t i = 0; i < luxpower_register_count; i++) {
        const struct luxpower_register *r = &luxpower_registers[i];
        if (!(got & (1u << luxpower_bank_of(r->reg))))
            continue;
        double v;
        if (!value_plausible(dev, i, &v))
            continue;
        solar_emit(dev, r->type, r->type_instance, v);
        if (r->reg == 0)
            emit_status(dev, (int)v);
        if (r->reg >= 28 && r->reg <= 30)
            pv_today[r->reg - 28] = v;
        if (r->reg >= 40 && r->reg <= 44)
            pv_total[(r->reg - 40) / 2] = v;
    }
    emit_sum(dev, "pv_today", pv_today, 3);
    emit_sum(dev, "pv_total", pv_total, 3);
    if (got & (1u << luxpower_bank_of(60))) {
        const uint16_t *in = state->input;
        solar_emit_flags(dev, "fault", luxpower_fault_names, 32, in[60] | (uint32_t)in[61] << 16,
                         &state->fault);
        solar_emit_flags(dev, "warning", luxpower_warning_names, 32,
                         in[62] | (uint32_t)in[63] << 16, &state->warning);
    }
}

/* True when a dongle was polled less than 5 s ago. collectd schedules an Interval of 5 s
 * with some jitter: a poll that comes a little early is a poll on time, not a second one. */
static bool dongle_too_soon(struct solar_device *dev, int64_t now)
{
    struct luxpower_state *state = dev->state;
    if (state->last_poll_ms && now - state->last_poll_ms < DONGLE_MIN_GAP_MS - DONGLE_JITTER_MS) {
        if (!state->gap_logged)
            solar_device_log(dev, SOLAR_LOG_WARNING,
                             "polls come faster than the dongle's 5 s: some read nothing");
        state->gap_logged = true;
        return true;
    }
    state->last_poll_ms = now;
    return false;
}

static int luxpower_poll(struct solar_device *dev)
{
    struct luxpower_state *state = dev->state;
    struct luxpower_config *cfg = config_of(dev);
    int64_t now = solar_now_ms();
    if (state->dongle_spec[0] && dongle_too_soon(dev, now))
        return 0; /* this interval reads nothing */
    unsigned due = state->banks & LUXPOWER_FAST_BANKS;
    bool slow = now >= state->slow_due_ms;
    if (slow)
        due |= state->banks & SLOW_BANKS;
    int err = -SOLAR_ETIMEDOUT;
    unsigned got = due ? read_banks(dev, due, &err) : 0;
    if (due && !got)
        return err;
    if (slow && (due & SLOW_BANKS))
        state->slow_due_ms = now + (int64_t)(cfg->slow_interval * 1000);
    emit_registers(dev, got);
    return 0;
}

const struct solar_driver luxpower_driver = {
    .name = "luxpower",
    .description = "LuxPower / EG4 6000XP, 12K, 18kPV, LXP (Modbus RTU, Modbus TCP gateway, "
                   "Wi-Fi dongle port 8000)",
    .port_kinds = SOLAR_PORT_SERIAL | SOLAR_PORT_MODBUS_TCP | SOLAR_PORT_LUXDONGLE,
    .default_baud = 19200,
    .default_timeout = 1.5,
    /* A 5-register read at 19200 baud; identify tries twice (notes, section 6.2). */
    .probe_timeout = 0.5,
    .options = luxpower_options,
    .config_size = sizeof(struct luxpower_config),
    .state_size = sizeof(struct luxpower_state),
    .metrics = luxpower_metrics,
    .connect = luxpower_connect,
    .poll = luxpower_poll,
    .disconnect = luxpower_disconnect,
};
