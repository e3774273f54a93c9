#include "console.h"

#include "error.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PAGER      "Press [Enter] to be continued"
#define PAGER_END  "exit"
#define MAX_TOKENS 40
#define MAX_LINE   512

static const char *find(const char *text, size_t len, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= len; i++)
        if (memcmp(text + i, needle, n) == 0)
            return text + i;
    return NULL;
}

/* Length of text up to the end of a prompt ("word>") that ends it, trailing blanks allowed;
 * 0 when it does not end in one. */
static size_t prompt_end(const char *text, size_t len)
{
    size_t end = len;
    while (end > 0 && isspace((unsigned char)text[end - 1]))
        end--;
    if (end < 2 || text[end - 1] != '>')
        return 0;
    size_t start = end - 1;
    while (start > 0 && (isalnum((unsigned char)text[start - 1]) || text[start - 1] == '_'))
        start--;
    if (start == end - 1 || (start > 0 && text[start - 1] != '\r' && text[start - 1] != '\n'))
        return 0;
    return len;
}

long pylontech_console_find(const uint8_t *buf, size_t len, const void *arg)
{
    const enum pylontech_console_wait *wait = arg;
    const char *text = (const char *)buf;
    if (wait && *wait == PYLONTECH_CONSOLE_PROMPT)
        return (long)prompt_end(text, len);
    const char *pager = find(text, len, PAGER);
    if (pager) {
        const char *end = find(pager, len - (size_t)(pager - text), PAGER_END);
        return end ? (long)(end + strlen(PAGER_END) - text) : 0;
    }
    const char *dollars = find(text, len, "$$");
    if (!dollars)
        return 0;
    return (long)prompt_end(text, len);
}

bool pylontech_console_paged(const char *text, size_t len)
{
    return find(text, len, PAGER) != NULL;
}

int pylontech_console_check(const char *text, size_t len)
{
    if (find(text, len, "Unknown command"))
        return -SOLAR_EUNSUPPORT;
    if (find(text, len, "Invalid command"))
        return -SOLAR_EDEVICE;
    /* Without the terminator line the table may be cut short: never take part of one. */
    if (!find(text, len, "@") || !find(text, len, "Command completed successfully"))
        return -SOLAR_EFRAME;
    return 0;
}

/* Walks text line by line: CR and LF in any mix end a line, empty lines are skipped. */
struct lines {
    const char *p, *end;
};

static bool next_line(struct lines *l, char *line, size_t cap)
{
    while (l->p < l->end && (*l->p == '\r' || *l->p == '\n'))
        l->p++;
    if (l->p >= l->end)
        return false;
    const char *start = l->p;
    while (l->p < l->end && *l->p != '\r' && *l->p != '\n')
        l->p++;
    size_t n = (size_t)(l->p - start);
    if (n >= cap)
        n = cap - 1;
    memcpy(line, start, n);
    line[n] = '\0';
    return true;
}

/* Splits line in place on blanks; returns the token count (at most MAX_TOKENS). */
static unsigned tokenize(char *line, char *tokens[MAX_TOKENS])
{
    unsigned n = 0;
    for (char *save = NULL, *t = strtok_r(line, " \t", &save); t && n < MAX_TOKENS;
         t = strtok_r(NULL, " \t", &save))
        tokens[n++] = t;
    return n;
}

static bool is_index(const char *t)
{
    if (!*t)
        return false;
    for (; *t; t++)
        if (!isdigit((unsigned char)*t))
            return false;
    return true;
}

/* A number scaled by scale; '-', a missing token or text that is not a number give NAN.
 * A trailing '%' is allowed. */
static double number(const char *t, double scale)
{
    if (!t)
        return NAN;
    char *end;
    double v = strtod(t, &end);
    if (end == t || (*end != '\0' && strcmp(end, "%") != 0))
        return NAN;
    return v * scale;
}

/* --- pwr --- */

enum pwr_column {
    COL_POWER,
    COL_VOLT,
    COL_CURR,
    COL_TEMPR,
    COL_TLOW,
    COL_THIGH,
    COL_VLOW,
    COL_VHIGH,
    COL_BASE,
    COL_VOLT_ST,
    COL_CURR_ST,
    COL_TEMP_ST,
    COL_COULOMB,
    COL_BV_ST,
    COL_BT_ST,
    COL_MOS,
    COL_MT_ST,
    COL_COUNT
};

static const char *const pwr_names[COL_COUNT] = {
    "Power",   "Volt",    "Curr",    "Tempr",   "Tlow",   "Thigh",  "Vlow",     "Vhigh",  "Base.St",
    "Volt.St", "Curr.St", "Temp.St", "Coulomb", "B.V.St", "B.T.St", "MosTempr", "M.T.St",
};

/* Status columns whose value other than "Normal" sets a bit of `abnormal`, in its order. */
static const enum pwr_column status_columns[PYLONTECH_PWR_ABNORMAL_COLUMNS] = {
    COL_VOLT_ST, COL_CURR_ST, COL_TEMP_ST, COL_BV_ST, COL_BT_ST, COL_MT_ST};

/* Maps each known column to the index of its token in a data row: "Time" prints two tokens
 * (date and time), unknown columns (Tlow.Id, SysAlarm.St, Barcode ...) one. */
static int pwr_header(char **tokens, unsigned n, int where[COL_COUNT])
{
    for (unsigned c = 0; c < COL_COUNT; c++)
        where[c] = -1;
    int pos = 0;
    for (unsigned i = 0; i < n; i++) {
        for (unsigned c = 0; c < COL_COUNT; c++)
            if (strcmp(tokens[i], pwr_names[c]) == 0)
                where[c] = pos;
        pos += strcmp(tokens[i], "Time") == 0 ? 2 : 1;
    }
    return where[COL_VOLT] < 0 || where[COL_CURR] < 0 ? -SOLAR_EFRAME : 0;
}

static const char *column(char **tokens, unsigned n, const int where[COL_COUNT], enum pwr_column c)
{
    return where[c] >= 0 && (unsigned)where[c] < n ? tokens[where[c]] : NULL;
}

static void pwr_row(char **tokens, unsigned n, const int where[COL_COUNT],
                    struct pylontech_pwr_row *row)
{
    memset(row, 0, sizeof(*row));
    row->pack = (unsigned)atoi(tokens[0]);
    row->voltage = row->current = row->temperature = row->temp_low = row->temp_high = NAN;
    row->cell_low = row->cell_high = row->soc = row->mos_temperature = NAN;
    for (unsigned i = 1; i < n; i++)
        if (strcmp(tokens[i], "Absent") == 0)
            return;
    row->present = true;
#define COL(c) column(tokens, n, where, c)
    row->voltage = number(COL(COL_VOLT), 0.001);
    row->current = number(COL(COL_CURR), 0.001);
    row->temperature = number(COL(COL_TEMPR), 0.001);
    row->temp_low = number(COL(COL_TLOW), 0.001);
    row->temp_high = number(COL(COL_THIGH), 0.001);
    row->cell_low = number(COL(COL_VLOW), 0.001);
    row->cell_high = number(COL(COL_VHIGH), 0.001);
    row->soc = number(COL(COL_COULOMB), 1);
    row->mos_temperature = number(COL(COL_MOS), 0.001);
    const char *base = COL(COL_BASE);
    for (unsigned i = 0; i < PYLONTECH_PWR_ABNORMAL_COLUMNS; i++) {
        const char *st = COL(status_columns[i]);
        if (st && strcmp(st, "Normal") != 0 && strcmp(st, "-") != 0)
            row->abnormal |= 1u << i;
    }
#undef COL
    if (base) {
        strncpy(row->base_state, base, sizeof(row->base_state) - 1);
        row->charging = strcmp(base, "Charge") == 0;
        row->discharging = strcmp(base, "Dischg") == 0;
    }
}

int pylontech_pwr_parse(const char *text, size_t len, struct pylontech_pwr *out)
{
    struct lines l = {text, text + len};
    char line[MAX_LINE], *tokens[MAX_TOKENS];
    int where[COL_COUNT];
    bool header = false;
    out->count = 0;
    while (next_line(&l, line, sizeof(line))) {
        unsigned n = tokenize(line, tokens);
        if (n >= 2 && strcmp(tokens[0], "Power") == 0 && strcmp(tokens[1], "Volt") == 0) {
            if (pwr_header(tokens, n, where) < 0)
                return -SOLAR_EFRAME;
            header = true;
        } else if (header && n >= 2 && is_index(tokens[0])) {
            if (out->count == PYLONTECH_CONSOLE_ROWS)
                continue;
            struct pylontech_pwr_row *row = &out->rows[out->count];
            pwr_row(tokens, n, where, row);
            if (row->present && isnan(row->voltage))
                return -SOLAR_EFRAME;
            out->count++;
        }
    }
    return header ? 0 : -SOLAR_EFRAME;
}

/* --- bat N --- */

struct bat_layout {
    bool current, soc, balance;
};

/* One cell row, by column order: index, Volt, [Curr], Tempr, the state words, then the first
 * "NN%" (SOC, or the Coulomb percentage of older firmware), the Coulomb mAh, [BAL]. */
static int bat_row(char **tokens, unsigned n, const struct bat_layout *layout,
                   struct pylontech_bat_cell *cell)
{
    unsigned i = 1;
    cell->voltage = number(i < n ? tokens[i++] : NULL, 0.001);
    cell->current = layout->current ? number(i < n ? tokens[i++] : NULL, 0.001) : NAN;
    cell->temperature = number(i < n ? tokens[i++] : NULL, 0.001);
    while (i < n && tokens[i][strlen(tokens[i]) - 1] != '%')
        i++;
    cell->soc = number(i < n ? tokens[i++] : NULL, 1);
    cell->coulomb_ah = number(i < n ? tokens[i++] : NULL, 0.001);
    if (i < n && strcasecmp(tokens[i], "mAH") == 0)
        i++;
    cell->balancing = -1;
    if (layout->balance && i < n)
        cell->balancing = strcmp(tokens[i], "Y") == 0 ? 1 : 0;
    return isnan(cell->voltage) || isnan(cell->temperature) ? -SOLAR_EFRAME : 0;
}

int pylontech_bat_parse(const char *text, size_t len, struct pylontech_bat *out)
{
    struct lines l = {text, text + len};
    char line[MAX_LINE], *tokens[MAX_TOKENS];
    struct bat_layout layout = {false, false, false};
    bool header = false;
    out->count = 0;
    while (next_line(&l, line, sizeof(line))) {
        unsigned n = tokenize(line, tokens);
        if (n >= 2 && strcmp(tokens[0], "Battery") == 0 && strcmp(tokens[1], "Volt") == 0) {
            header = true;
            for (unsigned i = 2; i < n; i++) {
                layout.current |= strcmp(tokens[i], "Curr") == 0;
                layout.soc |= strcmp(tokens[i], "SOC") == 0;
                layout.balance |= strcmp(tokens[i], "BAL") == 0;
            }
        } else if (header && n >= 3 && is_index(tokens[0])) {
            if (out->count == PYLONTECH_CONSOLE_CELLS)
                return -SOLAR_EFRAME;
            if (bat_row(tokens, n, &layout, &out->cells[out->count]) < 0)
                return -SOLAR_EFRAME;
            out->count++;
        }
    }
    return header ? 0 : -SOLAR_EFRAME;
}

/* --- soh N --- */

int pylontech_soh_parse(const char *text, size_t len, struct pylontech_soh *out)
{
    struct lines l = {text, text + len};
    char line[MAX_LINE], *tokens[MAX_TOKENS];
    bool header = false;
    out->count = 0;
    while (next_line(&l, line, sizeof(line))) {
        unsigned n = tokenize(line, tokens);
        if (n >= 3 && strcmp(tokens[0], "Battery") == 0 && strcmp(tokens[1], "Voltage") == 0) {
            header = true;
        } else if (header && n >= 4 && is_index(tokens[0])) {
            if (out->count == PYLONTECH_CONSOLE_CELLS)
                return -SOLAR_EFRAME;
            unsigned k = out->count++;
            out->voltage[k] = number(tokens[1], 0.001);
            out->soh_count[k] = number(tokens[2], 1);
            out->normal[k] = strcmp(tokens[3], "Normal") == 0;
            if (isnan(out->voltage[k]) || isnan(out->soh_count[k]))
                return -SOLAR_EFRAME;
        }
    }
    return header ? 0 : -SOLAR_EFRAME;
}
