"""Hosts reached through Ansible, run by ansible-runner's Python API (platform ``ansible``).

A command batch is a list of Ansible tasks, one JSON object a line; ``push`` runs them,
in order, as one play against the one host (``docs/design.md``, "Plan"). ``read_state``
runs one task printing the host's comparable state (:mod:`isolate.actions.host_state`).

Each play is one ansible-runner job in the session's private data dir
``STATE/ansible/<device>-<hex>/`` (mode 0700, ``suppress_env_files``: nothing of the
environment is written there), its events streamed to a handler; success or failure is
told by event name (``runner_on_failed`` naming the task, ``runner_on_unreachable``),
never by the exit code alone. A secret (SSH or become password) only answers Ansible's
own prompts through ansible-runner's pexpect, in memory; what the session returns
(outputs, one-line messages) holds module results, never module arguments.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from isolate.drivers.base import CommandResult, Target
from isolate.drivers.host_scripts import STATE_SCRIPT
from isolate.drivers.hostkeys import changed_key_message, unknown_key_message
from isolate.errors import CommandRejected, ConnectError, DeviceError, DeviceTimeout
from isolate.paths import state_dir_from

REMOTE_TMP = "/tmp/.isolate-ansible"
HOST = "target"


@dataclass
class TaskOutcome:
    """One task's result on the host, as its runner event told it."""

    task: str
    event: str  # runner_on_ok | runner_on_failed | runner_on_unreachable | runner_on_skipped
    res: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def failed(self) -> bool:
        return self.event in ("runner_on_failed", "runner_on_unreachable") and not self.res.get("_ignored")


def one_line(text: object, limit: int = 200) -> str:
    for line in str(text).splitlines():
        if line.strip():
            return line.strip()[:limit]
    return "no message"


def host_key_failure(t: Target, text: str) -> str | None:
    """OpenSSH's host-key refusals as the one line every transport gives (drivers/hostkeys.py)."""
    if "REMOTE HOST IDENTIFICATION HAS CHANGED" in text:
        return changed_key_message(t)
    if "Host key verification failed" in text:
        return unknown_key_message(t)
    return None


def outcome_message(res: dict[str, Any]) -> str:
    """The first line of what a failed module said (msg, else stderr, else stdout)."""
    for key in ("msg", "stderr", "stdout", "module_stderr", "module_stdout"):
        if res.get(key):
            return one_line(res[key])
    return "no message"


def parse_tasks(commands: Sequence[str], device: str) -> list[dict[str, Any]]:
    tasks: list[dict[str, Any]] = []
    for line in commands:
        try:
            task = json.loads(line)
        except json.JSONDecodeError as exc:
            raise CommandRejected(
                f"{device}: not an Ansible task (JSON line): {exc.msg}", device=device, command=line[:80]
            ) from None
        if not isinstance(task, dict):
            raise CommandRejected(
                f"{device}: an Ansible task must be a JSON object", device=device, command=line[:80]
            )
        tasks.append(task)
    return tasks


def normalise_state(text: str) -> str:
    """Documented normalisation: line endings and trailing blanks only."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines) + "\n" if lines else ""


class AnsibleSession:
    """One host through ansible-runner; every play reuses the session's data dir and SSH mux."""

    def __init__(self, target: Target, *, state_dir: Path | None = None) -> None:
        self.target = target
        base = state_dir_from(state_dir) / "ansible"
        base.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.data_dir = base / f"{target.name}-{secrets.token_hex(4)}"
        self.data_dir.mkdir(mode=0o700)
        # ssh control sockets need a short path (108 bytes): a private dir under /tmp.
        self._control_dir = Path(tempfile.mkdtemp(prefix="isolate-cp-"))
        self._jobs = 0
        self._lock = threading.Lock()
        self._write_inventory()

    # -- job setup -----------------------------------------------------------------------
    def _write_inventory(self) -> None:
        t = self.target
        host: dict[str, Any] = {
            "ansible_host": t.host,
            "ansible_port": t.port,
            "ansible_user": t.username,
            "ansible_python_interpreter": "/usr/bin/python3",
            "ansible_remote_tmp": REMOTE_TMP,
        }
        if t.key_file is not None:
            host["ansible_ssh_private_key_file"] = str(t.key_file)
        if t.username != "root":
            host["ansible_become"] = True
        inventory = {"all": {"hosts": {HOST: host}}}
        (self.data_dir / "inventory").mkdir(mode=0o700)
        (self.data_dir / "inventory" / "hosts.json").write_text(json.dumps(inventory, indent=1) + "\n")
        (self.data_dir / "project").mkdir(mode=0o700)

    def _ssh_options(self) -> list[str]:
        t = self.target
        args = [
            "-o ControlMaster=auto",
            "-o ControlPersist=60s",
            f"-o ControlPath={self._control_dir}/%C",
            f"-o ConnectTimeout={max(1, int(t.timeout_s))}",
            "-o PreferredAuthentications=publickey,password",
        ]
        if t.host_key_checking:
            args.append("-o StrictHostKeyChecking=yes")
            if t.known_hosts is not None:
                args.append(f"-o UserKnownHostsFile={t.known_hosts}")
        else:  # --insecure-host-keys (drivers/hostkeys.py): unknown accepted, a changed key refused
            copy = self._session_known_hosts()
            args += ["-o StrictHostKeyChecking=accept-new", f"-o UserKnownHostsFile={copy}"]
        if not t.use_agent:
            args.append("-o IdentityAgent=none")
        return args

    def _session_known_hosts(self) -> Path:
        """A copy of known_hosts that ``accept-new`` may add to: the user's file is never written."""
        copy = self.data_dir / "known_hosts"
        if not copy.exists():
            source = self.target.known_hosts
            copy.write_bytes(source.read_bytes() if source is not None and source.is_file() else b"")
            copy.chmod(0o600)
        return copy

    def _ssh_args(self) -> str:
        return " ".join(self._ssh_options())

    def _start_master(self) -> None:
        """Open the SSH connection every job of the session shares, with our own stdio:
        a multiplexer started by a job would hold ansible-runner's pty open (5 s per job)."""
        t = self.target
        if t.password:
            return  # ssh -f cannot prompt; jobs connect themselves (sshpass)
        argv = ["ssh", "-f", "-N", "-o", "ControlMaster=yes", "-o", "BatchMode=yes", "-p", str(t.port)]
        argv += [w for opt in self._ssh_options() for w in opt.split(" ", 1)]
        if t.key_file is not None:
            argv += ["-i", str(t.key_file)]
        argv.append(f"{t.username}@{t.host}")
        try:
            done = subprocess.run(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
                timeout=max(5.0, t.timeout_s * 2),
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            message = f"{t.name}: ssh to {t.host}:{t.port}: {one_line(exc)}"
            raise ConnectError(message, device=t.name) from None
        if done.returncode != 0:
            refused = host_key_failure(t, done.stderr)
            if refused is not None:
                raise ConnectError(refused, device=t.name)
            lines = done.stderr.splitlines()
            said = "\n".join(x for x in lines if not x.startswith("Warning: Permanently added"))
            raise ConnectError(f"{t.name}: ssh to {t.host}:{t.port}: {one_line(said)}", device=t.name)

    def _env(self) -> dict[str, str]:
        bindir = str(Path(sys.executable).parent)
        env = {
            "PATH": bindir + os.pathsep + os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.data_dir),
            "ANSIBLE_HOME": str(self.data_dir / "home"),
            "ANSIBLE_LOCAL_TEMP": str(self.data_dir / "tmp"),
            "ANSIBLE_PIPELINING": "True",
            "ANSIBLE_HOST_KEY_CHECKING": str(self.target.host_key_checking),
            "ANSIBLE_SSH_ARGS": self._ssh_args(),
            "ANSIBLE_RETRY_FILES_ENABLED": "False",
            "ANSIBLE_NOCOLOR": "True",
            "ANSIBLE_TIMEOUT": str(max(1, int(self.target.timeout_s))),
            "ANSIBLE_PYTHON_INTERPRETER": "/usr/bin/python3",
            "ANSIBLE_DEPRECATION_WARNINGS": "False",
        }
        return env

    def _prompts(self) -> tuple[str | None, dict[str, str]]:
        """Secrets answer Ansible's own prompts (``--ask-pass``, ``--ask-become-pass``)
        through ansible-runner's pexpect: never in a file, an argument or the environment
        (ansible-runner writes the job's environment to ``artifacts/<job>/command``)."""
        t = self.target
        flags: list[str] = []
        answers: dict[str, str] = {}
        if t.password:
            flags.append("--ask-pass")
            answers[r"SSH password:\s*?$"] = t.password
        if t.secret and t.username != "root":
            flags.append("--ask-become-pass")
            answers[r"BECOME password.*:\s*?$"] = t.secret
        return (" ".join(flags) or None), answers

    # -- one play --------------------------------------------------------------------------
    def play(self, tasks: list[dict[str, Any]]) -> list[TaskOutcome]:
        """Run ``tasks`` as one play on the host; every task's outcome, in order."""
        import ansible_runner

        with self._lock:
            if self._jobs == 0:
                self._start_master()
            self._jobs += 1
            ident = f"job{self._jobs:03d}"
        playbook = f"{ident}.json"
        play = [{"name": f"isolate {self.target.name}", "hosts": HOST, "gather_facts": False, "tasks": tasks}]
        (self.data_dir / "project" / playbook).write_text(json.dumps(play, indent=1) + "\n")
        outcomes: list[TaskOutcome] = []
        cmdline, answers = self._prompts()

        def on_event(event: dict[str, Any]) -> bool:
            name = str(event.get("event", ""))
            if name.startswith("runner_on_") and name != "runner_on_start":
                data = event.get("event_data", {})
                outcomes.append(TaskOutcome(str(data.get("task", "?")), name, dict(data.get("res") or {})))
            return True

        try:
            runner = ansible_runner.run(
                private_data_dir=str(self.data_dir),
                playbook=playbook,
                inventory=str(self.data_dir / "inventory" / "hosts.json"),
                ident=ident,
                envvars=self._env(),
                cmdline=cmdline,
                passwords=answers,
                suppress_env_files=True,
                quiet=True,
                event_handler=on_event,
                timeout=int(max(30.0, self.target.timeout_s * 4)),
            )
        except Exception as exc:  # ansible-runner raises plain exceptions (config, spawn)
            raise DeviceError(
                f"{self.target.name}: ansible-runner: {one_line(exc)}", device=self.target.name
            ) from None
        self._check_status(str(runner.status), outcomes)
        return outcomes

    def _check_status(self, status: str, outcomes: list[TaskOutcome]) -> None:
        name = self.target.name
        for outcome in outcomes:
            if outcome.event == "runner_on_unreachable":
                refused = host_key_failure(self.target, str(outcome.res.get("msg", "")))
                if refused is not None:
                    raise ConnectError(refused, device=name)
                raise ConnectError(
                    f"{name}: unreachable through Ansible: {outcome_message(outcome.res)}", device=name
                )
            if outcome.failed:
                raise CommandRejected(
                    f"{name}: task '{outcome.task}' failed: {outcome_message(outcome.res)}",
                    device=name,
                    command=outcome.task,
                )
        if status == "timeout":
            raise DeviceTimeout(f"{name}: the Ansible job timed out", device=name)
        if status != "successful":
            raise DeviceError(
                f"{name}: the Ansible job ended {status} (see {self.data_dir}/artifacts)", device=name
            )

    # -- Session contract ---------------------------------------------------------------------
    def run(self, command: str) -> CommandResult:
        started = time.time()
        task = {"name": "isolate read", "ansible.builtin.shell": {"cmd": command}, "changed_when": False}
        outcomes = self.play([task])
        output = str(outcomes[-1].res.get("stdout", "")) if outcomes else ""
        return CommandResult(self.target.name, command, output, started, time.time() - started)

    def push(self, commands: Sequence[str]) -> list[CommandResult]:
        tasks = parse_tasks(commands, self.target.name)
        started = time.time()
        outcomes = self.play(tasks)
        duration = time.time() - started
        by_task = {o.task: o for o in outcomes}
        results = []
        for line, task in zip(commands, tasks, strict=True):
            outcome = by_task.get(str(task.get("name", "")))
            word = outcome.event.removeprefix("runner_on_") if outcome else "not run"
            changed = " changed" if outcome and outcome.res.get("changed") else ""
            results.append(CommandResult(self.target.name, line, word + changed, started, duration))
        return results

    def read_state(self) -> str:
        return normalise_state(self.run(STATE_SCRIPT).output)

    def close(self) -> None:
        """Stop the SSH multiplexer this session started (by its control socket)."""
        for socket_path in self._control_dir.glob("*"):
            subprocess.run(
                ["ssh", "-o", f"ControlPath={socket_path}", "-O", "exit", "isolate-mux"],
                capture_output=True,
                check=False,
                timeout=10,
            )
        shutil.rmtree(self._control_dir, ignore_errors=True)


def connect(target: Target) -> AnsibleSession:
    return AnsibleSession(target, state_dir=target.work_dir)
