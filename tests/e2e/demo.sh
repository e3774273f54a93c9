#!/usr/bin/env bash
# ./quickstart demo: collectd with the built plugins against simulated devices, showing the
# values it writes as they arrive. Argument: seconds to run (0: until Ctrl-C).
. "$(dirname "$0")/lib.sh"
seconds="${1:-0}"

start_sim house jbd_sim.py --link "$WORK/ttyJBD0" --cells 4 --ntc 2 --wander || exit 1
start_sim shed jbd_sim.py --tcp 0 --cells 16 --ntc 3 --extended --current -3.1 --soc 64 --model JBD-SIM-16S-200A --wander || exit 1
shed_port=$(sed -n 's/^READY //p' "$WORK/shed.ready")
start_sim rack pylontech_sim.py --link "$WORK/ttyPYLON" --packs 3 || exit 1
start_sim axpert voltronic_sim.py --link "$WORK/ttyAXPERT" || exit 1
start_sim eg4 luxpower_sim.py --tcp 0 || exit 1
eg4_port=$(sed -n 's/^READY //p' "$WORK/eg4.ready")

start_collectd "LoadPlugin jbd
<Plugin jbd>
  <Device \"house\">
    Port \"$WORK/ttyJBD0\"
  </Device>
  <Device \"shed\">
    Port \"$shed_port\"
    Interval 2
  </Device>
</Plugin>
LoadPlugin pylontech
<Plugin pylontech>
  <Device \"rack\">
    Port \"$WORK/ttyPYLON\"
    Addresses \"2-4\"
  </Device>
</Plugin>
LoadPlugin voltronic
<Plugin voltronic>
  <Device \"axpert\">
    Port \"$WORK/ttyAXPERT\"
  </Device>
</Plugin>
LoadPlugin luxpower
<Plugin luxpower>
  <Device \"eg4\">
    Port \"modbus-tcp:$eg4_port\"
  </Device>
</Plugin>" jbd pylontech voltronic luxpower

cat <<TEXT
collectd is running with the four plugins against simulated devices:
  house   JBD BMS, 4 cells, on a pseudo-terminal, every second
  shed    JBD BMS, 16 cells, through a TCP serial server ($shed_port), every 2 seconds
  rack    three Pylontech packs on one RS485 line (addresses 2-4), every second
  axpert  a Voltronic/Axpert inverter (PI30) on a pseudo-terminal, every second
  eg4     an EG4/LuxPower inverter through a Modbus TCP gateway ($eg4_port), every second
Its configuration: $WORK/collectd.conf. Values below are read back from collectd's csv output.
TEXT
[ "$seconds" -gt 0 ] && echo "Stopping after $seconds s." || echo "Ctrl-C stops."

# value INSTANCE METRIC DECIMALS: the last value collectd wrote, rounded; "-" before the first.
value() {
    local v
    v=$(csv_last "$1" "$2")
    if [ -n "$v" ]; then printf "%.$3f" "$v"; else printf -- -; fi
}

show() {
    printf '\n%s   batteries\n' "$(date +%T)"
    printf '  %-16s %7s %7s %5s %8s %8s %3s\n' instance "pack V" "pack A" "SOC %" "cell min" \
        "cell max" up
    for dev in jbd-house jbd-shed pylontech-rack-1 pylontech-rack-2 pylontech-rack-3; do
        printf '  %-16s %7s %7s %5s %8s %8s %3s\n' "$dev" "$(value "$dev" voltage-pack 2)" \
            "$(value "$dev" current-pack 2)" "$(value "$dev" percent-soc 0)" \
            "$(value "$dev" voltage-cell_min 3)" "$(value "$dev" voltage-cell_max 3)" \
            "$(value "$dev" bool-up 0)"
    done
    printf '           inverters\n'
    printf '  %-16s %7s %7s %7s %5s %3s\n' instance "PV1 W" "batt V" "grid V" "state" up
    printf '  %-16s %7s %7s %7s %5s %3s\n' voltronic-axpert \
        "$(value voltronic-axpert power-pv1 0)" "$(value voltronic-axpert voltage-battery 1)" \
        "$(value voltronic-axpert voltage-grid 1)" "$(value voltronic-axpert gauge-mode 0)" \
        "$(value voltronic-axpert bool-up 0)"
    printf '  %-16s %7s %7s %7s %5s %3s\n' luxpower-eg4 "$(value luxpower-eg4 power-pv1 0)" \
        "$(value luxpower-eg4 voltage-battery 1)" "$(value luxpower-eg4 voltage-grid 1)" \
        "$(value luxpower-eg4 gauge-status 0)" "$(value luxpower-eg4 bool-up 0)"
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
