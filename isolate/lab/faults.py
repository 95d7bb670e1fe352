"""Per-device faults of the embedded lab, and the control channel that sets them.

Kinds: ``auth-fail`` (every login refused), ``slow`` (each reply delayed by
``delay`` seconds), ``hang-after`` (after ``after`` commands the device stops
answering), ``drop-after`` (after ``after`` commands the next command's connection
is closed mid-reply), ``reject`` (a command matching the regex ``pattern`` gets
``% Invalid input detected at '^' marker.``), ``hang-on`` (a command matching the regex
``pattern`` is read, echoed, and never finishes: the session is stuck there, and nothing
typed after it is read), ``drop-on``
(a command matching ``pattern`` has its connection closed mid-reply), ``authz-fail`` (a
command matching ``pattern`` is refused by the TACACS+ server: ``Command authorization
failed.``, no ``%``), ``hold-on`` (a command matching ``pattern`` is answered, as usual, only
once the fault is cleared: a test acts while the client waits on that command, then lets it
go), ``clear`` (remove every fault).
Commands are counted per device, non-empty lines only, from the moment the fault
is set.

Faults are set at start (topology ``faults:`` on a device, or ``isolate lab up
--fault DEVICE=KIND[:ARG]``) or while the lab runs: ``isolate lab fault`` talks to
the lab process over a unix socket ``STATE_DIR/control.sock`` (one JSON request
line, one JSON reply line).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from isolate.errors import InputError, LabError

FAULT_KINDS = ("auth-fail", "slow", "hang-after", "drop-after", "reject", "hang-on", "drop-on",
               "authz-fail", "hold-on", "clear")
AUTHZ_FAILED = "Command authorization failed."
CONTROL_SOCKET = "control.sock"


@dataclass(frozen=True)
class Fault:
    kind: str
    after: int = 0
    delay: float = 0.0
    pattern: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "after": self.after, "delay": self.delay,
                "pattern": self.pattern}


def make_fault(kind: str, *, after: int | None = None, delay: float | None = None,
               pattern: str | None = None) -> Fault:
    """Validate one fault; raises InputError naming the bad field."""
    if kind not in FAULT_KINDS:
        raise InputError(f"fault: unknown kind {kind!r} (valid: {', '.join(FAULT_KINDS)})")
    if kind in ("hang-after", "drop-after") and (after is None or after < 0):
        raise InputError(f"fault {kind}: --after N (N >= 0) is required")
    if kind == "slow" and (delay is None or not 0 < delay <= 600):
        raise InputError("fault slow: --delay S (0 < S <= 600 seconds) is required")
    if kind in ("reject", "hang-on", "drop-on", "authz-fail", "hold-on"):
        if not pattern:
            raise InputError(f"fault {kind}: --pattern REGEX is required")
        try:
            re.compile(pattern)
        except re.error as err:
            raise InputError(f"fault {kind}: bad pattern {pattern!r}: {err}") from None
    return Fault(kind, after or 0, delay or 0.0, pattern or "")


def parse_fault(text: str) -> tuple[str, Fault]:
    """``DEVICE=KIND[:ARG]`` as given to ``isolate lab up --fault``."""
    device, sep, spec = text.partition("=")
    if not sep or not device:
        raise InputError(f"--fault {text!r}: expected DEVICE=KIND[:ARG]")
    kind, _, arg = spec.partition(":")
    try:
        if kind in ("hang-after", "drop-after"):
            return device, make_fault(kind, after=int(arg))
        if kind == "slow":
            return device, make_fault(kind, delay=float(arg))
    except ValueError:
        raise InputError(f"--fault {text!r}: bad number {arg!r}") from None
    return device, make_fault(kind, pattern=arg or None)


def fault_from_json(data: dict[str, Any]) -> Fault:
    return make_fault(str(data["kind"]), after=data.get("after"), delay=data.get("delay"),
                      pattern=data.get("pattern"))


class DeviceFaults:
    """The faults active on one device and its command counter."""

    def __init__(self) -> None:
        self.active: dict[str, Fault] = {}
        self.commands = 0
        self._let_go = asyncio.Event()  # set while no hold-on fault holds commands
        self._let_go.set()

    def set(self, fault: Fault) -> None:
        if fault.kind == "clear":
            self.active.clear()
        else:
            self.active[fault.kind] = fault
        self.commands = 0
        if "hold-on" not in self.active:
            self._let_go.set()  # every held command is answered now
        elif self._let_go.is_set():
            self._let_go = asyncio.Event()

    async def held(self) -> None:
        """Return once no hold-on fault is set (a command it held is then answered)."""
        await self._let_go.wait()

    def auth_fails(self) -> bool:
        return "auth-fail" in self.active

    def delay(self) -> float:
        slow = self.active.get("slow")
        return slow.delay if slow else 0.0

    def on_command(self, line: str) -> str:
        """What to do with this line: ``answer``, ``hang`` (the device stopped answering:
        nothing more comes back), ``stuck`` (the device read the line and never finishes
        running it: its echo comes back, nothing after), ``drop``, ``reject``, ``deny`` or
        ``hold`` (wait for :meth:`held`, then answer)."""
        if not self.active or not line.strip():
            return "hang" if self._over("hang-after") else "answer"
        if self._over("hang-after"):
            return "hang"
        if self._over("drop-after"):
            return "drop"
        self.commands += 1
        hang_on = self.active.get("hang-on")
        if hang_on and re.search(hang_on.pattern, line):
            return "stuck"
        drop_on = self.active.get("drop-on")
        if drop_on and re.search(drop_on.pattern, line):
            return "drop"
        reject = self.active.get("reject")
        if reject and re.search(reject.pattern, line):
            return "reject"
        authz = self.active.get("authz-fail")
        if authz and re.search(authz.pattern, line):
            return "deny"
        hold_on = self.active.get("hold-on")
        if hold_on and re.search(hold_on.pattern, line):
            return "hold"
        return "answer"

    def _over(self, kind: str) -> bool:
        fault = self.active.get(kind)
        return fault is not None and self.commands >= fault.after

    def describe(self) -> list[dict[str, Any]]:
        return [f.to_json() for f in self.active.values()]


@contextlib.contextmanager
def socket_path(state_dir: Path) -> Iterator[str]:
    """The control socket's path, short enough for AF_UNIX (107 bytes) even when the state
    dir is deep: long paths go through ``/proc/self/fd/N`` of the opened directory."""
    path = state_dir / CONTROL_SOCKET
    if len(os.fsencode(path)) < 100:
        yield str(path)
        return
    fd = os.open(state_dir, os.O_RDONLY | os.O_DIRECTORY)
    try:
        yield f"/proc/self/fd/{fd}/{CONTROL_SOCKET}"
    finally:
        os.close(fd)


def control(state_dir: Path, request: dict[str, Any], timeout: float = 10.0) -> dict[str, Any]:
    """Send one request to a running lab's control socket and return its JSON reply."""
    path = state_dir / CONTROL_SOCKET
    if not path.exists():
        raise LabError(f"{state_dir}: no lab running (no {CONTROL_SOCKET})")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock, socket_path(
        state_dir
    ) as address:
        sock.settimeout(timeout)
        try:
            sock.connect(address)
            sock.sendall(json.dumps(request).encode() + b"\n")
            data = b""
            while not data.endswith(b"\n"):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
        except OSError as err:
            raise LabError(f"{path}: cannot reach the lab: {err}") from None
    reply: dict[str, Any] = json.loads(data or b"{}")
    if not reply.get("ok"):
        raise LabError(str(reply.get("error", f"{path}: no answer")))
    return reply
