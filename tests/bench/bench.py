#!/usr/bin/python3
"""make bench: every figure of issue 8 in one run, printed as one table and written to
BENCHMARKS.md with the method and this machine's description. Figures, never assertions: the
exit status is 0 unless a benchmark could not run at all.

    tests/bench/bench.py [--quick] [--out FILE]   (top_srcdir and top_builddir from the
                                                   environment, as `make bench` sets them)
Every figure is the median of repeated measurements with its spread; what is repeated is said
in its row. --quick cuts the repetitions (a smoke run of the harness, not figures to publish).
"""
import argparse
import glob
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

SRC = os.environ.get("top_srcdir") or os.path.abspath(os.path.join(os.path.dirname(__file__),
                                                                   "..", ".."))
BUILD = os.environ.get("top_builddir") or SRC
BENCH = os.path.join(BUILD, "tests", "bench")
SIM = os.path.join(SRC, "tests", "sim")
PYTHON = "/usr/bin/python3"
CONSOLE = os.path.join(SRC, "tests", "unit", "pylontech_console")

# Pinning: the poller on one CPU, the simulator on the other, so that the simulator's pacing
# loop and the measured process do not share a CPU. Off with BENCH_PIN=0.
PIN = os.environ.get("BENCH_PIN", "1") != "0" and os.cpu_count() and os.cpu_count() >= 2
POLLER_CPU, SIM_CPU = "1", "0"

# 16550A: Linux sets the receive FIFO trigger at 8 bytes; an FTDI adapter at 9600 baud hands
# over about 15 bytes per 16 ms latency-timer packet. 8 is the FIFO-like delivery.
FIFO_CHUNK = 8


def pinned(cmd, cpu):
    return (["taskset", "-c", cpu] + cmd) if PIN else cmd


# --- statistics --------------------------------------------------------------------------

def summary(values):
    """(median, min, max, q1, q3) of a non-empty list."""
    v = sorted(values)
    n = len(v)
    q = statistics.quantiles(v, n=4) if n >= 2 else [v[0], v[0], v[0]]
    return statistics.median(v), v[0], v[-1], q[0], q[2]


ROWS = []


def row(section, item, values, unit, fmt, target="", note=""):
    """Records one figure: the median of values with min-max and IQR."""
    if not values:
        ROWS.append((section, item, "failed", "", unit, target, note))
        return None
    med, lo, hi, q1, q3 = summary(values)
    spread = "%s-%s (IQR %s-%s, n=%d)" % (fmt % lo, fmt % hi, fmt % q1, fmt % q3, len(values))
    ROWS.append((section, item, fmt % med, spread, unit, target, note))
    return med


def fixed(section, item, value, unit, target="", note="", spread=""):
    ROWS.append((section, item, value, spread, unit, target, note))


# --- processes ----------------------------------------------------------------------------

class Work:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="solar-bench.")
        self.procs = []

    def spawn(self, cmd, **kw):
        p = subprocess.Popen(cmd, **kw)
        self.procs.append(p)
        return p

    def stop(self, p):
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        if p in self.procs:
            self.procs.remove(p)

    def close(self):
        for p in list(self.procs):
            self.stop(p)
        if os.environ.get("BENCH_KEEP"):
            sys.stderr.write("bench: kept %s\n" % self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)


def start_sim(work, script, name, args, pin=True):
    """Starts tests/sim/SCRIPT with --link WORK/NAME (pinned to SIM_CPU unless pin is false);
    returns (process, link)."""
    link = os.path.join(work.dir, name)
    cmd = [PYTHON, os.path.join(SIM, script), "--link", link] + args
    p = work.spawn(pinned(cmd, SIM_CPU) if pin else cmd,
                   stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = p.stdout.readline()
    if not line.startswith("READY"):
        raise RuntimeError("simulator %s did not start" % script)
    return p, link


def run_polls(cmd):
    """Runs a bench program printing "poll WALL_MS CPU_MS" lines; returns [(wall, cpu)]."""
    if not os.path.exists(cmd[0]):  # a driver configured out: no such benchmark
        return []
    out = subprocess.run(pinned(cmd, POLLER_CPU), capture_output=True, text=True, timeout=900)
    polls = []
    for line in out.stdout.splitlines():
        f = line.split()
        if len(f) == 3 and f[0] == "poll":
            polls.append((float(f[1]), float(f[2])))
    if out.returncode != 0 and not polls:
        sys.stderr.write("bench: %s failed: %s\n" % (" ".join(cmd[:3]), out.stderr.strip()[-300:]))
    return polls


# --- 1. decode cost -----------------------------------------------------------------------

def bench_decode(quick):
    prog = os.path.join(BENCH, "bench_decode")
    n = 20000 if quick else 1000000
    out = subprocess.run(pinned([prog, "time", CONSOLE, str(n)], POLLER_CPU), capture_output=True,
                         text=True, timeout=600)
    times = {}
    for line in out.stdout.splitlines():
        f = line.split("\t")
        if len(f) == 7:
            times[f[0]] = f[1:]
    names = subprocess.run([prog, "list"], capture_output=True, text=True).stdout.splitlines()
    have_valgrind = shutil.which("valgrind") is not None
    for name in names:
        instr = "n/a"
        if have_valgrind:
            instr = instructions(prog, name, 100 if quick else 1000)
        t = times.get(name)
        if t:
            med, q1, q3, lo, hi, batches = t
            spread = "%s-%s (IQR %s-%s, %s x 1000)" % (lo, hi, q1, q3, batches)
            ROWS.append(("1 decode", name, "%s ns" % med, spread, "%s instr" % instr, "", ""))
        else:
            ROWS.append(("1 decode", name, "failed", "", "%s instr" % instr, "", ""))


def instructions(prog, name, n):
    """Instructions per decode of frame NAME: callgrind counting only decode_one(), over 2n
    decodes minus over n (so that the first calls' symbol binding and the check of every frame
    at start-up drop out), divided by n."""
    counts = []
    with tempfile.TemporaryDirectory() as d:
        for k in (n, 2 * n):
            out = os.path.join(d, "cg.out")
            r = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out,
                                "--toggle-collect=decode_one", prog, "count", CONSOLE, name,
                                str(k)], capture_output=True, text=True, timeout=300)
            m = re.search(r"Collected : (\d+)", r.stderr)
            if not m:
                return "failed"
            counts.append(int(m.group(1)))
    return "%.0f" % ((counts[1] - counts[0]) / n)


# --- 2, 3. poll efficiency and CPU per exchange -------------------------------------------

# Per driver: the simulator, its arguments for the device's line, the driver's words, the
# exchanges per poll, and the wire time of one poll as the simulator paces it.
def char_ms(baud):
    return 10.0 * 1000 / baud


DRIVERS = [
    # JBD at 9600 baud, 20 ms turn-around: 0x03 (34 bytes) and 0x04 (15 bytes). The simulator
    # paces its replies; the requests arrive at once on a pty, so they are not in the wire time.
    dict(name="jbd", sim="jbd_sim.py", baud=9600, turn=20, exchanges=2, words=["timeout=2"],
         wire_ms=49 * char_ms(9600), polls=(1000, 60, 60), chunked=True),
    # Pylontech, 4 packs, 9600 baud, 80 ms turn-around: 0x42 + 0x44 + 0x92 per pack; the
    # simulator paces the requests' 20 characters too (the line is half-duplex).
    dict(name="pylontech", sim="pylontech_sim.py", baud=9600, turn=80, exchanges=12,
         sim_args=["--packs", "4"], words=["addresses=2-5", "settingsinterval=0", "timeout=3"],
         wire_ms=4 * (3 * 20 + 128 + 82 + 38) * char_ms(9600), polls=(300, 12, 12), chunked=True),
    # Voltronic at 2400 baud, 50 ms turn-around: QPIGS (110), QMOD (5), QPIWS (40) replies.
    dict(name="voltronic", sim="voltronic_sim.py", baud=2400, turn=50, exchanges=3,
         words=["commands=QPIGS QMOD QPIWS", "timeout=3"], wire_ms=155 * char_ms(2400),
         polls=(1000, 12, 12), chunked=True),
    # LuxPower over Modbus RTU at 19200 baud, 5 ms turn-around: three 40-register banks
    # (request 8, reply 85 bytes). The pymodbus simulator answers a whole frame after the wire
    # time of request and reply: one delivery per reply, no byte pacing.
    dict(name="luxpower", sim="luxpower_sim.py", baud=19200, turn=5, exchanges=3,
         words=["banks=0-119", "timeout=1"], wire_ms=3 * 93 * char_ms(19200),
         polls=(1000, 50, 0), chunked=False),
]


def sim_args(d, mode):
    """Simulator arguments for mode: unpaced, fifo or byte."""
    args = list(d.get("sim_args", []))
    if mode == "unpaced":
        return args
    if d["name"] == "luxpower":
        return args + ["--wire", str(d["baud"]), "--turnaround", str(d["turn"])]
    return args + ["--baud", str(d["baud"]), "--turnaround", str(d["turn"]),
                   "--chunk", str(FIFO_CHUNK if mode == "fifo" else 1)]


MODE_LABEL = {"unpaced": "unpaced", "fifo": "FIFO-like", "byte": "byte-paced worst case"}
LUX_LABEL = "paced, whole replies"


ROUNDS = 12  # paced runs alternate the driver and its references in rounds (of 2 polls at
             # least), so that a spell of the machine's (a VM's wakeups can cost milliseconds
             # for a minute) falls on all of them alike


def contenders(d, mode, link):
    """(label, exchanges per poll, command without the poll count) of the driver and of what it
    is compared with against the same simulator; the poll count is appended."""
    out = [("driver", d["exchanges"],
            lambda n: [os.path.join(BENCH, "bench_poll"), "--raw", "--polls", str(n),
                       "--exchanges", str(d["exchanges"]), d["name"], link] + d["words"])]
    floor_prog = os.path.join(BENCH, "bench_floor")
    if d["name"] == "jbd" and mode != "unpaced":
        out.append(("jbd floor loop (canonical, VEOL=0x77, as the driver)", 2,
                    lambda n: [floor_prog, "jbd-canon", link, str(n)]))
        out.append(("jbd floor loop (VMIN 1, poll+read)", 2,
                    lambda n: [floor_prog, "jbd", link, str(n)]))
    if d["name"] == "voltronic" and mode != "unpaced":
        out.append(("voltronic floor loop (canonical, VEOL=CR, as the driver)", 3,
                    lambda n: [floor_prog, "voltronic", link, str(n)]))
    if d["name"] == "pylontech" and mode != "unpaced":
        out.append(("pylontech floor loop (canonical, VEOL=CR, as the driver)", 12,
                    lambda n: [floor_prog, "canon", link, str(n), "4"]))
        out.append(("pylontech floor loop (VMIN 1)", 12,
                    lambda n: [floor_prog, "naive", link, str(n), "4"]))
    if d["name"] == "luxpower":
        out.append(("bare libmodbus RTU client", 3,
                    lambda n: [os.path.join(BENCH, "bench_libmodbus"), link, str(d["baud"]),
                               str(n)]))
    return out


SPELL_MS = 0.2      # a wakeup costing more than this (normally ~0.015 ms here) is a spell
SPELL_WAIT_S = 90   # the longest wait for one to pass before measuring anyway
SPELLS = {"waits": 0, "seconds": 0.0}


def wakeup_cost_ms(n=40):
    """CPU time of one wakeup of this process on the poller's CPU, woken through a pipe from
    the simulators' CPU every 3 ms: about 0.015 ms on this VM normally, milliseconds in a spell
    (see "Reading the figures")."""
    r, w = os.pipe()
    child = subprocess.Popen(pinned([sys.executable, "-c", "import os, time\n"
                                     "for _ in range(%d):\n"
                                     "    time.sleep(0.003)\n"
                                     "    os.write(%d, b'x')" % (n, w)], SIM_CPU),
                             pass_fds=(w,))
    os.close(w)
    affinity = os.sched_getaffinity(0)
    if PIN:
        os.sched_setaffinity(0, {int(POLLER_CPU)})
    start, got = time.process_time(), 0
    while got < n:
        chunk = os.read(r, 64)
        if not chunk:
            break
        got += len(chunk)
    cost = (time.process_time() - start) * 1000 / max(got, 1)
    os.sched_setaffinity(0, affinity)
    os.close(r)
    child.wait()
    return cost


def wait_calm():
    """Before a paced round: waits while a wakeup costs a spell's milliseconds, so that the
    figures are the machine's usual ones; the waits are counted in the table."""
    started = time.monotonic()
    while wakeup_cost_ms() > SPELL_MS and time.monotonic() - started < SPELL_WAIT_S:
        SPELLS["waits"] += 1
        time.sleep(2)
    SPELLS["seconds"] += time.monotonic() - started


def built(driver):
    """Whether this tree was configured with driver."""
    return subprocess.run([os.path.join(BUILD, "solarpoll"), "metrics", driver],
                          capture_output=True).returncode == 0


def bench_polls(work, quick):
    for d in filter(lambda d: built(d["name"]), DRIVERS):
        for k, mode in enumerate(("unpaced", "fifo", "byte")):
            polls = d["polls"][k]
            if polls == 0:
                continue
            if quick:
                polls = max(3, polls // 10)
            try:
                sim, link = start_sim(work, d["sim"], d["name"] + mode, sim_args(d, mode))
            except RuntimeError as e:
                fixed("3 CPU/exchange", "%s %s" % (d["name"], mode), "failed: %s" % e, "")
                continue
            rounds = min(ROUNDS, polls // 2) if mode != "unpaced" else 1
            runs = contenders(d, mode, link)
            results = [[] for _ in runs]
            for _ in range(rounds):
                for i, (_, _, cmd) in enumerate(runs):
                    if mode != "unpaced":
                        wait_calm()
                    results[i] += run_polls(cmd(polls // rounds))
            label = LUX_LABEL if d["name"] == "luxpower" and mode != "unpaced" else MODE_LABEL[mode]
            budget = d["wire_ms"] + d["exchanges"] * d["turn"]
            for (who, exchanges, _), result in zip(runs, results):
                name = d["name"] if who == "driver" else who
                target = ("<= 0.15 ms" if who == "driver" and mode != "unpaced" and
                          d["name"] != "luxpower" else "")
                row("3 CPU/exchange", "%s, %s, %d polls" % (name, label, len(result)),
                    [c / exchanges for _, c in result], "ms", "%.3f", target)
                if mode != "unpaced" and who in ("driver", "bare libmodbus RTU client"):
                    row("2 poll efficiency", "%s, %s (wire %.0f ms + %d x %d ms turn-around)" %
                        (name, label, d["wire_ms"], d["exchanges"], d["turn"]),
                        [w / budget for w, _ in result], "x", "%.3f",
                        "<= 1.05" if who == "driver" else "")
            if mode == "unpaced" and shutil.which("valgrind"):
                fixed("3 CPU/exchange", "%s: user-space instructions per exchange (callgrind, "
                      "the whole poll path, unpaced)" % d["name"], poll_instructions(d, link),
                      "instr")
            work.stop(sim)
    fixed("3 CPU/exchange", "before each paced round: probes that found a spell (a wakeup over "
          "%.1f ms), 2 s apart / time spent probing and waiting" % SPELL_MS,
          "%d / %.0f s" % (SPELLS["waits"], SPELLS["seconds"]), "")


def poll_instructions(d, link):
    """Instructions in solar_device_poll() and below per exchange: 10 polls minus 5, so that
    the connect and the first calls' symbol binding drop out. Deterministic up to the
    simulator's values."""
    counts = []
    with tempfile.TemporaryDirectory() as tmp:
        for polls in (5, 10):
            r = subprocess.run(["valgrind", "--tool=callgrind",
                                "--callgrind-out-file=" + os.path.join(tmp, "cg"),
                                "--toggle-collect=solar_device_poll",
                                os.path.join(BENCH, "bench_poll"), "--polls", str(polls),
                                "--exchanges", str(d["exchanges"]), d["name"], link] + d["words"],
                               capture_output=True, text=True, timeout=300)
            m = re.search(r"Collected : (\d+)", r.stderr)
            if not m:
                return "failed"
            counts.append(int(m.group(1)))
    return "%.0f" % ((counts[1] - counts[0]) / (5.0 * d["exchanges"]))


# --- 4. memory ----------------------------------------------------------------------------

PLUGIN_SIMS = {  # simulator, its arguments, the <Device> lines after Port
    "jbd": ("jbd_sim.py", [], []),
    "pylontech": ("pylontech_sim.py", ["--packs", "1"], ['Addresses "2"']),
    "voltronic": ("voltronic_sim.py", [], []),
    "luxpower": ("luxpower_sim.py", [], ['Banks "0-119"']),
}


def plugin_so(name):
    """The plugin NAME.so: ours (plugins/ or the bench's own), else collectd's stock one."""
    for d in (os.path.join(BUILD, "plugins", ".libs"), os.path.join(BENCH, ".libs")):
        if os.path.exists(os.path.join(d, name + ".so")):
            return os.path.join(d, name + ".so")
    return "/usr/lib/collectd/%s.so" % name


def collectd_conf(work, name, plugins, devices, interval=1, read_threads=2, write_threads=5,
                  blocks=None):
    """Writes a collectd.conf with csv and logfile and devices {plugin: [(name, port)]};
    blocks {plugin: [lines]} adds plugins configured by lines of their own."""
    blocks = blocks or {}
    base = os.path.join(work.dir, name)
    os.makedirs(os.path.join(base, "plugins"), exist_ok=True)
    for p in ["logfile", "csv"] + plugins + list(blocks):
        shutil.copy(plugin_so(p), os.path.join(base, "plugins"))
    lines = ['Hostname "bench"', "FQDNLookup false", 'BaseDir "%s"' % base,
             'PIDFile "%s/collectd.pid"' % base, 'PluginDir "%s/plugins"' % base,
             'TypesDB "/usr/share/collectd/types.db" "%s/conf.d/solar.types.db"' % SRC,
             "Interval %g" % interval, "ReadThreads %d" % read_threads,
             "WriteThreads %d" % write_threads,
             "LoadPlugin logfile", "<Plugin logfile>", "  LogLevel info",
             '  File "%s/collectd.log"' % base, "  Timestamp true", "</Plugin>",
             "LoadPlugin csv", "<Plugin csv>", '  DataDir "%s/csv"' % base,
             "  StoreRates false", "</Plugin>"]
    for plugin, devs in devices.items():
        lines += ["LoadPlugin %s" % plugin, "<Plugin %s>" % plugin]
        for dev, port in devs:
            lines += ['  <Device "%s">' % dev, '    Port "%s"' % port, "    Timeout 0.9"]
            lines += ["    " + extra for extra in PLUGIN_SIMS[plugin][2]]
            lines += ["  </Device>"]
        lines += ["</Plugin>"]
    for plugin, own in blocks.items():
        lines += ["LoadPlugin %s" % plugin, "<Plugin %s>" % plugin] + ["  " + x for x in own]
        lines += ["</Plugin>"]
    conf = os.path.join(base, "collectd.conf")
    with open(conf, "w") as f:
        f.write("\n".join(lines) + "\n")
    return conf, base


# The memory figures of one process, KiB: VmRSS and RssAnon (/proc/PID/status), PSS (each
# shared page divided among the processes mapping it) and private pages (/proc/PID/smaps_rollup).
MEMORY_FIELDS = ("VmRSS", "RssAnon", "Pss", "Private")


def memory_kib(pid):
    m = dict.fromkeys(MEMORY_FIELDS, 0)
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k = line.split(":")[0]
            if k in ("VmRSS", "RssAnon"):
                m[k] = int(line.split()[1])
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            k = line.split(":")[0]
            if k == "Pss":
                m["Pss"] = int(line.split()[1])
            elif k in ("Private_Clean", "Private_Dirty"):
                m["Private"] += int(line.split()[1])
    return m


def collectd_memory(work, name, devices, seconds, blocks=None, env=None):
    """Samples collectd's memory (memory_kib) once a second, 3 times, after `seconds` of
    running; returns (samples, its base directory)."""
    conf, base = collectd_conf(work, name, list(devices), devices, 1, 2, 5, blocks)
    p = work.spawn(pinned(["collectd", "-f", "-C", conf], POLLER_CPU), env=env,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(seconds)
    samples = []
    for _ in range(3):
        if p.poll() is not None:
            break
        samples.append(memory_kib(p.pid))
        time.sleep(1)
    work.stop(p)
    return samples, base


def value_list_ids(base, path):
    """Writes the identifiers the csv plugin wrote under base every interval, one a line
    (device, plugin, plugin instance, type, type instance), grouped by device, for bench_null;
    returns (lines, devices, identifiers written only at the start). Those (the settings and
    ratings a driver reads once) drop out of collectd's cache after its Timeout, so they are not
    part of the steady state the figures sample. A device's plugin instances are its name or
    start with its name and "-"."""
    rows = {}
    for d in sorted(glob.glob(os.path.join(base, "csv", "*", "*"))):
        plugin, _, instance = os.path.basename(d).partition("-")
        for f in os.listdir(d):
            n = re.sub(r"-\d{4}-\d\d-\d\d$", "", f)
            key = (instance.split("-")[0], plugin, instance) + tuple(n.split("-", 1))
            rows[key] = rows.get(key, 0) + sum(1 for _ in open(os.path.join(d, f)))
    most = max(rows.values(), default=0)
    steady = sorted(k for k, lines in rows.items() if lines >= most - 1)
    with open(path, "w") as f:
        f.write("".join(" ".join(k) + "\n" for k in steady))
    return len(steady), len({k[0] for k in steady}), len(rows) - len(steady)


def memory_rows(what, samples, base, fields, target=None):
    """One row per field: samples minus the median of base (none: the figures themselves)."""
    labels = {"VmRSS": "VmRSS", "RssAnon": "RssAnon (heap, stacks)", "Pss": "PSS",
              "Private": "private (Private_Clean + Private_Dirty)"}
    for k in fields:
        b = statistics.median(x[k] for x in base) if base else 0
        row("4 memory", "%s: %s" % (what, labels[k]), [(x[k] - b) / 1024 for x in samples],
            "MiB", "%.2f", (target or {}).get(k, ""))


# collectd's memory under glibc's default malloc arenas (one per thread that meets contention,
# so a figure that depends on when its 2 read and 5 write threads collide) and with one arena.
ARENAS = (("", None), ("one malloc arena (MALLOC_ARENA_MAX=1 in all three), ",
                       dict(os.environ, MALLOC_ARENA_MAX="1")))


def bench_collectd_memory(work, sims, runs, delays):
    """collectd with none, with our plugins (full) and with bench_null emitting the value lists
    the full run wrote (null), each of its reads waiting delays[plugin] ms first, in rounds,
    under each of ARENAS."""
    own = ['Delay "%s %.1f"' % kv for kv in sorted(delays.items())]
    ids = os.path.join(work.dir, "value-lists")
    counts = None
    have_null = os.path.exists(os.path.join(BENCH, ".libs", "bench_null.so"))
    got = {tag: ([], [], []) for tag, _ in ARENAS}
    for r in range(runs):
        for a, (tag, env) in enumerate(ARENAS):
            base, full, null = got[tag]
            base += collectd_memory(work, "none%d_%d" % (r, a), {}, 3, env=env)[0]
            samples, four = collectd_memory(work, "four%d_%d" % (r, a), sims, 5, env=env)
            full += samples
            if counts is None and samples:
                counts = value_list_ids(four, ids)
            if have_null and counts:
                null += collectd_memory(work, "null%d_%d" % (r, a), {}, 5,
                                        {"bench_null": ['File "%s"' % ids] + own}, env)[0]
    base, full, null = got[""]
    if not (base and full):
        fixed("4 memory", "collectd RSS with 16 devices", "failed", "")
        return
    b = statistics.median(x["VmRSS"] for x in base)
    row("4 memory", "collectd VmRSS, 4 plugins x 4 devices minus none (%d runs x 3 samples; "
        "none: %.0f KiB)" % (runs, b), [(x["VmRSS"] - b) / 1024 for x in full], "MiB", "%.2f",
        "<= 1 MiB")
    b = statistics.median(x["RssAnon"] for x in base)
    row("4 memory", "of which anonymous (heap, stacks: RssAnon minus none's %.0f KiB); the "
        "rest is the pages of the plugins and their libraries" % b,
        [(x["RssAnon"] - b) / 1024 for x in full], "MiB", "%.2f")
    memory_rows("4 plugins x 4 devices minus none", full, base, ["Pss"])
    what = ("collectd's own cost (bench_null: %%d reads, %%d value lists a second (the %%d read "
            "once at start left out), no driver, each read waiting its driver's poll time: %s) "
            "minus none" % ", ".join("%s %.0f ms" % kv for kv in sorted(delays.items())))
    for tag, _ in ARENAS:
        base, full, null = got[tag]
        if not (base and full and null):
            fixed("4 memory", "%scollectd with bench_null" % tag, "failed", "")
            continue
        if tag:
            memory_rows(tag + "4 plugins x 4 devices minus none", full, base,
                        ["VmRSS", "RssAnon", "Pss"])
        memory_rows(tag + what % (counts[1], counts[0], counts[2]), null, base,
                    ["VmRSS", "RssAnon", "Pss"])
        memory_rows(tag + "ours: 4 plugins x 4 devices minus bench_null", full, null,
                    ["VmRSS", "RssAnon", "Pss"])


def process_memory(work, cmd, polls, runs):
    """Memory of cmd (reading stdin) after `polls` newlines 0.3 s apart, once per run."""
    samples = []
    for r in range(runs):
        p = work.spawn(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, text=True)
        for _ in range(polls):
            p.stdin.write("\n")
            p.stdin.flush()
            time.sleep(0.3)
        samples.append(memory_kib(p.pid))
        p.stdin.close()
        work.stop(p)
    return samples


def bench_memory(work, quick):
    sims = {}
    for plugin, (script, args, _) in PLUGIN_SIMS.items():
        if not built(plugin):
            continue
        for i in range(4):
            _, link = start_sim(work, script, "%s%d" % (plugin, i), args)
            sims.setdefault(plugin, []).append(("%s%d" % (plugin, i), link))
    runs = 1 if quick else 3
    device_words = {plugin: [plugin, devs[0][1], "timeout=1"] +
                    [w.replace('Addresses "2"', "addresses=2").replace('Banks "0-119"',
                                                                       "banks=0-119")
                     for w in PLUGIN_SIMS[plugin][2]]
                    for plugin, devs in sims.items()}
    # How long a read of each driver takes against these simulators (median of 5 polls), for
    # bench_null's reads to take as long.
    delays = {}
    for plugin, words in device_words.items():
        polls = run_polls([os.path.join(BENCH, "bench_poll"), "--raw", "--polls", "5",
                           "--exchanges", "1"] + words)
        delays[plugin] = statistics.median(w for w, _ in polls) if polls else 0.0
    bench_collectd_memory(work, sims, runs, delays)

    # solarpoll execd, one device of each driver, after 5 polls; beside it the floor of any C
    # program on this machine, bench_idle (libc only, blocked on stdin).
    words = []
    for plugin in sims:
        words += (["--"] if words else []) + device_words[plugin]
    samples = process_memory(work, [os.path.join(BUILD, "solarpoll"), "execd"] + words, 5, runs)
    row("4 memory", "solarpoll execd RSS, 4 devices (one a driver), after 5 polls",
        [x["VmRSS"] / 1024 for x in samples], "MiB", "%.2f", "<= 2 MiB")
    memory_rows("solarpoll execd, 4 devices", samples, None, ["RssAnon", "Pss", "Private"])
    idle = process_memory(work, [os.path.join(BENCH, "bench_idle")], 5, runs)
    memory_rows("floor of a C program: bench_idle (libc only, blocked on stdin)", idle, None,
                MEMORY_FIELDS)
    for p in list(work.procs):
        work.stop(p)


# --- 5. scale -----------------------------------------------------------------------------

def csv_gaps(base, since):
    """Largest gap (s) between consecutive rows of each device's bool-up csv after `since`."""
    gaps = {}
    for path in glob.glob(os.path.join(base, "csv", "*", "*", "bool-up-*")):
        times = []
        with open(path) as f:
            for line in f:
                t = line.split(",")[0]
                if re.match(r"^\d+(\.\d+)?$", t) and float(t) >= since:
                    times.append(float(t))
        dev = path.split(os.sep)[-2]
        gaps[dev] = max((b - a for a, b in zip(times, times[1:])), default=None)
    return gaps


def scale_step(work, n, seconds):
    """n JBD simulators (9600 baud, FIFO-like, 20 ms turn-around), one collectd at Interval 1
    with ReadThreads n. Returns (overrun, worst gap, devices seen, took-too-long warnings)."""
    devs = []
    for i in range(n):
        _, link = start_sim(work, "jbd_sim.py", "scale%d_%d" % (n, i),
                            ["--baud", "9600", "--turnaround", "20", "--chunk", str(FIFO_CHUNK)],
                            pin=False)
        devs.append(("pack%d" % i, link))
    conf, base = collectd_conf(work, "scale%d" % n, ["jbd"], {"jbd": devs}, 1, n)
    p = work.spawn(["collectd", "-f", "-C", conf], stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    start = time.time()
    time.sleep(seconds)
    work.stop(p)
    gaps = csv_gaps(base, start + 3)
    log = open(os.path.join(base, "collectd.log"), errors="replace").read()
    slow = len(re.findall(r"took .* seconds|too long|above its read interval|skipping", log))
    seen = [g for g in gaps.values() if g is not None]
    worst = max(seen, default=float("inf"))
    for proc in list(work.procs):
        work.stop(proc)
    overrun = len(seen) < n or worst > 1.5 or slow > 0
    return overrun, worst, len(seen), slow


def bench_scale(work, quick):
    steps = [4, 8] if quick else [16, 64, 128, 256]
    seconds = 8 if quick else 11
    best = 0
    for n in steps:
        overrun, worst, seen, slow = scale_step(work, n, seconds)
        fixed("5 scale", "%d JBD devices at Interval 1" % n, "overrun" if overrun else "kept up",
              "", spread="worst gap %.2f s, %d/%d devices reporting, %d slow-read warnings" %
              (worst, seen, n, slow))
        if overrun:
            break
        best = n
    fixed("5 scale", "devices one collectd keeps up with (of the steps tried)",
          str(best) if best < steps[-1] else ">= %d" % best, "", "")


# --- output -------------------------------------------------------------------------------

def machine():
    model = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return "%s, %d CPUs, Linux %s" % (model, os.cpu_count() or 0, platform.release())


def proactive_reclaim():
    """DAMON schemes that page out idle memory (a VM host's memory policy): they change which
    file pages a process has mapped (VmRSS) and, on their passes, what a wakeup costs."""
    found = []
    for kd in glob.glob("/sys/kernel/mm/damon/admin/kdamonds/[0-9]*"):
        try:
            if open(os.path.join(kd, "state")).read().strip() != "on":
                continue
            for ctx in glob.glob(os.path.join(kd, "contexts", "[0-9]*")):
                attrs = os.path.join(ctx, "monitoring_attrs", "intervals", "aggr_us")
                aggr_s = int(open(attrs).read()) / 1e6
                for scheme in glob.glob(os.path.join(ctx, "schemes", "[0-9]*")):
                    action = open(os.path.join(scheme, "action")).read().strip()
                    age = int(open(os.path.join(scheme, "access_pattern", "age", "min")).read())
                    found.append("DAMON %s of memory idle for %.0f s or more" %
                                 (action, age * aggr_s))
        except (OSError, ValueError):
            continue
    return "; ".join(found) if found else "none found"


def sorted_rows():
    return sorted(ROWS, key=lambda r: r[0])  # stable: the order of measurement within a section


def table():
    out = ["| Section | Figure | Median | Spread (min-max, IQR, n) | Unit | Target |",
           "|---|---|---|---|---|---|"]
    for section, item, med, spread, unit, target, _ in sorted_rows():
        out.append("| %s | %s | %s | %s | %s | %s |" % (section, item, med, spread, unit, target))
    return "\n".join(out)


METHOD = """\
## Method

All figures come from one run of `make bench` (tests/bench/bench.py), on the machine named
below, with the load average at the start and the end of the run given; a busy machine makes
wall and CPU figures worse, never better. Each figure is the median of the measurements named
in its row, with min-max, the interquartile range and the count.

1. **Decode cost**: `bench_decode` checks and decodes a real reply of every frame type (the
   captures of the unit tests) as the driver does per exchange. Nanoseconds: 10^6 decodes in
   batches of 1,000, the median batch (--quick: 2*10^4). Instructions: valgrind callgrind,
   counting only `decode_one()`, over 1,000 decodes (deterministic: no spread).
2. **Poll efficiency**: `bench_poll --raw` polls the driver (through the library, as
   `solarpoll read` does, the first poll - connect and identify - not counted) against a
   simulator pacing its bytes at the device's baud with a fixed turn-around before each reply;
   wall time of each poll / (wire time of the bytes the simulator paces + exchanges x
   turn-around). A pty delivers the request at once, so only the simulators that pace requests
   (pylontech, luxpower) count them. Two deliveries: **FIFO-like** (bytes still paced at the
   baud, handed over 8 at a time when the 8th has arrived and the rest with the last byte, as a
   16550's receive trigger or a USB-serial adapter's packets do) and **byte by byte** (one
   wakeup of the reader per byte: a worst case no real UART shows). The luxpower simulator
   (pymodbus) writes each reply whole after its wire time.
3. **CPU per exchange**: user + system time of the polling process (CLOCK_PROCESS_CPUTIME_ID)
   per poll / exchanges per poll: 1,000 polls unpaced (300 for pylontech's 12 exchanges); paced
   polls take the wire time, so fewer (a paced 1,000-poll pylontech run would take 37 minutes).
   Paced, the driver and the loops it is compared with take turns on the same simulator in
   up to 12 rounds of at least 2 polls each, so that a change of the machine's state falls on
   all of them alike. Before each round a probe (a process on the poller's CPU woken 40 times
   through a pipe) waits, up to 90 s, while a wakeup costs more than 0.2 ms: on this VM there
   are spells, seconds long and most often after heavy load, in which every wakeup is
   charged milliseconds; the table counts the waits. A spell that begins during a round still
   shows in its spread.
   Beside the drivers: `bench_floor`, the minimal C loop against the same simulator (write
   the request, poll()+read() until the reply's end) in the driver's own reading mode
   (canonical, VEOL = CR for pylontech and voltronic, 0x77 for JBD: the line discipline wakes
   the reader once per reply) and naively (VMIN 1: a wakeup per delivered chunk; pylontech
   and JBD); and `bench_libmodbus`,
   bare libmodbus's modbus_read_input_registers over RTU on the luxpower simulator. The
   user-space instructions per exchange (callgrind over `solar_device_poll()`, 10 polls minus
   5) show how little of the CPU time is ours: the rest is the kernel's, one wakeup and a few
   system calls per delivery.
4. **Memory**: VmRSS of collectd (csv + logfile) with the four plugins and 4 simulated devices
   each, minus the median VmRSS of collectd with csv + logfile only; VmRSS of `solarpoll execd`
   with one device of each driver after 5 polls. Beside them, PSS (shared pages divided among
   the processes mapping them) and private pages from /proc/PID/smaps_rollup, and two floors:
   - **bench_null** (tests/bench/bench_null.c, a collectd plugin built by `make bench`, never
     installed): one read callback per device of the full run, each dispatching, as one gauge,
     every identifier that device's csv files show written every interval (the settings and
     ratings read once at start are left out: they leave collectd's cache after its Timeout),
     after waiting its driver's median poll time against the same simulators; same
     ReadThreads/WriteThreads. bench_null minus none is collectd's own cost of those value
     lists and its read threads (plus bench_null's identifier table, under 100 KiB); the full
     run minus bench_null is ours: our code, our state, our libraries. The runs go none, full,
     bench_null in rounds; all three are repeated with MALLOC_ARENA_MAX=1, because glibc gives
     each thread that meets contention an arena of its own, so collectd's heap depends on when
     its 2 read and 5 write threads happen to collide.
   - **bench_idle** (tests/bench/bench_idle.c): a C program linked the same way against libc
     only, blocked on stdin: the floor of any C poller on this machine.
5. **Scale**: N JBD simulators (9600 baud, FIFO-like, 20 ms turn-around: about 91 ms a poll),
   one `<Device>` each, one collectd at Interval 1 with ReadThreads N, for 11 s (the first 3 s
   not judged). **Overrun**: a device whose consecutive `bool-up` csv timestamps are more than
   1.5 s apart, a device that never reports, or any collectd log line saying a read took too
   long or was skipped. N steps through 16, 64, 128, 256 until the first overrun. Nothing is
   pinned here, and the Python simulators share the machine's CPUs with collectd, so the figure
   is a lower bound of what collectd alone could poll.
"""


READING = """\
## Reading the figures

- The CPU per paced exchange is dominated by the kernel: each delivery of bytes wakes the
  reader (a context switch; on a virtual machine also an inter-processor interrupt), and that
  costs the same to any poller. In non-canonical mode the tty line discipline wakes a reader
  in poll() on every delivery whatever VMIN says (VMIN only spares the system calls), so
  Modbus (libmodbus) pays one wakeup per chunk the line hands over. The protocols whose
  replies end in one byte are read in canonical mode, where the reader is woken once per
  reply: VEOL = CR for pylontech and voltronic, VEOL = 0x77 for JBD (whose binary frames may
  hold 0x77 or LF before their end: then it is woken once more, and no byte is lost, since
  the editing characters are disabled). Compare each driver with its floor loop on the same
  simulator, not with a figure from another machine.
- Byte-by-byte pacing is a worst case no real line shows: a 16550 raises its interrupt at its
  FIFO trigger level or after a character time-out, and USB-serial adapters deliver packets
  (FTDI: 62 bytes or the 16 ms latency timer).
- The collectd memory figure includes collectd's own per-value-list cost (its value cache:
  cache_entry_t with a 6 x 128-byte name, the AVL node, the key copy; the write queue; the csv
  writer) for every metric the 16 devices emit: the bench_null rows measure it. What is left
  ("ours") is mostly file pages of our plugins and their libraries (libmodbus, libserialport;
  hidapi and libudev only once a hid: port opens); it also holds heap collectd kept after the
  value lists read once at start expired. The drivers' per-device state is a few hundred bytes
  to 17 KiB (pylontech, 8 packs).
- VmRSS counts every shared library page the process has touched (the kernel maps them in
  blocks around each page faulted), shared with every other process on the machine; PSS
  divides them among those processes. bench_idle's figures are what any C program here costs
  before it runs a line of its own.
- A machine with proactive reclaim (see above) pages out file pages idle for a while, libc's
  among them, so the pages a new process finds to map vary from run to run (here by about
  0.1 MiB); and in spells of seconds (most often after heavy load) every wakeup is charged
  milliseconds to whichever process runs. The paced rounds wait them out (method, 3); a row
  whose spread still reaches milliseconds met one mid-round, and its floor loops did too.
"""


def write_markdown(path, started, load0, load1, seconds, quick):
    pin = ("poller pinned to CPU %s, simulators to CPU %s (taskset)" % (POLLER_CPU, SIM_CPU)
           if PIN else "no pinning")
    text = ["# Benchmarks", "",
            "Generated by `make bench` on %s; do not edit by hand." % started, "",
            "- Machine: %s" % machine(),
            "- Load average at start / end: %s / %s" % (load0, load1),
            "- Pinning: %s" % pin,
            "- Proactive reclaim: %s" % proactive_reclaim(),
            "- Run time: %.0f s%s" % (seconds, " (--quick: a smoke run, not figures)" if quick
                                      else ""),
            "", METHOD, READING, "## Figures", "", table(), ""]
    with open(path, "w") as f:
        f.write("\n".join(text))


def print_table():
    w = max(len(r[1]) for r in ROWS)
    section = None
    for s, item, med, spread, unit, target, _ in sorted_rows():
        if s != section:
            print("== %s" % s)
            section = s
        print("  %-*s %12s %-6s %-10s %s" % (w, item, med, unit, target, spread))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--out", default=os.path.join(SRC, "BENCHMARKS.md"))
    p.add_argument("--only", default="decode,poll,memory,scale")
    a = p.parse_args()
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    load0 = " ".join(open("/proc/loadavg").read().split()[:3])
    t0 = time.monotonic()
    work = Work()
    try:
        only = a.only.split(",")
        if "decode" in only:
            bench_decode(a.quick)
        if "poll" in only:
            bench_polls(work, a.quick)
        if "memory" in only:
            bench_memory(work, a.quick)
        if "scale" in only:
            bench_scale(work, a.quick)
    finally:
        work.close()
    load1 = " ".join(open("/proc/loadavg").read().split()[:3])
    print_table()
    write_markdown(a.out, started, load0, load1, time.monotonic() - t0, a.quick)
    print("wrote %s (%.0f s)" % (a.out, time.monotonic() - t0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
