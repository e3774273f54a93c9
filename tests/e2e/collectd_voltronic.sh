#!/usr/bin/env bash
# The voltronic plugin inside a real collectd against the PI30 simulator on a pseudo-terminal:
# exact values through the csv writer, parallel units, mode and warning notifications, a silent
# inverter (bool-up 0, nothing stale), recovery, line faults, a configuration error.
. "$(dirname "$0")/lib.sh"

CONTROL="$WORK/inv.control"
: >"$CONTROL"
start_sim inv voltronic_sim.py --link "$WORK/inv0" --control "$CONTROL" --parallel 2 || exit 1

start_collectd "LoadPlugin voltronic
<Plugin voltronic>
  <Device \"inv\">
    Port \"$WORK/inv0\"
    Timeout 1.5
    Parallel 2
    SettingsInterval 3
  </Device>
</Plugin>" voltronic

has_values() { [ "$(csv_rows voltronic-inv power-pv1)" -gt 0 ]; }
check "collectd writes voltronic values" wait_for 15 has_values
check "collectd is running" collectd_running

check "voltage-grid 0" expect voltronic-inv voltage-grid 0
check "voltage-output 230" expect voltronic-inv voltage-output 230
check "apparent_power-output 161 (solar.types.db)" expect voltronic-inv apparent_power-output 161
check "power-output 119" expect voltronic-inv power-output 119
check "voltage-battery 57.5" expect voltronic-inv voltage-battery 57.5
check "current-battery_charge 12" expect voltronic-inv current-battery_charge 12
check "current-battery_discharge 0" expect voltronic-inv current-battery_discharge 0
check "percent-battery 100" expect voltronic-inv percent-battery 100
check "temperature-heatsink 69" expect voltronic-inv temperature-heatsink 69
check "power-pv1 856" expect voltronic-inv power-pv1 856
check "voltage-battery_scc 57.45" expect voltronic-inv voltage-battery_scc 57.45
check "current-pv2 3.1" expect voltronic-inv current-pv2 3.1
check "power-pv2 1026" expect voltronic-inv power-pv2 1026
check "bool-scc_charging 1" expect voltronic-inv bool-scc_charging 1
check "gauge-mode 3" expect voltronic-inv gauge-mode 3
check "bool-warning_overload 0" expect voltronic-inv bool-warning_overload 0
check "QPIRI: voltage-battery_bulk 56.4" expect voltronic-inv voltage-battery_bulk 56.4
check "parallel unit 1: voltage-battery 52.1" expect voltronic-inv-1 voltage-battery 52.1
check "parallel unit 2: power-output_total 840" expect voltronic-inv-2 power-output_total 840
check "bool-up 1" expect voltronic-inv bool-up 1
check "identity logged at connect" grep -q 'connected to inverter protocol "PI30" serial "92932105105335"' "$WORK/collectd.log"
settings_twice() { [ "$(csv_rows voltronic-inv voltage-battery_bulk)" -ge 2 ]; }
check "settings re-read after SettingsInterval" wait_for 10 settings_twice
check "settings not read every poll" [ "$(csv_rows voltronic-inv voltage-battery_bulk)" -lt "$(csv_rows voltronic-inv power-pv1)" ]

# Grid fails: mode B, warning line_fail, both notified.
echo "normal battery" >"$CONTROL"
mode_is() { same_number "$(csv_last voltronic-inv gauge-mode)" "$1"; }
check "grid fail: gauge-mode 4" wait_for 10 mode_is 4
check "grid fail: bool-warning_line_fail 1" wait_for 5 expect voltronic-inv bool-warning_line_fail 1
check "mode change notified" wait_for 5 grep -q 'mode changed from Line (L) to Battery (B)' "$WORK/collectd.log"
check "warning notified" grep -q 'warning line_fail set' "$WORK/collectd.log"
echo normal >"$CONTROL"
check "grid back: gauge-mode 3" wait_for 10 mode_is 3
check "warning cleared notified" wait_for 5 grep -q 'warning line_fail cleared' "$WORK/collectd.log"

# A silent inverter: bool-up 0, nothing else, collectd keeps running.
echo silent >"$CONTROL"
up_is() { same_number "$(csv_last voltronic-inv bool-up)" "$1"; }
check "a silent inverter reports bool-up 0" wait_for 10 up_is 0
rows=$(csv_rows voltronic-inv power-pv1)
sleep 3
check "no value is dispatched while it is silent" [ "$(csv_rows voltronic-inv power-pv1)" -eq "$rows" ]
check "collectd keeps running" collectd_running
check "the loss is notified" grep -q 'voltronic is not answering' "$WORK/collectd.log"
echo normal >"$CONTROL"
more_values() { [ "$(csv_rows voltronic-inv power-pv1)" -gt "$rows" ]; }
check "values resume when it answers again" wait_for 40 more_values
check "bool-up 1 again" wait_for 5 up_is 1
check "the recovery is notified" grep -q 'voltronic is answering again' "$WORK/collectd.log"

for mode in noise split flaky; do
    echo "$mode" >"$CONTROL"
    rows=$(csv_rows voltronic-inv power-pv1)
    advanced_by_two() { [ "$(csv_rows voltronic-inv power-pv1)" -ge $((rows + 2)) ]; }
    check "$mode: values keep flowing" wait_for 15 advanced_by_two
    check "$mode: values stay exact" expect voltronic-inv voltage-battery_scc 57.45
done
for mode in badcrc truncate nak; do
    echo "$mode" >"$CONTROL"
    check "$mode: bool-up 0" wait_for 10 up_is 0
    rows=$(csv_rows voltronic-inv power-pv1)
    sleep 2
    check "$mode: nothing dispatched" [ "$(csv_rows voltronic-inv power-pv1)" -eq "$rows" ]
    echo normal >"$CONTROL"
    check "$mode: recovers" wait_for 40 up_is 1
done

kill -TERM "$COLLECTD_PID"
stopped() { ! collectd_running; }
check "collectd stops cleanly" wait_for 10 stopped
wait "$COLLECTD_PID"
check "collectd exit status 0" [ $? -eq 0 ]

# A bad Commands list stops collectd at start with a message that names it.
cat >"$WORK/bad.conf" <<CONF
PluginDir "$WORK/plugins"
TypesDB "/usr/share/collectd/types.db"
LoadPlugin voltronic
<Plugin voltronic>
  <Device "inv">
    Port "$WORK/inv0"
    Commands "QPIGS QPIGZ"
  </Device>
</Plugin>
CONF
collectd -f -C "$WORK/bad.conf" >"$WORK/bad.out" 2>&1
check "a bad Commands list keeps collectd from starting" [ $? -ne 0 ]
check "the message names the word" grep -q 'Commands: "QPIGZ" is not one of' "$WORK/bad.out"

done_testing
