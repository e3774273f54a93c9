#!/usr/bin/env bash
# make bench: every figure of issue 8 (decode cost, poll efficiency, CPU per exchange, memory,
# scale) in one table, written to BENCHMARKS.md. Figures of this machine; compare runs, never
# assert them in tests. Arguments go to bench.py (--quick: a smoke run; --out FILE).
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
export top_srcdir top_builddir
exec /usr/bin/python3 "$top_srcdir/tests/bench/bench.py" "$@"
