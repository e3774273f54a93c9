#!/usr/bin/env python3
"""Simulated Voltronic / Axpert inverter speaking PI30, for tests.

Usage:
    voltronic_sim.py [--link PATH] [--control FILE] [--log FILE] [state options]
    voltronic_sim.py --tcp PORT [...]

A pseudo-terminal pair is created (raw, no echo) and "READY <slave path>" printed; --link PATH
makes a symlink PATH -> slave.  With --tcp PORT it listens on 127.0.0.1:PORT instead (0 = any
free port), prints "READY tcp:127.0.0.1:<port>" and serves one client at a time.  Runs until
SIGTERM/SIGINT, then exits 0.

Requests are "<command> <CRC hi> <CRC lo> CR", CRC-16/XMODEM with the reserved bytes 0x28,
0x0D, 0x0A (and 0x00) sent as byte + 1.  A request whose CRC is wrong -- including one sent
unescaped -- is answered "(NAKss\\r", as real firmware does with POP02.  Known commands: QPI,
QID, QSID (--qsid), QVFW, QPIGS, QPIGS2 (--qpigs2 max|tracker|nak), QMOD, QPIWS, QPIRI, QFLAG,
QDI, QPGSn (--parallel-first <= n < --parallel-first + --parallel); everything else
gets NAK.

Fault modes: with --control FILE the file is re-read before every request.  Its first word is
the mode (missing/empty = normal), further words change the inverter's state:
    normal    correct reply
    silent    no reply at all
    noise     5-20 random bytes (never '(' or 'Q'), then the correct reply
    truncate  only the first half of the reply (no CR)
    badcrc    correct reply with the CRC low byte XOR 0x55
    flaky     every other reply has a bad CRC (a retry gets a good one)
    nak       "(NAKss\\r" to every command
    echo      the request echoed back (firmware that does not know a command)
    split     the reply one byte at a time, 10 ms apart
    stale     the reply to the previous request again (late), then the correct reply
  state words:
    battery   QMOD answers B and QPIWS sets bit 5 (line fail)
    fault     QMOD answers F and QPIWS sets bits 1 and 16 (inverter fault, overload)
--log FILE appends "<monotonic time> <command> mode=<mode>" per request received.
--baud N paces output at the real 8N1 wire time; --turnaround MS delays the first reply byte.
"""

import argparse
import random
import sys
import time

import simcore
from simcore import serve_forever

SPLIT_GAP = 0.010
PARTIAL_TIMEOUT = 1.0
MODES = ("normal", "silent", "noise", "truncate", "badcrc", "flaky", "nak", "echo", "split",
         "stale")


def crc16_xmodem(data):
    crc = 0
    for b in data:
        crc ^= b << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
    return crc


def escape(byte, with_nul):
    if byte in (0x28, 0x0D, 0x0A) or (with_nul and byte == 0x00):
        return byte + 1
    return byte


def frame(payload):
    """'(' payload CRC CR; the CRC escaped as inverters do (0x28/0x0D/0x0A, not 0x00)."""
    body = b"(" + payload
    crc = crc16_xmodem(body)
    return body + bytes([escape(crc >> 8, False), escape(crc & 0xFF, False)]) + b"\r"


def request_ok(req):
    """req without its CR: command + 2 CRC bytes, escaped as the notes say senders must."""
    if len(req) < 3:
        return False
    cmd, got = req[:-2], req[-2:]
    crc = crc16_xmodem(cmd)
    return got == bytes([escape(crc >> 8, True), escape(crc & 0xFF, True)])


NAK = frame(b"NAK")

QPIGS = (b"000.0 00.0 230.0 49.9 0161 0119 003 460 57.50 012 100 0069 0014 103.8 57.45 00000 "
         b"00110110 00 00 00856 010")
QPIGS2 = {
    "max": b"03.1 327.3 01026 ",
    "tracker": b"05.5 310.2 54.10 1705 00000011 012 0650 04.0 280.5 54.05 1122 2827",
}
QPIRI = (b"230.0 21.7 230.0 50.0 21.7 5000 4000 48.0 46.0 42.0 56.4 54.0 0 10 010 1 0 0 6 01 0 0 "
         b"54.0 0 1")
QFLAG = b"EakxyDbjuvz"
QDI = b"230.0 50.0 0030 42.0 54.0 56.4 46.0 60 0 0 2 0 0 0 0 0 1 1 1 0 1 0 54.0 0 1 000"


class Inverter:
    def __init__(self, a):
        self.a = a

    def qpgs(self, n):
        serial = "%014d" % (int(self.a.serial) + n)
        return ("1 %s L 00 230.0 50.00 230.0 50.00 0460 0420 008 52.1 010 085 310.2 020 %04d "
                "%04d 008 10100110 0 1 060 120 30 05.1 000" % (
                    serial, 460 * self.a.parallel, 420 * self.a.parallel)).encode()

    def payload(self, cmd, state):
        """The reply payload for cmd, or None for NAK."""
        warnings = bytearray(b"0" * 36)
        mode = b"L"
        if "battery" in state:
            mode = b"B"
            warnings[5] = ord("1")
        if "fault" in state:
            mode = b"F"
            warnings[1] = warnings[16] = ord("1")
        table = {
            b"QPI": b"PI30",
            b"QID": self.a.serial.encode() if not self.a.qsid else None,
            b"QSID": (b"%02d%s005535" % (len(self.a.serial), self.a.serial.encode())
                      if self.a.qsid else None),
            b"QVFW": b"VERFW:00072.70",
            b"QPIGS": QPIGS[:-9] + b"%05d" % self.a.pv_power + QPIGS[-4:],
            b"QPIGS2": QPIGS2.get(self.a.qpigs2),
            b"QMOD": mode,
            b"QPIWS": bytes(warnings),
            b"QPIRI": QPIRI,
            b"QFLAG": QFLAG,
            b"QDI": QDI,
        }
        if cmd in table:
            return table[cmd]
        first = self.a.parallel_first
        if cmd.startswith(b"QPGS") and cmd[4:].isdigit() and \
                first <= int(cmd[4:]) < first + self.a.parallel:
            return self.qpgs(int(cmd[4:]))
        return None


# ---------------------------------------------------------------- transports (as jbd_sim.py)

# ---------------------------------------------------------------- simulator

class Simulator:
    def __init__(self, args):
        self.args = args
        self.inverter = Inverter(args)
        self.rng = random.Random(args.seed)
        self.byte_time = 10.0 / args.baud if args.baud else 0.0
        self.turnaround = args.turnaround / 1000.0
        self.chunk = args.chunk
        self.line_free_at = 0.0
        self.replies = 0
        self.previous = None
        self.log = open(args.log, "a") if args.log else None

    def control(self):
        if not self.args.control:
            return "normal", set()
        try:
            with open(self.args.control, "r", errors="replace") as f:
                words = f.read().split()
        except OSError:
            return "normal", set()
        if not words:
            return "normal", set()
        if words[0] in MODES:
            return words[0], set(words[1:])
        return "normal", set(words)

    def send(self, transport, data, gap=None):
        if not data:
            return
        step = self.byte_time if gap is None else max(gap, self.byte_time)
        start = max(time.monotonic() + self.turnaround, self.line_free_at)
        end = simcore.paced_write(transport, data, start, step, self.chunk)
        self.line_free_at = end + self.byte_time

    def handle(self, transport, req):
        mode, state = self.control()
        cmd = req[:-2] if len(req) >= 3 else req
        if self.log:
            self.log.write("%.6f %s mode=%s\n" % (time.monotonic(), cmd.decode("ascii", "replace"),
                                                  mode))
            self.log.flush()
        if mode == "silent":
            return
        if mode == "echo":
            self.send(transport, req + b"\r")
            return
        payload = self.inverter.payload(cmd, state) if request_ok(req) else None
        good = NAK if payload is None or mode == "nak" else frame(payload)
        self.replies += 1
        if mode == "noise":
            noise = bytes(self.rng.choice([b for b in range(256) if b not in (0x28, 0x51)])
                          for _ in range(self.rng.randint(5, 20)))
            self.send(transport, noise + good)
        elif mode == "truncate":
            self.send(transport, good[:len(good) // 2])
        elif mode == "badcrc" or (mode == "flaky" and self.replies % 2 == 1):
            bad = bytearray(good)
            bad[-2] ^= 0x55
            self.send(transport, bytes(bad))
        elif mode == "split":
            self.send(transport, good, gap=SPLIT_GAP)
        elif mode == "stale":
            self.send(transport, (self.previous or b"") + good)
        else:
            self.send(transport, good)
        self.previous = good

    def serve(self, transport):
        buf = bytearray()
        last = time.monotonic()
        while True:
            data = transport.read(0.1)
            now = time.monotonic()
            if data:
                buf += data
                last = now
            elif buf and now - last > PARTIAL_TIMEOUT:
                buf.clear()
            while b"\r" in buf:
                i = buf.index(b"\r")
                req = bytes(buf[:i])
                del buf[:i + 1]
                if req:
                    self.handle(transport, req)


def build_argparser():
    p = argparse.ArgumentParser(description="Voltronic PI30 inverter simulator for tests")
    p.add_argument("--link", metavar="PATH", help="symlink PATH -> pty slave (removed at exit)")
    p.add_argument("--tcp", metavar="PORT", type=int,
                   help="listen on 127.0.0.1:PORT instead of a pty (0 = any)")
    p.add_argument("--baud", type=int, default=0, help="pace output at N baud 8N1 (0 = unpaced)")
    p.add_argument("--turnaround", type=float, default=0.0, metavar="MS",
                   help="delay before the first reply byte")
    simcore.add_chunk_argument(p)
    p.add_argument("--control", metavar="FILE", help="file holding the mode and state words")
    p.add_argument("--log", metavar="FILE", help="append one line per request received")
    p.add_argument("--seed", type=int, default=None, help="random seed for the noise mode")
    p.add_argument("--serial", default="92932105105335", help="the serial QID answers")
    p.add_argument("--qsid", action="store_true", help="NAK QID, answer QSID (as a MAX does)")
    p.add_argument("--qpigs2", choices=("max", "tracker", "nak"), default="max",
                   help="QPIGS2 layout, or NAK (default max)")
    p.add_argument("--parallel", type=int, default=0, help="units answering QPGS0.. (default 0)")
    p.add_argument("--parallel-first", type=int, default=0,
                   help="number of the first unit answering QPGSn (default 0)")
    p.add_argument("--pv-power", type=int, default=856,
                   help="QPIGS PV power in W (default 856; 566 gives a CRC with a raw 0x00, "
                        "618 one with an escaped CR)")
    return p


def run(argv):
    args = build_argparser().parse_args(argv)
    sim = Simulator(args)
    return serve_forever(args, sim)


if __name__ == "__main__":
    sys.exit(simcore.main(run))
