#!/usr/bin/env bash
# make install puts each plugin where collectd loads plugins from, without libtool archives,
# exporting nothing but module_register; solarpoll goes to bin/.
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
