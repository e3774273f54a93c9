#!/usr/bin/env bash
# The udev rules, read the way udev reads them (udevadm is not installed here, nor any USB
# adapter to trigger): every line key{attr} OP "value", match keys only compared, assignment
# keys only assigned, every GOTO reaching its LABEL; each adapter vendor named; the Voltronic
# bridge opened up to the dialout group.
. "$(dirname "$0")/lib.sh"

"$PYTHON" - "$top_srcdir/conf.d/udev"/*.rules <<'PY'
import re, sys
MATCH = {"ACTION", "SUBSYSTEM", "SUBSYSTEMS", "KERNEL", "KERNELS", "DRIVERS", "ATTR", "ATTRS", "ENV", "TAG"}
ASSIGN = {"ENV", "IMPORT", "SYMLINK", "MODE", "GROUP", "OWNER", "TAG", "GOTO", "LABEL", "RUN"}
pair = re.compile(r'\s*([A-Z]+)(\{[A-Za-z_0-9]+\})?\s*(==|!=|\+=|:=|=)\s*"([^"]*)"\s*(,|$)')
n = 0
def ok(good, what):
    global n
    n += 1
    print(("ok" if good else "not ok"), n, "-", what)
for path in sys.argv[1:]:
    name = path.rsplit("/", 1)[1]
    rules, errors, gotos, labels = [], [], set(), set()
    for lineno, line in enumerate(open(path), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        pos, keys = 0, []
        while pos < len(line):
            m = pair.match(line, pos)
            if not m:
                errors.append(f"{lineno}: cannot parse at {line[pos:]!r}")
                break
            key, attr, op, value = m.group(1), m.group(2), m.group(3), m.group(4)
            compare = op in ("==", "!=")
            if (compare and key not in MATCH) or (not compare and key not in ASSIGN):
                errors.append(f"{lineno}: {key} {op}")
            if key in ("ATTR", "ATTRS", "ENV") and not attr:
                errors.append(f"{lineno}: {key} needs {{name}}")
            if key == "GOTO": gotos.add(value)
            if key == "LABEL": labels.add(value)
            if key == "ATTRS" and attr in ("{idVendor}", "{idProduct}") and value != "?*" \
                    and not re.fullmatch(r"[0-9a-f]{4}", value):
                errors.append(f"{lineno}: {attr} {value!r} is not 4 lower-case hex digits")
            if key == "SYMLINK" and not value.startswith("solar/"):
                errors.append(f"{lineno}: SYMLINK outside /dev/solar")
            keys.append((key, attr, op, value))
            pos = m.end()
        rules.append(keys)
    for e in errors:
        print("#", name, e)
    ok(not errors, f"{name}: every line parses as udev rule syntax")
    ok(gotos <= labels, f"{name}: every GOTO has its LABEL")
    if name == "70-solar-serial.rules":
        vendors = {v for r in rules for k, a, o, v in r if a == "{idVendor}" and o == "=="}
        ok({"0403", "10c4", "067b", "1a86"} <= vendors, f"{name}: FTDI, CP210x, PL2303, CH340 named")
        links = [v for r in rules for k, a, o, v in r if k == "SYMLINK"]
        ok(any("ID_SERIAL_SHORT" in l for l in links), f"{name}: a name by serial number")
        ok(any("%b" in l for l in links), f"{name}: a name by USB path (CH340: no serial number)")
    if name == "90-voltronic.rules":
        want = {("SUBSYSTEM", None, "==", "hidraw"), ("ATTRS", "{idVendor}", "==", "0665"),
                ("ATTRS", "{idProduct}", "==", "5161"), ("GROUP", None, "=", "dialout"),
                ("MODE", None, "=", "0660")}
        ok(any(want <= set(r) for r in rules), f"{name}: hidraw 0665:5161 group dialout, mode 0660")
print(f"1..{n}")
PY
