"""The embedded lab's simulated devices, driven line by line the way the drivers drive them
(configuration mode, then a batch's exec-mode lines, for IOS/ASA; ``nft -f -`` for Linux).
A helper module of its own (not conftest.py): test modules import it by a name no other test
directory uses."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from isolate.drivers.base import Batch
from isolate.drivers.linux import normalise_ruleset
from isolate.lab.topology import LabCredentials
from isolate.platforms import Platform

CREDS = LabCredentials("admin", "lab-password", "lab-enable")


class CliSim:
    """A simulated IOS or ASA device behind one privileged shell."""

    def __init__(self, device: Any, platform: Platform) -> None:
        assert platform.dialect is not None and platform.markers is not None
        self.device = device
        self.platform = platform
        self.markers = platform.markers
        self.shell = device.open_shell(CREDS.username)
        self.shell.banner()
        self.feed("enable")
        self.feed(CREDS.enable)
        for line in platform.dialect.prepare:
            self.feed(line)

    def feed(self, line: str) -> str:
        out: str = self.shell.feed(line).output
        return out

    def _checked(self, line: str) -> None:
        out = self.feed(line)
        assert not self.markers.config_refusal(out), f"{line!r} rejected: {out}"

    def push(self, commands: Sequence[str] | Batch) -> None:
        batch = commands if isinstance(commands, Batch) else Batch(tuple(commands))
        self._checked("configure terminal")
        for command in batch.config:
            self._checked(command)
        self._checked("end")
        for command in batch.exec_after:
            self._checked(command)

    def run(self, command: str) -> str:
        return self.feed(command)

    def state(self) -> str:
        """As the CLI driver reads it: the state command, then the ``also`` commands."""
        state = self.platform.state
        main = self.feed(state.command)
        if not state.also:
            return state.normalise(main)
        return state.combine(main, {command: self.feed(command) for command in state.also})


class LinuxSim:
    def __init__(self, device: Any) -> None:
        self.device = device

    def push(self, commands: Sequence[str] | Batch) -> None:
        if isinstance(commands, Batch):
            assert not commands.exec_after, "linux runs no exec-mode lines"
            commands = commands.config
        result = self.device.exec(CREDS.username, "sudo nft -f -", "\n".join(commands) + "\n")
        assert result.exit_status == 0, result.stderr

    def run(self, command: str) -> str:
        out: str = self.device.exec(CREDS.username, command, "").stdout
        return out

    def state(self) -> str:
        return normalise_ruleset(self.run("sudo nft -s list ruleset"))


Sim = CliSim | LinuxSim
