#!/usr/bin/env bash
# Concurrency: four Pylontech devices on one shared pseudo-terminal bus (one pack each, two of
# them naming the tty by its link, two by its own name: one bus, one lock) plus four devices on
# their own ports (jbd on a pty and over TCP, voltronic, luxpower over Modbus TCP), in one
# collectd with ReadThreads 5 at Interval 1, for SOLAR_CONCURRENCY_SECONDS (default 300).
# Asserted: the bus simulator saw no garbled, interleaved or overlapping request and no stray
# byte (the bus lock holds while a device's exchange is on the line); collectd warned of no
# read overrun and logged no error; every device's values kept coming (each sampled every
# 5 s: a value in the last 3 s).
. "$(dirname "$0")/lib.sh"

SECONDS_TO_RUN="${SOLAR_CONCURRENCY_SECONDS:-300}"

have() { [ -f "$top_builddir/plugins/.libs/$1.so" ]; }
for p in pylontech jbd voltronic luxpower; do
    have "$p" || { echo "1..0 # SKIP the $p plugin is not built"; exit 0; }
done

# Paced at 38400 baud: an exchange holds the bus for tens of milliseconds, so the four devices
# polled at the same tick by different read threads do meet at the lock.
start_sim bus pylontech_sim.py --packs 4 --baud 38400 --link "$WORK/bus" --stats "$WORK/bus.stats" || exit 1
BUS_TTY=$(sed -n 's/^READY //p' "$WORK/bus.ready")
start_sim jbd jbd_sim.py --link "$WORK/jbd" || exit 1
start_sim jbdtcp jbd_sim.py --tcp 0 || exit 1
start_sim inv voltronic_sim.py --link "$WORK/inv" || exit 1
start_sim lux luxpower_sim.py --tcp 0 || exit 1

pyl_devices=""
for i in 1 2 3 4; do
    port="$WORK/bus"
    [ $((i % 2)) -eq 0 ] && port="$BUS_TTY"
    pyl_devices+="  <Device \"p$i\">
    Port \"$port\"
    Addresses \"$((i + 1))\"
    Timeout 0.5
  </Device>
"
done
start_collectd "ReadThreads 5
LoadPlugin pylontech
<Plugin pylontech>
$pyl_devices</Plugin>
LoadPlugin jbd
<Plugin jbd>
  <Device \"a\">
    Port \"$WORK/jbd\"
  </Device>
  <Device \"b\">
    Port \"$(sed -n 's/^READY //p' "$WORK/jbdtcp.ready")\"
  </Device>
</Plugin>
LoadPlugin voltronic
<Plugin voltronic>
  <Device \"inv\">
    Port \"$WORK/inv\"
    SettingsInterval 5
  </Device>
</Plugin>
LoadPlugin luxpower
<Plugin luxpower>
  <Device \"lux\">
    Port \"modbus-tcp:$(sed -n 's/^READY //p' "$WORK/lux.ready")\"
  </Device>
</Plugin>" pylontech jbd voltronic luxpower

# The csv directory of each device (a pack is NAME-N for ADR N+1).
DEVICES=(pylontech-p1-1 pylontech-p2-2 pylontech-p3-3 pylontech-p4-4 jbd-a jbd-b voltronic-inv luxpower-lux)
fresh() { find "$WORK/csv/e2e/$1" ! -name 'bool-up-*' -newermt "@$2" -print -quit 2>/dev/null | grep -q .; }
all_fresh() {
    local d
    for d in "${DEVICES[@]}"; do fresh "$d" "$1" || return 1; done
}
check "every device's values arrive" wait_for 20 all_fresh "$(date +%s)"
readers=$(cat /proc/"$COLLECTD_PID"/task/*/comm 2>/dev/null | grep -c '^reader#')
check "collectd runs 5 read threads ($readers)" [ "$readers" -eq 5 ]

# Every 5 s, each device must have written a value in the last 3 s.
misses=0
samples=0
end=$(($(date +%s) + SECONDS_TO_RUN))
while [ "$(date +%s)" -lt "$end" ] && collectd_running; do
    sleep 5
    since=$(($(date +%s) - 3))
    for d in "${DEVICES[@]}"; do
        samples=$((samples + 1))
        fresh "$d" "$since" || { misses=$((misses + 1)); echo "# $(date +%T) $d: no value in 3 s"; }
    done
done
check "collectd ran the whole ${SECONDS_TO_RUN} s" collectd_running
check "every device's values present throughout ($samples samples, $misses missed)" [ "$misses" -eq 0 ]

sed 's/^/# bus: /' "$WORK/bus.stats"
stat_of() { sed -n "s/^$1 //p" "$WORK/bus.stats"; }
requests=$(stat_of requests)
check "the shared bus served requests (${requests:-0})" [ "${requests:-0}" -gt $((SECONDS_TO_RUN * 4)) ]
for what in garbled interleaved overlapped junk; do
    check "the shared bus: no $what request ($(stat_of $what))" [ "$(stat_of $what)" = 0 ]
done
overruns=$(grep -c "took .* seconds, which is above its read interval" "$WORK/collectd.log")
check "no read overrun (collectd's warnings: $overruns)" [ "$overruns" -eq 0 ]
errors=$(grep -c '\[error\]' "$WORK/collectd.log")
grep '\[error\]\|\[warning\]' "$WORK/collectd.log" | head -n 10 | sed 's/^/# /'
check "no error logged ($errors)" [ "$errors" -eq 0 ]
for d in "${DEVICES[@]}"; do
    echo "# $d: $(csv_rows "$d" bool-up) polls"
done

done_testing
