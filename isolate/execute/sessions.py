"""One connection per device, opened on first use and reused across steps.

Every session handed out is wrapped by ``guarded``: each command line goes through
``isolate.cmdguard`` (the platform's grammar) before the driver sees it. Apply, verify
and restore all take their sessions from here, so this is the one place every command
passes on its way to a device.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from isolate.cmdguard import CommandRefused, check_line, check_lines
from isolate.drivers.base import (
    Batch,
    BatchCapable,
    CommandResult,
    ConfirmCapable,
    ReadsAfterPush,
    ReadsAhead,
    Session,
    Target,
)


class GuardedSession:
    """A session whose every command is checked against its platform's grammar first."""

    def __init__(self, inner: Session) -> None:
        self.inner = inner
        self.target = inner.target

    def run(self, command: str) -> CommandResult:
        check_line(self.target.platform, command, mode="read")
        return self.inner.run(command)

    def push(self, commands: Sequence[str]) -> list[CommandResult]:
        check_lines(self.target.platform, commands)
        return self.inner.push(commands)

    def push_batch(self, batch: Batch, *, window_s: int | None = None, tag: str = "") -> list[CommandResult]:
        """Configuration lines checked as such, exec-mode lines against the platform's exec
        grammar; a platform without exec-mode lines refuses them, nothing sent."""
        platform = self.target.platform
        check_lines(platform, batch.config)
        check_lines(platform, batch.exec_after, mode="exec")
        if not isinstance(self.inner, BatchCapable):
            line = batch.exec_after[0] if batch.exec_after else ""
            raise CommandRefused(
                f"{self.target.name}: command refused, not sent: platform {platform} runs no exec-mode lines",
                platform=platform,
                line=line,
            )
        return self.inner.push_batch(batch, window_s=window_s, tag=tag)

    def push_then_read(self, commands: Sequence[str], reads: Sequence[str]) -> list[CommandResult]:
        """``push``, with the verification's reads in its last write where the driver can
        (``ReadsAfterPush``); elsewhere the push alone, and the reads are made by ``run``."""
        if not isinstance(self.inner, ReadsAfterPush):
            return self.push(commands)
        platform = self.target.platform
        check_lines(platform, commands)
        for command in reads:
            check_line(platform, command, mode="read")
        return self.inner.push_then_read(commands, reads)

    def read_state(self) -> str:
        return self.inner.read_state()

    def read_ahead(self, commands: Sequence[str]) -> None:
        """Read-only commands in one round trip where the driver can (else each ``run`` reads)."""
        if isinstance(self.inner, ReadsAhead):
            for command in commands:
                check_line(self.target.platform, command, mode="read")
            self.inner.read_ahead(commands)

    def close(self) -> None:
        self.inner.close()

    def __getattr__(self, name: str) -> Any:  # driver extras (revert job identity, …)
        return getattr(self.inner, name)


class GuardedConfirmingSession(GuardedSession):
    def __init__(self, inner: Session) -> None:
        assert isinstance(inner, ConfirmCapable)
        super().__init__(inner)
        self.confirming: ConfirmCapable = inner

    def push_confirmed(
        self, commands: Sequence[str], *, window_s: int, tag: str = ""
    ) -> list[CommandResult]:
        check_lines(self.target.platform, commands)
        return self.confirming.push_confirmed(commands, window_s=window_s, tag=tag)

    def confirm(self) -> None:
        self.confirming.confirm()

    def pending_reverts(self) -> list[str]:
        return self.confirming.pending_reverts()

    def cancel_reverts(self, prefix: str) -> list[str]:
        return self.confirming.cancel_reverts(prefix)


def guarded(session: Session) -> Session:
    if isinstance(session, ConfirmCapable):
        return GuardedConfirmingSession(session)
    return GuardedSession(session)


class SessionPool:
    def __init__(self, targets: Mapping[str, Target], connect: Callable[[Target], Session]) -> None:
        self._targets = dict(targets)
        self._connect = connect
        self._sessions: dict[str, Session] = {}
        self._locks: dict[str, threading.Lock] = {name: threading.Lock() for name in targets}

    def target(self, device: str) -> Target:
        return self._targets[device]

    def get(self, device: str) -> Session:
        with self._locks[device]:
            session = self._sessions.get(device)
            if session is None:
                session = guarded(self._connect(self._targets[device]))
                self._sessions[device] = session
            return session

    def drop(self, device: str) -> None:
        """Forget a broken session (it is closed); the next get() reconnects."""
        with self._locks[device]:
            session = self._sessions.pop(device, None)
        if session is not None:
            session.close()

    def close(self) -> None:
        for device in list(self._sessions):
            self.drop(device)
