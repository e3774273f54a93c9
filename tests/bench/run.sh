#!/usr/bin/env bash
# make bench: decode cost (time and callgrind instructions) and poll cost against paced
# simulators. Figures of this machine; compare runs, never assert them in tests.
. "$(dirname "$0")/../e2e/lib.sh"
BENCH="$top_builddir/tests/bench"

# instructions PROGRAM FUNCTION N: instructions per call of FUNCTION over N calls.
instructions() {
    local out="$WORK/callgrind.$2"
    valgrind --tool=callgrind --callgrind-out-file="$out" --toggle-collect="$2" "$1" "$3" \
        >/dev/null 2>&1 || return 1
    awk -v n="$3" '/^summary:/ { printf "%.0f", $2 / n }' "$out"
}

# wire_ms BAUD BYTES: the time BYTES take on an 8N1 line.
wire_ms() {
    awk -v baud="$1" -v bytes="$2" 'BEGIN { printf "%.3f", bytes * 10 * 1000 / baud }'
}

echo "== decode cost"
"$BENCH/bench_jbd_decode" 1000000
if command -v valgrind >/dev/null; then
    echo "jbd decode 0x03: $(instructions "$BENCH/bench_jbd_decode" decode_basic 1000) instructions (callgrind)"
    echo "jbd decode 0x04: $(instructions "$BENCH/bench_jbd_decode" decode_cells 1000) instructions (callgrind)"
fi

echo "== poll cost against simulators pacing their bytes"
# JBD at 9600 baud, 20 ms turn-around; a poll reads 0x03 (4S, 2 NTC: 34 bytes) and 0x04
# (15 bytes). The simulator paces only its replies, so they and two turn-arounds are the floor.
start_sim jbd jbd_sim.py --link "$WORK/jbd0" --baud 9600 --turnaround 20 || exit 1
baseline=$(awk -v w="$(wire_ms 9600 49)" 'BEGIN { printf "%.3f", w + 2 * 20 }')
"$BENCH/bench_poll" --polls 40 --baseline-ms "$baseline" --exchanges 2 jbd "$WORK/jbd0"

# Pylontech: 4 packs (0x42 + 0x44 + 0x92 each) at 9600 baud, 80 ms turn-around per reply.
if [ -x "$top_builddir/solarpoll" ] && "$top_builddir/solarpoll" metrics pylontech >/dev/null 2>&1; then
    "$PYTHON" "$top_srcdir/tests/bench/pylontech_bench.py" --polls 5
fi

# Voltronic: QPIGS + QMOD + QPIWS at 2400 baud, 50 ms turn-around; callgrind of the decode.
if [ -x "$BENCH/bench_voltronic" ]; then
    top_builddir="$top_builddir" bash "$top_srcdir/tests/bench/voltronic.sh"
fi

# LuxPower over Modbus RTU at 19200 baud, 5 ms turn-around: banks 0-119, one request per bank.
if [ -x "$BENCH/bench_luxpower" ]; then
    "$top_srcdir/tests/bench/luxpower_rtu.sh"
fi
