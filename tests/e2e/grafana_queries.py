"""Runs every panel query of Grafana dashboards against InfluxDB 1.x, as Grafana would send it.

    grafana_queries.py URL DB DASHBOARD.json...

The dashboard's template variables are filled from their own queries against DB (a
multi-value variable with all its values, as "All" does; every value of a single-value
variable in turn), then $timeFilter, $__interval and the variables are substituted the way
Grafana's InfluxDB datasource does. One line per panel target and set of variable values:
    PASS<TAB>DASHBOARD [VARS] / PANEL / REFID: N series
    FAIL<TAB>DASHBOARD [VARS] / PANEL / REFID: why
Exits 1 when any line is FAIL.
"""

import json
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

DATASOURCE_UID = "collectd-solar"
INTERVAL = "10s"


def influx(url, db, text):
    params = urllib.parse.urlencode({"db": db, "q": text, "epoch": "ms"})
    try:
        with urllib.request.urlopen(f"{url}/query?{params}", timeout=10) as resp:
            answer = json.load(resp)
    except urllib.error.HTTPError as err:
        answer = json.loads(err.read() or b"{}") or {"error": f"HTTP {err.code}"}
    if "error" in answer:
        raise ValueError(answer["error"])
    result = answer["results"][0]
    if "error" in result:
        raise ValueError(result["error"])
    return result.get("series", [])


def regex_escape(value):
    # Grafana's regexEscape, which its InfluxDB datasource applies to multi-value variables.
    return re.sub(r"[\\^$*+?.()|[\]{}/]", lambda m: "\\" + m.group(0), value)


def render(value):
    """A variable's text in a query: one value as it is; several as a regex alternation."""
    if isinstance(value, str):
        return value
    escaped = [regex_escape(v) for v in value]
    return escaped[0] if len(escaped) == 1 else "(" + "|".join(escaped) + ")"


def substitute(text, values):
    now_ms = int(time.time() * 1000)
    builtins = {"timeFilter": f"time >= {now_ms - 3600 * 1000}ms and time <= {now_ms}ms",
                "__interval": INTERVAL, "interval": INTERVAL}

    def one(match):
        name = match.group(1) or match.group(2) or match.group(3)
        if name in values:
            return render(values[name])
        if name in builtins:
            return builtins[name]
        raise ValueError(f"unknown variable ${name}")

    return re.sub(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]", one, text)


def variable_values(url, db, var, values):
    """The values a query variable offers, its regex applied (a capture group picks the text)."""
    found = set()
    for series in influx(url, db, substitute(var["query"], values)):
        for row in series.get("values", []):
            found.add(str(row[-1]))
    pattern = var.get("regex") or ""
    if pattern:
        body = re.fullmatch(r"/(.*)/([a-z]*)", pattern)
        regex = re.compile(body.group(1) if body else pattern,
                           re.IGNORECASE if body and "i" in body.group(2) else 0)
        kept = set()
        for value in found:
            match = regex.search(value)
            if match:
                kept.add(match.group(1) if match.groups() else value)
        found = kept
    return sorted(found)


def contexts(url, db, variables, values=None, index=0):
    """Every assignment of the variables, each resolved with the ones before it."""
    values = dict(values or {})
    if index == len(variables):
        yield values
        return
    var = variables[index]
    name = var["name"]
    if var["type"] == "datasource":
        options = [var.get("current", {}).get("value", DATASOURCE_UID)]
    elif var["type"] == "query":
        options = variable_values(url, db, var, values)
        if not options:
            raise ValueError(f"variable ${name} has no values: {var['query']}")
    elif var["type"] in ("custom", "interval"):
        options = [o.strip() for o in var["query"].split(",") if o.strip()]
    else:
        raise ValueError(f"variable ${name}: type {var['type']} not handled")
    if var.get("multi") or var.get("includeAll"):
        options = [options]
    for option in options:
        yield from contexts(url, db, variables, {**values, name: option}, index + 1)


def panels(board):
    for panel in board.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


def check_target(url, db, target, values):
    if not target.get("rawQuery"):
        raise ValueError("a query-builder target: use rawQuery (the test renders only those)")
    series = influx(url, db, substitute(target["query"], values))
    with_values = [s for s in series if any(v is not None for row in s.get("values", [])
                                            for v in row[1:])]
    if not with_values:
        raise ValueError("no series: " + substitute(target["query"], values))
    return f"{len(with_values)} series"


def check_dashboard(url, db, path):
    with open(path) as f:
        board = json.load(f)
    title = board["title"]
    variables = board.get("templating", {}).get("list", [])
    lines = []
    try:
        assignments = list(contexts(url, db, variables))
    except ValueError as err:
        return [("FAIL", f"{title} / variables: {err}")]
    titles = [p.get("title") for p in panels(board) if p["type"] != "row"]
    for twice in sorted({t for t in titles if titles.count(t) > 1}):
        lines.append(("FAIL", f"{title} / {twice}: two panels with this title"))
    for values in assignments:
        shown = " ".join(f"{k}={render(v)}" for k, v in values.items() if k != "datasource")
        for panel in panels(board):
            if panel["type"] in ("row", "text"):
                continue
            name = f"{title} [{shown}] / {panel.get('title', '?')}"
            uid = panel.get("datasource", {}).get("uid")
            if uid not in ("${datasource}", DATASOURCE_UID):
                lines.append(("FAIL", f"{name}: datasource {uid!r}, not the provisioned one"))
            if not panel.get("targets"):
                lines.append(("FAIL", f"{name}: no query"))
            for target in panel.get("targets", []):
                try:
                    lines.append(("PASS", f"{name} / {target['refId']}: "
                                          f"{check_target(url, db, target, values)}"))
                except ValueError as err:
                    lines.append(("FAIL", f"{name} / {target['refId']}: {err}"))
    return lines


def main(argv):
    url, db, paths = argv[1], argv[2], argv[3:]
    failed = 0
    for path in paths:
        for status, text in check_dashboard(url, db, path):
            print(f"{status}\t{text}")
            failed += status == "FAIL"
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
