/* solarpoll: the drivers of the collectd plugins, from the command line.
 *
 *   solarpoll read  DRIVER PORT [KEY=VALUE ...] [--format table|json|influx|putval]
 *   solarpoll execd DRIVER PORT [KEY=VALUE ...] [-- DRIVER PORT [KEY=VALUE ...]]...
 *   solarpoll scan  [--probe] [PORT ...]
 *   solarpoll metrics DRIVER
 *
 * Exit status: 0 done, 1 the device did not answer, 2 usage or configuration error. */
#include "drivers.h"
#include "output.h"
#include "reference.h"
#include "scan.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EXIT_NO_ANSWER 1
#define EXIT_USAGE     2

static enum solar_log_level verbosity = SOLAR_LOG_WARNING;
static char host[256] = "localhost";

static void usage(FILE *out)
{
    fputs("usage: solarpoll read  DRIVER PORT [KEY=VALUE ...] [--format table|json|influx|putval]\n"
          "       solarpoll execd DRIVER PORT [KEY=VALUE ...] [-- DRIVER PORT [KEY=VALUE ...]]...\n"
          "       solarpoll scan  [--probe] [PORT ...]   (solarpoll scan --help: more)\n"
          "       solarpoll metrics DRIVER | --markdown\n"
          "KEY is a collectd option name (baud=9600, timeout=2, name=pack); -v logs more.\n"
          "drivers:",
          out);
    for (size_t i = 0; solarpoll_drivers[i]; i++)
        fprintf(out, " %s", solarpoll_drivers[i]->name);
    fputc('\n', out);
}

/* Telegraf reads the level from these prefixes on execd's stderr. */
static void log_to_stderr(enum solar_log_level level, const char *message)
{
    static const char *const prefix[] = {"E! ", "W! ", "I! ", "D! "};
    if (level <= verbosity)
        fprintf(stderr, "%s%s\n", prefix[level], message);
}

struct poll_output {
    enum output_format format;
    const char *plugin;
    FILE *out;
    FILE *notes; /* notifications; stderr, or held back with the values by `read` */
};

static void print_value(void *ctx, const char *instance, const char *type,
                        const char *type_instance, double value)
{
    const struct poll_output *po = ctx;
    const struct output_value v = {host, po->plugin, instance, type, type_instance, value};
    output_write(po->out, po->format, &v);
}

static void print_notification(void *ctx, enum solar_severity severity, const char *instance,
                               const char *message)
{
    const struct poll_output *po = ctx;
    fprintf(po->notes, "%s%s-%s: %s\n", severity == SOLAR_SEVERITY_OKAY ? "I! " : "W! ", po->plugin,
            instance, message);
}

/* Builds a device from "DRIVER PORT KEY=VALUE..." words; prints the reason and returns
 * EXIT_USAGE when they do not make one. */
static int device_from_words(char **words, int count, struct solar_device **out)
{
    if (count < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const struct solar_driver *drv = solarpoll_driver_find(words[0]);
    if (!drv) {
        fprintf(stderr, "E! unknown driver \"%s\"\n", words[0]);
        usage(stderr);
        return EXIT_USAGE;
    }
    char err[600];
    struct solar_config *cfg = malloc(drv->config_size);
    if (!cfg)
        return EXIT_USAGE;
    solar_config_init(drv, cfg);
    int status = solar_config_set(drv, cfg, "Port", words[1], err, sizeof(err));
    for (int i = 2; status == 0 && i < count; i++)
        status = solar_config_set_word(drv, cfg, words[i], err, sizeof(err));
    if (status == 0)
        status = solar_config_finish(drv, cfg, err, sizeof(err));
    if (status == 0 && (status = solar_device_new(drv, cfg, out)) < 0)
        snprintf(err, sizeof(err), "%s",
                 status == -EADDRINUSE ? "the port is already used at another baud"
                                       : solar_strerror(status));
    if (status != 0) {
        fprintf(stderr, "E! %s %s: %s\n", words[0], words[1], err);
        free(cfg);
        return EXIT_USAGE;
    }
    return 0;
}

static int command_read(int argc, char **argv)
{
    enum output_format format = OUTPUT_TABLE;
    char *words[64];
    int count = 0;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--format") == 0 && i + 1 < argc) {
            if (output_format_parse(argv[++i], &format) < 0) {
                fprintf(stderr, "E! --format: table, json, influx or putval\n");
                return EXIT_USAGE;
            }
        } else if (count < 64) {
            words[count++] = argv[i];
        }
    }
    struct solar_device *dev;
    int status = device_from_words(words, count, &dev);
    if (status != 0)
        return status;

    /* Printed only once the poll succeeded: a device that did not answer prints nothing on
     * stdout, and on stderr only the lifecycle's one line saying why. */
    char *text = NULL, *notes = NULL;
    size_t size = 0, notes_size = 0;
    struct poll_output po = {format, dev->driver->name, open_memstream(&text, &size),
                             open_memstream(&notes, &notes_size)};
    int err = -ENOMEM;
    if (po.out && po.notes) {
        const struct solar_sink sink = {print_value, print_notification, &po};
        err = solar_device_poll(dev, &sink);
    }
    if (po.out)
        fclose(po.out);
    if (po.notes)
        fclose(po.notes);
    if (err == 0) {
        fputs(text, stdout);
        fputs(notes, stderr);
    }
    free(text);
    free(notes);
    solar_device_free(dev);
    return err == 0 ? 0 : EXIT_NO_ANSWER;
}

static volatile sig_atomic_t stopping;

static void on_terminate(int sig)
{
    (void)sig;
    stopping = 1;
}

static int command_execd(int argc, char **argv)
{
    struct solar_device *devices[32];
    int n = 0, start = 0, status = 0;
    verbosity = SOLAR_LOG_INFO;
    for (int i = 0; i <= argc && status == 0; i++) {
        if (i < argc && strcmp(argv[i], "--") != 0)
            continue;
        if (n == 32) {
            fprintf(stderr, "E! at most 32 devices\n");
            status = EXIT_USAGE;
        } else if ((status = device_from_words(argv + start, i - start, &devices[n])) == 0) {
            n++;
        }
        start = i + 1;
    }
    if (status != 0) {
        while (n > 0)
            solar_device_free(devices[--n]);
        return status;
    }

    /* No SA_RESTART: SIGTERM must interrupt the wait for the next line. */
    struct sigaction sa = {.sa_handler = on_terminate};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    solar_log(SOLAR_LOG_INFO, "solarpoll execd: %d device(s), polling on each line of input", n);

    char line[256];
    while (!stopping && fgets(line, sizeof(line), stdin)) {
        for (int i = 0; i < n && !stopping; i++) {
            struct poll_output po = {OUTPUT_INFLUX, devices[i]->driver->name, stdout, stderr};
            const struct solar_sink sink = {print_value, print_notification, &po};
            solar_device_poll(devices[i], &sink);
        }
        if (fflush(stdout) != 0)
            break;
    }
    for (int i = 0; i < n; i++)
        solar_device_free(devices[i]);
    return 0;
}

static void print_option(const struct solar_option *o, void *ctx)
{
    const struct solar_driver *drv = ctx;
    char def[32];
    const char *shown = o->default_value;
    if (strcmp(o->name, "Baud") == 0)
        snprintf(def, sizeof(def), "%d", drv->default_baud), shown = def;
    else if (strcmp(o->name, "Timeout") == 0)
        snprintf(def, sizeof(def), "%g", drv->default_timeout), shown = def;
    printf("  %-20s %-10s %s\n", o->name, shown ? (*shown ? shown : "\"\"") : "(required)",
           o->help);
}

static int command_scan(int argc, char **argv)
{
    return scan_main(argc, argv, log_to_stderr, verbosity >= SOLAR_LOG_INFO);
}

/* Characters, not bytes: printf pads "°C" (3 bytes) one column short. */
static int utf8_width(const char *s)
{
    int width = 0;
    for (; *s; s++)
        width += ((unsigned char)*s & 0xC0) != 0x80;
    return width;
}

static int command_metrics(int argc, char **argv)
{
    if (argc == 1 && strcmp(argv[0], "--markdown") == 0) {
        reference_markdown(stdout, solarpoll_drivers);
        return 0;
    }
    const struct solar_driver *drv = argc == 1 ? solarpoll_driver_find(argv[0]) : NULL;
    if (!drv) {
        usage(stderr);
        return EXIT_USAGE;
    }
    printf("%s: %s\n\nmetrics (PLUGIN %s, INSTANCE = the device's name):\n", drv->name,
           drv->description, drv->name);
    for (const struct solar_metric_doc *m = drv->metrics; m->type; m++) {
        char name[96];
        snprintf(name, sizeof(name), "%s-%s", m->type, m->type_instance);
        int pad = 4 - utf8_width(m->unit);
        printf("  %-32s %s%*s %s\n", name, m->unit, pad > 0 ? pad : 0, "", m->help);
    }
    printf("\noptions (collectd <Device> keys; KEY=VALUE for solarpoll):\n");
    solar_config_each_option(drv, print_option, (void *)drv);
    return 0;
}

int main(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*run)(int argc, char **argv);
    } commands[] = {
        {"read", command_read},
        {"execd", command_execd},
        {"scan", command_scan},
        {"metrics", command_metrics},
    };
    solar_log_set_handler(log_to_stderr);
    gethostname(host, sizeof(host) - 1);

    int first = 1;
    while (first < argc && strcmp(argv[first], "-v") == 0) {
        verbosity = verbosity < SOLAR_LOG_DEBUG ? verbosity + 1 : verbosity;
        first++;
    }
    if (first < argc && (strcmp(argv[first], "-h") == 0 || strcmp(argv[first], "--help") == 0)) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; first < argc && i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(argv[first], commands[i].name) == 0)
            return commands[i].run(argc - first - 1, argv + first + 1);
    usage(stderr);
    return EXIT_USAGE;
}
