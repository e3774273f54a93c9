/* The Pylontech console parsers against real captures (protocols/pylontech.md section 2; the
 * files under tests/unit/pylontech_console/, blank padding of Absent rows re-spaced) and hostile
 * answers. */
#include "console.h"
#include "error.h"
#include "tap.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NEAR(got, want, ...) ok(fabs((got) - (want)) < 1e-9, __VA_ARGS__)

static char text[16384];

/* Loads a capture; with crlf, every "\n" becomes "\r\r\n" as the console really sends. */
static size_t load(const char *name, bool crlf)
{
    const char *top = getenv("top_srcdir");
    char path[512], raw[8192];
    snprintf(path, sizeof(path), "%s/tests/unit/pylontech_console/%s", top ? top : ".", name);
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(raw, 1, sizeof(raw), f) : 0, len = 0;
    if (f)
        fclose(f);
    for (size_t i = 0; i < n; i++) {
        if (crlf && raw[i] == '\n') {
            memcpy(text + len, "\r\r\n", 3);
            len += 3;
        } else {
            text[len++] = raw[i];
        }
    }
    text[len] = '\0';
    ok(n > 0, "capture %s loaded", name);
    return len;
}

static long find(const char *s, size_t len, enum pylontech_console_wait wait)
{
    return pylontech_console_find((const uint8_t *)s, len, &wait);
}

static void test_pwr(void)
{
    struct pylontech_pwr p;
    for (int crlf = 0; crlf < 2; crlf++) {
        size_t len = load("pwr-us5000-b69.txt", crlf);
        is_int(find(text, len, PYLONTECH_CONSOLE_ANSWER), (long)len, "pwr US5000: framed whole");
        is_int(pylontech_console_check(text, len), 0, "pwr US5000: an answer");
        is_int(pylontech_pwr_parse(text, len, &p), 0, "pwr US5000 (%s): parses",
               crlf ? "CR CR LF" : "LF");
        is_int(p.count, 16, "pwr US5000: 16 rows");
        const struct pylontech_pwr_row *r = &p.rows[0];
        ok(r->present && r->pack == 1, "pwr US5000: row 1 present");
        NEAR(r->voltage, 49.905, "pwr US5000: 49.905 V");
        NEAR(r->current, 11.867, "pwr US5000: 11.867 A");
        NEAR(r->temperature, 27.9, "pwr US5000: 27.9 C");
        NEAR(r->temp_low, 26.6, "pwr US5000: Tlow 26.6 C");
        NEAR(r->temp_high, 26.8, "pwr US5000: Thigh 26.8 C");
        NEAR(r->cell_low, 3.327, "pwr US5000: Vlow 3.327 V");
        NEAR(r->cell_high, 3.327, "pwr US5000: Vhigh 3.327 V");
        NEAR(r->soc, 39, "pwr US5000: Coulomb 39 %%");
        NEAR(r->mos_temperature, 27.5, "pwr US5000: MosTempr 27.5 C");
        ok(r->charging && !r->discharging, "pwr US5000: Charge");
        is_str(r->base_state, "Charge", "pwr US5000: Base.St");
        is_int(r->abnormal, 0, "pwr US5000: all Normal");
        NEAR(p.rows[1].current, 5.182, "pwr US5000: row 2 5.182 A");
        ok(isnan(p.rows[2].mos_temperature), "pwr US5000: row 3 (US2000C) has no MOSFET value");
        NEAR(p.rows[3].voltage, 49.916, "pwr US5000: row 4 49.916 V");
        NEAR(p.rows[3].cell_high, 3.329, "pwr US5000: row 4 Vhigh 3.329 V");
        ok(!p.rows[4].present && p.rows[4].pack == 5 && isnan(p.rows[4].voltage),
           "pwr US5000: row 5 Absent");
        ok(!p.rows[15].present && p.rows[15].pack == 16, "pwr US5000: row 16 Absent");
    }

    size_t len = load("pwr-pytes-old.txt", false);
    is_int(find(text, len, PYLONTECH_CONSOLE_ANSWER), (long)len, "pwr Pytes: framed (PYTES>)");
    is_int(pylontech_pwr_parse(text, len, &p), 0, "pwr Pytes (old header): parses");
    is_int(p.count, 8, "pwr Pytes: 8 rows");
    NEAR(p.rows[0].voltage, 48.314, "pwr Pytes: 48.314 V");
    NEAR(p.rows[0].current, 0, "pwr Pytes: 0 A");
    NEAR(p.rows[0].temperature, 26.0, "pwr Pytes: 26.0 C");
    NEAR(p.rows[1].soc, 74, "pwr Pytes: row 2 74 %%");
    NEAR(p.rows[1].cell_high, 3.227, "pwr Pytes: row 2 Vhigh 3.227 V");
    ok(isnan(p.rows[0].mos_temperature), "pwr Pytes: no MosTempr column");
    ok(!p.rows[0].charging && !p.rows[0].discharging, "pwr Pytes: Idle");
    ok(!p.rows[2].present, "pwr Pytes: row 3 Absent");

    len = load("pwr-us3000d.txt", false);
    is_int(find(text, len, PYLONTECH_CONSOLE_ANSWER), (long)len, "pwr US3000D: framed");
    is_int(pylontech_pwr_parse(text, len, &p), 0, "pwr US3000D (.Id columns): parses");
    is_int(p.count, 6, "pwr US3000D: 6 rows");
    NEAR(p.rows[0].voltage, 52.382, "pwr US3000D: 52.382 V");
    NEAR(p.rows[0].current, -0.391, "pwr US3000D: -0.391 A");
    NEAR(p.rows[0].temp_low, 25.4, "pwr US3000D: Tlow 25.4 C (Tlow.Id skipped)");
    NEAR(p.rows[0].temp_high, 26.0, "pwr US3000D: Thigh 26.0 C");
    NEAR(p.rows[0].cell_low, 3.481, "pwr US3000D: Vlow 3.481 V");
    NEAR(p.rows[0].cell_high, 3.497, "pwr US3000D: Vhigh 3.497 V");
    NEAR(p.rows[0].soc, 99, "pwr US3000D: 99 %%");
    NEAR(p.rows[0].mos_temperature, 31.8, "pwr US3000D: MosTempr 31.8 C");
    ok(p.rows[0].discharging, "pwr US3000D: Dischg");
    NEAR(p.rows[2].soc, 100, "pwr US3000D: row 3 100 %%");
    NEAR(p.rows[5].temperature, 31.9, "pwr US3000D: row 6 31.9 C");
}

static void test_bat_soh(void)
{
    struct pylontech_bat b;
    size_t len = load("bat-us5000-b69.txt", true);
    is_int(find(text, len, PYLONTECH_CONSOLE_ANSWER), (long)len, "bat 1 US5000: framed");
    is_int(pylontech_bat_parse(text, len, &b), 0, "bat 1 US5000: parses");
    is_int(b.count, 15, "bat 1 US5000: 15 cells");
    NEAR(b.cells[0].voltage, 3.331, "bat 1 US5000: cell 1 3.331 V");
    NEAR(b.cells[0].current, 16.02, "bat 1 US5000: cell 1 16.02 A");
    NEAR(b.cells[0].temperature, 27.5, "bat 1 US5000: cell 1 27.5 C");
    NEAR(b.cells[0].soc, 45, "bat 1 US5000: SOC 45 %%");
    NEAR(b.cells[0].coulomb_ah, 44.231, "bat 1 US5000: 44.231 Ah");
    is_int(b.cells[0].balancing, 0, "bat 1 US5000: BAL N");
    NEAR(b.cells[2].voltage, 3.330, "bat 1 US5000: cell 3 3.330 V");
    NEAR(b.cells[8].temperature, 27.2, "bat 1 US5000: cell 9 27.2 C");

    len = load("bat-pytes-old.txt", false);
    is_int(pylontech_bat_parse(text, len, &b), 0, "bat 1 Pytes (no SOC, no BAL): parses");
    is_int(b.count, 15, "bat 1 Pytes: 15 cells");
    NEAR(b.cells[0].voltage, 3.217, "bat 1 Pytes: cell 1 3.217 V");
    NEAR(b.cells[0].current, 0, "bat 1 Pytes: 0 A");
    NEAR(b.cells[0].temperature, 25.0, "bat 1 Pytes: 25.0 C");
    NEAR(b.cells[0].soc, 77, "bat 1 Pytes: Coulomb 77 %%");
    NEAR(b.cells[0].coulomb_ah, 38.286, "bat 1 Pytes: 38.286 Ah");
    is_int(b.cells[0].balancing, -1, "bat 1 Pytes: no BAL column");
    NEAR(b.cells[5].voltage, 3.225, "bat 1 Pytes: cell 6 3.225 V");
    NEAR(b.cells[14].coulomb_ah, 39.449, "bat 1 Pytes: cell 15 39.449 Ah");

    struct pylontech_soh s;
    len = load("soh-us5000-b69.txt", true);
    is_int(pylontech_console_check(text, len), 0, "soh 1: an answer");
    is_int(pylontech_soh_parse(text, len, &s), 0, "soh 1: parses");
    is_int(s.count, 15, "soh 1: 15 cells");
    NEAR(s.voltage[0], 3.331, "soh 1: cell 1 3.331 V");
    NEAR(s.voltage[14], 3.330, "soh 1: cell 15 3.330 V");
    NEAR(s.soh_count[3], 0, "soh 1: SOHCount 0");
    ok(s.normal[0] && s.normal[14], "soh 1: SOHStatus Normal");

    len = load("soh-unsupported.txt", false);
    is_int(find(text, len, PYLONTECH_CONSOLE_ANSWER), (long)len, "soh unsupported: framed");
    is_int(pylontech_console_check(text, len), -SOLAR_EUNSUPPORT, "soh unsupported: unsupported");
}

static void test_framing_and_hostile(void)
{
    const char *wake = "\r\n\r\npylon>";
    is_int(find(wake, strlen(wake), PYLONTECH_CONSOLE_PROMPT), (long)strlen(wake),
           "a bare prompt wakes");
    const char *debug = "\r\npylon_debug> ";
    is_int(find(debug, strlen(debug), PYLONTECH_CONSOLE_PROMPT), (long)strlen(debug),
           "pylon_debug> is a prompt");
    is_int(find("\r\npylon", 7, PYLONTECH_CONSOLE_PROMPT), 0, "half a prompt waits");
    const char *cut = "pwr\r@\r\nPower Volt\r\nCommand completed successfully\r\n";
    is_int(find(cut, strlen(cut), PYLONTECH_CONSOLE_ANSWER), 0, "no $$ yet: waits");
    const char *noprompt = "pwr\r@\r\n$$\r\n\rpylon";
    is_int(find(noprompt, strlen(noprompt), PYLONTECH_CONSOLE_ANSWER), 0,
           "$$ without prompt waits");
    const char *x = "pwr\r@\r\nx>y\r\n$$\r\n\rpylon>";
    is_int(find(x, strlen(x), PYLONTECH_CONSOLE_ANSWER), (long)strlen(x),
           "a '>' in the body is not a prompt");
    const char *pager = "log\r\n@\r\nline 1\r\nPress [Enter] to be continued,other key to exit";
    long n = find(pager, strlen(pager), PYLONTECH_CONSOLE_ANSWER);
    is_int(n, (long)strlen(pager), "the pager line ends a piece");
    ok(pylontech_console_paged(pager, (size_t)n), "and is recognised");
    is_int(find(pager, strlen(pager) - 6, PYLONTECH_CONSOLE_ANSWER), 0, "half a pager line waits");

    const char *invalid = "info 1\r\n@\r\nInvalid command or fail to excute.\r\n$$\r\npylon>";
    is_int(pylontech_console_check(invalid, strlen(invalid)), -SOLAR_EDEVICE, "Invalid command");
    is_int(pylontech_console_check("garbage$$\r\npylon>", 18), -SOLAR_EFRAME, "no '@' body");
    const char *cutoff = "pwr\r\n@\r\nPower Volt Curr\r\n1 49905 1\r\n$$\r\npylon>";
    is_int(pylontech_console_check(cutoff, strlen(cutoff)), -SOLAR_EFRAME,
           "no \"Command completed successfully\": not taken");

    struct pylontech_pwr p;
    struct pylontech_bat b;
    struct pylontech_soh s;
    const char *noheader = "pwr\r\n@\r\n1 49905 11867\r\n$$\r\npylon>";
    is_int(pylontech_pwr_parse(noheader, strlen(noheader), &p), -SOLAR_EFRAME,
           "pwr without header");
    const char *garbled = "@\r\nPower Volt Curr\r\n1 4x905 11867\r\n$$\r\npylon>";
    is_int(pylontech_pwr_parse(garbled, strlen(garbled), &p), -SOLAR_EFRAME, "pwr garbled volt");
    const char *badbat = "@\r\nBattery Volt Curr Tempr\r\n0 3331 16020 zz\r\n$$\r\npylon>";
    is_int(pylontech_bat_parse(badbat, strlen(badbat), &b), -SOLAR_EFRAME,
           "bat garbled temperature");
    char many[4096] = "@\r\nBattery Volt Curr Tempr\r\n";
    for (int i = 0; i < 30; i++)
        snprintf(many + strlen(many), sizeof(many) - strlen(many), "%d 3300 0 25000\r\n", i);
    is_int(pylontech_bat_parse(many, strlen(many), &b), -SOLAR_EFRAME, "bat with 30 cells");
    is_int(pylontech_bat_parse("", 0, &b), -SOLAR_EFRAME, "bat empty");
    is_int(pylontech_soh_parse(noheader, strlen(noheader), &s), -SOLAR_EFRAME,
           "soh without header");
}

int main(void)
{
    test_pwr();
    test_bat_soh();
    test_framing_and_hostile();
    return tap_done();
}
