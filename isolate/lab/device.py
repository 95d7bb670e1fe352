"""The contract between the lab's SSH server and each simulated device kind.

The server (``isolate.lab.server``) owns sockets, authentication, the PTY line
discipline (echo, CR/LF handling), faults and persistence. A device kind owns
only behaviour: prompts, commands, running state. Nothing here does I/O.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar


@dataclass(frozen=True)
class Reply:
    """What a shell answers to one line of input.

    ``output`` is printed before the next prompt (the server turns ``\\n`` into
    ``\\r\\n`` and writes output + prompt in one write). ``echo_next`` False means
    the next line is a secret (enable password) and must not be echoed.
    ``close`` ends the session after the output (``exit``/``logout``).
    ``changed`` tells the server the device's persistent state changed.
    """

    output: str = ""
    echo_next: bool = True
    close: bool = False
    changed: bool = False


@dataclass(frozen=True)
class ExecResult:
    stdout: str = ""
    stderr: str = ""
    exit_status: int = 0
    changed: bool = False


class Shell(ABC):
    """One interactive session on a device (one per SSH channel)."""

    @abstractmethod
    def banner(self) -> str:
        """Text sent when the shell opens, before the first prompt (may be empty)."""

    @abstractmethod
    def prompt(self) -> str:
        """The current prompt, e.g. ``core1#`` or ``core1(config-if)#``."""

    @abstractmethod
    def feed(self, line: str) -> Reply:
        """Handle one line (without its line ending)."""


class SimDevice(ABC):
    """A simulated device: running state plus the shells and exec commands over it.

    ``kind`` is the netmiko device type it answers as (``cisco_ios``, ``linux``,
    ``cisco_asa``). State must round-trip through ``snapshot``/``from_snapshot``
    (JSON-able) so a lab restarted from the same state dir keeps its configs.
    """

    kind: ClassVar[str]

    def __init__(self, name: str) -> None:
        self.name = name

    @abstractmethod
    def open_shell(self, username: str) -> Shell: ...

    def exec(self, username: str, command: str, stdin: str) -> ExecResult | None:
        """Run one exec-channel command; None when the real device has no exec channel."""
        return None

    def tick(self, now: float) -> bool:
        """Advance timers (IOS revert timer, VPN clients reconnecting). True if state changed."""
        return False

    @abstractmethod
    def snapshot(self) -> dict[str, Any]: ...

    @classmethod
    @abstractmethod
    def from_snapshot(cls, name: str, data: dict[str, Any]) -> SimDevice: ...
