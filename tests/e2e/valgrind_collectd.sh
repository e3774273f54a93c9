#!/usr/bin/env bash
# collectd with the jbd and voltronic plugins under valgrind memcheck, through normal polls, a
# silence of both devices, their recovery and a line fault, then a clean stop: zero memory
# errors and no definitely lost block (collectd's exit status is valgrind's error exit code).
# Skipped in a sanitized build: ASan and valgrind cannot share a process.
. "$(dirname "$0")/lib.sh"

if [ -n "${SOLAR_ASAN_RUNTIME:-}" ]; then
    echo "1..0 # SKIP valgrind cannot run an ASan build"
    exit 0
fi
if ! command -v valgrind >/dev/null; then
    echo "1..0 # SKIP valgrind is not installed"
    exit 0
fi

CONTROL="$WORK/faults"
: >"$CONTROL"
start_sim jbd jbd_sim.py --link "$WORK/jbd0" --control "$CONTROL" --extended || exit 1
start_sim inv voltronic_sim.py --link "$WORK/inv0" --control "$CONTROL" || exit 1

COLLECTD_WRAPPER="valgrind --quiet --error-exitcode=99 --leak-check=full --show-leak-kinds=definite
    --errors-for-leak-kinds=definite --track-origins=yes --log-file=$WORK/valgrind.log"
start_collectd "LoadPlugin jbd
<Plugin jbd>
  <Device \"pack\">
    Port \"$WORK/jbd0\"
    Timeout 1.5
  </Device>
</Plugin>
LoadPlugin voltronic
<Plugin voltronic>
  <Device \"inv\">
    Port \"$WORK/inv0\"
    Timeout 1.5
    SettingsInterval 3
  </Device>
</Plugin>" jbd voltronic

under_valgrind() { readlink "/proc/$COLLECTD_PID/exe" | grep -q memcheck; }
check "collectd runs under memcheck" wait_for 10 under_valgrind
rows() { csv_rows "$1" "$2"; }
both_flow() {
    [ "$(rows jbd-pack voltage-pack)" -gt "$1" ] && [ "$(rows voltronic-inv power-pv1)" -gt "$2" ]
}
both_up_is() {
    same_number "$(csv_last jbd-pack bool-up)" "$1" && same_number "$(csv_last voltronic-inv bool-up)" "$1"
}
# Valgrind runs collectd some 20 times slower: generous waits.
check "values under valgrind" wait_for 60 both_flow 0 0
check "exact values" expect jbd-pack voltage-cell_04 3.304
check "exact values (voltronic)" expect voltronic-inv power-pv1 856

echo silent >"$CONTROL"
check "both silent: bool-up 0" wait_for 60 both_up_is 0
echo normal >"$CONTROL"
check "both recover" wait_for 60 both_up_is 1
jbd_rows=$(rows jbd-pack voltage-pack)
inv_rows=$(rows voltronic-inv power-pv1)
check "values resume" wait_for 60 both_flow "$jbd_rows" "$inv_rows"

echo noise >"$CONTROL"
jbd_rows=$(rows jbd-pack voltage-pack)
inv_rows=$(rows voltronic-inv power-pv1)
check "values through line noise" wait_for 60 both_flow "$jbd_rows" "$inv_rows"
echo normal >"$CONTROL"

kill -TERM "$COLLECTD_PID"
wait "$COLLECTD_PID"
status=$?
sed 's/^/# /' "$WORK/valgrind.log" | head -n 80
check "collectd under valgrind exits 0 (no memory error, no definite leak)" [ "$status" -eq 0 ]
check "valgrind reported nothing" [ ! -s "$WORK/valgrind.log" ]

done_testing
