#!/usr/bin/python3
"""LuxPower / EG4 inverter simulator for the luxpower driver's tests.

Three faces on one register image (banks 0-119: the lxp-bridge fixtures of
protocols/luxpower.md section 5.1, banks 120-239: values of our own):
  --link PATH   Modbus RTU: pymodbus's serial server behind a pseudo-terminal; PATH is a
                symlink to the tty the driver opens (libmodbus needs a real tty)
  --tcp PORT    Modbus TCP: pymodbus's TCP server (an RS485-Ethernet gateway)
  --dongle PORT the Wi-Fi dongle's port-8000 A1 1A protocol (stdlib only)
PORT 0 picks a free port. Prints "READY <tty path | host:port>".

--control FILE holds a fault mode, re-read at each request:
  normal      answer everything
  silent      answer nothing
  exc120      exception 2 (illegal address) for input bank 120-159; exc120:N, exception N
  timeout120  no answer for input bank 120-159
  sleepy      (RTU, TCP) no answer to a request after 1 s of quiet, as the first read after
              opening a line often goes unanswered (notes, section 6.2)
  spike       SOC/SOH word 0xFFFF and grid frequency 0xFFFF (corrupted readings)
  fault       fault bit 21 (PV over-voltage), warning bit 16 (no grid), status 0x40
  badcrc      every reply with a wrong CRC (Modbus TCP: a wrong transaction id)
  truncate    every reply cut in half
  wrongserial (dongle) replies carry another inverter's serial
  push        (dongle) a heartbeat and a pushed cloud upload before each reply
  junk        (dongle) noise and false starts (A1 1A with a plausible length) on connect and
              before each reply
  stale       (dongle) the reply to the previous request again (late), then the right one
  split       (dongle) each reply one byte at a time, 5 ms apart
--stats FILE  (dongle) appends "connect" for each client, "heartbeat-echo" for each
              heartbeat the client echoes
--wire BAUD, --turnaround MS  (RTU) answer after the time the request and the reply take on a
              line at BAUD 8N1 plus MS: the benchmark's stand-in for a real inverter
"""
import argparse
import asyncio
import logging
import os
import select
import socket
import struct
import sys
import threading
import time
import tty

DATALOG = b"2222222222"
SERIAL = b"9292006063"
OTHER_SERIAL = b"1111111111"


def fixture_words(data):
    """Little-endian register words of a dongle reply's value bytes."""
    return [data[i] | data[i + 1] << 8 for i in range(0, len(data), 2)]


# Banks 0-119: the value bytes of lxp-bridge's read_inputs_{0_to_39,40_to_79,80_to_119}
# fixtures (serial replaced by SERIAL, which is the fixtures' own).
BANK0 = bytes.fromhex(
    "100000000000020010025300002f000000000000000000022509010104008c13f6010000e700e803"
    "2509000040008c130000000000000000000000000000160016001500160000000000de00420e810c")
BANK40 = bytes.fromhex(
    "aea400000000000000000000f2c100004fe80000cef80000e9eb0000000000004a270000c28c0100"
    "00000000000000001c001b001b000000000054ceec04000000000000000000000000000000000000")
BANK80 = bytes.fromhex(
    "1100c819c81917029001000000000000000000000000000000000000000000000000000000000000"
    "00000000000000000000000000000f02000000000000000000000000000039323932303036303633")


def build_image():
    ir = [0] * 240
    for base, data in ((0, BANK0), (40, BANK40), (80, BANK80)):
        words = fixture_words(data)
        ir[base:base + len(words)] = words
    ir[115:120] = [SERIAL[i] | SERIAL[i + 1] << 8 for i in range(0, 10, 2)]
    # Banks 120-239: split-phase EPS, load, US grid legs, a fourth PV string.
    ir[127], ir[128] = 1201, 1199  # 120.1 V, 119.9 V
    ir[129], ir[130] = 850, 640
    ir[170] = 1234
    ir[172], ir[173] = 0x86A0, 0x0001  # 100000 -> 10000.0 kWh
    ir[193], ir[194] = 1205, 1198
    ir[217], ir[220] = 3000, 1500  # 300.0 V, 1500 W
    hr = [0] * 240
    hr[7], hr[8] = ord("F") | ord("A") << 8, ord("A") | ord("B") << 8
    hr[19] = 2092
    return ir, hr


IR, HR = build_image()
LAST_REQUEST = [0.0]  # monotonic time of the last Modbus request


class Control:
    def __init__(self, path):
        self.path = path

    def mode(self):
        if not self.path:
            return "normal"
        try:
            with open(self.path) as f:
                return f.read().strip() or "normal"
        except OSError:
            return "normal"


def registers(fc, start, count, mode):
    """The words a read returns, after the mode's corruption."""
    table = IR if fc == 4 else HR
    words = list(table[start:start + count])
    if fc == 4:
        patch = {}
        if mode == "spike":
            patch = {5: 0xFFFF, 15: 0xFFFF}
        elif mode == "fault":
            patch = {0: 0x40, 60: 0, 61: 1 << 5, 62: 0, 63: 1 << 0}
        for reg, value in patch.items():
            if start <= reg < start + count:
                words[reg - start] = value
    return words


def exception_code(mode):
    """exc120 -> 2 (illegal address), exc120:N -> N."""
    return int(mode.split(":")[1]) if ":" in mode else 2


def crc16(data):
    crc = 0xFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def in_bank120(fc, start, count):
    return fc == 4 and start < 160 and start + count > 120


# --------------------------------------------------------------------------- Modbus (pymodbus)

def modbus_server(args, control):
    from pymodbus.datastore import ModbusServerContext, ModbusSlaveContext
    from pymodbus.datastore.store import BaseModbusDataBlock
    from pymodbus.exceptions import NoSuchSlaveException
    from pymodbus.transaction import ModbusRtuFramer, ModbusSocketFramer

    class Block(BaseModbusDataBlock):
        def __init__(self, fc):
            self.fc = fc
            self.address = 0
            self.default_value = 0
            self.values = {}

        def validate(self, address, count=1):
            mode = control.mode()
            now = time.monotonic()
            quiet = now - LAST_REQUEST[0] >= 1.0
            LAST_REQUEST[0] = now
            if mode == "sleepy" and quiet:
                raise NoSuchSlaveException("asleep")
            if mode == "silent" or (mode == "timeout120" and in_bank120(self.fc, address, count)):
                raise NoSuchSlaveException("silent")  # pymodbus then sends nothing
            if mode.startswith("exc120") and in_bank120(self.fc, address, count):
                return False
            if args.wire:
                # Request (8 bytes) and reply (5 + 2 * count) at 10 bits a byte, and turnaround.
                time.sleep((8 + 5 + 2 * count) * 10.0 / args.wire + args.turnaround / 1000.0)
            return address + count <= 240

        def getValues(self, address, count=1):
            return registers(self.fc, address, count, control.mode())

        def setValues(self, address, values):
            raise ValueError("read-only simulator: the driver must never write")

    slave = ModbusSlaveContext(ir=Block(4), hr=Block(3), di=Block(2), co=Block(1), zero_mode=True)
    context = ModbusServerContext(slaves={args.slave: slave}, single=False)
    framer = ModbusRtuFramer if args.link else ModbusSocketFramer

    def manipulate(response):
        mode = control.mode()
        if mode.startswith("exc120:") and hasattr(response, "exception_code"):
            response.exception_code = exception_code(mode)
            return response, False
        if mode not in ("badcrc", "truncate"):
            return response, False
        packet = bytearray(framer(None).buildPacket(response))
        if mode == "badcrc":
            if args.link:
                packet[-1] ^= 0x5A
            else:  # no CRC in Modbus TCP: a reply to another transaction is the nearest
                packet[1] ^= 0x5A
        else:
            packet = packet[: len(packet) // 2]
        return bytes(packet), True

    async def run_rtu(path):
        from pymodbus.server.async_io import ModbusSerialServer

        server = ModbusSerialServer(context, framer=ModbusRtuFramer, port=path, baudrate=19200,
                                    ignore_missing_slaves=True, response_manipulator=manipulate)
        await server.start()
        await server.serve_forever()

    async def run_tcp(port):
        from pymodbus.server.async_io import ModbusTcpServer

        server = ModbusTcpServer(context, framer=ModbusSocketFramer, address=("127.0.0.1", port),
                                 ignore_missing_slaves=True, response_manipulator=manipulate,
                                 allow_reuse_address=True)
        await server.serve_forever()

    if args.link:
        inner = pty_bridge(args.link)
        ready(args.link)
        asyncio.run(run_rtu(inner))
    else:
        port = args.tcp or free_port()
        ready("127.0.0.1:%d" % port, delay=0.3)
        asyncio.run(run_tcp(port))


def raw_pty():
    master, slave = os.openpty()
    tty.setraw(slave)
    return master, slave


def pty_bridge(link):
    """Two pty pairs joined master to master: the driver opens one slave (through link),
    pymodbus the other. Returns the path pymodbus opens."""
    m1, s1 = raw_pty()
    m2, s2 = raw_pty()
    try:
        os.unlink(link)
    except FileNotFoundError:
        pass
    os.symlink(os.ttyname(s1), link)

    def relay():
        keep = (s1, s2)  # held open so that a closing client does not hang the pty up
        while keep:
            readable, _, _ = select.select([m1, m2], [], [])
            for fd in readable:
                try:
                    data = os.read(fd, 4096)
                except OSError:
                    continue
                os.write(m2 if fd == m1 else m1, data)

    threading.Thread(target=relay, daemon=True).start()
    return os.ttyname(s2)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def ready(where, delay=0.0):
    def say():
        time.sleep(delay)
        print("READY %s" % where, flush=True)

    threading.Thread(target=say, daemon=True).start()


# --------------------------------------------------------------------------- the dongle

def dongle_frame(protocol, func, payload):
    body = bytes([1, func]) + DATALOG + payload
    return b"\xa1\x1a" + struct.pack("<HH", protocol, len(body)) + body


def translated(inner):
    return dongle_frame(2, 0xC2, struct.pack("<H", len(inner) + 2) + inner
                        + struct.pack("<H", crc16(inner)))


def dongle_reply(fc, reg, count, mode):
    serial = OTHER_SERIAL if mode == "wrongserial" else SERIAL
    if mode.startswith("exc120") and in_bank120(fc, reg, count):
        return translated(bytes([0, fc | 0x80]) + serial
                          + struct.pack("<HB", reg, exception_code(mode)))
    words = registers(fc, reg, count, mode)
    data = b"".join(struct.pack("<H", w) for w in words)
    frame = bytearray(translated(bytes([1, fc]) + serial + struct.pack("<HB", reg, len(data))
                                 + data))
    if mode == "badcrc":
        frame[-1] ^= 0x5A
    elif mode == "truncate":
        frame = frame[: len(frame) // 2]
    return bytes(frame)


HEARTBEAT = dongle_frame(2, 0xC1, b"\x00")
# Noise, an A1 without 1A, and a false start announcing a 38-byte frame.
JUNK = b"\x00\xff\x13\xa1\x55" + b"\xa1\x1a\x02\x00\x20\x00\x01\xc2" + b"zz"


def dongle_serve(conn, control, stats):
    buf = b""
    conn.settimeout(0.2)
    while True:
        try:
            data = conn.recv(4096)
        except socket.timeout:
            continue
        except OSError:
            return
        if not data:
            return
        buf += data
        while len(buf) >= 6:
            start = buf.find(b"\xa1\x1a")
            if start < 0:
                buf = b""
                break
            buf = buf[start:]
            total = 6 + struct.unpack_from("<H", buf, 4)[0]
            if len(buf) < total:
                break
            frame, buf = buf[:total], buf[total:]
            handle_dongle_frame(conn, frame, control, stats)


def handle_dongle_frame(conn, frame, control, stats):
    func = frame[7]
    if func == 0xC1:
        if stats:
            with open(stats, "a") as f:
                f.write("heartbeat-echo\n")
        return
    if func != 0xC2 or len(frame) < 38:
        return
    inner = frame[20:-2]
    if crc16(inner) != struct.unpack_from("<H", frame, len(frame) - 2)[0]:
        return
    if frame[8:18] != DATALOG:
        return  # a dongle ignores requests for another datalog
    fc = inner[1]
    reg, count = struct.unpack_from("<HH", inner, 12)
    asked = inner[2:12]
    if asked not in (SERIAL, b"\x00" * 10):
        return  # the inverter behind the dongle is not the one asked for
    mode = control.mode()
    if mode == "silent" or (mode == "timeout120" and in_bank120(fc, reg, count)):
        return
    out = b""
    if mode == "junk":
        out += JUNK
    if mode == "push":
        # What a dongle sends on its own: a heartbeat and its cloud upload (0, 80).
        pushed = b"".join(struct.pack("<H", w) for w in registers(4, 0, 80, "normal"))
        out += HEARTBEAT + translated(bytes([1, 4]) + SERIAL + struct.pack("<HB", 0, 160)
                                      + pushed)
    good = dongle_reply(fc, reg, count, mode)
    if mode == "stale":
        out += PREVIOUS.get(conn, b"")
    PREVIOUS[conn] = good
    if mode == "split":
        try:
            for i in range(len(out + good)):
                conn.sendall((out + good)[i:i + 1])
                time.sleep(SPLIT_GAP)
        except OSError:
            pass  # the client gave up; dongle_serve sees the connection gone
        return
    conn.sendall(out + good)


PREVIOUS = {}   # connection -> its last reply, for the stale mode
SPLIT_GAP = 0.005


def dongle_server(args, control):
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", args.dongle))
    srv.listen(1)
    print("READY 127.0.0.1:%d" % srv.getsockname()[1], flush=True)
    while True:
        conn, _ = srv.accept()
        if args.stats:
            with open(args.stats, "a") as f:
                f.write("connect\n")
        if control.mode() == "junk":
            conn.sendall(JUNK)
        # One client at a time, as the real dongle.
        dongle_serve(conn, control, args.stats)
        PREVIOUS.pop(conn, None)
        conn.close()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--link")
    p.add_argument("--tcp", type=int)
    p.add_argument("--dongle", type=int)
    p.add_argument("--control")
    p.add_argument("--stats")
    p.add_argument("--slave", type=int, default=1)
    p.add_argument("--wire", type=int, default=0)
    p.add_argument("--turnaround", type=float, default=0.0)
    args = p.parse_args()
    logging.basicConfig(level=logging.CRITICAL)
    control = Control(args.control)
    if args.dongle is not None:
        dongle_server(args, control)
    elif args.link or args.tcp is not None:
        modbus_server(args, control)
    else:
        p.error("one of --link, --tcp, --dongle")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(0)
