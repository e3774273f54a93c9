"""InfluxDB 1.x over HTTP for the end-to-end tests, with nothing but the standard library.

    influx.py URL ping                      exit 0 when /ping answers 204
    influx.py URL query DB INFLUXQL         the JSON answer of /query
    influx.py URL write DB FILE             POST FILE to /write; prints the HTTP status
    influx.py URL last DB MEASUREMENT TAG=VALUE...
                                            the newest value of the one series with exactly
                                            these tags (all four collectd tags are given)
    influx.py URL expect DB HOST <ROWS      for each row on stdin, "PLUGIN INSTANCE
                                            TYPE-TYPE_INSTANCE VALUE": PASS or FAIL, a tab,
                                            what was checked
    influx.py URL series DB WHERE           every series (measurement + tags) with its last
                                            value, one per line, sorted, host tag dropped
    influx.py URL compare DB1 WHERE1 DB2 WHERE2
                                            the same series with the same last values in both
"""

import json
import sys
import urllib.error
import urllib.parse
import urllib.request


def request(url, path, params, body=None, method="GET"):
    full = url + path + "?" + urllib.parse.urlencode(params)
    req = urllib.request.Request(full, data=body, method="POST" if body is not None else method)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def query(url, db, text):
    # POST: InfluxDB 1.x refuses CREATE and DROP in a GET.
    status, body = request(url, "/query", {"db": db, "q": text, "epoch": "ns"}, method="POST")
    answer = json.loads(body or b"{}")
    if status != 200:
        raise SystemExit(f"query {text!r}: HTTP {status}: {body!r}")
    for result in answer.get("results", []):
        if "error" in result:
            raise SystemExit(f"query {text!r}: {result['error']}")
    return answer


def quote_tag(value):
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def last(url, db, measurement, tags):
    where = " AND ".join(f'"{k}" = {quote_tag(v)}' for k, v in tags.items())
    answer = query(url, db, f'SELECT last("value") FROM "{measurement}" WHERE {where} '
                            f'GROUP BY *')
    series = answer["results"][0].get("series", [])
    # GROUP BY * returns every tag of the series: demand exactly the tags asked for, so an
    # extra or a missing tag (the schema) is a failure, not a match.
    exact = [s for s in series if s.get("tags", {}) == tags]
    if len(exact) != 1:
        raise SystemExit(f"{measurement} {tags}: {len(exact)} series with exactly these tags; "
                         f"got {[s.get('tags') for s in series]}")
    return exact[0]["values"][0][1]


def expect(url, db, host, rows):
    """One line per row: the series with exactly the four collectd tags holds VALUE."""
    for row in rows:
        if not row.strip():
            continue
        plugin, instance, metric, want = row.split()
        kind, _, type_instance = metric.partition("-")
        what = f"{plugin} {instance} {metric} {want}"
        tags = {"host": host, "instance": instance, "type": kind, "type_instance": type_instance}
        try:
            got = last(url, db, f"{plugin}_value", tags)
        except SystemExit as err:
            print(f"FAIL\t{what}: {err}")
            continue
        same = abs(got - float(want)) <= 1e-9 * max(1.0, abs(got))
        print(f"{'PASS' if same else 'FAIL'}\t{what}{'' if same else f': got {got!r}'}")


def series(url, db, where):
    """{"measurement,tag=value,...": last value} of every series, the host tag left out."""
    answer = query(url, db, f'SELECT last("value") FROM /.*/ WHERE {where} GROUP BY *')
    found = {}
    for s in answer["results"][0].get("series", []):
        tags = dict(s.get("tags", {}))
        tags.pop("host", None)
        tagtext = ",".join(f"{k}={v}" for k, v in sorted(tags.items()))
        found[f"{s['name']},{tagtext}"] = s["values"][0][1]
    return found


def compare(url, db1, where1, db2, where2):
    """Prints every series that is in one set and not the other, or differs; 0 when none."""
    one, two = series(url, db1, where1), series(url, db2, where2)
    differences = 0
    for key in sorted(set(one) | set(two)):
        a, b = one.get(key), two.get(key)
        if a is None or b is None or abs(a - b) > 1e-9 * max(1.0, abs(a)):
            print(f"{key}: {db1} {a!r}, {db2} {b!r}")
            differences += 1
    print(f"{len(one)} and {len(two)} series, {differences} differ")
    return 1 if differences or not one else 0


def main(argv):
    url, command, args = argv[1], argv[2], argv[3:]
    if command == "ping":
        try:
            status, _ = request(url, "/ping", {})
        except OSError:
            return 1
        return 0 if status == 204 else 1
    if command == "query":
        print(json.dumps(query(url, args[0], args[1])))
    elif command == "write":
        with open(args[1], "rb") as f:
            status, body = request(url, "/write", {"db": args[0]}, f.read())
        print(status)
        if status != 204:
            print(body.decode(errors="replace"), file=sys.stderr)
    elif command == "last":
        tags = dict(word.split("=", 1) for word in args[2:])
        print(repr(last(url, args[0], args[1], tags)))
    elif command == "expect":
        expect(url, args[0], args[1], sys.stdin)
    elif command == "series":
        for key, value in sorted(series(url, args[0], args[1]).items()):
            print(key, repr(value))
    elif command == "compare":
        return compare(url, *args)
    else:
        raise SystemExit(f"unknown command {command}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
