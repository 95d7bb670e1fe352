"""Every command line shown in README.md and docs/*.md runs as written.

A command line is a line of a fenced block whose language is sh, bash, shell or console (an
optional ``$ `` prompt is dropped, ``\\`` continuations are joined) and that starts with
``isolate `` or ``bash scripts/``. Blocks in other languages (``text``, ``ini``, ``cron``,
``yaml``) are pictures, not commands; the cron and systemd lines of docs/drills.md are
checked separately below.

* fast: every ``isolate`` command line parses with the real CLI (its command path and every
  option exist, values convert), and every line is either run by the slow test or listed in
  COVERED with the test that covers it;
* slow: each page's command lines run in order, as written, with ``bash -c`` in a sandbox
  (a fresh HOME, a scratch working directory holding the repository's playbooks/ and
  inventory/), each expected to exit 0 (or as EXPECT_EXIT says). A lab a page starts is
  stopped by its pid afterwards, also when the test fails. When port 20001 is busy (another
  lab), pages written for inventory/city.yml use the lab's own inventory, as the runbook says.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shlex
import shutil
import subprocess
import tempfile
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = ROOT / ".venv" / "bin"
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SHELL_LANGS = {"sh", "bash", "shell", "console"}
FENCE = re.compile(r"^(\s*)(```+|~~~+)\s*([\w+-]*)")

# Command lines not run in the page's sequence, and where they are covered instead.
COVERED: dict[str, str] = {
    "bash scripts/test": "the command that runs this test suite (.ci/run)",
    # isolate watch runs until stopped; approve/reject need an incident a running watch opened.
    "isolate watch --rules playbooks/watch/rules.yml -i inventory/city.yml "
    "--token-ref env:ISOLATE_WATCH_TOKEN --listen 127.0.0.1:8443":
        "tests/watch/test_watch_e2e.py (a real watch process)",
    "isolate approve W20261202-110223-694c":
        "tests/watch/test_watch_e2e.py::test_deny_listed_host_waits_for_approval",
    'isolate reject W20261202-110223-694c --reason "known scanner"':
        "tests/watch/test_watch_e2e.py::test_guard_refusal_becomes_ask_and_approve_still_refuses",
    # Containment that expires (docs/watch.md): run on the small lab, with the test clock.
    "isolate apply -i inventory/city.yml playbooks/ransomware-lateral.yml --set infected=10.10.100.17 "
    "--expires 4h --yes": "tests/watch/test_expiry.py::test_apply_expires_extend_then_expire",
    'isolate extend last --by 4h --reason "forensics still imaging ws-17"':
        "tests/watch/test_expiry.py::test_apply_expires_extend_then_expire",
    'isolate extend last --keep --reason "confirmed by the incident lead"':
        "tests/watch/test_expiry.py::test_kept_never_expires",
}
# Command lines expected to exit non-zero (they show a failure on purpose).
EXPECT_EXIT: dict[str, int] = {
    "isolate drill --lab playbooks/ransomware-lateral.yml --report-dir failed-restore "
    '--fault-before-restore "core2=reject:^no ip access-list"': 1,
    # The runbook's recovery line, run in order after a run that ended: it refuses (nothing to
    # resume) with one line and exit 2. Resuming a run that really died is tested end to end in
    # tests/execute/test_apply_restore.py.
    "isolate apply --resume last --yes": 2,
    # ...and the retry of a run that ended ok: nothing to retry, one line, exit 2 (a real partial
    # run retried: tests/cli/test_retry_failed.py)
    "isolate apply --retry-failed last --yes": 2,
}
# What a page assumes exists before its first command (run first, in the same sandbox).
SETUP: dict[str, list[str]] = {
    "journal.md": [
        "isolate lab up",
        "isolate apply -i ~/.local/state/isolate/lab/inventory.yml playbooks/ransomware-lateral.yml "
        "--incident INC-1 --reason doc-test --yes",
        "isolate restore last --yes",
        "isolate lab down",
    ],
}
# Pages whose commands use inventory/city.yml against `isolate lab up`: the lab must be on 20001.
SHIPPED_INVENTORY = "inventory/city.yml"
SHIPPED_BASE_PORT = 20001
LAB_INVENTORY = "~/.local/state/isolate/lab/inventory.yml"  # what the runbook says to use instead


@dataclass(frozen=True)
class DocCommand:
    page: str
    line: int
    text: str

    def __str__(self) -> str:
        return f"{self.page}:{self.line}: {self.text}"


def extract(path: Path) -> list[DocCommand]:
    """The command lines of one Markdown page, in order."""
    out: list[DocCommand] = []
    lang: str | None = None
    fence = ""
    pending, start = "", 0
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        match = FENCE.match(raw)
        if match and lang is None:
            lang, fence = match.group(3).lower(), match.group(2)
            continue
        if match and lang is not None and raw.strip().startswith(fence[:3]):
            lang = None
            continue
        if lang not in SHELL_LANGS:
            continue
        line = raw.strip()
        if line.startswith("$ "):
            line = line[2:]
        if pending:
            line = pending + " " + line
        elif line:
            start = number
        if line.endswith("\\"):
            pending = line[:-1].rstrip()
            continue
        pending = ""
        if line.startswith(("isolate ", "bash scripts/")):
            out.append(DocCommand(path.name, start, line))
    return out


ALL = [cmd for page in PAGES if page.exists() for cmd in extract(page)]


@functools.cache
def _cli() -> Any:
    from typer.main import get_command

    from isolate.cli import _register_all, app

    _register_all()
    return get_command(app)


def parse_cli(root: Any, argv: list[str]) -> list[str]:
    """Parse ``argv`` as the real CLI would (every subcommand, option and value), without running it."""
    command = root
    ctx = command.make_context("isolate", list(argv))
    path: list[str] = []
    while hasattr(command, "resolve_command"):
        rest = [*(getattr(ctx, "_protected_args", None) or getattr(ctx, "protected_args", [])), *ctx.args]
        if not rest and getattr(command, "invoke_without_command", False):
            break  # a group that runs by itself (isolate watch)
        name, command, rest = command.resolve_command(ctx, rest)
        path.append(name)
        ctx = command.make_context(name, rest, parent=ctx)
    return path


def test_pages_have_commands() -> None:
    pages = {c.page for c in ALL}
    assert {"runbook.md", "drills.md", "lab.md", "README.md"} <= pages, pages


@pytest.mark.parametrize("command", [c for c in ALL if c.text.startswith("isolate ")], ids=str)
def test_doc_command_parses(command: DocCommand) -> None:
    argv = shlex.split(command.text)[1:]
    assert "&&" not in argv and "|" not in argv, f"{command}: one command per line, please"
    path = parse_cli(_cli(), [os.path.expanduser(a) for a in argv])
    assert path, f"{command}: no subcommand"


def test_covered_entries_are_still_shown() -> None:
    """Entries for lines no page shows any more are dead weight: say so (pages change often)."""
    shown = {c.text for c in ALL}
    stale = [text for text in [*COVERED, *EXPECT_EXIT] if text not in shown]
    if stale:
        warnings.warn(f"tests/docs: listed but no longer in any page: {stale}", stacklevel=1)


def _unit_exec(page: Path, unit: str) -> str:
    text = page.read_text(encoding="utf-8")
    match = re.search(r"ExecStart=(\S+) (.+)", text)
    assert match, f"{page.name}: no ExecStart= in the {unit} unit"
    return match.group(2)


def test_watch_unit_parses() -> None:
    """docs/watch.md's systemd unit runs a command line the CLI accepts."""
    argv = shlex.split(_unit_exec(ROOT / "docs" / "watch.md", "isolate-watch.service"))
    assert parse_cli(_cli(), argv) == ["watch"]


def test_cron_and_systemd_lines_parse() -> None:
    page = ROOT / "docs" / "drills.md"
    text = page.read_text(encoding="utf-8")
    cron = re.search(r"^\d+ \d+ \* \* \d+\s+cd /opt/isolate && \.venv/bin/isolate (.+)$", text, re.M)
    assert cron, "docs/drills.md: no cron line running .venv/bin/isolate"
    assert parse_cli(_cli(), shlex.split(cron.group(1))) == ["drill"]
    assert parse_cli(_cli(), shlex.split(_unit_exec(page, "service"))) == ["drill"]
    assert "OnCalendar=" in text and "WantedBy=timers.target" in text


# -- running them ----------------------------------------------------------------------------------


@pytest.fixture
def sandbox() -> Iterator[Path]:
    """A short scratch dir (the lab's unix socket path must fit): HOME and the working dir."""
    path = Path(tempfile.mkdtemp(prefix="isodoc-"))
    (path / "home").mkdir()
    work = path / "work"
    work.mkdir()
    for name in ("playbooks", "inventory"):
        (work / name).symlink_to(ROOT / name)
    yield path
    _stop_labs(path)
    shutil.rmtree(path, ignore_errors=True)


def _stop_labs(sandbox: Path) -> None:
    from isolate.lab.process import running_pid, stop_lab

    for pid_file in sandbox.rglob("lab.json"):
        if running_pid(pid_file.parent) is not None:
            stop_lab(pid_file.parent)


def _env(sandbox: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ISOLATE_")}
    env["HOME"] = str(sandbox / "home")
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env["ISOLATE_DEMO_REPORTS"] = str(sandbox / "demo-reports")
    env["ISOLATE_LOCK_DIR"] = str(sandbox / "locks")  # not the host's shared /run/lock/isolate
    return env


def _run(sandbox: Path, text: str) -> subprocess.CompletedProcess[str]:
    cwd = ROOT if text.startswith("bash scripts/") else sandbox / "work"
    return subprocess.run(["bash", "-c", text], cwd=cwd, env=_env(sandbox), capture_output=True,
                          text=True, timeout=900, check=False)


def _lab_base_port(sandbox: Path) -> int | None:
    lab_json = sandbox / "home" / ".local" / "state" / "isolate" / "lab" / "lab.json"
    if not lab_json.exists():
        return None
    return int(json.loads(lab_json.read_text()).get("base_port", 0))


RUNNABLE = [p for p in PAGES if p.exists() and any(c.text not in COVERED for c in extract(p))]


@pytest.mark.slow
@pytest.mark.parametrize("page", RUNNABLE, ids=lambda p: p.name)
def test_page_commands_run_as_written(page: Path, sandbox: Path) -> None:
    commands = [c for c in extract(page) if c.text not in COVERED]
    uses_shipped = any(SHIPPED_INVENTORY in c.text for c in commands)
    inventory = SHIPPED_INVENTORY
    for text in SETUP.get(page.name, []):
        proc = _run(sandbox, text)
        assert proc.returncode == 0, f"setup for {page.name}: {text}\n{proc.stdout}\n{proc.stderr}"
    for command in commands:
        proc = _run(sandbox, command.text.replace(SHIPPED_INVENTORY, inventory))
        expected = EXPECT_EXIT.get(command.text, 0)
        assert proc.returncode == expected, (
            f"{command}\nexit {proc.returncode}, expected {expected}\n"
            f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        )
        if command.text == "isolate lab up" and uses_shipped and _lab_base_port(sandbox) != SHIPPED_BASE_PORT:
            # as the runbook says: when 20001 is busy, use the lab's own inventory
            warnings.warn(f"{page.name}: ports {SHIPPED_BASE_PORT}+ are busy here; the lab's own inventory "
                          f"replaces {SHIPPED_INVENTORY}", stacklevel=1)
            inventory = LAB_INVENTORY
