#!/usr/bin/env python3
"""Benchmark (not a test): one poll of 4 packs (0x42 + 0x44 + 0x92 each) at 9600 baud.

Runs the stack simulator pacing every byte at the 8N1 wire time of --baud (the request's bytes
occupy the line too) with --turnaround ms before each reply, and `solarpoll execd` on it: after
one warm-up poll (connect: 0x93, 0x4F, 0x51 and 0x47) every newline is one poll. Prints, per poll:
the wall time against the wire time of all bytes plus the packs' turn-around, and the CPU time
solarpoll spent per exchange (from /proc/PID/schedstat, nanoseconds).

    tests/bench/pylontech_bench.py [--polls 10] [--packs 4] [--baud 9600] [--turnaround 80]
Needs a built tree (./solarpoll) and runs from anywhere.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("top_builddir", TOP)

# Characters on the wire per pack and poll (15 cells, 5 temperatures, udi 2, 0x44 without the
# trailing byte): three 20-character requests, the 128, 82 and 38 character replies.
REQUESTS = 3 * 20
REPLIES = 128 + 82 + 38


def cpu_ns(pid):
    with open("/proc/%d/schedstat" % pid) as f:
        return int(f.read().split()[0])


def read_poll(proc):
    """Reads one poll's line protocol; returns its line count."""
    lines = 0
    while True:
        line = proc.stdout.readline()
        if not line:
            raise SystemExit("solarpoll stopped")
        lines += 1
        if ",instance=pyl0,type=bool,type_instance=up " in line:
            return lines


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--polls", type=int, default=10)
    p.add_argument("--packs", type=int, default=4)
    p.add_argument("--baud", type=int, default=9600)
    p.add_argument("--turnaround", type=float, default=80.0, help="ms before each reply")
    a = p.parse_args()

    work = tempfile.mkdtemp(prefix="pylontech-bench.")
    link = os.path.join(work, "pyl0")
    sim = subprocess.Popen([sys.executable, os.path.join(TOP, "tests/sim/pylontech_sim.py"),
                            "--link", link, "--packs", str(a.packs), "--baud", str(a.baud),
                            "--turnaround", str(a.turnaround)],
                           stdout=subprocess.PIPE, text=True)
    try:
        if not sim.stdout.readline().startswith("READY"):
            raise SystemExit("simulator did not start")
        addresses = "2-%d" % (a.packs + 1)
        poller = subprocess.Popen([os.path.join(BUILD, "solarpoll"), "execd", "pylontech", link,
                                   "addresses=" + addresses, "timeout=3", "settingsinterval=0"]
                                  + (["baud=%d" % a.baud] if a.baud else []),
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL, text=True, bufsize=1)
        # Warm-up poll: connect and the first reads. Every poll ends with the device's bool-up.
        poller.stdin.write("\n")
        poller.stdin.flush()
        lines = read_poll(poller)

        walls = []
        cpu_start = cpu_ns(poller.pid)
        for _ in range(a.polls):
            t0 = time.monotonic()
            poller.stdin.write("\n")
            poller.stdin.flush()
            read_poll(poller)
            walls.append(time.monotonic() - t0)
        cpu = cpu_ns(poller.pid) - cpu_start
        poller.stdin.close()
        poller.wait(timeout=10)
    finally:
        sim.terminate()
        sim.wait(timeout=10)

    exchanges = 3 * a.packs
    char_s = 10.0 / a.baud if a.baud else 0.0
    wire = a.packs * (REQUESTS + REPLIES) * char_s
    budget = max(wire + exchanges * a.turnaround / 1000.0, 1e-9)
    best, mean = min(walls), sum(walls) / len(walls)
    print("packs %d, %d baud, turn-around %.0f ms, %d polls of %d exchanges (%d values a poll)"
          % (a.packs, a.baud, a.turnaround, a.polls, exchanges, lines))
    print("wire time of the bytes   %8.1f ms (%d characters)"
          % (wire * 1000, a.packs * (REQUESTS + REPLIES)))
    print("+ turn-around            %8.1f ms" % (budget * 1000))
    print("poll wall time           %8.1f ms mean, %.1f ms best" % (mean * 1000, best * 1000))
    print("ratio to wire+turnaround %8.3f mean, %.3f best (limit 1.05)" % (mean / budget, best / budget))
    print("CPU per exchange         %8.3f ms (limit 0.15)" % (cpu / 1e6 / (a.polls * exchanges)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
