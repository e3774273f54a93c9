#!/usr/bin/env bash
# solarpoll against the PI30 simulator: exact values, documented names, Commands, QPIGS2 NAK,
# SettingsInterval, Parallel, identity, line faults, exit codes, the tcp transport.
. "$(dirname "$0")/lib.sh"

CONTROL="$WORK/inv.control"
SIMLOG="$WORK/inv.log"
: >"$CONTROL"
start_sim inv voltronic_sim.py --link "$WORK/inv0" --control "$CONTROL" --log "$SIMLOG" --parallel 2 || exit 1
PORT="$WORK/inv0"

"$SOLARPOLL" read voltronic "$PORT" name=inv parallel=2 --format json >"$WORK/read.json" 2>"$WORK/read.err"
check "read exits 0" [ $? -eq 0 ]
value_is() { # TYPE TYPE_INSTANCE VALUE [INSTANCE]
    grep -qx "{\"plugin\":\"voltronic\",\"plugin_instance\":\"${4:-inv}\",\"type\":\"$1\",\"type_instance\":\"$2\",\"value\":$3}" "$WORK/read.json" ||
        { echo "# $1-$2: $(grep "\"type\":\"$1\",\"type_instance\":\"$2\"" "$WORK/read.json" | head -1)"; return 1; }
}
check "voltage-battery 57.5" value_is voltage battery 57.5
check "voltage-battery_scc 57.45" value_is voltage battery_scc 57.45
check "voltage-output 230" value_is voltage output 230
check "frequency-output 49.9" value_is frequency output 49.9
check "apparent_power-output 161" value_is apparent_power output 161
check "power-output 119" value_is power output 119
check "percent-load 3" value_is percent load 3
check "voltage-bus 460" value_is voltage bus 460
check "current-battery_charge 12" value_is current battery_charge 12
check "percent-battery 100" value_is percent battery 100
check "temperature-heatsink 69" value_is temperature heatsink 69
check "current-pv1 14" value_is current pv1 14
check "voltage-pv1 103.8" value_is voltage pv1 103.8
check "power-pv1 856 from the QPIGS field, not SCC V x I" value_is power pv1 856
check "power-pv2 1026 (QPIGS2)" value_is power pv2 1026
check "voltage-pv2 327.3" value_is voltage pv2 327.3
check "bool-load_on 1" value_is bool load_on 1
check "bool-scc_charging 1" value_is bool scc_charging 1
check "bool-ac_charging 0" value_is bool ac_charging 0
check "bool-switched_on 1 (status 2)" value_is bool switched_on 1
check "gauge-mode 3 (Line)" value_is gauge mode 3
check "bool-warning_line_fail 0" value_is bool warning_line_fail 0
check "36 warning bits: bool-warning_mppt3_overload_fault" value_is bool warning_mppt3_overload_fault 0
check "QPIRI: gauge-parallel_max 6" value_is gauge parallel_max 6
check "QPIRI: power-output_rating 4000" value_is power output_rating 4000
check "QFLAG: bool-flag_backlight 1" value_is bool flag_backlight 1
check "QFLAG: bool-flag_power_saving 0" value_is bool flag_power_saving 0
check "QDI: voltage-default_battery_bulk 56.4" value_is voltage default_battery_bulk 56.4
check "parallel unit 1: power-output 420" value_is power output 420 inv-1
check "parallel unit 2: power-output_total 840" value_is power output_total 840 inv-2
check "bool-up 1" value_is bool up 1
check "identity queried at connect" bash -c "grep -q ' QPI mode' '$SIMLOG' && grep -q ' QID mode' '$SIMLOG' && grep -q ' QVFW mode' '$SIMLOG'"

"$SOLARPOLL" -v read voltronic "$PORT" >/dev/null 2>"$WORK/ident.err"
check "identity logged" grep -q 'protocol "PI30" serial "92932105105335" firmware "VERFW:00072.70"' "$WORK/ident.err"

# Every value's name is documented by `solarpoll metrics voltronic`.
"$SOLARPOLL" metrics voltronic >"$WORK/metrics.txt"
check "metrics lists the driver's options" grep -q '^  SettingsInterval ' "$WORK/metrics.txt"
check "metrics lists gauge-mode's numeric values" grep -q 'gauge-mode .*4 B battery' "$WORK/metrics.txt"
undocumented() {
    local names n pattern
    names=$(sed 's/.*"type":"\([^"]*\)","type_instance":"\([^"]*\)".*/\1-\2/' "$WORK/read.json" | sort -u)
    for n in $names; do
        pattern=$(echo "$n" | sed -E 's/^bool-(warning|flag)_.*/bool-\1_NAME/')
        grep -q "^  $pattern " "$WORK/metrics.txt" || { echo "# undocumented: $n"; return 1; }
    done
}
check "every value read is documented" undocumented

"$SOLARPOLL" read voltronic "$PORT" name=inv --format putval >"$WORK/read.putval"
check "putval" grep -qx "PUTVAL \"$(hostname)/voltronic-inv/power-pv1\" N:856" "$WORK/read.putval"
"$SOLARPOLL" read voltronic "$PORT" name=inv --format influx >"$WORK/read.influx"
check "influx" grep -qx "voltronic_value,host=$(hostname),instance=inv,type=gauge,type_instance=mode value=3" "$WORK/read.influx"

# Commands restricts the set, identity queries included.
: >"$SIMLOG"
"$SOLARPOLL" read voltronic "$PORT" name=inv "commands=QPIGS QMOD" --format json >"$WORK/cmds.json"
check "Commands: read exits 0" [ $? -eq 0 ]
check "Commands: only QPIGS and QMOD sent" [ "$(awk '{print $2}' "$SIMLOG" | sort -u | tr '\n' ' ')" = "QMOD QPIGS " ]
check "Commands: no QPIGS2 values" bash -c "! grep -q 'pv2' '$WORK/cmds.json'"
check "Commands: gauge-mode still there" grep -q '"type_instance":"mode","value":3}' "$WORK/cmds.json"
"$SOLARPOLL" read voltronic "$PORT" "commands=QPIGS QXYZ" 2>"$WORK/cmds.err"
check "Commands: an unknown word exits 2" [ $? -eq 2 ]
check "Commands: naming the word" grep -q 'Commands: "QXYZ" is not one of' "$WORK/cmds.err"

# Three polls in one process: settings once (10 x Interval), the rest each time.
: >"$SIMLOG"
printf '\n\n\n' | "$SOLARPOLL" execd voltronic "$PORT" name=inv >"$WORK/execd.out" 2>"$WORK/execd.err"
check "execd exits 0" [ $? -eq 0 ]
count_cmd() { grep -c " $1 mode" "$SIMLOG"; }
check "QPIGS asked every poll" [ "$(count_cmd QPIGS)" -eq 3 ]
check "QPIRI asked once per SettingsInterval" [ "$(count_cmd QPIRI)" -eq 1 ]
check "QFLAG and QDI too" test "$(count_cmd QFLAG)" -eq 1 -a "$(count_cmd QDI)" -eq 1
check "identity asked once, at connect" [ "$(count_cmd QID)" -eq 1 ]
check "execd: QPIRI values once" [ "$(grep -c 'type_instance=output_rating value=4000' "$WORK/execd.out")" -eq 1 ]
: >"$SIMLOG"
(echo; sleep 0.3; echo; sleep 0.3; echo) | "$SOLARPOLL" execd voltronic "$PORT" settingsinterval=0.2 >/dev/null 2>&1
check "SettingsInterval 0.2, polls 0.3 s apart: QPIRI every poll" [ "$(count_cmd QPIRI)" -eq 3 ]

# SettingsInterval 0 and no Interval (the host's): every 10 polls, by the time between polls.
: >"$SIMLOG"
(for _ in $(seq 25); do echo; sleep 0.1; done) | "$SOLARPOLL" execd voltronic "$PORT" >/dev/null 2>&1
n=$(count_cmd QPIRI)
echo "# 25 polls 0.1 s apart: QPIRI asked $n times"
check "default SettingsInterval: 10 x the observed poll interval" test "$n" -ge 2 -a "$n" -le 5

# An inverter without a second MPPT: QPIGS2 NAKed once, not asked again until reconnect.
start_sim nak voltronic_sim.py --link "$WORK/inv1" --log "$WORK/nak.log" --qpigs2 nak || exit 1
printf '\n\n\n' | "$SOLARPOLL" execd voltronic "$WORK/inv1" name=nak >"$WORK/nak.out" 2>"$WORK/nak.err"
check "QPIGS2 NAK: polls still succeed" [ "$(grep -c 'type_instance=pv1 value=856' "$WORK/nak.out")" -eq 3 ]
check "QPIGS2 NAK: asked once in three polls" [ "$(grep -c ' QPIGS2 mode' "$WORK/nak.log")" -eq 1 ]
check "QPIGS2 NAK: no pv2 values" bash -c "! grep -q 'type_instance=pv2' '$WORK/nak.out'"

# Parallel units numbered from 1 (QPGS1 = master on a 2 x MAX-8000): ParallelFirst.
start_sim par voltronic_sim.py --link "$WORK/inv3" --parallel 2 --parallel-first 1 --log "$WORK/par.log" || exit 1
"$SOLARPOLL" read voltronic "$WORK/inv3" name=par parallel=2 parallelfirst=1 --format json >"$WORK/par.json"
check "ParallelFirst 1: read exits 0" [ $? -eq 0 ]
check "ParallelFirst 1: QPGS1 and QPGS2 asked" bash -c "grep -q ' QPGS1 ' '$WORK/par.log' && grep -q ' QPGS2 ' '$WORK/par.log' && ! grep -q ' QPGS0 ' '$WORK/par.log'"
check "ParallelFirst 1: QPGS1 is par-1" grep -q '"plugin_instance":"par-1","type":"power","type_instance":"output","value":420}' "$WORK/par.json"

# A MAX: QID NAKed, QSID answers.
start_sim max voltronic_sim.py --link "$WORK/inv2" --qsid --serial 12345678901234 || exit 1
"$SOLARPOLL" -v read voltronic "$WORK/inv2" serial=12345678901234 >/dev/null 2>"$WORK/max.err"
check "QSID identity: read exits 0 with the right Serial" [ $? -eq 0 ]
check "QSID identity: serial logged" grep -q 'serial "12345678901234"' "$WORK/max.err"
"$SOLARPOLL" read voltronic "$WORK/inv2" serial=99999999999999 >/dev/null 2>"$WORK/other.err"
check "another inverter than Serial: exit 1" [ $? -eq 1 ]
check "another inverter than Serial: said" grep -q 'not the configured "99999999999999"' "$WORK/other.err"

# The inverter's state: mode and warnings.
echo "normal battery" >"$CONTROL"
"$SOLARPOLL" read voltronic "$PORT" name=inv --format json >"$WORK/read.json"
check "battery: gauge-mode 4" value_is gauge mode 4
check "battery: bool-warning_line_fail 1" value_is bool warning_line_fail 1

# Faults on a line that still delivers good frames: exact values.
for mode in noise split flaky; do
    echo "$mode" >"$CONTROL"
    "$SOLARPOLL" read voltronic "$PORT" name=inv --format json >"$WORK/read.json" 2>"$WORK/$mode.err"
    check "$mode: read exits 0" [ $? -eq 0 ]
    check "$mode: values exact" value_is voltage battery_scc 57.45
done

# Faults that deliver no good frame: exit 1, nothing on stdout, the reason on stderr.
for spec in "silent:no reply before the deadline" "truncate:no reply before the deadline" \
    "badcrc:checksum" "nak:not support" "echo:not support"; do
    mode=${spec%%:*} why=${spec#*:}
    echo "$mode" >"$CONTROL"
    "$SOLARPOLL" read voltronic "$PORT" timeout=0.5 >"$WORK/$mode.out" 2>"$WORK/$mode.err"
    check "$mode: exits 1" [ $? -eq 1 ]
    check "$mode: prints no value" [ ! -s "$WORK/$mode.out" ]
    check "$mode: says why" grep -qi "$why" "$WORK/$mode.err"
done
echo silent >"$CONTROL"
took=$(elapsed_ms "$SOLARPOLL" read voltronic "$PORT" timeout=1)
echo "# a silent inverter took $took ms with timeout=1"
check "a silent inverter fails within Timeout" [ "$took" -lt 1800 ]
echo normal >"$CONTROL"

# Exit codes.
"$SOLARPOLL" read voltronic "$PORT" paralel=2 2>"$WORK/bad.err"
check "a wrong key exits 2" [ $? -eq 2 ]
check "naming the key" grep -q 'unknown option "paralel"' "$WORK/bad.err"
"$SOLARPOLL" read voltronic "$PORT" parallel=10 2>"$WORK/range.err"
check "Parallel out of range exits 2" [ $? -eq 2 ]
"$SOLARPOLL" read voltronic "luxdongle:10.0.0.1" 2>"$WORK/kind.err"
check "a port kind it cannot use exits 2" [ $? -eq 2 ]
check "saying which it accepts" grep -q 'accepts serial, tcp, hid ports' "$WORK/kind.err"
"$SOLARPOLL" read voltronic "hid:0665:5161" timeout=0.2 2>/dev/null >/dev/null
check "hid ports are accepted (no device here: exit 1)" [ $? -eq 1 ]

# Replies whose CRC holds a raw 0x00 or an escaped CR, through the tty's line mode.
for pv in 566 618 137; do
    start_sim "crc$pv" voltronic_sim.py --link "$WORK/crc$pv" --pv-power "$pv" || exit 1
    "$SOLARPOLL" read voltronic "$WORK/crc$pv" name=crc --format json >"$WORK/crc.json" 2>"$WORK/crc.err"
    check "CRC case pv=$pv: read exits 0" [ $? -eq 0 ]
    check "CRC case pv=$pv: power-pv1 $pv" grep -q "\"type_instance\":\"pv1\",\"value\":$pv}" "$WORK/crc.json"
done

# The tcp transport, as through a serial server.
start_sim tcp voltronic_sim.py --tcp 0 || exit 1
TCP=$(sed -n 's/^READY //p' "$WORK/tcp.ready")
"$SOLARPOLL" read voltronic "$TCP" name=tcp --format json >"$WORK/tcp.json"
check "tcp: read exits 0" [ $? -eq 0 ]
check "tcp: exact values" grep -q '"type_instance":"pv1","value":856}' "$WORK/tcp.json"

done_testing
