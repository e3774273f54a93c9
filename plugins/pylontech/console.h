/* Pylontech RS232 console (`pylon>`): pure framing and parsing of the `pwr`, `bat N` and `soh N`
 * answers. Nothing here does I/O, allocates or logs.
 *
 * An answer is the echo of the command, '@', the body, "Command completed successfully" (not
 * after errors), "$$" and the prompt (`pylon>`, `pylon_debug>`, `PYTES>` ...). Lines end in any
 * mix of CR and LF. Long answers stop at the pager line "Press [Enter] to be continued,other key
 * to exit", which must be answered with CR. Tables are parsed by their header's column names
 * (firmware adds and moves columns), values are converted from mV, mA, m°C to V, A, °C; a
 * field printed as '-' is NAN. */
#ifndef PYLONTECH_CONSOLE_H
#define PYLONTECH_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PYLONTECH_CONSOLE_ROWS  16
#define PYLONTECH_CONSOLE_CELLS 24
#define PYLONTECH_CONSOLE_STATE 16

/* What the console framer waits for. */
enum pylontech_console_wait {
    PYLONTECH_CONSOLE_ANSWER, /* "$$" then a prompt, or the pager line */
    PYLONTECH_CONSOLE_PROMPT, /* any prompt at the end: the console is awake */
};

/* Framer for solar_port_read_frame(); arg points to an enum pylontech_console_wait (NULL: an
 * answer). Returns the length up to the end of the prompt (or of the pager line), 0 while it is
 * not there yet. */
long pylontech_console_find(const uint8_t *buf, size_t len, const void *arg);

/* True when text (an answer found by the framer) stops at the pager line. */
bool pylontech_console_paged(const char *text, size_t len);

/* Judges an answer: 0, -SOLAR_EUNSUPPORT for "Unknown command", -SOLAR_EDEVICE for "Invalid
 * command or fail to excute" (sic), -SOLAR_EFRAME without an '@' body or without the line
 * "Command completed successfully". */
int pylontech_console_check(const char *text, size_t len);

struct pylontech_pwr_row {
    unsigned pack;                        /* the Power column: 1 = master */
    bool present;                         /* false for "Absent" rows, whose other fields are NAN */
    double voltage, current, temperature; /* V, A, degC */
    double temp_low, temp_high;           /* degC (Tlow, Thigh) */
    double cell_low, cell_high;           /* V (Vlow, Vhigh) */
    double soc;                           /* % (Coulomb) */
    double mos_temperature;               /* degC, NAN when not printed */
    char base_state[PYLONTECH_CONSOLE_STATE]; /* Charge, Dischg, Idle, Balance ... */
    bool charging, discharging;
    unsigned abnormal; /* bit per status column not "Normal": Volt, Curr, Temp, B.V, B.T, M.T */
};

#define PYLONTECH_PWR_ABNORMAL_COLUMNS 6

struct pylontech_pwr {
    unsigned count;
    struct pylontech_pwr_row rows[PYLONTECH_CONSOLE_ROWS];
};

/* Parses a `pwr` answer. Returns 0, or -SOLAR_EFRAME without a header line or with a row the
 * header does not fit; more rows than kept are ignored. */
int pylontech_pwr_parse(const char *text, size_t len, struct pylontech_pwr *out);

struct pylontech_bat_cell {
    double voltage, current, temperature; /* V, A (NAN without a Curr column), degC */
    double soc;                           /* % */
    double coulomb_ah;                    /* Ah */
    int balancing;                        /* 1 = Y, 0 = N, -1: no BAL column */
};

struct pylontech_bat {
    unsigned count;
    struct pylontech_bat_cell cells[PYLONTECH_CONSOLE_CELLS];
};

/* Parses a `bat N` answer (one row per cell). Returns 0 or -SOLAR_EFRAME. */
int pylontech_bat_parse(const char *text, size_t len, struct pylontech_bat *out);

struct pylontech_soh {
    unsigned count;
    double voltage[PYLONTECH_CONSOLE_CELLS]; /* V */
    double soh_count[PYLONTECH_CONSOLE_CELLS];
    bool normal[PYLONTECH_CONSOLE_CELLS];
};

/* Parses a `soh N` answer. Returns 0 or -SOLAR_EFRAME. */
int pylontech_soh_parse(const char *text, size_t len, struct pylontech_soh *out);

#endif
