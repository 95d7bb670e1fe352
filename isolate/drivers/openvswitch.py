"""Open vSwitch, over paramiko exec channels (``ovs-vsctl`` on the switch).

State is the port VLAN table, captured with ``ovs-vsctl --format=json list port``
(columns name, tag, trunks, vlan_mode, protected) and normalised to one sorted line per
port::

    port p-fs1 tag=10 trunks=none vlan_mode=none protected=false

Only ``ovs-vsctl`` commands are accepted by ``push``; every argument is checked and
quoted, and a non-zero exit raises CommandRejected naming the command.
"""

from __future__ import annotations

import json
import re
import shlex
import time
from collections.abc import Sequence

import paramiko

from isolate.drivers.base import CommandResult, Target
from isolate.drivers.ssh_exec import ExecOutput, connect_client, run_exec, sudo
from isolate.errors import CommandRejected, DeviceError

CAPTURE = "ovs-vsctl --format=json --columns=name,tag,trunks,vlan_mode,protected list port"
_ARG = re.compile(r"[A-Za-z0-9_.:=,/-]{1,64}")


def _value(cell: object) -> str:
    """An OVSDB JSON cell as text: ``["set", []]`` → ``none``, sets joined by commas."""
    if isinstance(cell, bool):
        return "true" if cell else "false"
    if isinstance(cell, list) and len(cell) == 2 and cell[0] == "set":
        items = sorted(str(v) for v in cell[1])
        return ",".join(items) if items else "none"
    return str(cell)


def normalise_ports(text: str) -> str:
    """The documented normalisation of ``CAPTURE``'s JSON into sorted port lines."""
    try:
        data = json.loads(text)
        rows = data["data"]
        headings = data["headings"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"not ovs-vsctl JSON: {exc}") from None
    lines = []
    for row in rows:
        cells = dict(zip(headings, row, strict=True))
        lines.append(
            f"port {cells['name']} tag={_value(cells['tag'])} trunks={_value(cells['trunks'])} "
            f"vlan_mode={_value(cells['vlan_mode'])} protected={_value(cells['protected'])}"
        )
    return "".join(f"{line}\n" for line in sorted(lines))


def port_tags(state: str) -> dict[str, str]:
    """``{port: tag}`` from a normalised state (tag ``none`` when untagged)."""
    tags: dict[str, str] = {}
    for line in state.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[0] == "port" and parts[2].startswith("tag="):
            tags[parts[1]] = parts[2][4:]
    return tags


def port_protected(state: str) -> dict[str, bool]:
    """``{port: protected}`` from a normalised state (``protected=true``: OVS forwards
    nothing between two protected ports of the bridge)."""
    found: dict[str, bool] = {}
    for line in state.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] == "port":
            found[parts[1]] = "protected=true" in parts[2:]
    return found


def checked_command(command: str) -> str:
    """``command`` if it is an ``ovs-vsctl`` command with plain arguments; ValueError if not."""
    words = command.split()
    if not words or words[0] != "ovs-vsctl":
        raise ValueError("only ovs-vsctl commands are accepted")
    bad = [w for w in words[1:] if not _ARG.fullmatch(w)]
    if bad:
        raise ValueError(f"argument not allowed: {bad[0][:40]!r}")
    return " ".join(shlex.quote(w) for w in words)


class OpenvswitchSession:
    def __init__(self, target: Target) -> None:
        self.target = target
        self._client: paramiko.SSHClient = connect_client(target)

    def _exec(self, command: str) -> ExecOutput:
        out = run_exec(self._client, self.target, sudo(self.target, command))
        if out.exit_status != 0:
            first = (out.stderr or out.stdout).strip().splitlines()
            raise CommandRejected(
                f"{self.target.name}: {command!r} rejected: {first[0] if first else 'no error text'}",
                device=self.target.name,
                command=command,
            )
        return out

    def run(self, command: str) -> CommandResult:
        started = time.time()
        out = self._exec(command)
        return CommandResult(self.target.name, command, out.stdout, started, out.duration_s)

    def push(self, commands: Sequence[str]) -> list[CommandResult]:
        results = []
        for command in commands:
            try:
                safe = checked_command(command)
            except ValueError as exc:
                raise CommandRejected(
                    f"{self.target.name}: {command[:80]!r} refused: {exc}",
                    device=self.target.name,
                    command=command,
                ) from None
            started = time.time()
            out = self._exec(safe)
            results.append(
                CommandResult(self.target.name, command, out.stdout, started, out.duration_s)
            )
        return results

    def read_state(self) -> str:
        out = self._exec(CAPTURE)
        try:
            return normalise_ports(out.stdout)
        except ValueError as exc:
            raise DeviceError(f"{self.target.name}: {CAPTURE!r}: {exc}", device=self.target.name) from None

    def close(self) -> None:
        self._client.close()
