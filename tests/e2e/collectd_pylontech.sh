#!/usr/bin/env bash
# The pylontech plugin inside a real collectd against the stack simulator: two <Device> blocks
# on one port (one bus lock), exact per-pack values through the csv writer, one pack going
# silent while the others flow, the whole stack silent, recovery, an alarm and its
# notification, line faults, and a configuration error.
. "$(dirname "$0")/lib.sh"

CONTROL="$WORK/pyl.control"
: >"$CONTROL"
start_sim pyl pylontech_sim.py --link "$WORK/pyl0" --control "$CONTROL" --packs 3 --full 74 \
    --remaining 61.42 --alarm-extra || exit 1
PTY=$(sed -n 's/^READY //p' "$WORK/pyl.ready")
# A console stack that must be woken at 1200 baud first.
start_sim con pylontech_sim.py --protocol console --asleep --link "$WORK/con0" --packs 2 || exit 1

start_collectd "LoadPlugin pylontech
<Plugin pylontech>
  <Device \"rack\">
    Port \"$WORK/pyl0\"
    Addresses \"2-3\"
    Timeout 0.5
  </Device>
  # The third pack through the tty's other name: one bus, one lock, two read threads.
  <Device \"last\">
    Port \"$PTY\"
    Addresses \"4\"
    Timeout 0.5
  </Device>
  <Device \"con\">
    Port \"$WORK/con0\"
    Protocol \"console\"
    Baud 115200
    Addresses \"auto\"
  </Device>
</Plugin>" pylontech

has_values() { [ "$(csv_rows pylontech-rack-1 voltage-pack)" -gt 0 ]; }
check "collectd writes pylontech values" wait_for 15 has_values
check "collectd is running" collectd_running

check "pack 1 voltage-pack 49.605 V" expect pylontech-rack-1 voltage-pack 49.605
check "pack 1 current-pack -2.6 A" expect pylontech-rack-1 current-pack -2.6
check "pack 2 current-pack -1.6 A" expect pylontech-rack-2 current-pack -1.6
check "pack 1 capacity-remaining 61.42 Ah (3-byte field)" expect pylontech-rack-1 capacity-remaining 61.42
check "pack 1 capacity-full 74 Ah (3-byte field)" expect pylontech-rack-1 capacity-full 74
check "pack 2 voltage-cell_15 3.324" expect pylontech-rack-2 voltage-cell_15 3.324
check "pack 1 voltage-cell_min 3.300" expect pylontech-rack-1 voltage-cell_min 3.3
check "pack 2 temperature-bms 26" expect pylontech-rack-2 temperature-bms 26
check "pack 2 count-cycles 32" expect pylontech-rack-2 count-cycles 32
check "pack 1 voltage-charge_limit 53.25" expect pylontech-rack-1 voltage-charge_limit 53.25
check "pack 1 bool-discharge_fet 1" expect pylontech-rack-1 bool-discharge_fet 1
check "pack 1 bool-alarm_module_over_voltage 0" expect pylontech-rack-1 bool-alarm_module_over_voltage 0
check "pack 1 bool-up 1" expect pylontech-rack-1 bool-up 1
check "device bool-up 1" expect pylontech-rack bool-up 1
check "device count-packs 2" expect pylontech-rack count-packs 2
last_has_values() { [ "$(csv_rows pylontech-last-3 voltage-pack)" -gt 2 ] && [ "$(csv_rows pylontech-rack-2 voltage-pack)" -gt 2 ]; }
check "two devices on one port both read" wait_for 10 last_has_values
check "second device: pack 3 exact" expect pylontech-last-3 voltage-cell_15 3.334
check "shared port: no garbled exchange" bash -c "! grep -qE 'checksum|malformed|no reply|not answering' '$WORK/collectd.log'"
check "identity logged at connect" grep -q 'connected to US2000C v2.4 (Pylon), protocol 0x20; packs 1 (ADR 2, SIMPACK000000001), 2 (ADR 3' "$WORK/collectd.log"

# The console device: woken, then pwr and bat of each pack.
con_values() { [ "$(csv_rows pylontech-con-2 voltage-cell_15)" -gt 0 ]; }
check "console: values arrive after the wake-up" wait_for 15 con_values
check "console: the wake-up is logged" grep -q 'sending the 1200-baud wake-up' "$WORK/collectd.log"
check "console: pack 1 voltage-pack" expect pylontech-con-1 voltage-pack 49.605
check "console: pack 2 current-pack" expect pylontech-con-2 current-pack -1.6
check "console: pack 2 cell 15" expect pylontech-con-2 voltage-cell_15 3.324
check "console: pack 1 percent-soc" expect pylontech-con-1 percent-soc 67
check "console: device bool-up" expect pylontech-con bool-up 1

# One pack stops answering: bool-up 0 for it, the others keep flowing.
echo "silent@3" >"$CONTROL"
up_is() { same_number "$(csv_last "pylontech-$1" bool-up)" "$2"; }
check "the silent pack reports bool-up 0" wait_for 10 up_is rack-2 0
rows2=$(csv_rows pylontech-rack-2 voltage-pack)
rows1=$(csv_rows pylontech-rack-1 voltage-pack)
sleep 3
check "no value of the silent pack" [ "$(csv_rows pylontech-rack-2 voltage-pack)" -eq "$rows2" ]
check "the other pack keeps flowing" [ "$(csv_rows pylontech-rack-1 voltage-pack)" -gt "$rows1" ]
check "the device stays up" up_is rack 1
check "the pack's loss is notified" grep -q 'pack 2 (ADR 3) is not answering' "$WORK/collectd.log"
echo normal >"$CONTROL"
check "the pack comes back" wait_for 10 up_is rack-2 1
check "its return is notified" grep -q 'pack 2 (ADR 3) is answering again' "$WORK/collectd.log"

# The whole stack silent: device bool-up 0, nothing else, collectd keeps running.
echo silent >"$CONTROL"
check "a silent stack reports bool-up 0" wait_for 10 up_is rack 0
rows1=$(csv_rows pylontech-rack-1 voltage-pack)
sleep 3
check "no value is dispatched while it is silent" [ "$(csv_rows pylontech-rack-1 voltage-pack)" -eq "$rows1" ]
check "collectd keeps running" collectd_running
check "the loss is notified" grep -q 'pylontech is not answering' "$WORK/collectd.log"
echo normal >"$CONTROL"
more_values() { [ "$(csv_rows pylontech-rack-1 voltage-pack)" -gt "$rows1" ]; }
check "values resume when the stack answers again" wait_for 40 more_values
check "bool-up 1 again" wait_for 5 up_is rack 1

# An alarm: its bool and a notification.
echo "alarm@2" >"$CONTROL"
check "module over-voltage alarm is 1" wait_for 10 expect pylontech-rack-1 bool-alarm_module_over_voltage 1
check "cell over-voltage alarm is 1" expect pylontech-rack-1 bool-alarm_cell_over_voltage 1
check "the alarm is notified" grep -q 'alarm module_over_voltage set' "$WORK/collectd.log"
echo normal >"$CONTROL"
check "the alarm clears" wait_for 10 expect pylontech-rack-1 bool-alarm_module_over_voltage 0
check "the clearing is notified" grep -q 'alarm module_over_voltage cleared' "$WORK/collectd.log"

# Faults on a line that still delivers good frames: values keep flowing, and exact.
for mode in noise echo stale; do
    echo "$mode" >"$CONTROL"
    rows=$(csv_rows pylontech-rack-1 voltage-pack)
    advanced_by_two() { [ "$(csv_rows pylontech-rack-1 voltage-pack)" -ge $((rows + 2)) ]; }
    check "$mode: values keep flowing" wait_for 10 advanced_by_two
    check "$mode: values stay exact" expect pylontech-rack-2 voltage-cell_03 3.312
done

# Faults that deliver no good frame: no value at all, never a wrong one.
for mode in badcrc badlength truncate rtn91; do
    echo "$mode" >"$CONTROL"
    check "$mode: bool-up 0" wait_for 10 up_is rack 0
    rows=$(csv_rows pylontech-rack-1 voltage-pack)
    sleep 2
    check "$mode: nothing dispatched" [ "$(csv_rows pylontech-rack-1 voltage-pack)" -eq "$rows" ]
    echo normal >"$CONTROL"
    check "$mode: recovers" wait_for 40 up_is rack 1
done
check "checksum errors are named in the log" grep -q 'checksum mismatch' "$WORK/collectd.log"
check "RTN 91 is named in the log" grep -q 'internal communication error between master and slave' "$WORK/collectd.log"

kill -TERM "$COLLECTD_PID"
stopped() { ! collectd_running; }
check "collectd stops cleanly" wait_for 10 stopped
wait "$COLLECTD_PID"
check "collectd exit status 0" [ $? -eq 0 ]

# A wrong key stops collectd at start with a message that names it.
cat >"$WORK/bad.conf" <<CONF
PluginDir "$WORK/plugins"
TypesDB "/usr/share/collectd/types.db"
LoadPlugin pylontech
<Plugin pylontech>
  <Device "rack">
    Port "$WORK/pyl0"
    Adresses "2-5"
  </Device>
</Plugin>
CONF
collectd -f -C "$WORK/bad.conf" >"$WORK/bad.out" 2>&1
check "a wrong key keeps collectd from starting" [ $? -ne 0 ]
check "the message names the key" grep -q 'unknown option "Adresses"' "$WORK/bad.out"
sed -i 's/Adresses "2-5"/Addresses "2-99"/' "$WORK/bad.conf"
collectd -f -C "$WORK/bad.conf" >"$WORK/bad2.out" 2>&1
check "a bad Addresses keeps collectd from starting" [ $? -ne 0 ]
check "the message names it" grep -q 'Addresses "2-99"' "$WORK/bad2.out"

done_testing
