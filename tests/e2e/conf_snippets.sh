#!/usr/bin/env bash
# Every <Device> of the collectd snippets, the active one and each commented example (with the
# commented options inside it uncommented), is a configuration the driver accepts: solarpoll
# parses it with the same option parser as the plugin before it opens anything, and exits 2
# on a configuration error. Every option a driver takes is set in its snippet or shown there.
. "$(dirname "$0")/lib.sh"

for f in "$top_srcdir"/conf.d/collectd/{jbd,pylontech,voltronic,luxpower}.conf; do
    driver=$(basename "$f" .conf)
    options=$("$SOLARPOLL" metrics "$driver" | sed -n '/^options/,$p' | awk 'NR > 1 { print $1 }')
    "$PYTHON" - "$f" $options >"$WORK/$driver.blocks" <<'PY'
import re, shlex, sys
path, options = sys.argv[1], {o.lower() for o in sys.argv[2:]}
block = None
for line in open(path):
    text = line.strip()
    text = text[1:].strip() if text.startswith("#") else text
    m = re.match(r'<Device\s+"([^"]+)">', text)
    if m:
        block = {"name": m.group(1), "words": []}
    elif text == "</Device>" and block:
        port = [w for k, w in block["words"] if k == "port"]
        rest = [f"{k}={w}" for k, w in block["words"] if k != "port"]
        print(shlex.join(port + rest + ["name=" + block["name"]]))
        block = None
    elif block is not None:
        m = re.match(r'([A-Za-z]+)\s+"?([^"]*)"?$', text)
        if m and m.group(1).lower() in options:
            block["words"].append((m.group(1).lower(), m.group(2)))
PY
    check "$driver.conf: <Device> blocks found" [ "$(wc -l <"$WORK/$driver.blocks")" -ge 3 ]
    while read -r line; do
        eval "words=($line)"
        timeout 3 "$SOLARPOLL" read "$driver" "${words[@]}" >/dev/null 2>"$WORK/err"
        status=$?
        check "$driver.conf: $line is accepted" [ "$status" -ne 2 ] || sed 's/^/# /' "$WORK/err"
    done <"$WORK/$driver.blocks"
    for o in $options; do
        check "$driver.conf shows option $o" grep -Eq "^ *#? *$o " "$f"
    done
done
# The control: a misspelt key is refused the same way.
timeout 3 "$SOLARPOLL" read jbd /dev/null adresses=2 >/dev/null 2>&1
check "a misspelt key exits 2" [ $? -eq 2 ]

done_testing
