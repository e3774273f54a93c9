#!/usr/bin/env bash
# solarpoll scan: the four simulators on pseudo-terminals, each named as the PORT to probe, are
# each found by the right driver with a collectd block naming that port; the blocks, fed to a
# real collectd, read values; a silent pty answers nothing within the stated bound; a port
# collectd holds is busy, not probed; the listing runs on this machine.
. "$(dirname "$0")/lib.sh"

start_sim pyl pylontech_sim.py --link "$WORK/pyl0" || exit 1
start_sim jbd jbd_sim.py --link "$WORK/jbd0" || exit 1
start_sim inv voltronic_sim.py --link "$WORK/inv0" || exit 1
start_sim lux luxpower_sim.py --link "$WORK/lux0" || exit 1
# A pty nobody answers on: the other end is held open and never read.
"$PYTHON" -c 'import os, sys, time
m, s = os.openpty(); os.symlink(os.ttyname(s), sys.argv[1]); print("READY", flush=True); time.sleep(600)' \
    "$WORK/silent0" >"$WORK/silent.ready" 2>&1 &
BACKGROUND+=($!)
wait_for 10 grep -q READY "$WORK/silent.ready" || echo "# the silent pty did not start"

# A pty that answers every request with 40 bytes of noise (a device at another speed).
"$PYTHON" -c 'import os, random, sys, time
random.seed(1); m, s = os.openpty(); os.symlink(os.ttyname(s), sys.argv[1]); print("READY", flush=True)
while True:
    os.read(m, 4096); os.write(m, bytes(random.randrange(256) for _ in range(40)))' \
    "$WORK/noisy0" >"$WORK/noisy.ready" 2>&1 &
BACKGROUND+=($!)
wait_for 10 grep -q READY "$WORK/noisy.ready" || echo "# the noisy pty did not start"

# section FILE PORT: the lines scan printed for PORT (up to the blank line after it).
section() {
    awk -v head="# $2" '$0 == head { on = 1 } on && /^$/ { exit } on' "$1"
}
export -f section

# --- identify each simulator ---
"$SOLARPOLL" scan --probe "$WORK/pyl0" "$WORK/jbd0" "$WORK/inv0" "$WORK/lux0" >"$WORK/scan.conf" \
    2>"$WORK/scan.err"
check "probe of four answering ports exits 0" [ $? -eq 0 ]
for pair in pyl0:pylontech jbd0:jbd inv0:voltronic lux0:luxpower; do
    port=${pair%%:*} drv=${pair#*:}
    section "$WORK/scan.conf" "$WORK/$port" >"$WORK/$port.section"
    check "$port: identified as $drv" grep -qx "#     result        $drv" "$WORK/$port.section"
    check "$port: a <Plugin $drv> block whose Port is that path" bash -c "grep -A2 -x '<Plugin $drv>' \
        '$WORK/$port.section' | grep -qx '    Port \"$WORK/$port\"'"
    check "$port: the probe stopped at the first answer" bash -c "grep '^#     probe ' \
        '$WORK/$port.section' | tail -n 1 | grep -q '^#     probe         $drv: answered'"
    check "$port: the pty described" grep -qx "#     kind          serial, pty" "$WORK/$port.section"
done
check "voltronic asked first, alone on its inverter" bash -c "[ \$(grep -c '^#     probe ' '$WORK/inv0.section') -eq 1 ]"
check "the driver's identity shown" grep -q 'pylontech: answered in [0-9]* ms: connected to US2000C.*SIMPACK' "$WORK/pyl0.section"
check "luxpower identified after three foreign queries" grep -q 'luxpower: answered .*9292006063' "$WORK/lux0.section"
check "one LoadPlugin per driver" [ "$(grep -c '^LoadPlugin ' "$WORK/scan.conf")" -eq 4 ]
check "nothing on stderr" [ ! -s "$WORK/scan.err" ]

# --- the blocks are ready to paste: the whole output is a collectd configuration ---
declare -A want
want[pylontech - pyl0-1 voltage-pack]=$("$SOLARPOLL" read pylontech "$WORK/pyl0" --format putval | grep -o 'pyl0-1/voltage-pack" N:.*' | cut -d: -f2)
want[jbd - jbd0 voltage-pack]=$("$SOLARPOLL" read jbd "$WORK/jbd0" --format putval | grep -o 'jbd0/voltage-pack" N:.*' | cut -d: -f2)
want[voltronic - inv0 voltage-battery]=$("$SOLARPOLL" read voltronic "$WORK/inv0" --format putval | grep -o 'inv0/voltage-battery" N:.*' | cut -d: -f2)
want[luxpower - lux0 voltage-battery]=$("$SOLARPOLL" read luxpower "$WORK/lux0" --format putval | grep -o 'lux0/voltage-battery" N:.*' | cut -d: -f2)
if command -v collectd >/dev/null; then
    start_collectd "$(cat "$WORK/scan.conf")" pylontech jbd voltronic luxpower
    ready() { [ -n "$(csv_last luxpower-lux0 bool-up)" ] && [ -n "$(csv_last pylontech-pyl0-1 voltage-pack)" ] &&
        [ -n "$(csv_last jbd-jbd0 voltage-pack)" ] && [ -n "$(csv_last voltronic-inv0 voltage-battery)" ]; }
    wait_for 30 ready || sed 's/^/# /' "$WORK/collectd.log"
    for key in "${!want[@]}"; do
        read -r drv _ inst metric <<<"$key"
        check "collectd with the printed config: $drv-$inst $metric ${want[$key]}" expect "$drv-$inst" "$metric" "${want[$key]}"
        check "collectd: $drv-$inst is up" expect "$drv-$inst" bool-up 1
    done
    check "collectd took the configuration without complaint" bash -c "! grep -Eq 'error|unknown|Found a configuration' '$WORK/collectd.log'"

    # --- ports collectd holds are busy, and are not probed ---
    "$SOLARPOLL" scan --probe "$WORK/pyl0" "$WORK/lux0" >"$WORK/busy.out" 2>&1
    check "busy ports: exit 1 (nothing answered)" [ $? -eq 1 ]
    check "busy: pylontech port (the serial backend's lock)" bash -c "section '$WORK/busy.out' '$WORK/pyl0' | grep -q '^#     busy  *in use by another program'" 
    check "busy: luxpower port (libmodbus's tty, locked alike)" bash -c "section '$WORK/busy.out' '$WORK/lux0' | grep -q '^#     busy  *in use by another program'"
    check "busy: nothing asked" bash -c "! grep -q 'probe ' '$WORK/busy.out'"
    check "collectd still reads after the scan" collectd_running
    kill "$COLLECTD_PID"
    wait "$COLLECTD_PID" 2>/dev/null
else
    echo "# collectd is not installed: the pasted config is not run"
fi

# --- a port another program opened and locked, as collectd's plugins do ---
"$PYTHON" -c 'import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_NOCTTY); fcntl.flock(fd, fcntl.LOCK_EX)
print("LOCKED", flush=True); time.sleep(600)' "$WORK/jbd0" >"$WORK/locker.ready" 2>&1 &
LOCKER=$!
BACKGROUND+=($LOCKER)
wait_for 10 grep -q LOCKED "$WORK/locker.ready"
"$SOLARPOLL" scan --probe "$WORK/jbd0" >"$WORK/locked.out" 2>&1
check "a locked port: busy, exit 1" bash -c "[ $? -eq 1 ] && grep -q '^#     busy ' '$WORK/locked.out'"
kill "$LOCKER"
wait "$LOCKER" 2>/dev/null

# --- a silent pty: no answer, within the bound --help states ---
bound_s=$("$SOLARPOLL" scan --help | tr '\n' ' ' | grep -o 'costs at most [0-9.]* s' | grep -o '[0-9.]*')
check "--help states the probe bound" [ -n "$bound_s" ]
start=$(date +%s%N)
"$SOLARPOLL" scan --probe "$WORK/silent0" >"$WORK/silent.out" 2>&1
status=$?
took=$((($(date +%s%N) - start) / 1000000))
echo "# a silent port took $took ms to probe (bound ${bound_s} s)"
check "silent: exit 1" [ $status -eq 1 ]
check "silent: every driver asked, none answered" [ "$(grep -c '^#     probe  *[a-z]*: no answer in' "$WORK/silent.out")" -eq 4 ]
check "silent: result no answer" grep -q '^#     result        no answer (' "$WORK/silent.out"
check "silent: no block" bash -c "! grep -q '^<Plugin' '$WORK/silent.out'"
check "silent: within the bound (+2 s for a loaded machine)" [ "$took" -lt "$(awk -v b="${bound_s:-0}" 'BEGIN { print int(b * 1000) + 2000 }')" ]

# --- a device that answers in its protocol with an error: named, its block commented out ---
echo rtn90 >"$WORK/rtn.control"
start_sim rtn pylontech_sim.py --link "$WORK/rtn0" --control "$WORK/rtn.control" || exit 1
"$SOLARPOLL" scan --probe "$WORK/rtn0" >"$WORK/rtn.out" 2>&1
check "an error status: exit 1 (nothing ready to use)" [ $? -eq 1 ]
check "an error status: the driver's own words" grep -q '^#     probe         pylontech: answered with an error in [0-9]* ms: the stack answers RTN 0x90' "$WORK/rtn.out"
check "an error status: no more protocols asked" bash -c "! grep -q 'probe         \(jbd\|luxpower\):' '$WORK/rtn.out'"
check "an error status: the block commented out" bash -c "grep -qx '#     Port \"$WORK/rtn0\"' '$WORK/rtn.out' && ! grep -q '^[^#]' '$WORK/rtn.out'"

# --- noise is no answer ---
start=$(date +%s%N)
"$SOLARPOLL" scan --probe "$WORK/noisy0" >"$WORK/noisy.out" 2>&1
status=$?
took=$((($(date +%s%N) - start) / 1000000))
echo "# a port answering noise took $took ms to probe"
check "noise: nothing identified, exit 1" bash -c "[ $status -eq 1 ] && grep -q '^#     result        no answer (' '$WORK/noisy.out'"
check "noise: within the bound (+2 s)" [ "$took" -lt "$(awk -v b="${bound_s:-0}" 'BEGIN { print int(b * 1000) + 2000 }')" ]

# --- the /dev/serial/by-id name is the Port of the block ---
mkdir -p "$WORK/by-id"
ln -s "$(readlink -f "$WORK/jbd0")" "$WORK/by-id/usb-1a86_USB_Serial-if00-port0"
SOLARPOLL_BY_ID_DIR="$WORK/by-id" "$SOLARPOLL" scan --probe "$WORK/jbd0" >"$WORK/byid.out" 2>&1
check "by-id: shown" grep -qx "#     by-id         $WORK/by-id/usb-1a86_USB_Serial-if00-port0" "$WORK/byid.out"
check "by-id: the block's Port" grep -qx "    Port \"$WORK/by-id/usb-1a86_USB_Serial-if00-port0\"" "$WORK/byid.out"
check "by-id: the name from the port given" grep -qx '  <Device "jbd0">' "$WORK/byid.out"

# --- network ports: only the drivers that take their kind are asked ---
start_sim jbdtcp jbd_sim.py --tcp 0 || exit 1
start_sim luxtcp luxpower_sim.py --tcp 0 || exit 1
JBD_TCP=$(sed -n 's/^READY //p' "$WORK/jbdtcp.ready")
LUX_TCP="modbus-tcp:$(sed -n 's/^READY //p' "$WORK/luxtcp.ready")"
"$SOLARPOLL" scan --probe "$JBD_TCP" "$LUX_TCP" >"$WORK/net.out" 2>&1
check "network ports: exit 0" [ $? -eq 0 ]
check "tcp: jbd found, its Port as given" bash -c "section '$WORK/net.out' '$JBD_TCP' | grep -qx '#     result        jbd' &&
    grep -qx '    Port \"$JBD_TCP\"' '$WORK/net.out'"
check "modbus-tcp: luxpower, the only driver that takes it, is the only one asked" bash -c \
    "section '$WORK/net.out' '$LUX_TCP' | grep '^#     probe ' | grep -q '^#     probe         luxpower: answered' &&
    [ \$(section '$WORK/net.out' '$LUX_TCP' | grep -c '^#     probe ') -eq 1 ]"
"$SOLARPOLL" scan --probe tcp:127.0.0.1:1 >"$WORK/refused.out" 2>&1
check "a refused connection: an error, not a probe of every driver, exit 1" bash -c \
    "[ $? -eq 1 ] && [ \$(grep -c '^#     error ' '$WORK/refused.out') -eq 1 ] && ! grep -q 'probe ' '$WORK/refused.out'"
"$SOLARPOLL" scan foo:bar >"$WORK/notaport.out" 2>&1
check "not a port: exit 1, the port forms listed" bash -c "[ $? -eq 1 ] && grep -q 'not a port: PATH, serial:PATH' '$WORK/notaport.out'"

# --- without --probe: description only ---
"$SOLARPOLL" scan "$WORK/pyl0" >"$WORK/describe.out" 2>&1
check "describe a pty: exit 0" [ $? -eq 0 ]
check "describe: path and kind, uncommented" bash -c "grep -qx '$WORK/pyl0' '$WORK/describe.out' && grep -qx '    kind          serial, pty' '$WORK/describe.out'"
check "describe: nothing asked" bash -c "! grep -q 'probe' '$WORK/describe.out'"
"$SOLARPOLL" scan "$WORK/nothing-here" >"$WORK/missing.out" 2>&1
check "a missing port: exit 1, said" bash -c "[ $? -eq 1 ] && grep -q 'error  *No such file or directory' '$WORK/missing.out'"
"$SOLARPOLL" scan "$WORK" >"$WORK/dir.out" 2>&1
check "a directory: exit 1, not a tty" bash -c "[ $? -eq 1 ] && grep -q 'not a serial port' '$WORK/dir.out'"
"$SOLARPOLL" scan --bogus >/dev/null 2>&1
check "an unknown option: exit 2" [ $? -eq 2 ]

# --- listing this machine ---
"$SOLARPOLL" scan >"$WORK/list.out" 2>"$WORK/list.err"
check "listing: exit 0" [ $? -eq 0 ]
check "listing: a port or the word that there is none" bash -c "grep -q '^/dev/\\|^no serial ports' '$WORK/list.out'"
sed 's/^/# listed: /' "$WORK/list.out" | head -20

done_testing
