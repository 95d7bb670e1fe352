"""OpenVPN server through its management interface (``management IP PORT PWFILE``): a TCP
connection, the password from the device's credentials (by reference), one command per
line, answers ending in ``END`` (multi-line) or one ``SUCCESS:``/``ERROR:`` line.
Real-time notifications (lines starting with ``>``) are skipped.

State (``read_state``): the ``version`` answer (server and management interface versions).
OpenVPN keeps nothing isolate changes as configuration: sessions are not state (a killed
client logs in again by itself once the directory lets it), so restore sends nothing and
the gate compares the version. Sessions are read for verification: ``run("status 3")``.

``push`` accepts ``kill CN`` lines only (CN: the common name, which is the user name on a
server with ``username-as-common-name``); a CN with no session is not an error (``ERROR:
common name 'x' not found`` means nothing to kill).

The management protocol is cleartext: put it on the management network (or 127.0.0.1 on the
server, reached through a tunnel), never on a client-facing address.
"""

from __future__ import annotations

import contextlib
import re
import socket
import time
from collections.abc import Sequence

from isolate.drivers.base import CommandResult, Target
from isolate.errors import AuthError, CommandRejected, ConnectError, DeviceError, DeviceTimeout

STATUS = "status 3"
_KILL = re.compile(r"kill ([A-Za-z0-9._@-]{1,64})")
_READS = ("status 3", "version")
_NOT_FOUND = re.compile(r"ERROR: common name '[^']*' not found")


def sessions_in(status: str) -> dict[str, list[str]]:
    """``{common name: [real address, …]}`` from a ``status 3`` answer: clients with a
    virtual address (one still authenticating is listed as UNDEF without one)."""
    found: dict[str, list[str]] = {}
    for line in status.splitlines():
        fields = line.split("\t")
        if fields[0] == "CLIENT_LIST" and len(fields) > 3 and fields[3]:
            found.setdefault(fields[1], []).append(fields[2])
    return found


class OpenvpnSession:
    def __init__(self, target: Target) -> None:
        self.target = target
        self._buf = b""
        try:
            self._sock = socket.create_connection((target.host, target.port), timeout=target.timeout_s)
        except OSError as exc:
            raise ConnectError(
                f"{target.name}: management interface {target.host}:{target.port}: {exc}", device=target.name
            ) from None
        self._login()

    # ------------------------------------------------------------------ wire

    def _fail(self, what: str, exc: OSError) -> DeviceError:
        if isinstance(exc, TimeoutError):
            return DeviceTimeout(f"{self.target.name}: {what}: no answer", device=self.target.name)
        return DeviceError(f"{self.target.name}: {what}: {exc}", device=self.target.name)

    def _line(self, what: str) -> str:
        while b"\n" not in self._buf:
            if self._buf.startswith(b"ENTER PASSWORD:"):
                line, self._buf = self._buf[:15], self._buf[15:]
                return line.decode()
            try:
                chunk = self._sock.recv(65536)
            except OSError as exc:
                raise self._fail(what, exc) from None
            if not chunk:
                raise DeviceError(f"{self.target.name}: {what}: connection closed", device=self.target.name)
            self._buf += chunk
        raw, self._buf = self._buf.split(b"\n", 1)
        return raw.decode(errors="replace").rstrip("\r")

    def _send(self, line: str, what: str) -> None:
        try:
            self._sock.sendall(line.encode() + b"\n")
        except OSError as exc:
            raise self._fail(what, exc) from None

    def _answer(self, command: str, *, multi: bool) -> list[str]:
        self._send(command, repr(command))
        lines: list[str] = []
        while True:
            line = self._line(repr(command))
            if line.startswith(">"):
                continue
            if not multi or line.startswith("ERROR:"):
                return [line]
            if line == "END":
                return lines
            lines.append(line)

    def _login(self) -> None:
        first = self._line("login")
        if first.startswith("ENTER PASSWORD:"):
            if not self.target.password:
                raise AuthError(
                    f"{self.target.name}: the management interface asks a password", device=self.target.name
                )
            self._send(self.target.password, "login")
            answer = self._line("login")
            if not answer.startswith("SUCCESS"):
                raise AuthError(f"{self.target.name}: management password refused", device=self.target.name)

    # ------------------------------------------------------------------ protocol

    def run(self, command: str) -> CommandResult:
        if command not in _READS:
            raise CommandRejected(
                f"{self.target.name}: {command[:80]!r} refused: only {', '.join(_READS)} are read commands",
                device=self.target.name,
                command=command,
            )
        started = time.time()
        lines = self._answer(command, multi=True)
        if lines and lines[0].startswith("ERROR:"):
            raise CommandRejected(
                f"{self.target.name}: {command!r}: {lines[0]}", device=self.target.name, command=command
            )
        output = "".join(f"{line}\n" for line in lines)
        return CommandResult(self.target.name, command, output, started, time.time() - started)

    def read_state(self) -> str:
        return self.run("version").output

    def push(self, commands: Sequence[str]) -> list[CommandResult]:
        results = []
        for command in commands:
            if not _KILL.fullmatch(command):
                raise CommandRejected(
                    f"{self.target.name}: {command[:80]!r} refused: only 'kill CN' is accepted",
                    device=self.target.name,
                    command=command,
                )
            started = time.time()
            answer = self._answer(command, multi=False)[0]
            if not (answer.startswith("SUCCESS:") or _NOT_FOUND.fullmatch(answer)):
                raise CommandRejected(
                    f"{self.target.name}: {command!r}: {answer}", device=self.target.name, command=command
                )
            results.append(
                CommandResult(self.target.name, command, answer, started, time.time() - started)
            )
        return results

    def close(self) -> None:
        with contextlib.suppress(DeviceError):
            self._send("quit", "quit")
        self._sock.close()


def connect(target: Target) -> OpenvpnSession:
    return OpenvpnSession(target)
