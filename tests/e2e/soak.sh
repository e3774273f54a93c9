#!/usr/bin/env bash
# Soak: SOAK_POLLS (default 10,000) polls per driver through solarpoll execd (one poll per line
# of input) against unpaced simulators, all drivers at once. RSS (VmRSS) and open file
# descriptors of each solarpoll are sampled after a warm-up of SOAK_WARMUP polls and at the
# end: RSS may grow by at most RSS_SLACK_KB, the descriptors must be the same, and every poll
# must have read the device (bool-up 1). In a sanitized build the RSS figures are printed but
# not bounded (ASan's quarantine holds freed memory back on purpose); LSan checks the leaks
# there at exit.
. "$(dirname "$0")/lib.sh"

POLLS="${SOAK_POLLS:-10000}"
WARMUP="${SOAK_WARMUP:-500}"
RSS_SLACK_KB=64

# name|driver|simulator and arguments|transport|options
SOAKS=(
    "jbd|jbd|jbd_sim.py --extended|pty|"
    "pylontech|pylontech|pylontech_sim.py --packs 2|pty|addresses=2-3"
    "voltronic|voltronic|voltronic_sim.py|pty|settingsinterval=1"
    "luxpower|luxpower|luxpower_sim.py|modbus-tcp|"
)

drivers=$("$SOLARPOLL" --help 2>&1 | sed -n 's/^drivers: //p')
names=()
for row in "${SOAKS[@]}"; do
    IFS='|' read -r name driver sim transport options <<<"$row"
    case " $drivers " in *" $driver "*) ;; *) continue ;; esac
    read -r -a args <<<"$sim"
    if [ "$transport" = pty ]; then
        start_sim "$name" "${args[@]}" --link "$WORK/$name.tty" || exit 1
        port="$WORK/$name.tty"
    else
        start_sim "$name" "${args[@]}" --tcp 0 || exit 1
        port="$transport:$(sed -n 's/^READY //p' "$WORK/$name.ready")"
    fi
    echo "$driver $port $options" >"$WORK/$name.cmd"
    names+=("$name")
done

# One Python driver per solarpoll: feeds the lines, counts the polls, samples /proc.
soak() {
    "$PYTHON" - "$SOLARPOLL" "$POLLS" "$WARMUP" "$WORK/$1.result" $(cat "$WORK/$1.cmd") <<'PY'
import os, subprocess, sys, time
solarpoll, polls, warmup, result = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
driver, port, options = sys.argv[5], sys.argv[6], sys.argv[7:]
p = subprocess.Popen([solarpoll, "execd", driver, port, "name=soak", "timeout=2"] + options,
                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
marker = b"instance=soak,type=bool,type_instance=up value="
done = up = 0

def run(count):
    global done, up
    batch = 50
    while count > 0:
        k = min(batch, count)
        p.stdin.write(b"\n" * k)
        p.stdin.flush()
        seen = 0
        while seen < k:
            line = p.stdout.readline()
            if not line:
                raise SystemExit("solarpoll ended after %d polls" % done)
            if line.startswith(driver.encode() + b"_value,") and marker in line:
                seen += 1
                up += line.rstrip().endswith(b"=1")
        done += k
        count -= k

def sample():
    with open("/proc/%d/status" % p.pid) as f:
        rss = next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))
    return rss, len(os.listdir("/proc/%d/fd" % p.pid))

start = time.monotonic()
run(warmup)
rss0, fds0 = sample()
run(polls - warmup)
rss1, fds1 = sample()
took = time.monotonic() - start
p.stdin.close()
status = p.wait()
with open(result, "w") as f:
    f.write("%d %d %d %d %d %d %d %.1f\n" % (done, up, rss0, rss1, fds0, fds1, status, took))
PY
}

pids=()
for name in "${names[@]}"; do
    soak "$name" 2>"$WORK/$name.soak.err" &
    pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid"; done

rss_within() { [ "$(($2 - $1))" -le "$RSS_SLACK_KB" ]; }
for name in "${names[@]}"; do
    if [ ! -s "$WORK/$name.result" ]; then
        sed 's/^/# /' "$WORK/$name.soak.err"
        check "$name: soak ran" false
        continue
    fi
    read -r done up rss0 rss1 fds0 fds1 status took <"$WORK/$name.result"
    echo "# $name: $done polls in $took s, $up read the device; VmRSS $rss0 -> $rss1 KiB, fds $fds0 -> $fds1"
    check "$name: $POLLS polls" [ "$done" -eq "$POLLS" ]
    check "$name: every poll read the device" [ "$up" -eq "$done" ]
    check "$name: open descriptors flat ($fds0 -> $fds1)" [ "$fds0" -eq "$fds1" ]
    if [ -z "${SOLAR_ASAN_RUNTIME:-}" ]; then
        check "$name: RSS flat ($rss0 -> $rss1 KiB, at most +$RSS_SLACK_KB)" rss_within "$rss0" "$rss1"
    fi
    check "$name: solarpoll exits 0 (no leak under LSan in a sanitized build)" [ "$status" -eq 0 ]
done

done_testing
