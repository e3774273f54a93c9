"""A Graphite plaintext receiver for the tests: listens on 127.0.0.1 at an ephemeral port,
prints `READY PORT`, and appends every byte it receives (any number of connections) to FILE.

    graphite_listener.py FILE
"""

import socket
import sys
import threading


def receive(conn, out, lock):
    with conn:
        while True:
            data = conn.recv(65536)
            if not data:
                return
            with lock:
                out.write(data)


def main(path):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    lock = threading.Lock()
    with open(path, "ab", buffering=0) as out:
        print(f"READY {server.getsockname()[1]}", flush=True)
        while True:
            conn, _ = server.accept()
            threading.Thread(target=receive, args=(conn, out, lock), daemon=True).start()


if __name__ == "__main__":
    main(sys.argv[1])
