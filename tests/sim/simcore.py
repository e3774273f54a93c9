"""The parts every stdlib device simulator in tests/sim/ shares: a pseudo-terminal or TCP
transport, the --link symlink, the READY line, SIGTERM handling and the serve loop.

A simulator provides an object with serve(transport), which reads requests with
transport.read(timeout) and answers with transport.write(bytes) until Stop or Disconnected,
and an optional .log file; then calls main(run) with its own run(argv) that builds that object
and returns serve_forever(args, sim) (args needs .tcp and .link).
"""
import errno
import os
import select
import signal
import socket
import sys
import termios
import time


class Stop(Exception):
    pass


class Disconnected(Exception):
    pass


def set_raw(fd):
    """Raw 8-bit mode without echo (like cfmakeraw)."""
    attr = termios.tcgetattr(fd)
    attr[0] &= ~(termios.IGNBRK | termios.BRKINT | termios.PARMRK | termios.ISTRIP |
                 termios.INLCR | termios.IGNCR | termios.ICRNL | termios.IXON |
                 termios.IXOFF | termios.IXANY)
    attr[1] &= ~termios.OPOST
    attr[2] &= ~(termios.CSIZE | termios.PARENB | termios.CSTOPB)
    attr[2] |= termios.CS8 | termios.CREAD | termios.CLOCAL
    attr[3] &= ~(termios.ECHO | termios.ECHONL | termios.ECHOE | termios.ECHOK |
                 termios.ICANON | termios.ISIG | termios.IEXTEN)
    attr[6][termios.VMIN] = 1
    attr[6][termios.VTIME] = 0
    termios.tcsetattr(fd, termios.TCSANOW, attr)


class PtyTransport:
    def __init__(self):
        self.master, self.slave = os.openpty()
        self.slave_path = os.ttyname(self.slave)
        set_raw(self.master)
        set_raw(self.slave)
        os.set_blocking(self.master, False)

    def read(self, timeout):
        try:
            r, _, _ = select.select([self.master], [], [], timeout)
        except InterruptedError:
            return b""
        if not r:
            return b""
        try:
            return os.read(self.master, 4096)
        except BlockingIOError:
            return b""
        except OSError as e:
            if e.errno == errno.EIO:        # no slave open: wait for a client
                time.sleep(0.05)
                return b""
            raise

    def write(self, data):
        deadline = time.monotonic() + 1.0
        view = memoryview(data)
        while view:
            try:
                n = os.write(self.master, view)
                view = view[n:]
                continue
            except BlockingIOError:
                pass
            except OSError as e:
                if e.errno != errno.EIO:
                    raise
                time.sleep(0.01)
            left = deadline - time.monotonic()
            if left <= 0:
                warn("output buffer full, %d bytes dropped" % len(view))
                return
            select.select([], [self.master], [], min(left, 0.05))

    def close(self):
        for fd in (self.master, self.slave):
            try:
                os.close(fd)
            except OSError:
                pass


class TcpClient:
    def __init__(self, sock):
        self.sock = sock
        self.sock.settimeout(2.0)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def read(self, timeout):
        r, _, _ = select.select([self.sock], [], [], timeout)
        if not r:
            return b""
        try:
            data = self.sock.recv(4096)
        except OSError:
            raise Disconnected()
        if not data:
            raise Disconnected()
        return data

    def write(self, data):
        try:
            self.sock.sendall(data)
        except OSError:
            raise Disconnected()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


PROGRAM = os.path.basename(sys.argv[0]).replace(".py", "")


def warn(msg):
    try:
        sys.stderr.write("%s: %s\n" % (PROGRAM, msg))
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


def make_link(path, target):
    if os.path.lexists(path) and not os.path.islink(path):
        raise OSError(errno.EEXIST, "refusing to replace non-symlink", path)
    tmp = "%s.tmp%d" % (path, os.getpid())
    os.symlink(target, tmp)
    os.replace(tmp, path)


def remove_link(path, target):
    try:
        if os.path.islink(path) and os.readlink(path) == target:
            os.unlink(path)
    except OSError:
        pass


def ready(text):
    sys.stdout.write("READY %s\n" % text)
    sys.stdout.flush()


def on_signal(signum, frame):
    raise Stop()


def main(run, argv=None):
    """Runs run(argv) with SIGTERM, SIGINT and SIGHUP ending it cleanly (exit status 0)."""
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, on_signal)
    try:
        return run(argv)
    except Stop:
        return 0


def serve_forever(args, sim):
    """Serves sim on a pty (READY <slave>, --link) or on 127.0.0.1:args.tcp (READY tcp:...),
    one TCP client at a time, until a signal. Returns the exit status."""
    pty_t = listener = client = None
    link_target = None
    rc = 0
    try:
        if args.tcp is not None:
            listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind(("127.0.0.1", args.tcp))
            listener.listen(1)
            ready("tcp:127.0.0.1:%d" % listener.getsockname()[1])
            while True:
                conn, _ = listener.accept()
                client = TcpClient(conn)
                try:
                    sim.serve(client)
                except Disconnected:
                    pass
                finally:
                    client.close()
                    client = None
        else:
            pty_t = PtyTransport()
            if args.link:
                link_target = pty_t.slave_path
                make_link(args.link, link_target)
            ready(pty_t.slave_path)
            sim.serve(pty_t)
    except Stop:
        pass
    except OSError as e:
        warn("error: %s" % e)
        rc = 1
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)
        if link_target:
            remove_link(args.link, link_target)
        for obj in (client, listener, pty_t):
            if obj is not None:
                try:
                    obj.close()
                except OSError:
                    pass
        if getattr(sim, "log", None):
            sim.log.close()
    return rc


# Pacing: how the bytes of a reply reach the reader. Byte i is on the wire at start + i * step;
# --chunk N hands them over N at a time, each chunk when its last byte has arrived (and the
# last, shorter chunk with the reply's last byte), as a 16550 FIFO's trigger level or a
# USB-serial adapter's bulk packets do. The total wire time is the same for every N; N = 1
# (one wakeup of the reader per byte) is the worst case a real line never shows.
def add_chunk_argument(group):
    group.add_argument("--chunk", type=int, default=1, metavar="N",
                       help="with --baud, deliver paced bytes N at a time like a UART FIFO "
                            "(default 1: one byte at a time)")


def paced_write(transport, data, start, step, chunk=1):
    """Writes data as if byte i arrived at start + i * step, chunk bytes at a time. Returns
    the time its last byte arrived."""
    n, sent, chunk = len(data), 0, max(1, chunk)
    while sent < n:
        now = time.monotonic()
        if now < start:
            arrived = 0
        elif step > 0:
            arrived = min(n, int((now - start) / step) + 1)
        else:
            arrived = n
        due = arrived if arrived == n else arrived - arrived % chunk
        if due > sent:
            transport.write(data[sent:due])
            sent = due
            continue
        last = min(n, sent + chunk) - 1
        time.sleep(max(0.0, start + last * step - now))
    return start + (n - 1) * step
