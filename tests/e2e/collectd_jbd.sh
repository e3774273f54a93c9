#!/usr/bin/env bash
# The jbd plugin inside a real collectd against the JBD simulator on a pseudo-terminal: exact
# values through the csv writer, a silent BMS (bool-up 0, no stale values, collectd alive),
# recovery, line faults, and a configuration error.
. "$(dirname "$0")/lib.sh"

CONTROL="$WORK/jbd.control"
: >"$CONTROL"
start_sim jbd jbd_sim.py --link "$WORK/jbd0" --control "$CONTROL" --extended || exit 1
PTY=$(sed -n 's/^READY //p' "$WORK/jbd.ready")

start_collectd "LoadPlugin jbd
<Plugin jbd>
  <Device \"pack\">
    Port \"$WORK/jbd0\"
    Timeout 1.5
  </Device>
  # The same tty by its other name: one bus, one lock, two read threads.
  <Device \"twin\">
    Port \"$PTY\"
    Timeout 1.5
  </Device>
</Plugin>" jbd

has_values() { [ "$(csv_rows jbd-pack voltage-pack)" -gt 0 ]; }
check "collectd writes jbd values" wait_for 15 has_values
check "collectd is running" collectd_running

check "voltage-pack 13.21 V" expect jbd-pack voltage-pack 13.21
check "current-pack +5.25 A" expect jbd-pack current-pack 5.25
check "capacity-remaining 80 Ah" expect jbd-pack capacity-remaining 80
check "capacity-nominal 100 Ah" expect jbd-pack capacity-nominal 100
check "capacity-full_charge 100 Ah (extended)" expect jbd-pack capacity-full_charge 100
check "percent-humidity 45 (extended)" expect jbd-pack percent-humidity 45
check "count-cycles 42" expect jbd-pack count-cycles 42
check "percent-soc 80" expect jbd-pack percent-soc 80
check "temperature-ntc_1 25.0" expect jbd-pack temperature-ntc_1 25
check "temperature-ntc_2 26.5" expect jbd-pack temperature-ntc_2 26.5
check "voltage-cell_01 3.301" expect jbd-pack voltage-cell_01 3.301
check "voltage-cell_04 3.304" expect jbd-pack voltage-cell_04 3.304
check "voltage-cell_min 3.301" expect jbd-pack voltage-cell_min 3.301
check "voltage-cell_max 3.304" expect jbd-pack voltage-cell_max 3.304
check "bool-balancing_cell_02 1" expect jbd-pack bool-balancing_cell_02 1
check "bool-balancing_cell_01 0" expect jbd-pack bool-balancing_cell_01 0
check "bool-charge_fet 1" expect jbd-pack bool-charge_fet 1
check "bool-protection_short_circuit 0" expect jbd-pack bool-protection_short_circuit 0
check "bool-up 1" expect jbd-pack bool-up 1
twin_has_values() { [ "$(csv_rows jbd-twin voltage-pack)" -gt 2 ] && [ "$(csv_rows jbd-pack voltage-pack)" -gt 2 ]; }
check "two devices on one port both read" wait_for 10 twin_has_values
check "twin: exact values" expect jbd-twin voltage-cell_04 3.304
check "shared port: no garbled exchange" bash -c "! grep -qE 'checksum|malformed|no reply' '$WORK/collectd.log'"
check "model string logged at connect" grep -q 'connected to BMS model "JBD-SIM-4S-100A"' "$WORK/collectd.log"

# A silent BMS: bool-up 0, nothing else, collectd keeps running.
echo silent >"$CONTROL"
up_is() { [ "$(csv_last jbd-pack bool-up)" = "$1" ] || same_number "$(csv_last jbd-pack bool-up)" "$1"; }
check "a silent BMS reports bool-up 0" wait_for 10 up_is 0
rows=$(csv_rows jbd-pack voltage-pack)
sleep 3
check "no value is dispatched while it is silent" [ "$(csv_rows jbd-pack voltage-pack)" -eq "$rows" ]
check "collectd keeps running" collectd_running
check "the loss is notified" grep -q 'jbd is not answering' "$WORK/collectd.log"
check "the failure is logged once, not every interval" \
    [ "$(grep -c '"pack" .*no reply before the deadline' "$WORK/collectd.log")" -eq 1 ]

# It answers again: values resume by themselves.
echo normal >"$CONTROL"
more_values() { [ "$(csv_rows jbd-pack voltage-pack)" -gt "$rows" ]; }
check "values resume when the BMS answers again" wait_for 40 more_values
check "bool-up 1 again" wait_for 5 up_is 1
check "the recovery is notified" grep -q 'jbd is answering again' "$WORK/collectd.log"
check "the recovery is logged" grep -q '"pack" .*answering again' "$WORK/collectd.log"

# Faults on a line that still delivers good frames: values keep flowing, and exact.
for mode in noise split stale; do
    echo "$mode" >"$CONTROL"
    rows=$(csv_rows jbd-pack voltage-pack)
    advanced_by_two() { [ "$(csv_rows jbd-pack voltage-pack)" -ge $((rows + 2)) ]; }
    check "$mode: values keep flowing" wait_for 10 advanced_by_two
    check "$mode: values stay exact" expect jbd-pack voltage-cell_03 3.303
done

# Faults that deliver no good frame: no value at all, never a wrong one.
for mode in badcrc truncate status80 wrongreg; do
    echo "$mode" >"$CONTROL"
    check "$mode: bool-up 0" wait_for 10 up_is 0
    rows=$(csv_rows jbd-pack voltage-pack)
    sleep 2
    check "$mode: nothing dispatched" [ "$(csv_rows jbd-pack voltage-pack)" -eq "$rows" ]
    echo normal >"$CONTROL"
    check "$mode: recovers" wait_for 40 up_is 1
done
check "checksum errors are named in the log" grep -q 'checksum mismatch' "$WORK/collectd.log"

kill -TERM "$COLLECTD_PID"
stopped() { ! collectd_running; }
check "collectd stops cleanly" wait_for 10 stopped
wait "$COLLECTD_PID"
check "collectd exit status 0" [ $? -eq 0 ]

# A wrong key stops collectd at start with a message that names it.
cat >"$WORK/bad.conf" <<CONF
PluginDir "$WORK/plugins"
TypesDB "/usr/share/collectd/types.db"
LoadPlugin jbd
<Plugin jbd>
  <Device "pack">
    Port "$WORK/jbd0"
    Tiemout 2
  </Device>
</Plugin>
CONF
collectd -f -C "$WORK/bad.conf" >"$WORK/bad.out" 2>&1
check "a wrong key keeps collectd from starting" [ $? -ne 0 ]
check "the message names the key" grep -q 'unknown option "Tiemout"' "$WORK/bad.out"

done_testing
