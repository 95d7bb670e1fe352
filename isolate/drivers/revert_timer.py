"""Commit-confirm for CLI platforms with a revert timer (IOS ``configure terminal revert timer``),
shared by every transport: the transport only supplies ``_push`` and ``run``."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Protocol

from isolate.drivers.base import CommandResult
from isolate.drivers.cli_platform import CliPlatform


class _CliTransport(Protocol):
    _confirm_mode_command: str
    _confirm_command: str
    _pending_confirm: bool

    def _push(self, commands: Sequence[str], *, config_mode_command: str | None) -> list[CommandResult]: ...

    def run(self, command: str) -> CommandResult: ...


class RevertTimerConfirm:
    """Mixin after a CLI session class: push under the platform's revert timer, confirm later."""

    def _init_revert_timer(self, platform: CliPlatform) -> None:
        if platform.confirm_mode_command is None or platform.confirm_command is None:
            raise ValueError(f"platform {platform.name} has no commit-confirm")
        self._confirm_mode_command = platform.confirm_mode_command
        self._confirm_command = platform.confirm_command
        self._pending_confirm = False

    def push_confirmed(self: _CliTransport, commands: Sequence[str], *, window_s: int) -> list[CommandResult]:
        """Apply under the device's revert timer (whole minutes, at least one)."""
        minutes = max(1, math.ceil(window_s / 60))
        results = self._push(commands, config_mode_command=self._confirm_mode_command.format(minutes=minutes))
        self._pending_confirm = True
        return results

    def confirm(self: _CliTransport) -> None:
        """Keep the change; an expired window answers with a '%' line and raises CommandRejected."""
        if self._pending_confirm:
            self.run(self._confirm_command)
            self._pending_confirm = False
