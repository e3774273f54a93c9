#!/usr/bin/env bash
# Benchmarks of the voltronic driver (figures, not tests):
#   1. instructions of one frame check + QPIGS decode (valgrind's callgrind), and its time;
#   2. one QPIGS + QMOD + QPIWS poll against the simulator paced at 2400 baud 8N1 with a
#      device turn-around: wall time against wire time + turn-around, and CPU per exchange.
# Run from the build tree after make: tests/bench/voltronic.sh [POLLS] [TURNAROUND_MS]
set -u
top_srcdir=$(cd "$(dirname "$0")/../.." && pwd)
: "${top_builddir:=$top_srcdir}"
POLLS=${1:-10}
TURN=${2:-50}
BENCH="$top_builddir/tests/bench/bench_voltronic"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/solar-bench.XXXXXX")
trap 'kill $SIM 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"' EXIT

"$BENCH" decode 1000000
if command -v valgrind >/dev/null; then
    valgrind --tool=callgrind --callgrind-out-file="$WORK/cg.out" \
        --toggle-collect=bench_decode_once "$BENCH" decode 1000 >/dev/null 2>"$WORK/cg.err"
    total=$(sed -n 's/.*Collected : *\([0-9]*\).*/\1/p' "$WORK/cg.err")
    valgrind --tool=callgrind --callgrind-out-file="$WORK/cg2.out" \
        --toggle-collect=voltronic_qpigs_decode "$BENCH" decode 1000 >/dev/null 2>"$WORK/cg2.err"
    decode=$(sed -n 's/.*Collected : *\([0-9]*\).*/\1/p' "$WORK/cg2.err")
    echo "callgrind: frame check + QPIGS decode $((total / 1000)) instructions, of which voltronic_qpigs_decode $((decode / 1000))"
fi

/usr/bin/python3 "$top_srcdir/tests/sim/voltronic_sim.py" --link "$WORK/inv" --baud 2400 \
    --turnaround "$TURN" >"$WORK/ready" 2>/dev/null &
SIM=$!
for _ in $(seq 50); do grep -q READY "$WORK/ready" 2>/dev/null && break; sleep 0.1; done
# Bytes on the wire per poll: replies 110 + 5 + 40 (36 warning bits), paced by the simulator;
# requests 8 + 7 + 8, which a pseudo-terminal delivers at once (on a real line add 95.8 ms).
awk -v t="$TURN" 'BEGIN { b = 110 + 5 + 40; w = b * 10 / 2400 * 1000;
    printf "wire: replies %d bytes = %.1f ms at 2400 8N1; bound 1.05 x wire + 3 x %d ms turn-around = %.1f ms\n",
    b, w, t, 1.05 * w + 3 * t }'
"$BENCH" poll "$WORK/inv" "$POLLS" "commands=QPIGS QMOD QPIWS" timeout=3
