#!/usr/bin/env bash
# The Grafana dashboards in conf.d/grafana/ against a real InfluxDB filled from the four
# simulators: every panel's InfluxQL, with the dashboard's own template variables filled from
# their queries, must return data; a misspelt metric must make the check fail, naming the
# dashboard and the panel. The provisioning files must name what the dashboards use.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/influx.sh"

GRAFANA="$top_srcdir/conf.d/grafana"
DASHBOARDS=("$GRAFANA"/dashboards/*.json)
QUERIES="$top_srcdir/tests/e2e/grafana_queries.py"

start_sim jbd jbd_sim.py --link "$WORK/jbd0" --extended || exit 1
start_sim pyl pylontech_sim.py --link "$WORK/pyl0" --packs 2 || exit 1
start_sim inv voltronic_sim.py --link "$WORK/inv0" || exit 1
start_sim lux luxpower_sim.py --tcp 0 || exit 1
LUX=$(sed -n 's/^READY //p' "$WORK/lux.ready")
start_influxd || exit 1

# The database the datasource names, filled the way Telegraf would (pipeline_influxdb.sh shows
# that collectd's path gives the same series): three polls, a second apart.
(for _ in 1 2 3; do echo; sleep 1; done) | "$SOLARPOLL" execd jbd "$WORK/jbd0" name=pack \
    -- pylontech "$WORK/pyl0" name=rack addresses=2-3 -- voltronic "$WORK/inv0" name=axpert \
    -- luxpower "modbus-tcp:$LUX" name=eg4 >"$WORK/execd.out" 2>"$WORK/execd.err"
check "solarpoll execd polls the four simulators" [ -s "$WORK/execd.out" ]
created() { influx_query collectd "CREATE DATABASE collectd" >/dev/null; }
check "CREATE DATABASE collectd" created
check "InfluxDB's /write accepts the values (204)" [ "$(influx_write collectd "$WORK/execd.out")" = 204 ]

check "there are dashboards" [ ${#DASHBOARDS[@]} -ge 3 ]
is_json() { "$PYTHON" -m json.tool "$1" >/dev/null; }
for board in "${DASHBOARDS[@]}"; do
    check "$(basename "$board") is JSON" is_json "$board"
done

# One TAP line per panel target and set of variable values.
"$PYTHON" "$QUERIES" "$INFLUX_URL" collectd "${DASHBOARDS[@]}" >"$WORK/queries.out" 2>&1
status=$?
while IFS=$'\t' read -r result what; do
    check "$what" [ "$result" = PASS ]
done < <(grep -E '^(PASS|FAIL)' "$WORK/queries.out")
check "the query runner exits 0" [ "$status" -eq 0 ] || sed 's/^/# /' "$WORK/queries.out"
count() { grep -c "^PASS	Solar: $1" "$WORK/queries.out"; }
check "the battery bank serves both pylontech and jbd" \
    bash -c "grep -q 'battery=jbd ' '$WORK/queries.out' && grep -q 'battery=pylontech ' '$WORK/queries.out'"
check "multi-value packs are sent as a regex alternation" grep -qF 'pack=(rack-1|rack-2)' "$WORK/queries.out"
echo "# panel queries passed: battery bank $(count battery), inverter $(count inverter), luxpower $(count LuxPower)"

# The check can fail: a misspelt metric, and a variable whose query finds nothing.
sed 's/cell_delta/cell_detla/g' "$GRAFANA/dashboards/solar-battery-bank.json" >"$WORK/misspelt.json"
"$PYTHON" "$QUERIES" "$INFLUX_URL" collectd "$WORK/misspelt.json" >"$WORK/misspelt.out" 2>&1
check "a misspelt metric fails the check" [ $? -ne 0 ]
check "naming the dashboard and the panel" \
    grep -q '^FAIL	Solar: battery bank \[.*\] / Cell spread / A: no series' "$WORK/misspelt.out"
sed 's/SHOW TAG VALUES FROM \\"voltronic_value\\" WITH KEY = \\"host\\"/SHOW TAG VALUES FROM \\"voltronix_value\\" WITH KEY = \\"host\\"/' \
    "$GRAFANA/dashboards/solar-inverter.json" >"$WORK/novalues.json"
"$PYTHON" "$QUERIES" "$INFLUX_URL" collectd "$WORK/novalues.json" >"$WORK/novalues.out" 2>&1
check "a variable without values fails the check, naming it" \
    grep -q '^FAIL	Solar: inverter (Voltronic / Axpert) / variables: variable \$host has no values' \
    "$WORK/novalues.out"

# Provisioning: the datasource the dashboards ask for, the database the values are in.
DS_YAML="$GRAFANA/provisioning/datasources/collectd-solar.yaml"
DB_YAML="$GRAFANA/provisioning/dashboards/collectd-solar.yaml"
check "datasource provisioning: uid collectd-solar" grep -qE '^    uid: collectd-solar$' "$DS_YAML"
check "datasource provisioning: type influxdb" grep -qE '^    type: influxdb$' "$DS_YAML"
check "datasource provisioning: database collectd" grep -qE '^      dbName: collectd$' "$DS_YAML"
check "dashboard provisioning: a file provider" grep -qE '^    type: file$' "$DB_YAML"
check "dashboard provisioning: the installed dashboards" \
    grep -qE '^      path: /usr/share/collectd-solar/grafana/dashboards$' "$DB_YAML"
defaults_ok() {
    "$PYTHON" - "$@" <<'PY'
import json, sys
uids = set()
for path in sys.argv[1:]:
    board = json.load(open(path))
    uids.add(board["uid"])
    ds = [v for v in board["templating"]["list"] if v["type"] == "datasource"]
    assert ds and ds[0]["current"]["value"] == "collectd-solar", path
    assert ds[0]["query"] == "influxdb", path
assert len(uids) == len(sys.argv) - 1, "dashboard uids must differ"
PY
}
check "each dashboard defaults to the provisioned datasource; uids differ" defaults_ok "${DASHBOARDS[@]}"

done_testing
