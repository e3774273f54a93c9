#!/usr/bin/env bash
# solarpoll against the LuxPower simulator over its three faces: Modbus RTU (pymodbus on a
# pseudo-terminal), Modbus TCP (pymodbus), and the dongle's port-8000 protocol. Exact values
# from the notes' fixtures, one bank lost without losing the others, spikes dropped, faults.
. "$(dirname "$0")/lib.sh"

CONTROL="$WORK/lux.control"
echo normal >"$CONTROL"
start_sim rtu luxpower_sim.py --link "$WORK/lux0" --control "$CONTROL" || exit 1
start_sim tcp luxpower_sim.py --tcp 0 --control "$CONTROL" || exit 1
start_sim dongle luxpower_sim.py --dongle 0 --control "$CONTROL" --stats "$WORK/dongle.stats" || exit 1
RTU="$WORK/lux0"
TCP="modbus-tcp:$(sed -n 's/^READY //p' "$WORK/tcp.ready")"
DONGLE="luxdongle:$(sed -n 's/^READY //p' "$WORK/dongle.ready")"
DATALOG=datalog=2222222222

has() { # FILE TYPE TYPE_INSTANCE VALUE
    grep -q "\"type\":\"$2\",\"type_instance\":\"$3\",\"value\":$4}" "$1" ||
        { echo "# $2-$3 is not $4 in $1: $(grep -o "\"$2\",\"type_instance\":\"$3\",[^}]*" "$1")"; return 1; }
}
lacks() { ! grep -q "\"type\":\"$2\",\"type_instance\":\"$3\"," "$1"; }

# --- Modbus RTU ---
"$SOLARPOLL" read luxpower "$RTU" name=inv --format json >"$WORK/rtu.json" 2>"$WORK/rtu.err"
check "rtu: read exits 0" [ $? -eq 0 ]
check "rtu: json with DESIGN.md's keys" grep -qx \
    '{"plugin":"luxpower","plugin_instance":"inv","type":"voltage","type_instance":"battery","value":52.8}' "$WORK/rtu.json"
check "rtu: percent-soc 83 (low byte of input 5)" has "$WORK/rtu.json" percent soc 83
check "rtu: frequency-grid 50.04" has "$WORK/rtu.json" frequency grid 50.04
check "rtu: power-battery_discharge 512" has "$WORK/rtu.json" power battery_discharge 512
check "rtu: energy-to_user_total 10157 (32-bit, low word first)" has "$WORK/rtu.json" energy to_user_total 10157
check "rtu: energy-pv_total 4215.8" has "$WORK/rtu.json" energy pv_total 4215.8
check "rtu: duration-runtime 82628180" has "$WORK/rtu.json" duration runtime 82628180
check "rtu: current-bms_charge_limit 66" has "$WORK/rtu.json" current bms_charge_limit 66
check "rtu: gauge-power_factor 1" has "$WORK/rtu.json" gauge power_factor 1
check "rtu: slow bank 120: voltage-eps_l1 120.1" has "$WORK/rtu.json" voltage eps_l1 120.1
check "rtu: slow bank 160: power-load 1234" has "$WORK/rtu.json" power load 1234
check "rtu: slow bank 200: voltage-pv4 300" has "$WORK/rtu.json" voltage pv4 300
check "rtu: bool-up 1" has "$WORK/rtu.json" bool up 1
check "rtu: identity logged" bash -c "'$SOLARPOLL' -v read luxpower '$RTU' 2>&1 >/dev/null | grep -q 'connected to inverter 9292006063, model EG4 18kPV/12kPV (2092), firmware FAAB'"

"$SOLARPOLL" metrics luxpower >"$WORK/metrics.txt"
for opt in Slave Banks SlowInterval Datalog Serial; do
    check "metrics lists option $opt" grep -q "^  $opt " "$WORK/metrics.txt"
done
undocumented() {
    local names n pattern
    names=$(sed 's/.*"type":"\([^"]*\)","type_instance":"\([^"]*\)".*/\1-\2/' "$1" | sort -u)
    for n in $names; do
        pattern=$(echo "$n" | sed -E 's/^bool-(fault|warning)_.*/bool-\1_NAME/')
        grep -q "^  $pattern " "$WORK/metrics.txt" || { echo "# undocumented: $n"; return 1; }
    done
}
check "every value read is documented" undocumented "$WORK/rtu.json"
check "DESIGN.md's core names are read" bash -c "for n in gauge-status voltage-pv1 power-pv3 \
    percent-soh power-battery_charge voltage-grid power-inverter power-rectifier power-to_grid \
    power-to_user voltage-eps frequency-eps power-eps energy-pv_today energy-pv1_today \
    energy-to_grid_total energy-charge_total energy-discharge_total temperature-inner \
    temperature-radiator_1 voltage-bus_1 voltage-bus_2 count-cycles; do \
    grep -q \"\\\"type\\\":\\\"\${n%%-*}\\\",\\\"type_instance\\\":\\\"\${n#*-}\\\"\" '$WORK/rtu.json' || exit 1; done"

printf '\n\n\n' | "$SOLARPOLL" execd luxpower "$RTU" name=inv >"$WORK/execd.out" 2>"$WORK/execd.err"
check "execd: banks 0-119 on every poll" [ "$(grep -c 'type_instance=battery value=52.8$' "$WORK/execd.out")" -eq 3 ]
check "execd: banks 120-239 once per SlowInterval (60 s)" [ "$(grep -c 'type_instance=eps_l1 value=120.1$' "$WORK/execd.out")" -eq 1 ]
printf '\n\n' | "$SOLARPOLL" execd luxpower "$RTU" slowinterval=0 >"$WORK/execd0.out" 2>/dev/null
check "execd: SlowInterval 0 reads them every poll" [ "$(grep -c 'type_instance=eps_l1 value=120.1$' "$WORK/execd0.out")" -eq 2 ]
"$SOLARPOLL" read luxpower "$RTU" banks=0-119 --format json >"$WORK/fast.json"
check "banks=0-119: the fast banks only" bash -c "grep -q '\"soc\"' '$WORK/fast.json' && ! grep -q '\"eps_l1\"' '$WORK/fast.json'"
"$SOLARPOLL" read luxpower "$RTU" banks=0-300 2>"$WORK/banks.err"
check "banks out of range: an error naming Banks" bash -c "[ $? -eq 1 ] && grep -q 'Banks' '$WORK/banks.err'"

# One bank failing loses only that bank.
echo exc120 >"$CONTROL"
"$SOLARPOLL" read luxpower "$RTU" --format json >"$WORK/exc.json" 2>"$WORK/exc.err"
check "exception on bank 120: read still exits 0" [ $? -eq 0 ]
check "exception on bank 120: its values are missing" lacks "$WORK/exc.json" voltage eps_l1
check "exception on bank 120: the others are exact" bash -c "grep -q '\"pv4\",\"value\":300}' '$WORK/exc.json' && grep -q '\"soc\",\"value\":83}' '$WORK/exc.json'"
check "exception on bank 120: logged" grep -q 'input 120-159: device answered with an error status (exception 2)' "$WORK/exc.err"
for code in 1 3 4 6; do
    echo "exc120:$code" >"$CONTROL"
    "$SOLARPOLL" read luxpower "$RTU" --format json >"$WORK/exc$code.json" 2>"$WORK/exc$code.err"
    check "rtu: exception $code on bank 120 loses only it" bash -c "[ $? -eq 0 ] && ! grep -q '\"eps_l1\"' '$WORK/exc$code.json' && grep -q '\"pv4\",\"value\":300}' '$WORK/exc$code.json'"
    check "rtu: exception $code named in the log" grep -q "input 120-159: .*(exception $code)" "$WORK/exc$code.err"
done
echo timeout120 >"$CONTROL"
took=$(elapsed_ms "$SOLARPOLL" read luxpower "$RTU" timeout=0.5)
"$SOLARPOLL" read luxpower "$RTU" timeout=0.5 --format json >"$WORK/to.json" 2>"$WORK/to.err"
check "timeout on bank 120: read exits 0" [ $? -eq 0 ]
check "timeout on bank 120: its values are missing, the rest read" bash -c "! grep -q '\"eps_l1\"' '$WORK/to.json' && grep -q '\"load\",\"value\":1234}' '$WORK/to.json'"
echo "# a poll with one silent bank took $took ms with timeout=0.5"
check "timeout on bank 120: one Timeout lost, not more" [ "$took" -lt 1400 ]

echo spike >"$CONTROL"
"$SOLARPOLL" read luxpower "$RTU" --format json >"$WORK/spike.json" 2>"$WORK/spike.err"
check "spike: SOC 255 dropped" lacks "$WORK/spike.json" percent soc
check "spike: SOH 255 dropped" lacks "$WORK/spike.json" percent soh
check "spike: 655.35 Hz dropped" lacks "$WORK/spike.json" frequency grid
check "spike: the rest kept" has "$WORK/spike.json" voltage battery 52.8
check "spike: logged" grep -q 'input 5 (percent-soc): 255 outside 0..100, dropped as a spike' "$WORK/spike.err"

echo fault >"$CONTROL"
"$SOLARPOLL" read luxpower "$RTU" --format json >"$WORK/fault.json" 2>"$WORK/fault.err"
check "fault: gauge-status 64 (battery off-grid)" has "$WORK/fault.json" gauge status 64
check "fault: bool-fault_e021_pv_overvoltage 1" has "$WORK/fault.json" bool fault_e021_pv_overvoltage 1
check "fault: bool-warning_w016_no_grid 1" has "$WORK/fault.json" bool warning_w016_no_grid 1
check "fault: others 0" has "$WORK/fault.json" bool fault_e016_relay 0
check "fault: the set bit is notified" grep -q 'fault e021_pv_overvoltage set' "$WORK/fault.err"
check "fault: gauge-fault_code carries the bits" has "$WORK/fault.json" gauge fault_code 2097152

echo badcrc >"$CONTROL"
"$SOLARPOLL" read luxpower "$RTU" timeout=0.5 >"$WORK/crc.out" 2>"$WORK/crc.err"
check "bad CRC: exit 1, nothing printed" bash -c "[ $? -eq 1 ] && [ ! -s '$WORK/crc.out' ]"
check "bad CRC: named" grep -q 'checksum' "$WORK/crc.err"
echo truncate >"$CONTROL"
"$SOLARPOLL" read luxpower "$RTU" timeout=0.5 >"$WORK/trunc.out" 2>/dev/null
check "truncated replies: exit 1, nothing printed" bash -c "[ $? -eq 1 ] && [ ! -s '$WORK/trunc.out' ]"
echo silent >"$CONTROL"
took=$(elapsed_ms "$SOLARPOLL" read luxpower "$RTU" timeout=0.3)
"$SOLARPOLL" read luxpower "$RTU" timeout=0.3 >"$WORK/silent.out" 2>"$WORK/silent.err"
check "silent: exit 1" [ $? -eq 1 ]
check "silent: says why" grep -q 'no reply before the deadline' "$WORK/silent.err"
echo "# a silent inverter took $took ms with timeout=0.3"
check "silent: fails within the identity's two tries" [ "$took" -lt 1000 ]
echo sleepy >"$CONTROL"
sleep 1.2
"$SOLARPOLL" read luxpower "$RTU" timeout=0.3 --format json >"$WORK/sleepy.json" 2>/dev/null
check "first read after a quiet spell unanswered: the retry reads" bash -c "[ $? -eq 0 ] && grep -q '\"soc\",\"value\":83}' '$WORK/sleepy.json'"
echo normal >"$CONTROL"
"$SOLARPOLL" read luxpower "$RTU" slave=2 timeout=0.3 >/dev/null 2>&1
check "another slave address: no answer, exit 1" [ $? -eq 1 ]

# --- Modbus TCP ---
"$SOLARPOLL" read luxpower "$TCP" name=gw --format json >"$WORK/tcp.json"
check "tcp: read exits 0" [ $? -eq 0 ]
check "tcp: same exact values" bash -c "grep -q '\"battery\",\"value\":52.8}' '$WORK/tcp.json' && grep -q '\"to_user_total\",\"value\":10157}' '$WORK/tcp.json'"
check "tcp: slow banks" has "$WORK/tcp.json" voltage grid_l1 120.5
echo exc120 >"$CONTROL"
"$SOLARPOLL" read luxpower "$TCP" --format json >"$WORK/tcpexc.json" 2>/dev/null
check "tcp: exception on bank 120 loses only it" bash -c "[ $? -eq 0 ] && ! grep -q '\"eps_l1\"' '$WORK/tcpexc.json' && grep -q '\"grid_l1\"' '$WORK/tcpexc.json'"
echo badcrc >"$CONTROL"
"$SOLARPOLL" read luxpower "$TCP" timeout=0.5 >"$WORK/tcpbad.out" 2>/dev/null
check "tcp: a reply to another transaction is not taken" bash -c "[ $? -eq 1 ] && [ ! -s '$WORK/tcpbad.out' ]"
echo normal >"$CONTROL"
"$SOLARPOLL" read luxpower modbus-tcp:127.0.0.1:1 timeout=0.5 2>"$WORK/refused.err"
check "tcp: refused connection exits 1" [ $? -eq 1 ]

# --- the dongle ---
"$SOLARPOLL" read luxpower "$DONGLE" "$DATALOG" name=dg --format json >"$WORK/dongle.json" 2>"$WORK/dongle.err"
check "dongle: read exits 0" [ $? -eq 0 ]
check "dongle: same exact values" bash -c "grep -q '\"battery\",\"value\":52.8}' '$WORK/dongle.json' && grep -q '\"to_user_total\",\"value\":10157}' '$WORK/dongle.json'"
check "dongle: slow banks" has "$WORK/dongle.json" voltage pv4 300
check "dongle: every value documented" undocumented "$WORK/dongle.json"
"$SOLARPOLL" read luxpower "$DONGLE" >/dev/null 2>"$WORK/nodl.err"
check "dongle: no Datalog, an error that says so" grep -q 'needs Datalog' "$WORK/nodl.err"
"$SOLARPOLL" read luxpower "$DONGLE" datalog=222222222 >/dev/null 2>"$WORK/short.err"
check "dongle: a 9-character Datalog, an error that says so" grep -q 'Datalog and Serial must have 10 characters' "$WORK/short.err"
"$SOLARPOLL" read luxpower "$DONGLE" "$DATALOG" serial=9292006063 --format json >"$WORK/dser.json"
check "dongle: Serial given" has "$WORK/dser.json" percent soc 83
echo push >"$CONTROL"
: >"$WORK/dongle.stats"
"$SOLARPOLL" read luxpower "$DONGLE" "$DATALOG" --format json >"$WORK/push.json"
check "dongle: pushed frames tolerated" bash -c "[ $? -eq 0 ] && grep -q '\"soc\",\"value\":83}' '$WORK/push.json'"
check "dongle: heartbeats answered" grep -q heartbeat-echo "$WORK/dongle.stats"
echo junk >"$CONTROL"
"$SOLARPOLL" read luxpower "$DONGLE" "$DATALOG" --format json >"$WORK/junk.json" 2>"$WORK/junk.err"
check "dongle: noise and false starts stepped over" bash -c "[ $? -eq 0 ] && grep -q '\"pv4\",\"value\":300}' '$WORK/junk.json' && grep -q '\"soc\",\"value\":83}' '$WORK/junk.json'"
echo wrongserial >"$CONTROL"
"$SOLARPOLL" read luxpower "$DONGLE" "$DATALOG" serial=9292006063 timeout=0.5 >"$WORK/ws.out" 2>/dev/null
check "dongle: another inverter's replies are not taken" bash -c "[ $? -eq 1 ] && [ ! -s '$WORK/ws.out' ]"
echo badcrc >"$CONTROL"
"$SOLARPOLL" read luxpower "$DONGLE" "$DATALOG" timeout=0.5 >"$WORK/dcrc.out" 2>"$WORK/dcrc.err"
check "dongle: bad CRC, exit 1, named" bash -c "[ $? -eq 1 ] && grep -q checksum '$WORK/dcrc.err'"
echo truncate >"$CONTROL"
"$SOLARPOLL" read luxpower "$DONGLE" "$DATALOG" timeout=0.5 >"$WORK/dtr.out" 2>/dev/null
check "dongle: truncated, exit 1, nothing printed" bash -c "[ $? -eq 1 ] && [ ! -s '$WORK/dtr.out' ]"
for code in 1 2 3 4 6; do
    echo "exc120:$code" >"$CONTROL"
    "$SOLARPOLL" read luxpower "$DONGLE" "$DATALOG" --format json >"$WORK/dexc.json" 2>"$WORK/dexc.err"
    check "dongle: exception $code loses only its bank" bash -c "[ $? -eq 0 ] && ! grep -q '\"eps_l1\"' '$WORK/dexc.json' && grep -q '\"pv4\"' '$WORK/dexc.json'"
    check "dongle: exception $code named in the log" grep -q "input 120-159: .*(exception $code)" "$WORK/dexc.err"
done
echo normal >"$CONTROL"
printf '\n\n' | "$SOLARPOLL" execd luxpower "$DONGLE" "$DATALOG" interval=2 >"$WORK/dexecd.out" 2>"$WORK/dexecd.err"
check "dongle: polls at least 5 s apart" [ "$(grep -c 'type_instance=battery value=52.8$' "$WORK/dexecd.out")" -eq 1 ]
check "dongle: a low Interval is warned about" grep -q "below the dongle's 5 s" "$WORK/dexecd.err"

# --- configuration ---
"$SOLARPOLL" read luxpower "hid:0665:5161" 2>"$WORK/kind.err"
check "a port kind it cannot use exits 2" [ $? -eq 2 ]
check "saying which it accepts" grep -q 'accepts serial, modbus-tcp, luxdongle ports' "$WORK/kind.err"
"$SOLARPOLL" read luxpower "$RTU" slave=300 2>"$WORK/slave.err"
check "Slave out of range exits 2" [ $? -eq 2 ]

done_testing
