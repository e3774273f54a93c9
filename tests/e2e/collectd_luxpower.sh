#!/usr/bin/env bash
# The luxpower plugin inside a real collectd: two inverters' worth of devices on one RTU port
# (one bus, one lock), a Modbus TCP gateway and a dongle, against the simulator; exact values
# through the csv writer, faults as values and notifications, one bank failing, spikes, a
# silent inverter and its recovery.
. "$(dirname "$0")/lib.sh"

CONTROL="$WORK/lux.control"
echo normal >"$CONTROL"
DCONTROL="$WORK/dongle.control"
echo normal >"$DCONTROL"
start_sim rtu luxpower_sim.py --link "$WORK/lux0" --control "$CONTROL" || exit 1
start_sim tcp luxpower_sim.py --tcp 0 || exit 1
start_sim dongle luxpower_sim.py --dongle 0 --control "$DCONTROL" --stats "$WORK/dongle.stats" || exit 1
PTY=$(sed -n 's/^READY //p' "$WORK/rtu.ready")
TCP=$(sed -n 's/^READY //p' "$WORK/tcp.ready")
DONGLE=$(sed -n 's/^READY //p' "$WORK/dongle.ready")

start_collectd "LoadPlugin luxpower
<Plugin luxpower>
  <Device \"inv\">
    Port \"$WORK/lux0\"
    SlowInterval 0
    Timeout 0.5
  </Device>
  # The same tty by its real name: one bus, so the two never interleave on the line.
  <Device \"twin\">
    Port \"$(readlink -f "$WORK/lux0")\"
    Banks \"0-119\"
    Timeout 0.5
  </Device>
  <Device \"gw\">
    Port \"modbus-tcp:$TCP\"
  </Device>
  <Device \"dg\">
    Port \"luxdongle:$DONGLE\"
    Datalog \"2222222222\"
    Interval 5
  </Device>
</Plugin>" luxpower

has_values() { [ "$(csv_rows luxpower-inv voltage-battery)" -gt 0 ]; }
check "collectd writes luxpower values" wait_for 15 has_values
check "collectd is running" collectd_running

check "voltage-battery 52.8" expect luxpower-inv voltage-battery 52.8
check "percent-soc 83" expect luxpower-inv percent-soc 83
check "gauge-status 16" expect luxpower-inv gauge-status 16
check "frequency-grid 50.04" expect luxpower-inv frequency-grid 50.04
check "energy-to_user_total 10157" expect luxpower-inv energy-to_user_total 10157
check "energy-pv_total 4215.8" expect luxpower-inv energy-pv_total 4215.8
check "temperature-inner 28" expect luxpower-inv temperature-inner 28
check "voltage-eps_l1 120.1 (bank 120)" expect luxpower-inv voltage-eps_l1 120.1
check "bool-fault_e021_pv_overvoltage 0" expect luxpower-inv bool-fault_e021_pv_overvoltage 0
check "bool-up 1" expect luxpower-inv bool-up 1
twin_reads() { [ "$(csv_rows luxpower-twin percent-soc)" -gt 2 ] && [ "$(csv_rows luxpower-inv percent-soc)" -gt 2 ]; }
check "two devices on one RTU port both read" wait_for 10 twin_reads
"$SOLARPOLL" read luxpower "$WORK/lux0" timeout=0.3 >/dev/null 2>"$WORK/busy.err"
check "a second master on the RTU line is refused (busy)" bash -c "[ $? -eq 1 ] && grep -q 'busy' '$WORK/busy.err'"
check "twin: Banks 0-119 reads no bank 120" [ ! -f "$(csv_file luxpower-twin voltage-eps_l1)" ]
check "shared port: no garbled exchange" bash -c "! grep -qE 'checksum|malformed|no reply|skipped' '$WORK/collectd.log'"
check "identity logged at connect" grep -q '"inv" .*connected to inverter 9292006063, model EG4 18kPV/12kPV (2092), firmware FAAB' "$WORK/collectd.log"
gw_reads() { [ "$(csv_rows luxpower-gw percent-soc)" -gt 0 ]; }
check "modbus-tcp gateway read" wait_for 10 gw_reads
check "modbus-tcp: exact" expect luxpower-gw energy-to_user_total 10157
dg_reads() { [ "$(csv_rows luxpower-dg percent-soc)" -gt 0 ]; }
check "dongle read" wait_for 15 dg_reads
check "dongle: exact" expect luxpower-dg voltage-pv4 300

# Faults: values and notifications on the edges.
echo fault >"$CONTROL"
fault_is() { [ "$(csv_last luxpower-inv bool-fault_e021_pv_overvoltage)" = "$1" ] || same_number "$(csv_last luxpower-inv bool-fault_e021_pv_overvoltage)" "$1"; }
check "fault: bool-fault_e021_pv_overvoltage 1" wait_for 10 fault_is 1
check "fault: bool-warning_w016_no_grid 1" wait_for 5 expect luxpower-inv bool-warning_w016_no_grid 1
check "fault: notified when set" grep -q 'fault e021_pv_overvoltage set' "$WORK/collectd.log"
check "status change notified with its name" grep -q 'status battery_off_grid (0x40)' "$WORK/collectd.log"
echo normal >"$CONTROL"
check "fault: cleared" wait_for 10 fault_is 0
check "fault: notified when cleared" grep -q 'fault e021_pv_overvoltage cleared' "$WORK/collectd.log"

# One bank failing: its values stop, the others flow.
echo exc120 >"$CONTROL"
sleep 2
eps=$(csv_rows luxpower-inv voltage-eps_l1)
soc=$(csv_rows luxpower-inv percent-soc)
sleep 3
check "exc120: bank 120 values stop" [ "$(csv_rows luxpower-inv voltage-eps_l1)" -eq "$eps" ]
check "exc120: other banks keep flowing" [ "$(csv_rows luxpower-inv percent-soc)" -ge $((soc + 2)) ]
check "exc120: bank 160 keeps flowing" expect luxpower-inv power-load 1234
check "exc120: bool-up stays 1" expect luxpower-inv bool-up 1
check "exc120: logged once" [ "$(grep -c '"inv" .*input 120-159: .*skipped' "$WORK/collectd.log")" -eq 1 ]
echo normal >"$CONTROL"
eps_back() { [ "$(csv_rows luxpower-inv voltage-eps_l1)" -gt "$eps" ]; }
check "exc120: bank 120 back" wait_for 10 eps_back

# A spike: SOC 255 and 655.35 Hz dropped, never written.
echo spike >"$CONTROL"
sleep 2
soc=$(csv_rows luxpower-inv percent-soc)
volt=$(csv_rows luxpower-inv voltage-battery)
sleep 3
check "spike: no SOC written" [ "$(csv_rows luxpower-inv percent-soc)" -eq "$soc" ]
check "spike: voltage keeps flowing" [ "$(csv_rows luxpower-inv voltage-battery)" -ge $((volt + 2)) ]
check "spike: the last SOC written is still 83" expect luxpower-inv percent-soc 83
check "spike: logged once per run, not every poll" \
    [ "$(grep -c '"inv" .*input 5 (percent-soc): 255 outside 0..100, dropped as a spike' "$WORK/collectd.log")" -eq 1 ]
echo normal >"$CONTROL"

# A silent inverter: bool-up 0, nothing else, collectd alive; then recovery.
echo silent >"$CONTROL"
up_is() { [ "$(csv_last luxpower-inv bool-up)" = "$1" ] || same_number "$(csv_last luxpower-inv bool-up)" "$1"; }
check "silent: bool-up 0" wait_for 10 up_is 0
# Its devices have closed their libmodbus descriptors and dial again: the line stays claimed
# by collectd all the while, so a second master is still refused.
"$SOLARPOLL" read luxpower "$WORK/lux0" timeout=0.3 >/dev/null 2>"$WORK/busy.err"
check "silent: solarpoll on the same line is refused while collectd holds it" \
    bash -c "[ $? -eq 1 ] && grep -q 'busy' '$WORK/busy.err'"
rows=$(csv_rows luxpower-inv voltage-battery)
sleep 3
check "silent: nothing dispatched" [ "$(csv_rows luxpower-inv voltage-battery)" -eq "$rows" ]
check "silent: collectd keeps running" collectd_running
check "silent: the loss is notified" grep -q 'luxpower is not answering' "$WORK/collectd.log"
echo normal >"$CONTROL"
more_values() { [ "$(csv_rows luxpower-inv voltage-battery)" -gt "$rows" ]; }
check "values resume when it answers again" wait_for 40 more_values
check "the recovery is notified" grep -q 'luxpower is answering again' "$WORK/collectd.log"

# The dongle: pushed frames and heartbeats between replies; a dropped bad-CRC poll.
echo push >"$DCONTROL"
rows=$(csv_rows luxpower-dg percent-soc)
dg_more() { [ "$(csv_rows luxpower-dg percent-soc)" -gt "$rows" ]; }
check "dongle: pushed frames do not stop the values" wait_for 15 dg_more
check "dongle: values exact among pushed frames" expect luxpower-dg percent-soc 83
check "dongle: heartbeats echoed" grep -q heartbeat-echo "$WORK/dongle.stats"
echo normal >"$DCONTROL"
check "dongle: one connection kept across polls" [ "$(grep -c connect "$WORK/dongle.stats")" -eq 1 ]

# A dongle gone deaf: down, then the connection is dialled again and values resume.
echo silent >"$DCONTROL"
dg_up_is() { same_number "$(csv_last luxpower-dg bool-up)" "$1"; }
check "dongle silent: bool-up 0" wait_for 40 dg_up_is 0
rows=$(csv_rows luxpower-dg percent-soc)
echo normal >"$DCONTROL"
check "dongle: values resume" wait_for 40 dg_more
check "dongle: re-dialled after the timeouts" [ "$(grep -c connect "$WORK/dongle.stats")" -gt 1 ]

kill -TERM "$COLLECTD_PID"
stopped() { ! collectd_running; }
check "collectd stops cleanly" wait_for 10 stopped
wait "$COLLECTD_PID"
check "collectd exit status 0" [ $? -eq 0 ]

cat >"$WORK/bad.conf" <<CONF
PluginDir "$WORK/plugins"
TypesDB "/usr/share/collectd/types.db"
LoadPlugin luxpower
<Plugin luxpower>
  <Device "inv">
    Port "$WORK/lux0"
    Slaev 2
  </Device>
</Plugin>
CONF
collectd -f -C "$WORK/bad.conf" >"$WORK/bad.out" 2>&1
check "a wrong key keeps collectd from starting" [ $? -ne 0 ]
check "the message names the key" grep -q 'unknown option "Slaev"' "$WORK/bad.out"

done_testing
