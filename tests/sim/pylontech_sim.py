#!/usr/bin/env python3
"""Simulated stack of Pylontech packs speaking the RS485/RS232 frame protocol, for tests.

Usage:
    pylontech_sim.py [--link PATH] [--packs N] [stack options] [--control FILE] [--log FILE]
    pylontech_sim.py --tcp PORT [...]

By default a pseudo-terminal pair is created (raw, no echo) and "READY <slave path>" is
printed; with --link PATH a symlink PATH -> slave is made (removed at exit). With --tcp PORT
the simulator listens on 127.0.0.1:PORT (0 = any free port) and prints
"READY tcp:127.0.0.1:<port>", one client at a time. It runs until SIGTERM/SIGINT, exit 0.

The stack holds --packs packs at addresses --first-adr, --first-adr + 1, ... (the master
first). Pack k (0-based) has cell j at 3300 + 10k + j mV, temperatures T1 = 25.0 + k degC,
T2.. = 22.0 + k degC (a sixth, MOSFET, at 30.0 degC with --temps 6), current --current + k A,
--remaining / --full Ah (3-byte fields when --full > 65 Ah), --cycles + k cycles and serial
"SIMPACK000000000N" trimmed to 16 characters (N = k + 1).

Commands answered: 0x42 and 0x44 (INFO = ADR, or 0xFF at the master for the whole stack),
0x47, 0x4F (VER = --protocol-version), 0x51 (the master's identity, from every address, as
real stacks do), 0x92, 0x93. Other commands get RTN 04. A request with a bad checksum gets
RTN 02. A request to an address without a pack gets no answer.

Fault modes: with --control FILE the file is re-read before every request. It holds words;
"MODE" applies to every address, "MODE@ADR" (ADR decimal) to one address only:
    normal    correct reply
    silent    no reply
    noise     5-20 random bytes (never '~'), then the correct reply
    truncate  the first half of the reply only
    badcrc    the reply with a wrong CHKSUM
    badlength the reply with a wrong LCHKSUM
    rtn90     RTN 0x90 (ADR error) instead of the reply
    rtn91     RTN 0x91 (master/slave communication error) instead of the reply
    echo      the request echoed back first (half-duplex adapter), then the reply
    stale     a valid reply from another address first, then the correct reply
    split     the reply one byte at a time, 20 ms apart
    no92      RTN 04 for 0x92 (a pack that does not know it), others normal
    alarm     Status1 module over-voltage and cell 1 above its limit in 0x44
With --protocol console the same stack answers the RS232 console instead (115200 baud, the
master's port): an empty line gets the prompt, `pwr`, `bat N` and `soh N` their tables (echo,
'@', rows, "Command completed successfully", "$$", prompt), other commands "Unknown command".
--new-pwr prints the newer header with the .Id columns; --asleep keeps the console silent until
the wake-up frame ~20014682C0048520FCC3 arrives while the line is set to 1200 baud. Console
modes: normal, silent, truncate (the answer cut before "$$"), pager (bat answers stop after 5
rows at "Press [Enter] to be continued,other key to exit" until CR), nosoh ("Unknown command"
for soh), alarm (Volt.St "High" in pwr row 1).
Unknown words behave like normal. --log FILE appends "<time> adr=2 cid2=0x42 mode=normal"
for every request. --baud N paces output at the 8N1 wire time; --turnaround MS delays the
first byte of every reply; with --baud a request also holds the line for its wire time.
"""

import argparse
import os
import random
import sys
import termios
import time

import simcore
from simcore import serve_forever, warn

SOI = 0x7E
EOI = 0x0D
PARTIAL_TIMEOUT = 0.5
SPLIT_GAP = 0.02
MODES = {"normal", "silent", "noise", "truncate", "badcrc", "badlength", "rtn90", "rtn91",
         "echo", "stale", "split", "no92", "alarm", "pager", "nosoh"}
WAKE_FRAME = b"~20014682C0048520FCC3\r"
PAGER = b"Press [Enter] to be continued,other key to exit"


# ---------------------------------------------------------------- protocol

def length_word(lenid):
    if lenid == 0:
        return 0
    s = (lenid & 0xF) + ((lenid >> 4) & 0xF) + ((lenid >> 8) & 0xF)
    return (((~s + 1) & 0xF) << 12) | lenid


def checksum(ascii_bytes):
    return (-sum(ascii_bytes)) & 0xFFFF


def frame(ver, adr, cid2, info=b"", bad_chk=False, bad_len=False):
    body = "%02X%02X%02X%02X" % (ver, adr, 0x46, cid2)
    length = length_word(2 * len(info))
    if bad_len:
        length ^= 0x1000
    body += "%04X" % length + info.hex().upper()
    chk = checksum(body.encode())
    if bad_chk:
        chk ^= 0x0101
    return b"~" + body.encode() + b"%04X" % chk + b"\r"


def u16(v):
    v = int(round(v))
    return (v & 0xFFFF).to_bytes(2, "big")


def u24(v):
    return (int(round(v)) & 0xFFFFFF).to_bytes(3, "big")


class Pack:
    def __init__(self, args, k):
        self.args = args
        self.k = k
        self.adr = args.first_adr + k

    def cells_mv(self):
        return [3300 + 10 * self.k + j for j in range(self.args.cells)]

    def temps(self):
        t = [25.0 + self.k] + [22.0 + self.k] * (self.args.temps - 1)
        if self.args.temps >= 6:
            t[5] = 30.0
        return t

    def analog_block(self):
        a = self.args
        out = bytes([a.cells]) + b"".join(u16(mv) for mv in self.cells_mv())
        out += bytes([a.temps]) + b"".join(u16(t * 10 + 2731) for t in self.temps())
        out += u16((a.current + self.k) * 10) + u16(sum(self.cells_mv()))
        if a.full > 65:
            out += b"\xff\xff\x04\xff\xff" + u16(a.cycles + self.k)
            out += u24(a.remaining * 1000) + u24(a.full * 1000)
        else:
            out += u16(a.remaining * 1000) + b"\x02" + u16(a.full * 1000)
            out += u16(a.cycles + self.k)
        return out

    def alarm_block(self, alarm):
        a = self.args
        cells = [0] * a.cells
        if alarm:
            cells[0] = 0x02
        out = bytes([a.cells] + cells + [a.temps] + [0] * a.temps + [0, 0, 0])
        out += bytes([0x01 if alarm else a.status1, a.status2, a.status3, 0, 0])
        if a.alarm_extra:
            out += b"\x00"
        return out

    def management(self):
        a = self.args
        return (bytes([self.adr]) + u16(53250) + u16(45000) + u16(a.charge_limit * 10)
                + u16(-a.charge_limit * 10) + bytes([a.mgmt_status]))

    def serial(self):
        return ("SIMPACK%09d" % (self.k + 1)).encode()[:16]


def system_params():
    return bytes([0x11]) + u16(3650) + u16(3050) + u16(2800) + u16(3331) + u16(2631) + \
        u16(1000) + u16(54000) + u16(46000) + u16(43000) + u16(3331) + u16(2631) + u16(-1000)


def manufacturer(args):
    return args.device.encode().ljust(10, b"\0")[:10] + bytes([2, 4]) + \
        args.maker.encode().ljust(20, b"-")[:20]


class Stack:
    def __init__(self, args):
        self.args = args
        self.packs = {p.adr: p for p in (Pack(args, k) for k in range(args.packs))}

    def reply(self, adr, cid2, info, mode):
        """The reply frame for a valid request, or None for silence."""
        a = self.args
        master = a.first_adr
        pack = self.packs.get(adr)
        if pack is None:
            return None
        if mode == "rtn90":
            return frame(0x20, adr, 0x90)
        if mode == "rtn91":
            return frame(0x20, adr, 0x91)
        alarm = mode == "alarm"
        if cid2 in (0x42, 0x44) and info[:1] == b"\xff" and adr == master:
            packs = [self.packs[k] for k in sorted(self.packs)]
            blocks = b"".join(p.analog_block() if cid2 == 0x42 else p.alarm_block(alarm)
                              for p in packs)
            return frame(0x20, adr, 0, bytes([0x11, len(packs)]) + blocks)
        if cid2 == 0x42:
            return frame(0x20, adr, 0, bytes([0x11, adr]) + pack.analog_block())
        if cid2 == 0x44:
            return frame(0x20, adr, 0, bytes([0x00, adr]) + pack.alarm_block(alarm))
        if cid2 == 0x92:
            if mode == "no92":
                return frame(0x20, adr, 0x04)
            return frame(0x20, adr, 0, pack.management())
        if cid2 == 0x93:
            return frame(0x20, adr, 0, bytes([adr]) + pack.serial())
        if cid2 == 0x47:
            return frame(0x20, adr, 0, system_params())
        if cid2 == 0x4F:
            return frame(a.protocol_version, adr, 0)
        if cid2 == 0x51:
            return frame(0x20, adr, 0, manufacturer(a))
        return frame(0x20, adr, 0x04)


class Console:
    """The text console of the master: tables built from the same packs."""

    def __init__(self, sim, args):
        self.sim = sim
        self.args = args
        self.stack = sim.stack
        self.asleep = args.asleep
        self.buf = bytearray()
        self.pending = None

    @staticmethod
    def text(lines):
        return "".join(line + "\r\r\n" for line in lines).encode()

    def tail(self):
        return b"Command completed successfully\r\n\r$$\r\n\rpylon>"

    def pwr(self, alarm):
        a = self.args
        ids = a.new_pwr
        head = ["Power", "Volt", "Curr", "Tempr", "Tlow"] + (["Tlow.Id"] if ids else []) + \
            ["Thigh"] + (["Thigh.Id"] if ids else []) + ["Vlow"] + (["Vlow.Id"] if ids else []) + \
            ["Vhigh"] + (["Vhigh.Id"] if ids else []) + \
            ["Base.St", "Volt.St", "Curr.St", "Temp.St", "Coulomb", "Time", "B.V.St", "B.T.St",
             "MosTempr", "M.T.St"]
        lines = ["@", "  ".join(head)]
        packs = [self.stack.packs[k] for k in sorted(self.stack.packs)]
        for n in range(1, max(8, len(packs)) + 1):
            if n > len(packs):
                lines.append("%-5d -  -  -  -  -  -  -  Absent  -  -  -  -  -  -  -" % n)
                continue
            p = packs[n - 1]
            cells = p.cells_mv()
            t = p.temps()
            cur = int(round((a.current + p.k) * 1000))
            base = "Charge" if cur > 0 else "Dischg" if cur < 0 else "Idle"
            soc = int(round(100 * a.remaining / a.full))
            mos = "%d" % (t[5] * 1000) if len(t) >= 6 else "-"
            row = [str(n), str(sum(cells)), str(cur), "%d" % (t[0] * 1000), "%d" % (t[1] * 1000)]
            row += ["1"] if ids else []
            row += ["%d" % (max(t[1:5]) * 1000)] + (["2"] if ids else [])
            row += [str(min(cells))] + (["1"] if ids else [])
            row += [str(max(cells))] + (["%d" % len(cells)] if ids else [])
            row += [base, "High" if alarm and n == 1 else "Normal", "Normal", "Normal",
                    "%d%%" % soc, "2024-05-17", "12:00:00", "Normal", "Normal", mos,
                    "Normal" if mos != "-" else "-"]
            lines.append("  ".join(row))
        return lines

    def bat(self, n):
        a = self.args
        p = self.stack.packs.get(a.first_adr + n - 1)
        if p is None:
            return None
        soc = int(round(100 * a.remaining / a.full))
        lines = ["@", "Battery  Volt     Curr     Tempr    Base State   Volt. State  Curr. State  "
                      "Temp. State  SOC          Coulomb      BAL"]
        cur = int(round((a.current + p.k) * 1000))
        for j, mv in enumerate(p.cells_mv()):
            lines.append("%-8d %-8d %-8d %-8d %-12s Normal       Normal       Normal       %d%%"
                         "         %d mAH      %s"
                         % (j, mv, cur, (22 + p.k) * 1000 + 100 * j, "Charge" if cur > 0 else
                            "Dischg" if cur < 0 else "Idle", soc, int(a.remaining * 1000),
                            "Y" if j == 1 else "N"))
        return lines

    def soh(self, n):
        p = self.stack.packs.get(self.args.first_adr + n - 1)
        if p is None:
            return None
        lines = ["@", "Power   %d" % n, "Battery    Voltage    SOHCount   SOHStatus"]
        for j, mv in enumerate(p.cells_mv()):
            lines.append("%-10d %-10d %-10d %s" % (j, mv, j % 3, "Normal"))
        return lines

    def answer(self, command, mode):
        words = command.split()
        echo = command.encode() + b"\r\n"
        if not words:
            return b"\r\npylon>"
        lines = None
        if words[0] == "pwr" and len(words) == 1:
            lines = self.pwr(mode == "alarm")
        elif words[0] in ("bat", "soh") and len(words) == 2 and words[1].isdigit():
            if words[0] == "soh" and mode == "nosoh":
                return echo + b"@\r\r\nUnknown command 'soh' - try 'help'\r\n$$\r\n\rpylon>"
            lines = (self.bat if words[0] == "bat" else self.soh)(int(words[1]))
        if lines is None:
            return echo + (b"@\r\r\nUnknown command '%s' - try 'help'\r\n$$\r\n\rpylon>"
                           % words[0].encode())
        if mode == "pager" and words[0] == "bat" and len(lines) > 7:
            self.pending = self.text(lines[7:]) + self.tail()
            return echo + self.text(lines[:7]) + PAGER
        out = echo + self.text(lines) + self.tail()
        if mode == "truncate":
            return out[:len(out) // 2]
        return out

    def line_speed_is(self, transport, speed):
        try:
            return termios.tcgetattr(transport.master)[4] == speed
        except (AttributeError, termios.error):
            return False

    def feed(self, transport, data):
        if self.asleep:
            if WAKE_FRAME in bytes(self.buf + data) and self.line_speed_is(transport,
                                                                           termios.B1200):
                self.asleep = False
                self.buf.clear()
                return
            self.buf += data
            del self.buf[:-64]
            return
        self.buf += data
        while True:
            i = min([k for k in (self.buf.find(b"\r"), self.buf.find(b"\n")) if k >= 0],
                    default=-1)
            if i < 0:
                return
            line = bytes(self.buf[:i]).decode("ascii", "replace").strip()
            skip = 2 if self.buf[i:i + 2] == b"\r\n" else 1
            del self.buf[:i + skip]
            mode = self.sim.mode(self.args.first_adr)
            if self.sim.log:
                self.sim.log.write("%.6f console=%r mode=%s\n" % (time.monotonic(), line, mode))
                self.sim.log.flush()
            if mode == "silent":
                continue
            if self.pending is not None and not line:
                out, self.pending = self.pending, None
                self.sim.send(transport, out)
                continue
            self.pending = None
            self.sim.send(transport, self.answer(line, mode))


class RequestParser:
    """Finds '~' ... '\\r' requests in the byte stream."""

    def __init__(self):
        self.buf = bytearray()
        self.since = 0.0
        self.junk = 0         # bytes outside any request
        self.interleaved = 0  # requests with another request's start inside

    def feed(self, data, now):
        if data:
            if not self.buf:
                self.since = now
            self.buf += data
        elif self.buf and now - self.since > PARTIAL_TIMEOUT:
            self.buf.clear()

    def requests(self):
        while True:
            start = self.buf.find(b"~")
            if start < 0:
                self.junk += len(self.buf)
                self.buf.clear()
                return
            self.junk += start
            del self.buf[:start]
            end = self.buf.find(b"\r")
            if end < 0:
                return
            if b"~" in self.buf[1:end]:
                self.interleaved += 1  # a request began inside another one
            raw = bytes(self.buf[:end + 1])
            del self.buf[:end + 1]
            yield raw


def parse_request(raw):
    """(adr, cid2, info, checksum_ok) or None for a malformed request."""
    text = raw[1:-1]
    if len(text) < 16 or len(text) % 2:
        return None
    try:
        ver, adr, cid1, cid2 = (int(text[i:i + 2], 16) for i in range(0, 8, 2))
        length = int(text[8:12], 16)
        info = bytes.fromhex(text[12:-4].decode())
        chk = int(text[-4:], 16)
    except ValueError:
        return None
    if (length & 0xFFF) != 2 * len(info):
        return None
    return adr, cid2, info, chk == checksum(text[:-4])


# ---------------------------------------------------------------- transports

class Simulator:
    def __init__(self, args):
        self.args = args
        self.stack = Stack(args)
        self.rng = random.Random(args.seed)
        self.byte_time = 10.0 / args.baud if args.baud else 0.0
        self.turnaround = args.turnaround / 1000.0
        self.chunk = args.chunk
        self.line_free_at = 0.0
        self.log = open(args.log, "a") if args.log else None
        self.warned = set()
        self.requests = self.garbled = self.overlapped = 0

    def mode(self, adr):
        if not self.args.control:
            return "normal"
        try:
            with open(self.args.control, "r", errors="replace") as f:
                words = f.read().split()
        except OSError:
            return "normal"
        mode = "normal"
        for word in words:
            name, _, where = word.partition("@")
            if name not in MODES and name not in self.warned:
                self.warned.add(name)
                warn("unknown mode %r, behaving normally" % name)
            if not where or where == str(adr):
                mode = name
        return mode

    def send(self, transport, data, gap=None, turnaround=True):
        if not data:
            return
        step = self.byte_time if gap is None else max(gap, self.byte_time)
        # The request's own characters occupied the line before the reply can start.
        start = max(time.monotonic(), self.line_free_at)
        start += self.turnaround if turnaround else 0
        end = simcore.paced_write(transport, data, start, step, self.chunk)
        self.line_free_at = end + self.byte_time

    def handle(self, transport, raw):
        self.requests += 1
        req = parse_request(raw)
        if req is None or not req[3]:
            self.garbled += 1
        if req is None:
            return
        adr, cid2, info, chk_ok = req
        self.line_free_at = max(self.line_free_at, time.monotonic()) + len(raw) * self.byte_time
        mode = self.mode(adr)
        if self.log:
            self.log.write("%.6f adr=%d cid2=0x%02X mode=%s\n"
                           % (time.monotonic(), adr, cid2, mode))
            self.log.flush()
        if not chk_ok:
            if adr in self.stack.packs:
                self.send(transport, frame(0x20, adr, 0x02))
            return
        good = self.stack.reply(adr, cid2, info, mode)
        if good is None or mode == "silent":
            return
        if mode == "noise":
            noise = bytes(self.rng.choice([b for b in range(256) if b != SOI])
                          for _ in range(self.rng.randint(5, 20)))
            self.send(transport, noise + good)
        elif mode == "truncate":
            self.send(transport, good[:len(good) // 2])
        elif mode == "badcrc":
            self.send(transport, good[:-5] + b"%04X\r" % (int(good[-5:-1], 16) ^ 0x0101))
        elif mode == "badlength":
            text = bytearray(good)
            text[9:10] = b"%X" % (int(good[9:10], 16) ^ 1)
            body = bytes(text[1:-5])
            self.send(transport, b"~" + body + b"%04X\r" % checksum(body))
        elif mode == "echo":
            self.send(transport, raw, turnaround=False)
            self.send(transport, good)
        elif mode == "stale":
            others = [p for p in self.stack.packs if p != adr]
            other = others[0] if others else (adr + 1) & 0xFF
            self.send(transport, frame(0x20, other, 0, bytes([other]) +
                                       b"STALEREPLY000000") + good)
        elif mode == "split":
            self.send(transport, good, gap=SPLIT_GAP)
        else:
            self.send(transport, good)

    def serve(self, transport):
        parser = RequestParser()
        console = Console(self, self.args) if self.args.protocol == "console" else None
        while True:
            data = transport.read(0.1)
            if console:
                if data:
                    console.feed(transport, data)
                continue
            parser.feed(data, time.monotonic())
            batch = list(parser.requests())
            # A master that waits for each reply never has a second request on the line
            # before the first is answered.
            self.overlapped += max(0, len(batch) - 1) + (1 if batch and parser.buf else 0)
            for raw in batch:
                self.handle(transport, raw)
            if batch and self.args.stats:
                self.write_stats(parser)

    def write_stats(self, parser):
        tmp = self.args.stats + ".tmp"
        with open(tmp, "w") as f:
            f.write("requests %d\ngarbled %d\ninterleaved %d\noverlapped %d\njunk %d\n"
                    % (self.requests, self.garbled, parser.interleaved, self.overlapped,
                       parser.junk))
        os.replace(tmp, self.args.stats)


def parse_hex(text):
    try:
        return int(text, 16)
    except ValueError:
        raise argparse.ArgumentTypeError("not a hex number: %r" % text)


def build_argparser():
    p = argparse.ArgumentParser(description="Pylontech RS485 stack simulator for tests")
    t = p.add_argument_group("transport")
    t.add_argument("--link", metavar="PATH", help="symlink PATH -> pty slave")
    t.add_argument("--tcp", metavar="PORT", type=int, help="listen on 127.0.0.1:PORT")
    t.add_argument("--baud", type=int, default=0, help="pace output at this 8N1 rate")
    t.add_argument("--turnaround", type=float, default=0.0, metavar="MS",
                   help="delay before the first byte of a reply")
    simcore.add_chunk_argument(t)
    f = p.add_argument_group("faults and logging")
    f.add_argument("--control", metavar="FILE", help="fault mode file, re-read per request")
    f.add_argument("--log", metavar="FILE", help="append one line per request")
    f.add_argument("--stats", metavar="FILE",
                   help="keep counts of requests, garbled ones (malformed or a bad checksum), "
                        "interleaved and overlapping ones and junk bytes in FILE")
    f.add_argument("--seed", type=int, default=None, help="seed for the noise mode")
    c = p.add_argument_group("console")
    c.add_argument("--protocol", choices=("rs485", "console"), default="rs485")
    c.add_argument("--new-pwr", action="store_true", help="pwr with the .Id columns")
    c.add_argument("--asleep", action="store_true", help="silent until the 1200-baud wake-up")
    s = p.add_argument_group("stack")
    s.add_argument("--packs", type=int, default=1, help="packs in the stack (default 1)")
    s.add_argument("--first-adr", type=int, default=2, help="master address (default 2)")
    s.add_argument("--cells", type=int, default=15, help="cells per pack (default 15)")
    s.add_argument("--temps", type=int, default=5, help="temperatures per pack (default 5)")
    s.add_argument("--current", type=float, default=-2.6, help="current of pack 1, A")
    s.add_argument("--remaining", type=float, default=33.5, help="remaining Ah (default 33.5)")
    s.add_argument("--full", type=float, default=50.0, help="full Ah (default 50; > 65: udi 4)")
    s.add_argument("--cycles", type=int, default=31, help="cycles of pack 1 (default 31)")
    s.add_argument("--status1", type=parse_hex, default=0, help="0x44 Status1 (hex)")
    s.add_argument("--status2", type=parse_hex, default=0x0E, help="0x44 Status2 (default 0E)")
    s.add_argument("--status3", type=parse_hex, default=0, help="0x44 Status3 (hex)")
    s.add_argument("--alarm-extra", action="store_true",
                   help="append the byte newer firmware adds after Status5")
    s.add_argument("--mgmt-status", type=parse_hex, default=0xC0, help="0x92 status (hex)")
    s.add_argument("--charge-limit", type=float, default=25.0, help="0x92 current limit, A")
    s.add_argument("--protocol-version", type=parse_hex, default=0x20, help="VER of 0x4F")
    s.add_argument("--device", default="US2000C", help="0x51 device name")
    s.add_argument("--maker", default="Pylon", help="0x51 manufacturer")
    return p


def run(argv):
    parser = build_argparser()
    args = parser.parse_args(argv)
    if not 1 <= args.packs <= 16 or not 1 <= args.first_adr <= 254 - args.packs:
        parser.error("--packs must be 1..16 and the addresses 1..254")
    if not 1 <= args.cells <= 24 or not 1 <= args.temps <= 8:
        parser.error("--cells must be 1..24 and --temps 1..8")
    try:
        sim = Simulator(args)
    except OSError as e:
        parser.error("cannot open log: %s" % e)
    return serve_forever(args, sim)


if __name__ == "__main__":
    sys.exit(simcore.main(run))
