#!/usr/bin/env bash
# solarpoll against the Pylontech stack simulator: per-pack instances, Addresses forms, AllPacks,
# a pack that stops answering, line faults, exit codes, the tcp transport, documented names.
. "$(dirname "$0")/lib.sh"

CONTROL="$WORK/pyl.control"
: >"$CONTROL"
start_sim pyl pylontech_sim.py --link "$WORK/pyl0" --control "$CONTROL" --packs 3 \
    --log "$WORK/pyl.log" || exit 1
PORT="$WORK/pyl0"

"$SOLARPOLL" read pylontech "$PORT" name=rack addresses=2-4 --format json >"$WORK/read.json" 2>"$WORK/read.err"
check "read exits 0" [ $? -eq 0 ]
value_is() { # FILE INSTANCE TYPE-TYPE_INSTANCE VALUE
    grep -qx "{\"plugin\":\"pylontech\",\"plugin_instance\":\"$2\",\"type\":\"${3%%-*}\",\"type_instance\":\"${3#*-}\",\"value\":$4}" "$1" ||
        { echo "# $2 $3: want $4, got: $(grep "\"$2\".*\"${3#*-}\"" "$1" | head -1)"; return 1; }
}
check "json: pack 1 = NAME-1, voltage-pack" value_is "$WORK/read.json" rack-1 voltage-pack 49.605
check "json: pack 1 current -2.6 A" value_is "$WORK/read.json" rack-1 current-pack -2.6
check "json: pack 2 current -1.6 A" value_is "$WORK/read.json" rack-2 current-pack -1.6
check "json: pack 3 cell 15" value_is "$WORK/read.json" rack-3 voltage-cell_15 3.334
check "json: capacity-remaining 33.5 Ah" value_is "$WORK/read.json" rack-1 capacity-remaining 33.5
check "json: capacity-full 50 Ah" value_is "$WORK/read.json" rack-1 capacity-full 50
check "json: percent-soc 67" value_is "$WORK/read.json" rack-1 percent-soc 67
check "json: count-cycles of pack 3" value_is "$WORK/read.json" rack-3 count-cycles 33
check "json: temperature-bms" value_is "$WORK/read.json" rack-2 temperature-bms 26
check "json: temperature-cells_4" value_is "$WORK/read.json" rack-2 temperature-cells_4 23
check "json: bool-charge_fet from 0x44" value_is "$WORK/read.json" rack-1 bool-charge_fet 1
check "json: bool-charge_enable from 0x92" value_is "$WORK/read.json" rack-1 bool-charge_enable 1
check "json: current-discharge_limit from 0x92" value_is "$WORK/read.json" rack-1 current-discharge_limit -25
check "json: 0x47 at the first poll" value_is "$WORK/read.json" rack-1 voltage-param_cell_high 3.65
check "json: per-pack bool-up" value_is "$WORK/read.json" rack-3 bool-up 1
check "json: device bool-up" value_is "$WORK/read.json" rack bool-up 1
check "json: count-packs" value_is "$WORK/read.json" rack count-packs 3
check "json: every line an object" bash -c "$PYTHON -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' $WORK/read.json"
check "connect asked 0x93, 0x4F and 0x51" bash -c "grep -q 'cid2=0x93' $WORK/pyl.log && grep -q 'cid2=0x4F' $WORK/pyl.log && grep -q 'cid2=0x51' $WORK/pyl.log"

"$SOLARPOLL" read pylontech "$PORT" name=rack addresses=2-4 --format putval >"$WORK/read.putval"
check "putval: collectd exec syntax" grep -qx "PUTVAL \"$(hostname)/pylontech-rack-2/voltage-cell_01\" N:3.31" "$WORK/read.putval"

"$SOLARPOLL" read pylontech "$PORT" >"$WORK/read.table"
check "table: default Addresses 2, default name" grep -q '^pyl0-1 *voltage-pack *49.605$' "$WORK/read.table"
check "table: only pack 1 by default" bash -c "! grep -q '^pyl0-2 ' $WORK/read.table"

"$SOLARPOLL" read pylontech "$PORT" name=r addresses=2,4 --format json >"$WORK/list.json"
check "Addresses 2,4: packs 1 and 3" bash -c "value_is() { grep -q \"\\\"\$1\\\",\\\"type\\\":\\\"bool\\\",\\\"type_instance\\\":\\\"up\\\",\\\"value\\\":1\" $WORK/list.json; }; value_is r-1 && value_is r-3 && ! grep -q '\"r-2\"' $WORK/list.json"

"$SOLARPOLL" read pylontech "$PORT" name=a addresses=auto --format json >"$WORK/auto.json" 2>"$WORK/auto.err"
check "auto: finds the 3 packs" value_is "$WORK/auto.json" a count-packs 3

: >"$WORK/pyl.log"
"$SOLARPOLL" read pylontech "$PORT" name=all addresses=2-4 allpacks=true --format json >"$WORK/all.json"
check "AllPacks: pack 3 from the master's answer" value_is "$WORK/all.json" all-3 voltage-cell_15 3.334
check "AllPacks: one 0x42 to the master, none to the slaves" \
    bash -c "[ \$(grep -c 'cid2=0x42' $WORK/pyl.log) -eq 1 ] && ! grep -q 'adr=3 cid2=0x42' $WORK/pyl.log"

# Every value's name is documented by `solarpoll metrics pylontech`.
"$SOLARPOLL" metrics pylontech >"$WORK/metrics.txt"
check "metrics lists the options" grep -q '^  Addresses ' "$WORK/metrics.txt"
undocumented() {
    local names
    names=$(cat "$WORK/read.json" "$WORK/all.json" |
        sed 's/.*"type":"\([^"]*\)","type_instance":"\([^"]*\)".*/\1-\2/' | sort -u)
    for n in $names; do
        local pattern
        pattern=$(echo "$n" | sed -E 's/_[0-9]{2}$/_NN/; s/(cells|sensor)_[0-9]+$/\1_N/; s/^bool-(alarm|console)_.*/bool-\1_NAME/; s/_cell_[0-9]{2}$/_cell_NN/')
        grep -q "^  $pattern " "$WORK/metrics.txt" || { echo "# undocumented: $n"; return 1; }
    done
}
check "every value read is documented" undocumented

# A 16S compatible with 6 temperatures and capacities above 65 Ah, newer 0x44 with the extra byte.
start_sim s16 pylontech_sim.py --link "$WORK/s16" --cells 16 --temps 6 --full 100 --remaining 80 \
    --alarm-extra --status3 09 || exit 1
"$SOLARPOLL" read pylontech "$WORK/s16" name=s --format json >"$WORK/s16.json"
check "16S: cell 16" value_is "$WORK/s16.json" s-1 voltage-cell_16 3.315
check "16S: temperature-mosfet (sensor 6)" value_is "$WORK/s16.json" s-1 temperature-mosfet 30
check "16S: capacity-full 100 Ah (3-byte field)" value_is "$WORK/s16.json" s-1 capacity-full 100
check "16S: capacity-remaining 80 Ah" value_is "$WORK/s16.json" s-1 capacity-remaining 80
check "16S: percent-soc 80" value_is "$WORK/s16.json" s-1 percent-soc 80
check "16S: bool-full from Status3" value_is "$WORK/s16.json" s-1 bool-full 1
check "16S: bool-buzzer from Status3" value_is "$WORK/s16.json" s-1 bool-buzzer 1

# One pack stops answering: it gets bool-up 0, the others keep flowing.
echo "silent@3" >"$CONTROL"
"$SOLARPOLL" read pylontech "$PORT" name=rack addresses=2-4 timeout=0.3 --format json >"$WORK/one.json" 2>"$WORK/one.err"
check "one silent pack: still exits 0" [ $? -eq 0 ]
check "one silent pack: its bool-up 0" value_is "$WORK/one.json" rack-2 bool-up 0
check "one silent pack: no values of it" bash -c "! grep -q '\"rack-2\",\"type\":\"voltage\"' $WORK/one.json"
check "one silent pack: the others flow" value_is "$WORK/one.json" rack-3 voltage-pack 49.905
check "one silent pack: count-packs 2" value_is "$WORK/one.json" rack count-packs 2
check "one silent pack: named on stderr" grep -q 'pack 2 (ADR 3) is not answering' "$WORK/one.err"

# Faults that still deliver a good frame: exact values.
for mode in noise echo stale split; do
    echo "$mode" >"$CONTROL"
    "$SOLARPOLL" read pylontech "$PORT" name=f addresses=2-3 timeout=5 --format json >"$WORK/$mode.json" 2>/dev/null
    check "$mode: exits 0" [ $? -eq 0 ]
    check "$mode: exact values" value_is "$WORK/$mode.json" f-2 voltage-cell_15 3.324
done
echo "no92" >"$CONTROL"
"$SOLARPOLL" read pylontech "$PORT" name=f --format json >"$WORK/no92.json" 2>/dev/null
check "a pack without 0x92 is polled without it" value_is "$WORK/no92.json" f-1 voltage-pack 49.605
check "and emits no 0x92 values" bash -c "! grep -q 'charge_limit' $WORK/no92.json"

# Faults that deliver no good frame: exit 1, nothing on stdout, the reason on stderr.
for fault in "badcrc:checksum" "badlength:malformed" "truncate:no reply" "rtn90:ADR error" "silent:no reply"; do
    mode=${fault%%:*}
    echo "$mode" >"$CONTROL"
    "$SOLARPOLL" read pylontech "$PORT" name=f timeout=0.3 >"$WORK/$mode.out" 2>"$WORK/$mode.err"
    check "$mode: exits 1" [ $? -eq 1 ]
    check "$mode: prints nothing on stdout" [ ! -s "$WORK/$mode.out" ]
    check "$mode: says why" grep -qi "${fault#*:}" "$WORK/$mode.err"
done
echo silent >"$CONTROL"
took=$(elapsed_ms "$SOLARPOLL" read pylontech "$PORT" timeout=1)
echo "# a silent stack took $took ms with timeout=1"
check "a silent stack fails within one Timeout per pack" [ "$took" -lt 1400 ]
echo normal >"$CONTROL"

# Configuration errors.
"$SOLARPOLL" read pylontech "$PORT" addresses=2-x >/dev/null 2>"$WORK/bad.err"
check "a bad Addresses is a usage error" [ $? -eq 2 ]
check "and names the key" grep -q 'Addresses "2-x"' "$WORK/bad.err"
"$SOLARPOLL" read pylontech "$PORT" allpacks=maybe >/dev/null 2>"$WORK/bad2.err"
check "a bad AllPacks is a usage error" [ $? -eq 2 ]
"$SOLARPOLL" read pylontech "$PORT" protocol=can >/dev/null 2>"$WORK/bad3.err"
check "an unknown Protocol is a usage error" [ $? -eq 2 ]
check "and names the key" grep -q 'Protocol "can": expected rs485 or console' "$WORK/bad3.err"

# The console: asleep until the 1200-baud wake-up, newer pwr header, pager, soh.
CCONTROL="$WORK/con.control"
: >"$CCONTROL"
start_sim con pylontech_sim.py --protocol console --asleep --new-pwr --link "$WORK/con0" \
    --control "$CCONTROL" --packs 2 --temps 6 --log "$WORK/con.log" || exit 1
"$SOLARPOLL" read pylontech "$WORK/con0" protocol=console name=c addresses=auto --format json >"$WORK/con.json" 2>"$WORK/con.err"
check "console: exits 0 after the wake-up" [ $? -eq 0 ]
check "console: pwr voltage-pack of pack 2" value_is "$WORK/con.json" c-2 voltage-pack 49.755
check "console: pwr current-pack in A" value_is "$WORK/con.json" c-1 current-pack -2.6
check "console: pwr Coulomb as percent-soc" value_is "$WORK/con.json" c-1 percent-soc 67
check "console: pwr Vhigh as voltage-cell_max" value_is "$WORK/con.json" c-1 voltage-cell_max 3.314
check "console: pwr Tlow (.Id header) as temperature-cell_min" value_is "$WORK/con.json" c-2 temperature-cell_min 23
check "console: pwr MosTempr" value_is "$WORK/con.json" c-1 temperature-mosfet 30
check "console: bat cell voltage" value_is "$WORK/con.json" c-2 voltage-cell_15 3.324
check "console: bat cell temperature in degC" value_is "$WORK/con.json" c-1 temperature-cell_03 22.2
check "console: bat balancing" value_is "$WORK/con.json" c-1 bool-balancing_cell_02 1
check "console: soh count" value_is "$WORK/con.json" c-1 count-soh_cell_03 2
check "console: packs found from pwr" value_is "$WORK/con.json" c count-packs 2
check "console: no pack 3 (Absent)" bash -c "! grep -q '\"c-3\"' $WORK/con.json"
echo pager >"$CCONTROL"
"$SOLARPOLL" read pylontech "$WORK/con0" protocol=console name=c addresses=2-3 --format json >"$WORK/pager.json" 2>/dev/null
check "console pager: answered, every cell read" value_is "$WORK/pager.json" c-2 voltage-cell_15 3.324
check "console pager: the row after the pager line" value_is "$WORK/pager.json" c-1 voltage-cell_06 3.305
echo nosoh >"$CCONTROL"
"$SOLARPOLL" read pylontech "$WORK/con0" protocol=console name=c --format json >"$WORK/nosoh.json" 2>/dev/null
check "console without soh: values" value_is "$WORK/nosoh.json" c-1 voltage-cell_01 3.3
check "console without soh: no soh values" bash -c "! grep -q soh_cell $WORK/nosoh.json"
echo alarm >"$CCONTROL"
"$SOLARPOLL" read pylontech "$WORK/con0" protocol=console name=c --format json >"$WORK/calarm.json" 2>/dev/null
check "console: Volt.St High as bool-console_voltage" value_is "$WORK/calarm.json" c-1 bool-console_voltage 1
"$SOLARPOLL" read pylontech "$WORK/con0" protocol=console name=c addresses=4 >/dev/null 2>"$WORK/absent.err"
check "console: an Absent pack fails" [ $? -eq 1 ]
echo silent >"$CCONTROL"
"$SOLARPOLL" read pylontech "$WORK/con0" protocol=console name=c timeout=0.3 >"$WORK/csilent.out" 2>&1
check "console: silent exits 1" [ $? -eq 1 ]
echo normal >"$CCONTROL"
check "console: documented" bash -c "cat $WORK/con.json $WORK/calarm.json > $WORK/read.json"
check "console: every value read is documented" undocumented

# The tcp transport (an RS485-to-Ethernet gateway).
start_sim tcp pylontech_sim.py --tcp 0 --packs 2 || exit 1
TCP=$(sed -n 's/^READY //p' "$WORK/tcp.ready")
"$SOLARPOLL" read pylontech "$TCP" name=t addresses=2-3 --format json >"$WORK/tcp.json"
check "tcp: reads both packs" value_is "$WORK/tcp.json" t-2 voltage-cell_01 3.31
start_sim tcpcon pylontech_sim.py --tcp 0 --protocol console --packs 1 || exit 1
TCPCON=$(sed -n 's/^READY //p' "$WORK/tcpcon.ready")
"$SOLARPOLL" read pylontech "$TCPCON" protocol=console name=tc --format json >"$WORK/tcpcon.json"
check "tcp: the console through a serial server" value_is "$WORK/tcpcon.json" tc-1 voltage-cell_15 3.314

# A line paced at 9600 baud, delivered the way a UART FIFO or USB adapter hands bytes over
# (8 at a time) and byte by byte: the same exact values either way.
for chunk in 8 1; do
    start_sim "paced$chunk" pylontech_sim.py --link "$WORK/paced$chunk" --packs 2 --baud 9600 \
        --chunk "$chunk" || exit 1
    "$SOLARPOLL" read pylontech "$WORK/paced$chunk" name=p addresses=2-3 --format json \
        >"$WORK/paced$chunk.json"
    check "paced at 9600 baud, delivered $chunk at a time: exit 0" [ $? -eq 0 ]
    check "paced, $chunk at a time: pack 2 cell 15" value_is "$WORK/paced$chunk.json" p-2 voltage-cell_15 3.324
done

done_testing
