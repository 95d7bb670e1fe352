"""What a lab created, recorded as it is created (``DIR/netlab.json``), and its removal.

Every namespace and every process is written to the ledger *before* the next thing is
built, so ``down`` after a crash in the middle of ``up`` still removes exactly what
exists. Processes are identified by pid *and* start time (``/proc/PID/stat`` field 22),
so a reused pid is never signalled.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from isolate.errors import LabError
from isolate.netlab import netns

LEDGER = "netlab.json"


@dataclass(frozen=True)
class Proc:
    name: str  # what it is: "sshd-sw1", "holder-vpn1", "listen-fs1"…
    ns: str
    pid: int
    start: int  # clock ticks since boot when it started


@dataclass
class Ledger:
    """Mutable record of one lab, saved atomically after every change."""

    dir: Path
    lab_id: str
    prefix: str
    topology: str
    status: str = "building"
    created: float = field(default_factory=time.time)
    namespaces: list[str] = field(default_factory=list)
    procs: list[Proc] = field(default_factory=list)
    info: dict[str, object] = field(default_factory=dict)

    @property
    def path(self) -> Path:
        return self.dir / LEDGER

    def save(self) -> None:
        data = asdict(self)
        data["dir"] = str(self.dir)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
        os.replace(tmp, self.path)

    def add_ns(self, name: str) -> None:
        self.namespaces.append(name)
        self.save()

    def add_proc(self, proc: Proc) -> None:
        self.procs.append(proc)
        self.save()

    def proc(self, name: str) -> Proc:
        for proc in self.procs:
            if proc.name == name:
                return proc
        raise LabError(f"lab {self.lab_id}: no process named {name}")

    @classmethod
    def load(cls, directory: Path) -> Ledger:
        path = directory / LEDGER
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            raise LabError(f"{path}: no network lab recorded here (run 'isolate netlab up')") from None
        except (OSError, ValueError) as exc:
            raise LabError(f"{path}: unreadable: {exc}") from None
        return cls(
            dir=directory,
            lab_id=data["lab_id"],
            prefix=data["prefix"],
            topology=data["topology"],
            status=data["status"],
            created=data["created"],
            namespaces=list(data["namespaces"]),
            procs=[Proc(**p) for p in data["procs"]],
            info=dict(data.get("info", {})),
        )


def start_ticks(pid: int) -> int | None:
    """The start time of a live (non-zombie) process, or None."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    if fields[0] in ("Z", "X"):
        return None
    return int(fields[19])


def alive(proc: Proc) -> bool:
    return start_ticks(proc.pid) == proc.start


def spawn(ledger: Ledger, name: str, ns: str, argv: Sequence[str]) -> Proc:
    """Start a long-running process (argv already enters its namespace) and record it."""
    logs = ledger.dir / "logs"
    logs.mkdir(exist_ok=True)
    with open(logs / f"{name}.log", "ab") as log:
        try:
            child = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
                close_fds=True,
            )
        except OSError as exc:
            raise LabError(f"{name}: cannot start {argv[0]}: {exc}") from None
    ticks = start_ticks(child.pid)
    proc = Proc(name=name, ns=ns, pid=child.pid, start=ticks if ticks is not None else -1)
    ledger.add_proc(proc)
    return proc


def adopt(ledger: Ledger, name: str, ns: str, pidfile: Path) -> Proc:
    """Record a daemon that detached itself and wrote ``pidfile``."""
    try:
        pid = int(pidfile.read_text().strip())
    except (OSError, ValueError) as exc:
        raise LabError(f"{name}: no pid in {pidfile}: {exc}") from None
    ticks = start_ticks(pid)
    if ticks is None:
        raise LabError(f"{name}: process {pid} from {pidfile} is not running")
    proc = Proc(name=name, ns=ns, pid=pid, start=ticks)
    ledger.add_proc(proc)
    return proc


def _ns_pids(ns: str) -> list[int]:
    """Every process whose network namespace is ``ns`` (what ``ip netns pids`` prints)."""
    done = netns.run(["ip", "netns", "pids", ns], check=False)
    return [int(p) for p in done.stdout.split() if p.isdigit()]


def stop_procs(procs: Sequence[Proc], *, grace_s: float = 2.0) -> list[str]:
    """SIGTERM each live recorded process, SIGKILL what is left after ``grace_s``.
    Returns the names of processes that could not be stopped."""
    live = [p for p in procs if alive(p)]
    for proc in live:
        _signal(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and any(alive(p) for p in live):
        _reap([p.pid for p in live])
        time.sleep(0.02)
    for proc in live:
        if alive(proc):
            _signal(proc.pid, signal.SIGKILL)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and any(alive(p) for p in live):
        _reap([p.pid for p in live])
        time.sleep(0.02)
    return [p.name for p in live if alive(p)]


def stop_stragglers(namespaces: Sequence[str]) -> list[int]:
    """Kill, by pid, any process still living in one of the lab's namespaces (for
    instance a revert job a driver scheduled there). Returns the pids killed."""
    killed: list[int] = []
    for ns in namespaces:
        for pid in _ns_pids(ns):
            if pid != os.getpid():
                _signal(pid, signal.SIGKILL)
                killed.append(pid)
    if killed:
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline and any(start_ticks(p) is not None for p in killed):
            _reap(killed)
            time.sleep(0.02)
    return killed


def _signal(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def _reap(pids: Sequence[int]) -> None:
    """Collect those of ``pids`` that are our own exited children (no zombies left)."""
    for pid in pids:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
