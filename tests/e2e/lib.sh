# Fixtures for the end-to-end tests: TAP output, simulators, a private collectd.
# Sourced by tests/e2e/*.sh; make check sets top_srcdir and top_builddir.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
# Debian's interpreter, not whatever python3 comes first on PATH: the simulators need only
# the standard library, and the Debian one is there on every machine the quickstart set up.
PYTHON=/usr/bin/python3
[ -x "$PYTHON" ] || PYTHON=python3
SOLARPOLL="$top_builddir/solarpoll"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/solar-e2e.XXXXXX")
BACKGROUND=()
tap_count=0
tap_failed=0

cleanup() {
    for pid in "${BACKGROUND[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    # SOLAR_KEEP_WORK=1 keeps the logs, configs and csv files of a failing run to look at.
    if [ -n "${SOLAR_KEEP_WORK:-}" ]; then echo "# kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

# check DESCRIPTION COMMAND...: one TAP line from the command's status.
check() {
    local what="$1"
    shift
    tap_count=$((tap_count + 1))
    if "$@"; then
        echo "ok $tap_count - $what"
    else
        echo "not ok $tap_count - $what"
        tap_failed=$((tap_failed + 1))
    fi
}

done_testing() {
    check_sanitizer_reports
    echo "1..$tap_count"
    [ "$tap_failed" -eq 0 ]
}

# wait_for SECONDS COMMAND...: polls every 0.1 s until the command succeeds.
wait_for() {
    local tenths=$(($1 * 10))
    shift
    while [ "$tenths" -gt 0 ]; do
        "$@" && return 0
        sleep 0.1
        tenths=$((tenths - 1))
    done
    return 1
}

# start_sim NAME SCRIPT ARGS...: starts a simulator and waits for its READY line.
start_sim() {
    local name="$1" script="$2"
    shift 2
    "$PYTHON" "$top_srcdir/tests/sim/$script" "$@" >"$WORK/$name.ready" 2>"$WORK/$name.err" &
    BACKGROUND+=($!)
    eval "${name}_PID=$!"
    if ! wait_for 10 grep -q '^READY' "$WORK/$name.ready"; then
        echo "# simulator $name did not start:" && sed 's/^/# /' "$WORK/$name.err"
        return 1
    fi
}

# start_collectd CONFIG_BODY PLUGINS...: runs collectd -f with the built plugins and the named
# stock ones copied into a private PluginDir (collectd refuses symlinks there). Values go to
# the csv writer under $WORK/csv, the log and notifications to $WORK/collectd.log.
start_collectd() {
    local body="$1"
    shift
    mkdir -p "$WORK/plugins" "$WORK/csv"
    for p in logfile csv "$@"; do
        if [ -f "$top_builddir/plugins/.libs/$p.so" ]; then
            cp "$top_builddir/plugins/.libs/$p.so" "$WORK/plugins/"
        else
            cp "/usr/lib/collectd/$p.so" "$WORK/plugins/"
        fi
    done
    cat >"$WORK/collectd.conf" <<CONF
Hostname "e2e"
FQDNLookup false
BaseDir "$WORK"
PIDFile "$WORK/collectd.pid"
PluginDir "$WORK/plugins"
TypesDB "/usr/share/collectd/types.db" "$top_srcdir/conf.d/solar.types.db"
Interval 1
ReadThreads 2
LoadPlugin logfile
<Plugin logfile>
  LogLevel info
  File "$WORK/collectd.log"
  Timestamp true
  PrintSeverity true
</Plugin>
LoadPlugin csv
<Plugin csv>
  DataDir "$WORK/csv"
  StoreRates false
</Plugin>
$body
CONF
    collectd_command -f -C "$WORK/collectd.conf" >"$WORK/collectd.out" 2>&1 &
    COLLECTD_PID=$!
    BACKGROUND+=($COLLECTD_PID)
}

collectd_running() {
    kill -0 "$COLLECTD_PID" 2>/dev/null
}

# csv_file INSTANCE METRIC: the csv plugin's file of today for host e2e.
csv_file() {
    echo "$WORK/csv/e2e/$1/$2-$(date +%Y-%m-%d)"
}

# csv_last INSTANCE METRIC: the last value written, or nothing.
csv_last() {
    local f
    f=$(csv_file "$1" "$2")
    [ -f "$f" ] && tail -n 1 "$f" | cut -d, -f2
}

# csv_rows INSTANCE METRIC: how many values were written.
csv_rows() {
    local f
    f=$(csv_file "$1" "$2")
    if [ -f "$f" ]; then grep -vc '^epoch' "$f"; else echo 0; fi
}

# expect INSTANCE METRIC VALUE: the last value collectd wrote is VALUE.
expect() {
    local got
    got=$(csv_last "$1" "$2")
    same_number "$got" "$3" || { echo "# $1 $2: got '$got', want $3"; return 1; }
}

# elapsed_ms COMMAND...: runs the command; prints the milliseconds it took.
elapsed_ms() {
    local start end
    start=$(date +%s%N)
    "$@" >/dev/null 2>&1
    end=$(date +%s%N)
    echo $(((end - start) / 1000000))
}

# same_number A B: numerically equal to 1e-9.
same_number() {
    awk -v a="$1" -v b="$2" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(a != "" && d < 1e-9) }'
}

# --- sanitized builds (configure --enable-sanitizers; make check exports SOLAR_ASAN_RUNTIME) ---
# Debian's collectd is not built with ASan, so the runtime must be preloaded for it to load the
# sanitized plugins. Leak checking is off there: collectd does not free everything it
# allocates at exit, and with the runtime preloaded every allocation of the process is tracked,
# so a report would be mostly collectd's own. Our leaks are caught by LSan in solarpoll and the
# unit tests (same code) and by tests/e2e/valgrind_collectd.sh. UBSan aborts on the first error.
COLLECTD_ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:log_path=$WORK/asan"
# collectd_command ARGS...: collectd, with the ASan runtime preloaded in a sanitized build; the
# process is collectd's own (env execs it), so $! of "collectd_command ... &" is collectd.
# COLLECTD_WRAPPER (words, e.g. "valgrind --error-exitcode=99") runs collectd under a tool.
COLLECTD_WRAPPER=""
collectd_command() {
    if [ -n "${SOLAR_ASAN_RUNTIME:-}" ]; then
        exec env LD_PRELOAD="$SOLAR_ASAN_RUNTIME" ASAN_OPTIONS="$COLLECTD_ASAN_OPTIONS" \
            $COLLECTD_WRAPPER collectd "$@"
    fi
    exec $COLLECTD_WRAPPER collectd "$@"
}
# Foreground calls (collectd -f -C bad.conf) go through the same preload, in a subshell.
collectd() { (collectd_command "$@"); }
# check_sanitizer_reports: one failing result per report collectd's ASan/UBSan left (none in a
# normal build), the report as TAP comments.
check_sanitizer_reports() {
    local report
    for report in "$WORK"/asan.*; do
        [ -f "$report" ] || continue
        sed 's/^/# /' "$report" | head -n 60
        check "no sanitizer report from collectd ($(basename "$report"))" false
    done
}
