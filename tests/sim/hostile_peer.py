#!/usr/bin/python3
"""A hostile TCP peer for the tcp:, luxdongle: and modbus-tcp: transports, for tests.

Usage: hostile_peer.py --protocol jbd|pylontech|voltronic|luxdongle|modbus-tcp --mode MODE

Listens on 127.0.0.1 (a free port), prints "READY <port>" and serves every client in its own
thread until SIGTERM. Modes:
    absurd    to each request, the start of a frame whose length field is absurd for the
              protocol (JBD 255, Pylontech LENGTH 0xFFF, dongle 0xFFFF, MBAP 0xFFFF; PI30
              has none: a reply that never ends), then 64 KiB of filler, then nothing
    endless   from the connection on, bytes as fast as the client takes them, never a frame
    trickle   to each request, a plausible frame start then one byte a second, forever
Writes "<mode> <bytes sent>" per client to --stats FILE when it goes.
"""
import argparse
import os
import signal
import socket
import sys
import threading
import time

# The start of a frame with an absurd length, per protocol, and a filler byte that never ends
# one (no terminator, no start-of-frame byte).
ABSURD = {
    "jbd": (b"\xdd\x03\x00\xff", b"\x11"),
    "pylontech": (b"~20024600" + b"0FFF", b"A"),
    "voltronic": (b"(230.0 ", b"1"),
    "luxdongle": (b"\xa1\x1a\x02\x00\xff\xff\x01\xc2", b"\x11"),
    "modbus-tcp": (b"\x00\x01\x00\x00\xff\xff\x01\x04", b"\x11"),
}
FILLER_BYTES = 64 * 1024


def serve(conn, args):
    start, filler = ABSURD[args.protocol]
    sent = 0
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        if args.mode == "endless":
            block = bytes((i * 37 + 11) & 0xFF for i in range(256))
            block = bytes(b for b in block if b not in (0xDD, 0x7E, 0x28, 0xA1, 0x0D, 0x77))
            block *= 256  # big writes: the client never finds the socket empty
            conn.setblocking(True)
            while True:
                sent += conn.send(block)
        while True:
            request = conn.recv(4096)
            if not request:
                return
            if args.mode == "absurd":
                conn.sendall(start + filler * FILLER_BYTES)
                sent += len(start) + FILLER_BYTES
            elif args.mode == "trickle":
                for b in start + filler * 3600:
                    conn.sendall(bytes([b]))
                    sent += 1
                    time.sleep(1.0)
    except OSError:
        pass
    finally:
        conn.close()
        if args.stats:
            with open(args.stats, "a") as f:
                f.write("%s %d\n" % (args.mode, sent))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--protocol", required=True, choices=sorted(ABSURD))
    p.add_argument("--mode", required=True, choices=("absurd", "endless", "trickle"))
    p.add_argument("--stats")
    args = p.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    print("READY %d" % srv.getsockname()[1], flush=True)
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=serve, args=(conn, args), daemon=True).start()


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(0)
