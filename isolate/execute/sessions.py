"""One connection per device, opened on first use and reused across steps."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping

from isolate.drivers.base import Session, Target


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
                session = self._connect(self._targets[device])
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
