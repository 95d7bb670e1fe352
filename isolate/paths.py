"""Where isolate keeps its state: one helper every layer calls.

The state directory is the ``--state-dir`` option, else ``$ISOLATE_STATE_DIR``,
else ``~/.local/state/isolate`` (docs/design.md, "State directory").
"""

from __future__ import annotations

import os
import pwd
import socket
from pathlib import Path

from isolate.files import user_path

STATE_DIR_ENV = "ISOLATE_STATE_DIR"
DEFAULT_STATE_DIR = Path("~/.local/state/isolate")
LOCK_DIR_ENV = "ISOLATE_LOCK_DIR"
# Shared by every operator of this host (docs/journal.md, "Locks"): the first that exists
# or can be created, so that two state directories never hide each other's locks.
DEFAULT_LOCK_DIRS = (Path("/run/lock/isolate"), Path("/var/tmp/isolate-locks"))


def state_dir_from(option: Path | str | None) -> Path:
    """The state directory: the option if given, else $ISOLATE_STATE_DIR, else the default."""
    if option is not None and str(option) != "":
        return user_path(option)
    env = os.environ.get(STATE_DIR_ENV, "")
    if env:
        return user_path(env)
    return DEFAULT_STATE_DIR.expanduser()


def runs_dir(state_dir: Path) -> Path:
    return state_dir / "runs"


def run_dir(state_dir: Path, run_id: str) -> Path:
    return runs_dir(state_dir) / run_id


def lock_dir_from(option: Path | str | None, *, site: Path | None = None) -> Path:
    """The device lock directory: the option if given, else $ISOLATE_LOCK_DIR, else ``site``
    (the inventory's ``lock_dir``), else the first usable of DEFAULT_LOCK_DIRS. Never inside a
    state directory: locks are for every operator."""
    if option is not None and str(option) != "":
        return user_path(option)
    env = os.environ.get(LOCK_DIR_ENV, "")
    if env:
        return user_path(env)
    if site is not None:
        return site
    for candidate in DEFAULT_LOCK_DIRS:
        if candidate.is_dir() and os.access(candidate, os.W_OK | os.X_OK):
            return candidate
        if os.access(candidate.parent, os.W_OK | os.X_OK):
            return candidate
    return DEFAULT_LOCK_DIRS[-1]


def make_shared_dir(path: Path) -> None:
    """Create ``path`` (one level) writable by every local user, sticky like /tmp: each operator
    may add a lock, only its owner (or root) may remove one."""
    if path.is_dir():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        path.mkdir(mode=0o1777)
    except FileExistsError:
        return
    os.chmod(path, 0o1777)


def make_private_dir(path: Path) -> None:
    """Create ``path`` and its missing parents with mode 0700 (existing ones are left as they are)."""
    missing: list[Path] = []
    probe = path
    while not probe.exists():
        missing.append(probe)
        if probe.parent == probe:
            break
        probe = probe.parent
    for directory in reversed(missing):
        try:
            directory.mkdir(mode=0o700)
        except FileExistsError:
            continue
        os.chmod(directory, 0o700)


def process_alive(pid: int, host: str) -> bool:
    """Whether process ``pid`` on ``host`` is alive; another host's process is assumed alive
    (it cannot be checked from here)."""
    if host != socket.gethostname():
        return True
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return _not_zombie(pid)


def _not_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


def current_user() -> str:
    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return os.environ.get("USER", str(os.getuid()))
