"""Low-level helpers: run a command, enter a network namespace from one thread.

``setns(2)`` on a network namespace changes only the calling thread, and a socket
keeps the namespace it was created in: :func:`socket_in` creates a socket inside a
lab namespace and returns to the caller's namespace at once, so the rest of the
process (and the root namespace) is untouched.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import socket
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from isolate.errors import LabError

NETNS_DIR = Path("/run/netns")
_CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def _setns(fd: int) -> None:
    if _libc.setns(fd, _CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise LabError(f"setns failed: {os.strerror(err)}")


@contextmanager
def entered(ns: str) -> Iterator[None]:
    """Run the block with the calling thread inside network namespace ``ns``."""
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        try:
            target = os.open(NETNS_DIR / ns, os.O_RDONLY)
        except OSError as exc:
            raise LabError(f"network namespace {ns}: {exc.strerror}") from None
        try:
            _setns(target)
        finally:
            os.close(target)
        try:
            yield
        finally:
            _setns(own)
    finally:
        os.close(own)


def socket_in(ns: str, *, kind: int = socket.SOCK_STREAM) -> socket.socket:
    """A new IPv4 socket living in namespace ``ns`` (the caller's thread returns at once)."""
    with entered(ns):
        return socket.socket(socket.AF_INET, kind)


def connect_in(ns: str, address: str, port: int, *, timeout_s: float) -> socket.socket:
    """A TCP connection made from namespace ``ns``; OSError/TimeoutError if it fails."""
    sock = socket_in(ns)
    sock.settimeout(timeout_s)
    try:
        sock.connect((address, port))
    except BaseException:
        sock.close()
        raise
    return sock


def run(
    argv: Sequence[str],
    *,
    stdin: str | None = None,
    check: bool = True,
    ns: str | None = None,
    timeout_s: float = 30,
    secrets: Sequence[str] = (),
) -> subprocess.CompletedProcess[str]:
    """Run a command (inside ``ns`` via ``ip netns exec`` when given); LabError on failure,
    whose message shows each of ``secrets`` (passwords in ``argv``) as ``***``."""
    full = ["ip", "netns", "exec", ns, *argv] if ns else list(argv)

    def shown(text: str) -> str:
        for secret in secrets:
            text = text.replace(secret, "***") if secret else text
        return text

    try:
        done = subprocess.run(
            full, input=stdin, capture_output=True, text=True, check=False, timeout=timeout_s
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise LabError(shown(f"{' '.join(full)}: {exc}")) from None
    if check and done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise LabError(shown(f"{' '.join(full)}: exit {done.returncode}: {' | '.join(detail[:3])}"))
    return done


def ip_batch(ns: str | None, lines: Sequence[str]) -> None:
    """Apply ``ip`` commands in one process (``ip -batch -``), in ``ns`` when given."""
    if not lines:
        return
    argv = ["ip", *(["-n", ns] if ns else []), "-batch", "-"]
    run(argv, stdin="\n".join(lines) + "\n")


def namespaces() -> list[str]:
    """Names of the network namespaces ``ip netns`` knows."""
    try:
        return sorted(p.name for p in NETNS_DIR.iterdir())
    except FileNotFoundError:
        return []
