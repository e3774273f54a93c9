#!/usr/bin/env bash
# From the simulated cable to the database: the real collectd with all four plugins against the
# simulators, sending through the network plugin into a real InfluxDB (its collectd input, our
# types.db) and through write_graphite into a Graphite receiver, configured by the snippets in
# conf.d/collectd/; then solarpoll execd driven as Telegraf drives it, its line protocol POSTed
# to InfluxDB. Every driver's values are read back and must be the simulators' exact values,
# with the same series and tags on both paths. Then every Grafana panel's query must find data.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/influx.sh"

start_sim jbd jbd_sim.py --link "$WORK/jbd0" --extended || exit 1
start_sim pyl pylontech_sim.py --link "$WORK/pyl0" --packs 2 || exit 1
start_sim inv voltronic_sim.py --link "$WORK/inv0" || exit 1
start_sim lux luxpower_sim.py --tcp 0 || exit 1
LUX=$(sed -n 's/^READY //p' "$WORK/lux.ready")
start_influxd || exit 1
start_graphite "$WORK/graphite.txt" || exit 1

# The shipped snippets, pointed at the servers of this test.
network_conf=$(sed "s/\"influxdb.example\" \"25826\"/\"127.0.0.1\" \"$INFLUX_COLLECTD_PORT\"/" \
    "$top_srcdir/conf.d/collectd/network-influxdb.conf")
graphite_conf=$(sed "s/\"graphite.example\"/\"127.0.0.1\"/; s/\"2003\"/\"$GRAPHITE_PORT\"/" \
    "$top_srcdir/conf.d/collectd/write_graphite.conf")
check "the network snippet names the server and port" \
    grep -q "Server \"127.0.0.1\" \"$INFLUX_COLLECTD_PORT\"" <<<"$network_conf"
check "the write_graphite snippet names the host and port" \
    grep -q "Port \"$GRAPHITE_PORT\"" <<<"$graphite_conf"

devices="LoadPlugin jbd
<Plugin jbd>
  <Device \"pack\">
    Port \"$WORK/jbd0\"
  </Device>
</Plugin>
LoadPlugin pylontech
<Plugin pylontech>
  <Device \"rack\">
    Port \"$WORK/pyl0\"
    Addresses \"2-3\"
  </Device>
</Plugin>
LoadPlugin voltronic
<Plugin voltronic>
  <Device \"axpert\">
    Port \"$WORK/inv0\"
  </Device>
</Plugin>
LoadPlugin luxpower
<Plugin luxpower>
  <Device \"eg4\">
    Port \"modbus-tcp:$LUX\"
  </Device>
</Plugin>"
# A second write_graphite node with collectd's defaults, to show what they give.
start_collectd "$network_conf
$graphite_conf
<Plugin write_graphite>
  <Node \"defaults\">
    Host \"127.0.0.1\"
    Port \"$GRAPHITE_PORT\"
  </Node>
</Plugin>
$devices" jbd pylontech voltronic luxpower network write_graphite

# The simulators' values, as collectd_<driver>.sh checks them in the csv files.
EXPECTED=(
    "jbd pack voltage-pack 13.21"
    "jbd pack current-pack 5.25"
    "jbd pack percent-soc 80"
    "jbd pack voltage-cell_01 3.301"
    "jbd pack voltage-cell_04 3.304"
    "jbd pack voltage-cell_delta 0.003"
    "jbd pack temperature-ntc_2 26.5"
    "jbd pack bool-balancing_cell_02 1"
    "jbd pack bool-charge_fet 1"
    "jbd pack percent-humidity 45"
    "pylontech rack-1 voltage-pack 49.605"
    "pylontech rack-1 current-pack -2.6"
    "pylontech rack-2 current-pack -1.6"
    "pylontech rack-2 voltage-cell_15 3.324"
    "pylontech rack-1 voltage-cell_min 3.3"
    "pylontech rack-2 temperature-bms 26"
    "pylontech rack-2 count-cycles 32"
    "pylontech rack-1 voltage-charge_limit 53.25"
    "pylontech rack-1 bool-discharge_fet 1"
    "pylontech rack-1 bool-alarm_module_over_voltage 0"
    "pylontech rack count-packs 2"
    "voltronic axpert voltage-output 230"
    "voltronic axpert apparent_power-output 161"
    "voltronic axpert power-output 119"
    "voltronic axpert voltage-battery 57.5"
    "voltronic axpert current-battery_charge 12"
    "voltronic axpert power-pv1 856"
    "voltronic axpert power-pv2 1026"
    "voltronic axpert gauge-mode 3"
    "voltronic axpert bool-scc_charging 1"
    "voltronic axpert bool-warning_overload 0"
    "luxpower eg4 voltage-battery 52.8"
    "luxpower eg4 percent-soc 83"
    "luxpower eg4 gauge-status 16"
    "luxpower eg4 frequency-grid 50.04"
    "luxpower eg4 temperature-inner 28"
    "luxpower eg4 energy-pv_total 4215.8"
    "luxpower eg4 energy-to_user_total 10157"
    "jbd pack bool-up 1"
    "pylontech rack bool-up 1"
    "voltronic axpert bool-up 1"
    "luxpower eg4 bool-up 1"
)
# collectd's network plugin sends a buffer when it is full, so a poll's last values (bool-up)
# may wait for the next poll: wait until every expected row has arrived, then check them.
arrived() {
    printf '%s\n' "${EXPECTED[@]}" | "$PYTHON" "$INFLUX_PY" "$INFLUX_URL" expect collectd e2e 2>&1 |
        awk -F'\t' '$1 != "PASS" { bad = 1 } END { exit bad || NR == 0 }'
}
check "collectd's values reach InfluxDB through its collectd input" wait_for 30 arrived
check "collectd is running" collectd_running

influx_expect_rows collectd e2e "collectd → InfluxDB" "${EXPECTED[@]}"
check "InfluxDB dropped no value of an unknown type" \
    bash -c "! grep -qi 'unable to find\|type not found\|unknown type' '$WORK/influxdb/influxd.log'"

# Graphite: the recommended snippet's paths, and collectd's defaults beside them.
# write_graphite ends its lines with CR LF.
graphite_lines() { tr -d '\r' <"$WORK/graphite.txt"; }
# graphite_has "PATH VALUE", both as regular expressions.
graphite_has() { graphite_lines | grep -qE "^$1 [0-9]{10}\$"; }
GRAPHITE=(
    "collectd\\.e2e\\.jbd\\.pack\\.voltage\\.cell_01 3\\.301"
    "collectd\\.e2e\\.jbd\\.pack\\.bool\\.balancing_cell_02 1"
    "collectd\\.e2e\\.pylontech\\.rack-2\\.voltage\\.cell_15 3\\.324"
    "collectd\\.e2e\\.pylontech\\.rack-1\\.current\\.pack -2\\.6"
    "collectd\\.e2e\\.voltronic\\.axpert\\.apparent_power\\.output 161"
    "collectd\\.e2e\\.luxpower\\.eg4\\.energy\\.pv_total 4215\\.8"
    "e2e\\.jbd-pack\\.voltage-cell_01 3\\.301"
    "e2e\\.pylontech-rack-2\\.voltage-cell_15 3\\.324"
)
for row in "${GRAPHITE[@]}"; do
    check "write_graphite: ${row//\\/}" wait_for 10 graphite_has "$row"
done
malformed() { graphite_lines | grep -vE '^[^ ]+ -?[0-9.e+-]+ [0-9]{10}$' | head -n 3; }
check "write_graphite: every line is PATH VALUE TIMESTAMP" [ -z "$(malformed)" ]

# The Grafana dashboards against what collectd wrote (grafana_queries.sh checks them panel by
# panel against the execd path).
"$PYTHON" "$top_srcdir/tests/e2e/grafana_queries.py" "$INFLUX_URL" collectd \
    "$top_srcdir"/conf.d/grafana/dashboards/*.json >"$WORK/grafana.out" 2>&1
check "every Grafana panel finds data in what collectd wrote" [ $? -eq 0 ] ||
    grep -v '^PASS' "$WORK/grafana.out" | sed 's/^/# /'

kill -TERM "$COLLECTD_PID"
stopped() { ! collectd_running; }
check "collectd stops cleanly" wait_for 10 stopped

# Telegraf's execd input with signal = "STDIN": a newline per interval, line protocol back on
# stdout, log lines on stderr with Telegraf's prefixes, exit at the end of input.
printf '\n' | "$SOLARPOLL" execd jbd "$WORK/jbd0" name=pack -- pylontech "$WORK/pyl0" \
    name=rack addresses=2-3 -- voltronic "$WORK/inv0" name=axpert -- luxpower \
    "modbus-tcp:$LUX" name=eg4 >"$WORK/execd.out" 2>"$WORK/execd.err"
check "execd exits 0 at the end of input" [ $? -eq 0 ]
check "execd writes line protocol" [ -s "$WORK/execd.out" ]
check "execd logs each connection with Telegraf's I! prefix" \
    [ "$(grep -c '^I! .*connected to' "$WORK/execd.err")" -eq 4 ]
check "execd's stderr lines all carry Telegraf's prefixes" bash -c "! grep -qvE '^[EWI]! ' '$WORK/execd.err'"
created() { influx_query telegraf "CREATE DATABASE telegraf" >/dev/null; }
check "CREATE DATABASE telegraf" created
check "InfluxDB's /write accepts execd's output (204)" [ "$(influx_write telegraf "$WORK/execd.out")" = 204 ]
host=$(hostname)
influx_expect_rows telegraf "$host" "execd → InfluxDB" "${EXPECTED[@]}"
"$PYTHON" "$INFLUX_PY" "$INFLUX_URL" compare collectd "host = 'e2e'" telegraf "host = '$host'" \
    >"$WORK/compare.out"
check "collectd and execd give the same series, tags and values" [ $? -eq 0 ]
sed 's/^/# /' "$WORK/compare.out"

done_testing
