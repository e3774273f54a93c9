#!/usr/bin/env bash
# Hostile TCP peers (tests/sim/hostile_peer.py) against solarpoll read with Timeout 1, for each
# driver and TCP transport: a frame with an absurd length field, endless bytes, one byte a
# second. Each read must fail (exit 1) with a clear message on stderr, within the deadline
# (Timeout x the exchanges that can run before the first fails, + slack), and with bounded
# memory (peak RSS).
. "$(dirname "$0")/lib.sh"

TIMEOUT=1
# driver|port prefix|protocol of the peer|the most exchanges one read may spend on it|options
# (luxpower retries the first read after opening a line once; on a dongle each dial first reads
# what the dongle pushes, for up to 1 s, so a read there is two exchanges of two Timeouts)
PEERS=(
    "jbd|tcp:|jbd|1|"
    "pylontech|tcp:|pylontech|1|"
    "voltronic|tcp:|voltronic|1|"
    "luxpower|luxdongle:|luxdongle|4|datalog=2222222222"
    "luxpower|modbus-tcp:|modbus-tcp|2|"
)
SLACK_MS=2000
RSS_LIMIT_KB=$((256 * 1024)) # generous: an ASan build's shadow memory counts too

in_range() { [ "$1" -ge "$2" ] && [ "$1" -le "$3" ]; }
drivers=$("$SOLARPOLL" --help 2>&1 | sed -n 's/^drivers: //p')
for row in "${PEERS[@]}"; do
    IFS='|' read -r driver prefix protocol exchanges options <<<"$row"
    case " $drivers " in *" $driver "*) ;; *) continue ;; esac
    for mode in absurd endless trickle; do
        name="${protocol//-/_}_$mode"
        start_sim "$name" hostile_peer.py --protocol "$protocol" --mode "$mode" || exit 1
        port=$(sed -n 's/^READY //p' "$WORK/$name.ready")
        what="$driver $prefix $mode"
        start=$(date +%s%N)
        /usr/bin/time -f '%M' -o "$WORK/$name.rss" \
            "$SOLARPOLL" read "$driver" "${prefix}127.0.0.1:$port" timeout=$TIMEOUT $options \
            >"$WORK/$name.out" 2>"$WORK/$name.err"
        status=$?
        took=$((($(date +%s%N) - start) / 1000000))
        bound=$((TIMEOUT * 1000 * exchanges + SLACK_MS))
        rss=$(tail -n 1 "$WORK/$name.rss")
        echo "# $what: exit $status after $took ms (bound $bound), peak RSS $rss KiB: $(head -c 160 "$WORK/$name.err" | tr '\n' ' ')"
        check "$what: exits 1" [ "$status" -eq 1 ]
        check "$what: no value printed" [ ! -s "$WORK/$name.out" ]
        check "$what: says why" grep -qiE 'deadline|malformed|too long|checksum|frame|reply|length' "$WORK/$name.err"
        check "$what: within the deadline" [ "$took" -le "$bound" ]
        check "$what: bounded memory" in_range "${rss:-0}" 1 "$RSS_LIMIT_KB"
        pid_var="${name}_PID"
        kill -TERM "${!pid_var}" 2>/dev/null
    done
done

done_testing
