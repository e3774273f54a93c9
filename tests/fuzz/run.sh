#!/usr/bin/env bash
# Builds each libFuzzer target with clang (-fsanitize=fuzzer,address,undefined), seeds it with
# the real frames in tests/fuzz/seeds/NAME.hex and runs it for FUZZ_SECONDS (default 60).
# TAP: one result per target; a crash leaves its input in tests/fuzz/crashes/ to become a
# unit test.
. "$(dirname "$0")/../e2e/lib.sh"
seconds="${FUZZ_SECONDS:-60}"
CC_FUZZ="${CC_FUZZ:-clang}"
FLAGS=(-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
       -I"$top_srcdir/common" -I"$top_srcdir/tests/fuzz")

# Target name -> the sources it needs beside its own file.
declare -A SOURCES=(
    [jbd]="plugins/jbd/protocol.c common/checksum.c"
    [pylontech]="plugins/pylontech/protocol.c plugins/pylontech/console.c common/checksum.c"
    [voltronic]="plugins/voltronic/protocol.c common/checksum.c"
    [luxpower]="plugins/luxpower/protocol.c common/checksum.c"
)

mkdir -p "$top_builddir/tests/fuzz/crashes"
for name in $(printf '%s\n' "${!SOURCES[@]}" | sort); do
    [ -f "$top_srcdir/plugins/$name/protocol.c" ] || continue
    binary="$WORK/fuzz_$name"
    srcs=()
    for s in ${SOURCES[$name]}; do srcs+=("$top_srcdir/$s"); done
    if ! "$CC_FUZZ" "${FLAGS[@]}" -I"$top_srcdir/plugins/$name" -o "$binary" \
        "$top_srcdir/tests/fuzz/fuzz_$name.c" "${srcs[@]}" 2>"$WORK/build_$name.log"; then
        sed 's/^/# /' "$WORK/build_$name.log"
        check "fuzz_$name builds" false
        continue
    fi
    corpus="$WORK/corpus_$name"
    mkdir -p "$corpus"
    "$PYTHON" - "$top_srcdir/tests/fuzz/seeds/$name.hex" "$corpus" <<'PY'
import sys
lines = [l for l in open(sys.argv[1]) if l.strip() and not l.startswith("#")]
for i, line in enumerate(lines):
    open("%s/seed_%02d" % (sys.argv[2], i), "wb").write(bytes.fromhex(line))
PY
    "$binary" -max_total_time="$seconds" -max_len=1024 -print_final_stats=1 \
        -artifact_prefix="$top_builddir/tests/fuzz/crashes/${name}_" "$corpus" \
        >"$WORK/fuzz_$name.log" 2>&1
    status=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$WORK/fuzz_$name.log")
    check "fuzz_$name: ${runs:-0} inputs in ${seconds} s, no crash" [ "$status" -eq 0 ]
    [ "$status" -eq 0 ] || grep -E 'ERROR|SUMMARY|==' "$WORK/fuzz_$name.log" | head -20 | sed 's/^/# /'
done
done_testing
