#!/usr/bin/env bash
# ./quickstart demo: collectd with the built plugins against simulated devices, showing the
# values it writes as they arrive. Argument: seconds to run (0: until Ctrl-C).
. "$(dirname "$0")/lib.sh"
seconds="${1:-0}"

start_sim house jbd_sim.py --link "$WORK/ttyJBD0" --cells 4 --ntc 2 --wander || exit 1
start_sim shed jbd_sim.py --tcp 0 --cells 16 --ntc 3 --extended --current -3.1 --soc 64 --model JBD-SIM-16S-200A --wander || exit 1
shed_port=$(sed -n 's/^READY //p' "$WORK/shed.ready")

start_collectd "LoadPlugin jbd
<Plugin jbd>
  <Device \"house\">
    Port \"$WORK/ttyJBD0\"
  </Device>
  <Device \"shed\">
    Port \"$shed_port\"
    Interval 2
  </Device>
</Plugin>" jbd

cat <<TEXT
collectd is running with the jbd plugin against two simulated BMSes:
  house  4 cells on a pseudo-terminal ($WORK/ttyJBD0), every second
  shed   16 cells through a TCP serial server ($shed_port), every 2 seconds
Its configuration: $WORK/collectd.conf. Values below are read back from collectd's csv output.
TEXT
[ "$seconds" -gt 0 ] && echo "Stopping after $seconds s." || echo "Ctrl-C stops."

# value DEVICE METRIC DECIMALS: the last value collectd wrote, rounded; "-" before the first.
value() {
    local v
    v=$(csv_last "jbd-$1" "$2")
    if [ -n "$v" ]; then printf "%.$3f" "$v"; else printf -- -; fi
}

show() {
    printf '\n%s\n' "$(date +%T)"
    printf '  %-6s %7s %7s %5s %8s %8s %6s %3s\n' device "pack V" "pack A" "SOC %" "cell min" \
        "cell max" "temp C" up
    for dev in house shed; do
        printf '  %-6s %7s %7s %5s %8s %8s %6s %3s\n' "$dev" "$(value "$dev" voltage-pack 2)" \
            "$(value "$dev" current-pack 2)" "$(value "$dev" percent-soc 0)" \
            "$(value "$dev" voltage-cell_min 3)" "$(value "$dev" voltage-cell_max 3)" \
            "$(value "$dev" temperature-ntc_1 1)" "$(value "$dev" bool-up 0)"
    done
}

start=$(date +%s)
trap 'echo; exit 0' INT TERM
sleep 2
while collectd_running; do
    show
    [ "$seconds" -gt 0 ] && [ $(($(date +%s) - start)) -ge "$seconds" ] && break
    sleep 2
done
collectd_running || { echo "collectd stopped:"; cat "$WORK/collectd.out"; exit 1; }
echo
echo "collectd's log:"
sed 's/^/  /' "$WORK/collectd.log"
