"""Linux firewall/router with nftables, over paramiko exec channels.

A push is one nft script applied atomically with ``nft -f -`` (all lines or none).
The device-owned safety net: before a confirmed push, the current ruleset is saved on
the device as ``/var/lib/isolate/revert-<tag>.nft`` (the tag names the run and step) and a
revert job is scheduled there (``sleep N && nft -f FILE``); ``confirm`` kills that job and
removes FILE. If isolate dies or loses its path, the firewall reverts by itself — unless
FILE is removed first (``cancel_reverts``: the job then finds nothing to apply), which is
how a resume or restore of a crashed run proves the revert gone. A FILE present is a revert
armed and never confirmed (pending, or fired if its window has passed).
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Sequence

import paramiko

from isolate.drivers.base import CommandResult, Target
from isolate.drivers.ssh_exec import ExecOutput, connect_client, run_exec, sudo
from isolate.errors import CommandRejected, DeviceError

REVERT_DIR = "/var/lib/isolate"
REVERT_PREFIX = "revert-"
REVERT_TAG_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,120}")


def _first_error_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return "no error text"


def normalise_ruleset(text: str) -> str:
    """Documented normalisation: line endings and trailing blanks only."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines) + "\n" if lines else ""


class LinuxSession:
    def __init__(self, target: Target) -> None:
        self.target = target
        self._client: paramiko.SSHClient = connect_client(target)
        self._revert_pid: int | None = None
        self._revert_path: str | None = None

    def _exec(self, command: str, *, stdin: str | None = None) -> ExecOutput:
        return run_exec(self._client, self.target, command, stdin=stdin)

    def _checked(self, command: str, *, stdin: str | None = None, shown: str | None = None) -> ExecOutput:
        out = self._exec(command, stdin=stdin)
        if out.exit_status != 0:
            label = shown or command
            raise CommandRejected(
                f"{self.target.name}: {label!r} rejected: {_first_error_line(out.stderr or out.stdout)}",
                device=self.target.name,
                command=label,
            )
        return out

    def run(self, command: str) -> CommandResult:
        started = time.time()
        out = self._checked(command)
        return CommandResult(self.target.name, command, out.stdout, started, out.duration_s)

    def push(self, commands: Sequence[str]) -> list[CommandResult]:
        script = "\n".join(commands) + "\n"
        started = time.time()
        out = self._exec(sudo(self.target, "nft -f -"), stdin=script)
        if out.exit_status != 0:
            raise CommandRejected(
                f"{self.target.name}: nft script rejected: {_nft_error(out.stderr, commands)}",
                device=self.target.name,
                command=_nft_failed_line(out.stderr, commands),
            )
        return [CommandResult(self.target.name, script, out.stdout, started, out.duration_s)]

    def push_confirmed(
        self, commands: Sequence[str], *, window_s: int, tag: str = ""
    ) -> list[CommandResult]:
        token = tag if REVERT_TAG_RE.fullmatch(tag) else secrets.token_hex(6)
        path = f"{REVERT_DIR}/{REVERT_PREFIX}{token}.nft"
        current = self.read_state()
        self._checked(sudo(self.target, f"mkdir -p {REVERT_DIR}"))
        self._checked(
            sudo(self.target, f"tee {path}"), stdin="flush ruleset\n" + current, shown=f"tee {path}"
        )
        job = self._checked(
            sudo(
                self.target, f"nohup sh -c 'sleep {int(window_s)} && nft -f {path}' >/dev/null 2>&1 & echo $!"
            )
        )
        match = re.search(r"\d+", job.stdout)
        if not match:
            raise DeviceError(
                f"{self.target.name}: could not schedule the revert job", device=self.target.name
            )
        self._revert_pid, self._revert_path = int(match.group(0)), path
        return self.push(commands)

    def confirm(self) -> None:
        if self._revert_pid is not None:
            self._checked(sudo(self.target, f"kill {self._revert_pid}"))
            self._revert_pid = None
        if self._revert_path is not None:
            self._checked(sudo(self.target, f"rm -f {self._revert_path}"))
            self._revert_path = None

    def pending_reverts(self) -> list[str]:
        """The revert files armed and never confirmed on this device (their names carry the
        tag, i.e. the run and step that armed them)."""
        out = self._exec(f"ls {REVERT_DIR}")
        names = out.stdout.split() if out.exit_status == 0 else []
        return sorted(
            f"{REVERT_DIR}/{n}" for n in names if n.startswith(REVERT_PREFIX) and n.endswith(".nft")
        )

    def cancel_reverts(self, prefix: str) -> list[str]:
        """Remove every armed revert file whose tag starts with ``prefix`` (a run id): its job,
        when it wakes, finds nothing to apply. Returns what was removed."""
        doomed = [p for p in self.pending_reverts() if p.rsplit("/", 1)[1].startswith(REVERT_PREFIX + prefix)]
        for path in doomed:
            self._checked(sudo(self.target, f"rm -f {path}"))
        return doomed

    def read_state(self) -> str:
        return normalise_ruleset(self._checked(sudo(self.target, "nft -s list ruleset")).stdout)

    def close(self) -> None:
        self._client.close()


def _nft_failed_line(stderr: str, commands: Sequence[str]) -> str:
    match = re.search(r"-:(\d+):", stderr)
    if match:
        index = int(match.group(1)) - 1
        if 0 <= index < len(commands):
            return commands[index]
    return commands[0] if commands else ""


def _nft_error(stderr: str, commands: Sequence[str]) -> str:
    line = _nft_failed_line(stderr, commands)
    return f"{_first_error_line(stderr)} (line: {line})"
