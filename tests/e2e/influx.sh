# shellcheck shell=bash
# Fixtures for the tests that need a real InfluxDB 1.x (Debian's influxdb) or a Graphite
# receiver. Sourced after lib.sh: servers live in $WORK, listen on 127.0.0.1 at ports the
# kernel picks, and die with lib.sh's cleanup.
INFLUX_PY="$top_srcdir/tests/e2e/influx.py"

# start_influxd: influxd with its collectd input (database "collectd", collectd's stock
# types.db and ours), HTTP on an ephemeral port. Sets INFLUX_URL and INFLUX_COLLECTD_PORT.
start_influxd() {
    local dir="$WORK/influxdb"
    mkdir -p "$dir/types"
    # InfluxDB 1.6 takes one typesdb path; a directory loads every file in it.
    cp /usr/share/collectd/types.db "$top_srcdir/conf.d/solar.types.db" "$dir/types/"
    cat >"$dir/influxdb.conf" <<CONF
reporting-disabled = true
bind-address = "127.0.0.1:0"
[meta]
  dir = "$dir/meta"
[data]
  dir = "$dir/data"
  wal-dir = "$dir/wal"
  query-log-enabled = false
[monitor]
  store-enabled = false
[http]
  bind-address = "127.0.0.1:0"
  log-enabled = false
[[collectd]]
  enabled = true
  bind-address = "127.0.0.1:0"
  database = "collectd"
  typesdb = "$dir/types"
  batch-size = 1000
  batch-timeout = "200ms"
CONF
    influxd -config "$dir/influxdb.conf" >"$dir/influxd.log" 2>&1 &
    INFLUXD_PID=$!
    BACKGROUND+=("$INFLUXD_PID")
    if ! wait_for 30 influxd_listening "$dir/influxd.log"; then
        echo "# influxd did not start:" && sed 's/^/# /' "$dir/influxd.log"
        return 1
    fi
}

# influxd_listening LOG: influxd has said where it listens, and /ping answers 204. Port 0
# everywhere: the ports are learnt from the log, so no other test can race for them.
influxd_listening() {
    INFLUX_URL=$(sed -n 's/.*msg="Listening on HTTP".* addr=\([0-9.:]*\).*/http:\/\/\1/p' "$1")
    INFLUX_COLLECTD_PORT=$(sed -n 's/.*service=collectd addr=127.0.0.1:\([0-9]*\).*/\1/p' "$1")
    [ -n "$INFLUX_URL" ] && [ -n "$INFLUX_COLLECTD_PORT" ] &&
        "$PYTHON" "$INFLUX_PY" "$INFLUX_URL" ping
}

# influx_query DB INFLUXQL: the JSON answer; fails on an HTTP or query error.
influx_query() {
    "$PYTHON" "$INFLUX_PY" "$INFLUX_URL" query "$1" "$2"
}

# influx_last DB MEASUREMENT TAG=VALUE...: the newest value of the series with exactly these tags.
influx_last() {
    "$PYTHON" "$INFLUX_PY" "$INFLUX_URL" last "$@"
}

# influx_expect_rows DB HOST LABEL ROW...: one check per row "PLUGIN INSTANCE TYPE-TYPE_INSTANCE
# VALUE", all in one query run: the series with exactly the tags host, instance, type and
# type_instance holds VALUE.
influx_expect_rows() {
    local db="$1" host="$2" label="$3" result what checked=0
    shift 3
    while IFS=$'\t' read -r result what; do
        check "$label: $what" [ "$result" = PASS ]
        checked=$((checked + 1))
    done < <(printf '%s\n' "$@" | "$PYTHON" "$INFLUX_PY" "$INFLUX_URL" expect "$db" "$host" 2>&1)
    check "$label: every row checked" [ "$checked" -eq $# ]
}

# influx_write DB FILE: POSTs line protocol; prints the HTTP status.
influx_write() {
    "$PYTHON" "$INFLUX_PY" "$INFLUX_URL" write "$1" "$2"
}

# start_graphite FILE: a plaintext Graphite receiver appending to FILE. Sets GRAPHITE_PORT.
start_graphite() {
    "$PYTHON" "$top_srcdir/tests/e2e/graphite_listener.py" "$1" >"$WORK/graphite.ready" \
        2>"$WORK/graphite.err" &
    BACKGROUND+=("$!")
    wait_for 10 grep -q '^READY' "$WORK/graphite.ready" || return 1
    GRAPHITE_PORT=$(sed -n 's/^READY //p' "$WORK/graphite.ready")
}
