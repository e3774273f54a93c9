#!/usr/bin/env bash
# Runs bench_luxpower against the simulator emulating 19200 baud 8N1 and a 5 ms turn-around.
# Part of `make bench`, never of `make check` (a timing figure is no pass/fail test).
. "$(dirname "$0")/../e2e/lib.sh"
BAUD=${BAUD:-19200}
TURN=${TURNAROUND_MS:-5}
start_sim rtu luxpower_sim.py --link "$WORK/lux0" --wire "$BAUD" --turnaround "$TURN" || exit 1
"$top_builddir/tests/bench/bench_luxpower" "$WORK/lux0" "$BAUD" "$TURN" "${POLLS:-20}"
