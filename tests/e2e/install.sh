#!/usr/bin/env bash
# make install puts each plugin where collectd loads plugins from, without libtool archives,
# exporting nothing but module_register; solarpoll goes to bin/; the conf.d files go where
# configure said, with their paths filled in. Then a collectd made of nothing but the installed
# files (installed into a private prefix), with only each device's Port changed to a simulator,
# starts and reads all four drivers; with the Ports as shipped (no devices) it keeps running.
. "$(dirname "$0")/lib.sh"

root="$WORK/root"
make -s -C "$top_builddir" install DESTDIR="$root" >"$WORK/install.out" 2>&1
check "make install succeeds" [ $? -eq 0 ] || sed 's/^/# /' "$WORK/install.out"

plugindir=$(sed -n 's/^collectd_plugindir = //p' "$top_builddir/Makefile")
bindir=$(sed -n 's/^bindir = //p' "$top_builddir/Makefile")
prefix=$(sed -n 's/^prefix = //p' "$top_builddir/Makefile")
bindir="${bindir//\$\{exec_prefix\}/$prefix}"
plugins=$(cd "$top_builddir/plugins/.libs" 2>/dev/null && ls ./*.so)
check "the build has plugins to install" [ -n "$plugins" ]
for built in $plugins; do
    name=$(basename "$built" .so)
    so="$root$plugindir/$name.so"
    check "$name.so installed in collectd's plugin directory" [ -f "$so" ]
    check "$name.la not installed" [ ! -e "$root$plugindir/$name.la" ]
    exported=$(nm -D --defined-only "$so" 2>/dev/null | awk '$2 == "T" { print $3 }' | tr '\n' ' ')
    check "$name.so exports only module_register" [ "$exported" = "module_register " ]
done
check "solarpoll installed in bin" [ -x "$root$bindir/solarpoll" ]
"$root$bindir/solarpoll" --help >/dev/null
check "the installed solarpoll runs" [ $? -eq 0 ]

# make_var NAME: a directory as this build's Makefile expands it under prefix $1.
make_var() {
    env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C "$top_builddir" --no-print-directory \
        prefix="$1" -f Makefile -f - print-var VAR="$2" <<'MK'
print-var:
	@echo $($(VAR))
MK
}
confdir=$(make_var "$prefix" collectd_confdir)
pkgdatadir=$(make_var "$prefix" pkgdatadir)
udevrulesdir=$(make_var "$prefix" udevrulesdir)
telegrafdir=$(make_var "$prefix" telegraf_confdir)
stock_typesdb=$(make_var "$prefix" collectd_typesdb)
mandir=$(make_var "$prefix" mandir)
check "solarpoll.1 installed in $mandir/man1" [ -f "$root$mandir/man1/solarpoll.1" ]
check "collectd-solar.5 installed in $mandir/man5" [ -f "$root$mandir/man5/collectd-solar.5" ]
check "solar.types.db installed in $pkgdatadir" [ -f "$root$pkgdatadir/solar.types.db" ]
for rules in 70-solar-serial.rules 90-voltronic.rules; do
    check "$rules installed in $udevrulesdir" [ -f "$root$udevrulesdir/$rules" ]
done
check "the telegraf snippet installed in $telegrafdir" [ -f "$root$telegrafdir/solarpoll.conf.example" ]
check "solar-types.conf installed in $confdir" [ -f "$root$confdir/solar-types.conf" ]
for built in $plugins; do
    name=$(basename "$built" .so)
    check "$name.conf.example installed in $confdir" [ -f "$root$confdir/$name.conf.example" ]
    check "$name.conf not installed live" [ ! -e "$root$confdir/$name.conf" ]
done
for name in network-influxdb write_graphite; do
    check "$name.conf.example installed in $confdir" [ -f "$root$confdir/$name.conf.example" ]
done
check "no @placeholder@ left in an installed file" \
    bash -c "! grep -rl '@[a-zA-Z_]*@' '$root$confdir' '$root$telegrafdir/solarpoll.conf.example'"
check "solar-types.conf names the stock types.db and the installed solar.types.db" \
    grep -qx "TypesDB \"$stock_typesdb\" \"$pkgdatadir/solar.types.db\"" "$root$confdir/solar-types.conf"
check "the telegraf snippet runs the installed solarpoll" \
    grep -q "\"$bindir/solarpoll\", \"execd\"" "$root$telegrafdir/solarpoll.conf.example"
echo '# kept' >>"$root$confdir/solar-types.conf"
make -s -C "$top_builddir" install DESTDIR="$root" >"$WORK/reinstall.out" 2>&1
check "a changed snippet is kept on reinstall, the new one beside it" \
    bash -c "grep -q '^# kept' '$root$confdir/solar-types.conf' && [ -f '$root$confdir/solar-types.conf.new' ]"

# The same files installed for real into a private prefix, so that every path inside them is
# where they are. collectd's stock logfile and csv plugins join the installed ones.
P="$WORK/prefix"
make -s -C "$top_builddir" install prefix="$P" collectd_plugindir="$P/lib/collectd" \
    collectd_confdir="$P/etc/collectd/collectd.conf.d" udevrulesdir="$P/lib/udev/rules.d" \
    telegraf_confdir="$P/etc/telegraf/telegraf.d" >"$WORK/install-prefix.out" 2>&1
check "make install into a private prefix" [ $? -eq 0 ] || sed 's/^/# /' "$WORK/install-prefix.out"
cp /usr/lib/collectd/logfile.so /usr/lib/collectd/csv.so "$P/lib/collectd/"

# run_collectd NAME MAIN_CONF_LINES: collectd.conf as Debian ships it, in essence: global
# options, a log, the csv writer, and every *.conf of the snippet directory.
run_collectd() {
    local name="$1" dir="$WORK/$1"
    mkdir -p "$dir/csv"
    cat >"$dir/collectd.conf" <<CONF
Hostname "e2e"
FQDNLookup false
BaseDir "$dir"
PIDFile "$dir/collectd.pid"
PluginDir "$P/lib/collectd"
Interval 1
$2
LoadPlugin logfile
<Plugin logfile>
  LogLevel info
  File "$dir/collectd.log"
</Plugin>
LoadPlugin csv
<Plugin csv>
  DataDir "$dir/csv"
</Plugin>
<Include "$P/etc/collectd/collectd.conf.d">
  Filter "${3:-*.conf}"
</Include>
CONF
    collectd_command -f -C "$dir/collectd.conf" >"$dir/collectd.out" 2>&1 &
    eval "${name}_PID=$!"
    BACKGROUND+=($!)
}
# value RUN INSTANCE METRIC: the last value that run wrote, or nothing.
value() {
    local f="$WORK/$1/csv/e2e/$2/$3-$(date +%Y-%m-%d)"
    [ -f "$f" ] && tail -n 1 "$f" | cut -d, -f2
}
has() { [ -n "$(value "$@")" ]; }
stop() { kill "$1" 2>/dev/null; wait "$1" 2>/dev/null; }

# As installed, only solar-types.conf is live: collectd starts and polls nothing of ours.
run_collectd installed ""
check "as installed: collectd runs" wait_for 10 bash -c "grep -q 'Initialization complete' '$WORK/installed/collectd.log'"
check "as installed: no solar plugin loaded" bash -c "! grep -qE 'plugin \"(jbd|pylontech|voltronic|luxpower)\" successfully loaded' '$WORK/installed/collectd.log'"
check "as installed: collectd keeps running" kill -0 "$installed_PID"
stop "$installed_PID"

# Enabled examples (copied to NAME.conf) with no device at their ports: collectd keeps running
# and says so.
SNIPDIR="$P/etc/collectd/collectd.conf.d"
for f in jbd pylontech voltronic luxpower; do cp "$SNIPDIR/$f.conf.example" "$SNIPDIR/$f.conf"; done
run_collectd absent ""
absent_up() { has absent jbd-house bool-up && has absent pylontech-rack bool-up; }
check "enabled snippets without devices: bool-up written" wait_for 15 absent_up
check "enabled snippets: the jbd plugin loaded (the check above can fail)" \
    grep -q 'plugin "jbd" successfully loaded' "$WORK/absent/collectd.log"
check "jbd-house bool-up 0" same_number "$(value absent jbd-house bool-up)" 0
check "voltronic-axpert bool-up 0" wait_for 10 has absent voltronic-axpert bool-up
check "enabled snippets without devices: collectd keeps running" kill -0 "$absent_PID"
stop "$absent_PID"

# Only the Port lines changed, to simulators.
start_sim jbd jbd_sim.py --link "$WORK/ttyJBD" || exit 1
start_sim pyl pylontech_sim.py --link "$WORK/ttyPYL" || exit 1
start_sim inv voltronic_sim.py --link "$WORK/ttyINV" || exit 1
start_sim lux luxpower_sim.py --link "$WORK/ttyLUX" || exit 1
set_port() {
    # The first Port line that is not commented out: the active <Device>.
    sed -i "0,/^    Port /s|^    Port .*|    Port \"$2\"|" "$P/etc/collectd/collectd.conf.d/$1.conf"
}
set_port jbd "$WORK/ttyJBD"
set_port pylontech "$WORK/ttyPYL"
set_port voltronic "$WORK/ttyINV"
set_port luxpower "$WORK/ttyLUX"
check "only the Port lines changed" bash -c \
    "cd '$top_srcdir/conf.d/collectd' && for f in jbd pylontech voltronic luxpower; do
       diff \$f.conf '$P/etc/collectd/collectd.conf.d/'\$f.conf | grep '^[<>]' | grep -v '^[<>]     Port ' && exit 1
     done; exit 0"

all_read() {
    has "$1" jbd-house voltage-pack && has "$1" pylontech-rack-1 voltage-pack &&
        has "$1" voltronic-axpert voltage-grid && has "$1" luxpower-eg4 voltage-battery
}
# Debian's collectd.conf names no TypesDB: solar-types.conf names the stock file and ours.
run_collectd plain ""
check "installed snippets: all four drivers read" wait_for 20 all_read plain
check "jbd-house bool-up 1" same_number "$(value plain jbd-house bool-up)" 1
check "jbd-house voltage-pack 13.21" same_number "$(value plain jbd-house voltage-pack)" 13.21
check "pylontech-rack-1 bool-up 1" same_number "$(value plain pylontech-rack-1 bool-up)" 1
check "luxpower-eg4 bool-up 1" same_number "$(value plain luxpower-eg4 bool-up)" 1
check "voltronic apparent_power-output (solar.types.db) written" \
    wait_for 5 has plain voltronic-axpert apparent_power-output
check "stock types still known (voltage-grid)" has plain voltronic-axpert voltage-grid
check 'no "Dataset not found" in the log' bash -c "! grep -q 'Dataset not found' '$WORK/plain/collectd.log'"
stop "$plain_PID"

# A collectd.conf with its own TypesDB line: the stock file read twice is harmless.
run_collectd own "TypesDB \"$stock_typesdb\""
check "own TypesDB line too: apparent_power and voltage written" \
    wait_for 20 bash -c "[ -n \"\$(ls '$WORK/own/csv/e2e/voltronic-axpert/' 2>/dev/null | grep '^apparent_power-output')\" ] &&
                        [ -n \"\$(ls '$WORK/own/csv/e2e/voltronic-axpert/' 2>/dev/null | grep '^voltage-grid')\" ]"
check "collectd running" kill -0 "$own_PID"
stop "$own_PID"

# The control: without solar-types.conf, collectd drops apparent_power values.
run_collectd bare "" "[jlpv]*.conf"
check "without solar-types.conf: the stock types are written" wait_for 20 all_read bare
check "without solar-types.conf: apparent_power is not" bash -c "! ls '$WORK/bare/csv/e2e/voltronic-axpert/' | grep -q '^apparent_power'"
check "without solar-types.conf: the log says Dataset not found: apparent_power" \
    grep -q 'Dataset not found: apparent_power' "$WORK/bare/collectd.log"
stop "$bare_PID"

# The installed Telegraf snippet: its command, with only the Ports changed, driven as Telegraf's
# execd input drives it (signal "STDIN": a newline per interval; end of input ends it).
"$PYTHON" - "$P/etc/telegraf/telegraf.d/solarpoll.conf.example" "$WORK/ttyPYL" "$WORK/ttyINV" \
    >"$WORK/telegraf.argv" 2>"$WORK/telegraf.err" <<'PY'
import sys, tomllib
conf = tomllib.load(open(sys.argv[1], "rb"))
execd = conf["inputs"]["execd"][0]
assert execd["signal"] == "STDIN" and execd["data_format"] == "influx", execd
ports = {"pylontech": sys.argv[2], "voltronic": sys.argv[3]}
argv, words = execd["command"], execd["command"][2:]
for i, word in enumerate(words):
    if i == 0 or words[i - 1] == "--":
        words[i + 1] = ports[word]
print("\n".join(argv[:2] + words))
PY
check "the telegraf snippet is TOML for an execd input with signal STDIN, data_format influx" \
    [ $? -eq 0 ] || sed 's/^/# /' "$WORK/telegraf.err"
mapfile -t telegraf_argv <"$WORK/telegraf.argv"
printf '\n\n' | timeout 60 "${telegraf_argv[@]}" >"$WORK/telegraf.out" 2>"$WORK/telegraf.log"
check "its command polls twice and exits 0 at the end of input" [ $? -eq 0 ]
check "line protocol for pylontech rack" grep -q '^pylontech_value,host=[^,]*,instance=rack-1,type=voltage,type_instance=pack value=' "$WORK/telegraf.out"
check "line protocol for voltronic axpert" grep -q '^voltronic_value,host=[^,]*,instance=axpert,type=apparent_power,type_instance=output value=' "$WORK/telegraf.out"

# Grafana: the dashboards, and a dashboard provider that names where they were installed.
provider=$(find "$root" -path '*/collectd-solar/grafana/provisioning/dashboards/collectd-solar.yaml')
check "the Grafana dashboard provider is installed" [ -n "$provider" ]
dashboards=$(sed -n 's/^ *path: //p' "$provider" 2>/dev/null)
for board in solar-battery-bank solar-inverter solar-luxpower; do
    check "Grafana dashboard $board where the provider looks" [ -f "$root$dashboards/$board.json" ]
done
check "the Grafana datasource is installed" \
    [ -f "$(dirname "$(dirname "$provider")")/datasources/collectd-solar.yaml" ]

done_testing
