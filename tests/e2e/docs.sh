#!/usr/bin/env bash
# The reference documentation cannot drift from the code: docs/metrics.md is what
# `solarpoll metrics --markdown` prints now (make update-docs rewrites it); every option of
# every driver is described in collectd-solar(5), in the driver's section or among the options
# of every device; every solarpoll command is in solarpoll(1); both pages render without a
# single groff warning.
. "$(dirname "$0")/lib.sh"
MAN5="$top_srcdir/man/collectd-solar.5"
MAN1="$top_srcdir/man/solarpoll.1"

drivers=$("$SOLARPOLL" --help | sed -n 's/^drivers: //p')
if [ "$drivers" = "jbd luxpower pylontech voltronic" ]; then
    "$SOLARPOLL" metrics --markdown >"$WORK/metrics.md"
    check "docs/metrics.md is current (make update-docs)" \
        diff -u "$top_srcdir/docs/metrics.md" "$WORK/metrics.md"
    [ "$tap_failed" -eq 0 ] || diff -u "$top_srcdir/docs/metrics.md" "$WORK/metrics.md" | head -20 | sed 's/^/# /'
else
    tap_count=$((tap_count + 1))
    echo "ok $tap_count - # SKIP docs/metrics.md: only $drivers built"
fi
check "docs/metrics.md has a section per driver" \
    bash -c "for d in jbd luxpower pylontech voltronic; do grep -qx \"## \$d\" '$top_srcdir/docs/metrics.md' || exit 1; done"

# section NAME: the text of `.SH "NAME"` up to the next .SH.
section() {
    awk -v want=".SH \"$1\"" '/^\.SH/ { inside = ($0 == want); next } inside' "$MAN5"
}
# An option is described where a .TP item starts with it: .BI Name " value" or .B Name.
described() {
    grep -Eq "^\.BI? \"?$2( |\"|$)" <<<"$1"
}
common=$(section "DEVICE OPTIONS")
check "collectd-solar.5 has a DEVICE OPTIONS section" [ -n "$common" ]
for d in $drivers; do
    own=$(section "PLUGIN $d")
    check "collectd-solar.5 has a PLUGIN $d section" [ -n "$own" ]
    options=$("$SOLARPOLL" metrics "$d" | sed -n '/^options/,$p' | awk 'NR > 1 { print $1 }')
    check "solarpoll metrics $d lists options" [ -n "$options" ]
    for o in $options; do
        check "collectd-solar.5 describes $d option $o" bash -c \
            "$(declare -f described); described \"\$1\" $o || described \"\$2\" $o" _ "$own" "$common"
    done
done

commands=$("$SOLARPOLL" --help | sed -n 's/^ *\(usage: \)\{0,1\}solarpoll \([a-z]*\).*/\2/p' | sort -u)
for c in $commands scan; do
    check "solarpoll.1 describes the command $c" grep -qx "\.B $c" "$MAN1"
done

for page in "$MAN1" "$MAN5"; do
    name=$(basename "$page")
    groff -man -ww -z "$page" >"$WORK/groff.out" 2>&1
    check "$name renders with groff -man -ww without warnings" \
        bash -c "[ $? -eq 0 ] && [ ! -s '$WORK/groff.out' ]" || sed 's/^/# /' "$WORK/groff.out"
    MANWIDTH=80 man --warnings -l "$page" >/dev/null 2>"$WORK/man.out"
    check "$name: man --warnings is silent" [ ! -s "$WORK/man.out" ] || sed 's/^/# /' "$WORK/man.out"
done

done_testing
