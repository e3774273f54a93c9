#!/usr/bin/env bash
# solarpoll against the JBD simulator: output formats, exit codes, execd as Telegraf drives it,
# the tcp transport.
. "$(dirname "$0")/lib.sh"

CONTROL="$WORK/jbd.control"
: >"$CONTROL"
start_sim jbd jbd_sim.py --link "$WORK/jbd0" --control "$CONTROL" --current -2.87 || exit 1
PORT="$WORK/jbd0"

"$SOLARPOLL" read jbd "$PORT" name=pack --format json >"$WORK/read.json" 2>"$WORK/read.err"
check "read exits 0" [ $? -eq 0 ]
check "json: DESIGN.md's keys and order" grep -qx \
    '{"plugin":"jbd","plugin_instance":"pack","type":"voltage","type_instance":"cell_01","value":3.301}' \
    "$WORK/read.json"
check "json: negative current" grep -q '"type":"current","type_instance":"pack","value":-2.87}' "$WORK/read.json"
check "json: every line an object" bash -c "$PYTHON -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' $WORK/read.json"
check "json: bool-up 1" grep -q '"type":"bool","type_instance":"up","value":1}' "$WORK/read.json"

"$SOLARPOLL" read jbd "$PORT" name=pack --format putval >"$WORK/read.putval"
check "putval: collectd exec syntax" grep -qx "PUTVAL \"$(hostname)/jbd-pack/voltage-cell_01\" N:3.301" "$WORK/read.putval"

"$SOLARPOLL" read jbd "$PORT" name=pack --format influx >"$WORK/read.influx"
check "influx: collectd input schema" grep -qx \
    "jbd_value,host=$(hostname),instance=pack,type=voltage,type_instance=cell_01 value=3.301" "$WORK/read.influx"

"$SOLARPOLL" read jbd "$PORT" >"$WORK/read.table"
check "table: default name is the port's basename" grep -q '^jbd0 *voltage-pack *13.21$' "$WORK/read.table"

# Every value's name is documented by `solarpoll metrics jbd`.
"$SOLARPOLL" metrics jbd >"$WORK/metrics.txt"
check "metrics lists the options" grep -q '^  Timeout ' "$WORK/metrics.txt"
undocumented() {
    local names
    names=$(sed 's/.*"type":"\([^"]*\)","type_instance":"\([^"]*\)".*/\1-\2/' "$WORK/read.json" | sort -u)
    for n in $names; do
        local pattern
        pattern=$(echo "$n" | sed -E 's/_[0-9]{2}$/_NN/; s/ntc_[0-9]+$/ntc_N/; s/^bool-(protection|alarm)_.*/bool-\1_NAME/')
        grep -q "^  $pattern " "$WORK/metrics.txt" || { echo "# undocumented: $n"; return 1; }
    done
}
check "every value read is documented" undocumented

# Exit codes.
echo silent >"$CONTROL"
"$SOLARPOLL" read jbd "$PORT" timeout=0.2 >"$WORK/silent.out" 2>"$WORK/silent.err"
check "a silent device exits 1" [ $? -eq 1 ]
check "and prints nothing on stdout" [ ! -s "$WORK/silent.out" ]
check "and says why on stderr" grep -q 'no reply before the deadline' "$WORK/silent.err"
took=$(elapsed_ms "$SOLARPOLL" read jbd "$PORT" timeout=1)
echo "# a silent device took $took ms with timeout=1"
check "a silent device fails within Timeout, the wake-up resend included" [ "$took" -lt 1300 ]

# A sleeping BMS ignores the first request after a quiet spell; the resend wakes it.
echo sleepy >"$CONTROL"
sleep 2.2
"$SOLARPOLL" read jbd "$PORT" >/dev/null 2>&1
check "a sleeping BMS answers the resend" [ $? -eq 0 ]

echo normal >"$CONTROL"
"$SOLARPOLL" read jbd "$PORT" tiemout=1 2>"$WORK/bad.err"
check "a wrong key exits 2" [ $? -eq 2 ]
check "naming the key" grep -q 'unknown option "tiemout"' "$WORK/bad.err"
"$SOLARPOLL" read jbd "hid:0665:5161" 2>"$WORK/kind.err"
check "a port kind the driver cannot use exits 2" [ $? -eq 2 ]
check "saying which it accepts" grep -q 'accepts serial, tcp ports' "$WORK/kind.err"
"$SOLARPOLL" read nosuch "$PORT" 2>/dev/null
check "an unknown driver exits 2" [ $? -eq 2 ]
"$SOLARPOLL" read jbd /nonexistent/tty 2>"$WORK/missing.err"
check "a missing port exits 1" [ $? -eq 1 ]

# execd as Telegraf's execd input with signal = "STDIN" drives it.
printf '\n\n\n' | "$SOLARPOLL" execd jbd "$PORT" name=pack >"$WORK/execd.out" 2>"$WORK/execd.err"
check "execd exits 0 at the end of input" [ $? -eq 0 ]
check "execd polls once per line" [ "$(grep -c '^jbd_value,.*type=voltage,type_instance=pack value=13.21$' "$WORK/execd.out")" -eq 3 ]
check "execd logs with Telegraf prefixes" grep -q '^I! ' "$WORK/execd.err"
check "execd writes nothing but line protocol" bash -c "! grep -qv '^jbd_value,host=[^ ]* value=' '$WORK/execd.out'"

mkfifo "$WORK/stdin"
"$SOLARPOLL" execd jbd "$PORT" <"$WORK/stdin" >"$WORK/term.out" 2>&1 &
execd_pid=$!
exec 7>"$WORK/stdin"
echo >&7
polled() { grep -q 'type_instance=up value=1' "$WORK/term.out"; }
check "execd answers a line while stdin stays open" wait_for 5 polled
# hidapi (and the libudev under it) is loaded by the first hid: port only.
check "with no hid: port, hidapi and libudev are not mapped" \
    bash -c "! grep -Eq 'libhidapi|libudev' /proc/$execd_pid/maps"
kill -TERM "$execd_pid"
wait "$execd_pid"
check "execd exits 0 on SIGTERM" [ $? -eq 0 ]
exec 7>&-

# Two devices in one execd, one of them silent: the other keeps flowing.
start_sim jbd2 jbd_sim.py --link "$WORK/jbd1" --control "$WORK/jbd2.control" --cells 8 || exit 1
echo silent >"$WORK/jbd2.control"
printf '\n' | "$SOLARPOLL" execd jbd "$PORT" name=a -- jbd "$WORK/jbd1" name=b timeout=0.2 >"$WORK/two.out" 2>"$WORK/two.err"
check "execd: a silent device reports up 0" grep -q '^jbd_value,host=[^,]*,instance=b,type=bool,type_instance=up value=0$' "$WORK/two.out"
check "execd: the other keeps flowing" grep -q '^jbd_value,host=[^,]*,instance=a,type=voltage,type_instance=pack value=13.21$' "$WORK/two.out"
check "execd: the failure is logged as an error" grep -q '^E! .*"b"' "$WORK/two.err"

# The tcp transport, as through a serial server.
start_sim jbdtcp jbd_sim.py --tcp 0 --cells 16 || exit 1
TCP=$(sed -n 's/^READY //p' "$WORK/jbdtcp.ready")
"$SOLARPOLL" read jbd "$TCP" name=tcp --format json >"$WORK/tcp.json"
check "tcp: read exits 0" [ $? -eq 0 ]
check "tcp: 16 cells" grep -q '"type_instance":"cell_16","value":3.316}' "$WORK/tcp.json"

done_testing
