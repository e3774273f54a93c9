#!/usr/bin/env python3
"""Simulated JBD / Xiaoxiang BMS speaking the "DD ... 77" protocol, for tests.

Usage:
    jbd_sim.py [--link PATH] [pack options] [--control FILE] [--log FILE]
    jbd_sim.py --tcp PORT [...]

By default a pseudo-terminal pair is created (both sides raw, no echo) and
"READY <slave path>" is printed on stdout; with --link PATH a symlink
PATH -> slave is made (and removed at exit).  With --tcp PORT the simulator
listens on 127.0.0.1:PORT instead (0 = any free port) and prints
"READY tcp:127.0.0.1:<port>", serving one client at a time.  It runs until
SIGTERM/SIGINT and then exits 0.

Read requests "DD A5 reg 00 chkH chkL 77" are answered for registers 0x03
(basic info), 0x04 (cell voltages) and 0x05 (hardware version); every other
register (and every write request "DD 5A ...") gets "DD reg 80 00 FF 80 77".
Requests with a bad checksum or framing are ignored (no reply).

Fault modes: with --control FILE the file is re-read before every request;
its stripped content is the mode (missing/empty = normal):
    normal    correct reply
    silent    no reply at all
    noise     5-20 random bytes (never 0xDD), then the correct reply
    truncate  only the first half of the reply
    badcrc    correct reply with the checksum low byte XOR 0x55
    status80  "DD reg 80 00 FF 80 77" for every register
    stale     a reply for another register first (0x05 if 0x03 was asked,
              else 0x03), then the correct reply
    split     correct reply one byte at a time, 20 ms between bytes
    sleepy    ignore a request if no request came in the previous 2 s
              (BMS waking up), otherwise answer normally
    wrongreg  only a valid reply for another register (as for stale)
Unknown words behave like normal.  --log FILE appends
"<monotonic time> reg=0x03 mode=normal" for every valid request received.
--baud N paces output at the real 8N1 wire time; --turnaround MS delays the
first reply byte.  Run with --help for the pack-state options.
"""

import argparse
import math
import random
import struct
import sys
import time

import simcore
from simcore import serve_forever, warn

# ---------------------------------------------------------------- protocol

START = 0xDD
END = 0x77
OP_READ = 0xA5
OP_WRITE = 0x5A
MAX_WRITE_LEN = 64          # larger "write" lengths are treated as garbage
PARTIAL_TIMEOUT = 0.5       # s: an incomplete request older than this is dropped
SLEEPY_WINDOW = 2.0         # s
SPLIT_GAP = 0.020           # s
MODES = ("normal", "silent", "noise", "truncate", "badcrc", "status80",
         "stale", "split", "sleepy", "wrongreg")


def checksum(data):
    """JBD checksum: two's complement of the byte sum, 16 bit."""
    return (0x10000 - sum(data)) & 0xFFFF


def make_request(reg, op=OP_READ, data=b""):
    body = bytes([reg, len(data)]) + bytes(data)
    return bytes([START, op]) + body + struct.pack(">H", checksum(body)) + bytes([END])


def make_reply(reg, status, data):
    if len(data) > 255:
        raise ValueError("reply data longer than 255 bytes")
    body = bytes([status, len(data)]) + bytes(data)
    return bytes([START, reg]) + body + struct.pack(">H", checksum(body)) + bytes([END])


def error_reply(reg):
    return make_reply(reg, 0x80, b"")


class RequestParser:
    """Turns an arbitrary byte stream into (op, reg, data) requests.

    Resynchronises on 0xDD; garbage, bad framing and bad checksums are
    skipped silently.  An incomplete request that receives no further bytes
    for PARTIAL_TIMEOUT seconds is dropped (like a UART inter-byte timeout).
    """

    def __init__(self):
        self.buf = bytearray()
        self.last_rx = 0.0
        self.rejected = 0

    def feed(self, data, now):
        if data:
            self.buf += data
            self.last_rx = now

    def _reject(self, count=1):
        del self.buf[:count]
        self.rejected += 1

    def requests(self, now):
        out = []
        while True:
            start = self.buf.find(START)
            if start < 0:
                self.buf.clear()
                return out
            del self.buf[:start]
            buf = self.buf
            if len(buf) >= 2 and buf[1] not in (OP_READ, OP_WRITE):
                self._reject()
                continue
            if len(buf) >= 4:
                length = buf[3]
                if (buf[1] == OP_READ and length != 0) or length > MAX_WRITE_LEN:
                    self._reject()
                    continue
                total = length + 7
                if len(buf) >= total:
                    frame = bytes(buf[:total])
                    body = frame[2:4 + length]
                    chk = (frame[-3] << 8) | frame[-2]
                    if frame[-1] != END or chk != checksum(body):
                        self._reject()
                        continue
                    del buf[:total]
                    out.append((frame[1], frame[2], frame[4:4 + length]))
                    continue
            # incomplete frame at the head of the buffer
            if now - self.last_rx > PARTIAL_TIMEOUT:
                self._reject()
                continue
            return out


# ---------------------------------------------------------------- pack state

def parse_date(text):
    try:
        y, m, d = (int(x) for x in text.split("-"))
    except ValueError:
        raise argparse.ArgumentTypeError("date must be YYYY-MM-DD")
    if not (2000 <= y <= 2127 and 1 <= m <= 12 and 1 <= d <= 31):
        raise argparse.ArgumentTypeError("date out of range")
    return (y, m, d)


def parse_hex(text):
    try:
        return int(text, 16)
    except ValueError:
        raise argparse.ArgumentTypeError("not a hex number: %r" % text)


def parse_list(conv):
    def parse(text):
        try:
            return [conv(x) for x in text.split(",") if x.strip() != ""]
        except ValueError:
            raise argparse.ArgumentTypeError("bad list: %r" % text)
    return parse


def ranged(lo, hi, kind):
    """A converter to int that refuses values a field of this kind cannot carry."""
    def convert(value, name):
        value = int(value)
        if not lo <= value <= hi:
            raise ValueError("%s out of %s range: %d" % (name, kind, value))
        return value
    return convert


u8 = ranged(0, 0xFF, "u8")
u16 = ranged(0, 0xFFFF, "u16")
s16 = ranged(-0x8000, 0x7FFF, "s16")


class Pack:
    def __init__(self, a):
        self.cells = a.cells
        if a.cell_mv is not None:
            if len(a.cell_mv) != a.cells:
                raise ValueError("--cell-mv needs exactly --cells values")
            self.cell_mv = [u16(v, "cell mV") for v in a.cell_mv]
        else:
            self.cell_mv = [u16(3300 + i, "cell mV") for i in range(1, a.cells + 1)]
        if a.ntc_temps is not None:
            if len(a.ntc_temps) != a.ntc:
                raise ValueError("--ntc-temps needs exactly --ntc values")
            temps = a.ntc_temps
        else:
            temps = [25.0 + 1.5 * k for k in range(a.ntc)]
        self.ntc_raw = [u16(int(round(t * 10 + 2731)), "NTC") for t in temps]
        if a.voltage is not None:
            self.voltage = u16(int(round(a.voltage * 100)), "voltage")
        else:
            self.voltage = u16(sum(self.cell_mv) // 10, "voltage")
        self.current = s16(int(round(a.current * 100)), "current")
        self.remaining = u16(int(round(a.remaining * 100)), "remaining")
        self.nominal = u16(int(round(a.nominal * 100)), "nominal")
        self.full = (u16(int(round(a.full_charge * 100)), "full charge")
                     if a.full_charge is not None else self.nominal)
        self.cycles = u16(a.cycles, "cycles")
        y, m, d = a.date
        self.date = ((y - 2000) << 9) | (m << 5) | d
        self.bal_lo = u16(a.balance, "balance")
        self.bal_hi = u16(a.balance_high, "balance high")
        self.protection = u16(a.protection, "protection")
        self.version = u8(a.sw_version, "software version")
        self.soc = u8(a.soc, "SOC")
        self.fet = u8(a.fet, "FET")
        self.extended = a.extended
        self.humidity = u8(a.humidity, "humidity")
        self.alarm = u16(a.alarm, "alarm")
        self.bal_current = s16(a.balance_current, "balance current")
        self.model = a.model.encode("ascii")
        self.wander = a.wander
        if len(self.model) > 255:
            raise ValueError("model string too long")

    def drift(self, amplitude, period, phase=0.0):
        """With --wander, a slow sine so that a demo shows values moving; else 0."""
        if not self.wander:
            return 0
        return int(round(amplitude * math.sin(time.monotonic() * 2 * math.pi / period + phase)))

    def basic_info(self):
        voltage = self.voltage
        if self.wander:
            voltage = u16(sum(self.cell_voltages_mv()) // 10, "voltage")
        current = s16(self.current + self.drift(400, 20), "current")
        data = struct.pack(">HhHHHHHHHBBBBB",
                           voltage, current, self.remaining,
                           self.nominal, self.cycles, self.date,
                           self.bal_lo, self.bal_hi, self.protection,
                           self.version, self.soc, self.fet,
                           u8(self.cells, "cells"), u8(len(self.ntc_raw), "NTC count"))
        data += b"".join(struct.pack(">H", t) for t in self.ntc_raw)
        if self.extended:
            data += struct.pack(">BHHHh", self.humidity, self.alarm, self.full,
                                self.remaining, self.bal_current)
        return data

    def cell_voltages_mv(self):
        return [v + self.drift(6, 15, i) for i, v in enumerate(self.cell_mv)]

    def cell_voltages(self):
        return b"".join(struct.pack(">H", v) for v in self.cell_voltages_mv())

    def reply(self, reg):
        """The correct reply frame for a read of register reg."""
        if reg == 0x03:
            return make_reply(reg, 0x00, self.basic_info())
        if reg == 0x04:
            return make_reply(reg, 0x00, self.cell_voltages())
        if reg == 0x05:
            return make_reply(reg, 0x00, self.model)
        return error_reply(reg)


def other_reg(reg):
    return 0x05 if reg == 0x03 else 0x03


# ---------------------------------------------------------------- simulator

class Simulator:
    def __init__(self, args, pack):
        self.args = args
        self.pack = pack
        self.rng = random.Random(args.seed)
        self.byte_time = 10.0 / args.baud if args.baud else 0.0
        self.turnaround = args.turnaround / 1000.0
        self.chunk = args.chunk
        self.line_free_at = 0.0
        self.last_request = None
        self.log = open(args.log, "a") if args.log else None
        self.warned = set()

    def mode(self):
        if not self.args.control:
            return "normal"
        try:
            with open(self.args.control, "r", errors="replace") as f:
                word = f.read().strip()
        except OSError:
            return "normal"
        word = word or "normal"
        if word not in MODES and word not in self.warned:
            self.warned.add(word)
            warn("unknown mode %r, behaving normally" % word)
        return word

    def send(self, transport, data, gap=None):
        """Write data honouring --turnaround, --baud and an optional minimum
        per-byte gap; bytes are scheduled against the monotonic clock."""
        if not data:
            return
        step = self.byte_time if gap is None else max(gap, self.byte_time)
        start = max(time.monotonic() + self.turnaround, self.line_free_at)
        end = simcore.paced_write(transport, data, start, step, self.chunk)
        self.line_free_at = end + self.byte_time

    def handle(self, transport, op, reg, now):
        mode = self.mode()
        if self.log:
            self.log.write("%.6f reg=0x%02x mode=%s%s\n"
                           % (now, reg, mode, " write" if op == OP_WRITE else ""))
            self.log.flush()
        previous, self.last_request = self.last_request, now
        good = self.pack.reply(reg) if op == OP_READ else error_reply(reg)
        if mode == "silent":
            return
        if mode == "sleepy":
            if previous is None or now - previous > SLEEPY_WINDOW:
                return
            self.send(transport, good)
        elif mode == "noise":
            noise = bytes(self.rng.choice([b for b in range(256) if b != START])
                          for _ in range(self.rng.randint(5, 20)))
            self.send(transport, noise + good)
        elif mode == "truncate":
            self.send(transport, good[:len(good) // 2])
        elif mode == "badcrc":
            bad = bytearray(good)
            bad[-2] ^= 0x55
            self.send(transport, bytes(bad))
        elif mode == "status80":
            self.send(transport, error_reply(reg))
        elif mode == "stale":
            self.send(transport, self.pack.reply(other_reg(reg)) + good)
        elif mode == "split":
            self.send(transport, good, gap=SPLIT_GAP)
        elif mode == "wrongreg":
            self.send(transport, self.pack.reply(other_reg(reg)))
        else:
            self.send(transport, good)

    def serve(self, transport):
        """Serve one transport until Stop or Disconnected."""
        parser = RequestParser()
        while True:
            data = transport.read(0.1)
            now = time.monotonic()
            parser.feed(data, now)
            for op, reg, _ in parser.requests(now):
                self.handle(transport, op, reg, time.monotonic())


def build_argparser():
    p = argparse.ArgumentParser(
        description="JBD BMS (DD..77 protocol) simulator for tests")
    t = p.add_argument_group("transport")
    t.add_argument("--link", metavar="PATH",
                   help="symlink PATH -> pty slave (removed at exit)")
    t.add_argument("--tcp", metavar="PORT", type=int,
                   help="listen on 127.0.0.1:PORT instead of a pty (0 = any)")
    t.add_argument("--baud", type=int, default=0,
                   help="pace output at N baud 8N1 (default 0 = unpaced)")
    t.add_argument("--turnaround", type=float, default=0.0, metavar="MS",
                   help="delay before the first reply byte (default 0)")
    simcore.add_chunk_argument(t)
    f = p.add_argument_group("faults and logging")
    f.add_argument("--control", metavar="FILE",
                   help="file holding the fault mode word, read per request")
    f.add_argument("--log", metavar="FILE",
                   help="append one line per request received")
    f.add_argument("--seed", type=int, default=None,
                   help="random seed for the noise mode")
    s = p.add_argument_group("pack state")
    s.add_argument("--wander", action="store_true",
                   help="let current and cell voltages drift slowly (for demos; tests leave it off)")
    s.add_argument("--cells", type=int, default=4,
                   help="cell count (default 4); cell i = 3300+i mV")
    s.add_argument("--cell-mv", type=parse_list(int), default=None, metavar="MV,MV,..",
                   help="explicit cell voltages in mV (one per cell)")
    s.add_argument("--voltage", type=float, default=None, metavar="V",
                   help="pack voltage (default: sum of cells, 10 mV units)")
    s.add_argument("--current", type=float, default=5.25, metavar="A",
                   help="pack current, + = charging (default 5.25)")
    s.add_argument("--remaining", type=float, default=80.0, metavar="AH",
                   help="remaining capacity (default 80.00)")
    s.add_argument("--nominal", type=float, default=100.0, metavar="AH",
                   help="nominal capacity (default 100.00)")
    s.add_argument("--cycles", type=int, default=42, help="cycle count (default 42)")
    s.add_argument("--date", type=parse_date, default=(2023, 5, 17),
                   metavar="YYYY-MM-DD", help="production date (default 2023-05-17)")
    s.add_argument("--balance", type=parse_hex, default=0x0002, metavar="HEX",
                   help="balance status low word, bit0 = cell 1 (default 0002)")
    s.add_argument("--balance-high", type=parse_hex, default=0, metavar="HEX",
                   help="balance status high word, bit0 = cell 17 (default 0)")
    s.add_argument("--protection", type=parse_hex, default=0, metavar="HEX",
                   help="protection status word (default 0)")
    s.add_argument("--sw-version", type=parse_hex, default=0x23, metavar="HEX",
                   help="software version byte (default 23)")
    s.add_argument("--soc", type=int, default=80, help="state of charge %% (default 80)")
    s.add_argument("--fet", type=parse_hex, default=0x03, metavar="HEX",
                   help="FET status byte (default 03)")
    s.add_argument("--ntc", type=int, default=2,
                   help="NTC count (default 2); NTC k = 25.0+1.5*k degC")
    s.add_argument("--ntc-temps", type=parse_list(float), default=None,
                   metavar="C,C,..", help="explicit NTC temperatures in degC")
    s.add_argument("--extended", action="store_true",
                   help="append the 9-byte V11 extension to register 0x03")
    s.add_argument("--humidity", type=int, default=45, help="extension: humidity %% (default 45)")
    s.add_argument("--alarm", type=parse_hex, default=0, metavar="HEX",
                   help="extension: alarm word (default 0)")
    s.add_argument("--full-charge", type=float, default=None, metavar="AH",
                   help="extension: full charge capacity (default = nominal)")
    s.add_argument("--balance-current", type=int, default=0, metavar="MA",
                   help="extension: balance current (default 0)")
    s.add_argument("--model", default="JBD-SIM-4S-100A",
                   help="hardware version string, register 0x05 (default %(default)s)")
    return p


def run(argv):
    args = build_argparser().parse_args(argv)
    if not 1 <= args.cells <= 32:
        build_argparser().error("--cells must be 1..32")
    if not 0 <= args.ntc <= 100:
        build_argparser().error("--ntc must be 0..100")
    if args.baud < 0 or args.turnaround < 0:
        build_argparser().error("--baud and --turnaround must not be negative")
    try:
        pack = Pack(args)
        pack.basic_info()
    except ValueError as e:
        build_argparser().error(str(e))

    try:
        sim = Simulator(args, pack)
    except OSError as e:
        build_argparser().error("cannot open log: %s" % e)
    return serve_forever(args, sim)


if __name__ == "__main__":
    sys.exit(simcore.main(run))
