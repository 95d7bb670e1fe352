"""The driver contract: small capability protocols, typed results.

A driver connects to one device and returns a ``Session``. Sessions that have a
device-owned safety net (IOS ``configure terminal revert timer``, a revert job
scheduled on a Linux firewall) also satisfy ``ConfirmCapable``. Drivers wrap every
library error (paramiko, netmiko, socket) into an ``isolate.errors.DeviceError``
child whose message names the device and the command.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

from isolate.platforms.ssh import MODERN, SshAlgorithms


@dataclass(frozen=True)
class Hop:
    """One SSH jump host on the way to a device (inventory ``via:``). Its host key is always
    checked against the inventory's known_hosts (``--insecure-host-keys`` never covers a hop)."""

    name: str
    host: str
    port: int
    username: str
    password: str | None = field(default=None, repr=False)
    key_file: Path | None = None
    use_agent: bool = False

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class Target:
    """Everything a driver needs to reach one device. Secrets live only here, in memory."""

    name: str
    host: str
    port: int
    platform: str
    username: str
    password: str | None = field(default=None, repr=False)
    secret: str | None = field(default=None, repr=False)  # enable secret
    key_file: Path | None = None
    use_agent: bool = False
    known_hosts: Path | None = None
    host_key_checking: bool = True
    timeout_s: float = 30.0
    work_dir: Path | None = None  # where a driver may keep working files (the run's state dir)
    ca_file: Path | None = None  # TLS: the CA that signed the device's certificate (directory, REST)
    tls_fingerprint: str | None = None  # TLS: the pinned SHA-256 of the certificate (REST)
    token: str | None = field(default=None, repr=False)  # REST API token
    # directory: (account, password) a verification bind may use (lab test credentials)
    test_credentials: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    ssh: SshAlgorithms = MODERN  # offered algorithms; legacy ones only if the inventory allows
    via: tuple[Hop, ...] = ()  # SSH jump hosts, first hop first (inventory ``via:``)
    site: str | None = None  # driven by this site's worker (isolate/sites), not from here

    @property
    def path(self) -> str:
        """How the device is reached: ``direct`` or ``via bastion1 → bastion2``."""
        return "via " + " → ".join(h.name for h in self.via) if self.via else "direct"


@dataclass(frozen=True)
class Batch:
    """One change, typed: configuration lines, then exec-mode lines (run in privileged exec,
    in order, after leaving configuration mode; CLI platforms only). Plans carry it as a
    change's ``commands`` and ``exec_after``, the journal as an intent's ``forward`` and
    ``exec_after`` (docs/journal.md)."""

    config: tuple[str, ...] = ()
    exec_after: tuple[str, ...] = ()

    @property
    def lines(self) -> tuple[str, ...]:
        """Every line, in the order sent."""
        return self.config + self.exec_after


@dataclass(frozen=True)
class CommandResult:
    """A command the device accepted and what it answered (a refusal is CommandRejected)."""

    device: str
    command: str
    output: str
    started: float = field(default_factory=time.time)
    duration_s: float = 0.0


@runtime_checkable
class Session(Protocol):
    """One open connection to one device, reused across steps."""

    target: Target

    def run(self, command: str) -> CommandResult:
        """Run one read-only command (a show). Raises DeviceError on failure."""
        ...

    def push(self, commands: Sequence[str]) -> list[CommandResult]:
        """Apply a batch of configuration commands; raises CommandRejected naming the command."""
        ...

    def read_state(self) -> str:
        """The device's whole comparable state (running-config, nft ruleset, …), normalised
        only in the documented ways (docs/platforms.md)."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class ReadsAhead(Protocol):
    """A session that can read several read-only commands in one round trip (CLI sessions)."""

    def read_ahead(self, commands: Sequence[str]) -> None:
        """Read ``commands`` now, in one write; the next ``run`` of each gets its answer (once).
        Answers are dropped by any configuration change."""
        ...


@runtime_checkable
class ReadsAfterPush(Protocol):
    """A session that can type read-only commands in a push's last write, after it leaves
    configuration mode, so the verification's read costs no round trip of its own."""

    def push_then_read(self, commands: Sequence[str], reads: Sequence[str]) -> list[CommandResult]:
        """``push(commands)``; ``reads`` are sent after the configuration exit line of the
        last write, and the next ``run`` of each gets its answer (once), as ``read_ahead``.
        If the push's lines were all answered but a read was not, the push stands and the
        session's later reads fail with that read's error."""
        ...


@runtime_checkable
class BatchCapable(Protocol):
    """A session whose changes may end with exec-mode lines (the CLI platforms)."""

    def push_batch(self, batch: Batch, *, window_s: int | None = None, tag: str = "") -> list[CommandResult]:
        """``batch.config`` in configuration mode (under the device-owned revert when
        ``window_s`` is given, as ``push_confirmed``), then ``batch.exec_after`` in privileged
        exec, in order; raises CommandRejected naming the command."""
        ...


@runtime_checkable
class ConfirmCapable(Protocol):
    """A session whose device can revert a change by itself unless confirmed."""

    def push_confirmed(
        self, commands: Sequence[str], *, window_s: int, tag: str = ""
    ) -> list[CommandResult]:
        """Apply under a device-owned revert window; the device reverts if not confirmed.
        ``tag`` (run and step) names the revert on devices where it can carry a name."""
        ...

    def confirm(self) -> None:
        """Keep the change: cancel the device-owned revert."""
        ...

    def pending_reverts(self) -> list[str]:
        """Reverts armed on the device and never confirmed (read from the device)."""
        ...

    def cancel_reverts(self, prefix: str) -> list[str]:
        """Cancel the pending reverts armed under tags starting with ``prefix`` (the device's
        only one where reverts carry no name); returns what was cancelled."""
        ...


@runtime_checkable
class ConfirmPrerequisites(Protocol):
    """A confirm-capable session whose revert needs device features configured first."""

    def confirm_ready(self, state: str) -> str | None:
        """What is missing for a confirm window, read from the captured state; None if ready."""
        ...
