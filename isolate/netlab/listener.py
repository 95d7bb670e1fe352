"""A host's service listeners: ``python -m isolate.netlab.listener PORT...``.

Binds every given TCP port on all of the namespace's addresses (all of them, or it
exits without listening on any), accepts each
connection, writes one line naming the port and closes it. Runs until SIGTERM.
Prints ``ready`` on stdout once every port is bound.
"""

from __future__ import annotations

import selectors
import signal
import socket
import sys


def _bind(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("0.0.0.0", port))
    sock.setblocking(False)
    return sock


def serve(ports: list[int]) -> None:
    selector = selectors.DefaultSelector()
    bound = [(_bind(port), port) for port in ports]  # all or nothing: listen only if all bound
    for sock, port in bound:
        sock.listen(128)
        selector.register(sock, selectors.EVENT_READ, port)
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    while True:
        for key, _ in selector.select():
            listener = key.fileobj
            assert isinstance(listener, socket.socket)
            try:
                conn, _addr = listener.accept()
            except OSError:
                continue
            try:
                conn.setblocking(True)
                conn.settimeout(0.5)
                conn.sendall(f"netlab {key.data}\n".encode())
            except OSError:
                pass
            finally:
                conn.close()


def main(argv: list[str]) -> int:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    serve([int(a) for a in argv])
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
