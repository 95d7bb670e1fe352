"""docs/journal.md says true things: its command lines run as written, its hand check works."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

import isolate.cli

RunFactory = Callable[..., Path]
DOC = Path(__file__).resolve().parents[2] / "docs" / "journal.md"


def _blocks(language: str) -> list[str]:
    return re.findall(
        rf"^```{language}\n(.*?)^```", DOC.read_text(encoding="utf-8"), re.MULTILINE | re.DOTALL
    )


def test_every_command_line_runs_as_written(
    make_run: RunFactory, state_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_run()
    monkeypatch.setenv("ISOLATE_STATE_DIR", str(state_dir))
    monkeypatch.chdir(tmp_path)
    isolate.cli._register_all()
    runner = CliRunner()
    lines = [line for block in _blocks("sh") for line in block.splitlines() if line.startswith("isolate ")]
    assert len(lines) >= 9
    for line in lines:
        result = runner.invoke(isolate.cli.app, shlex.split(line)[1:])
        assert result.exit_code == 0, f"{line}: {result.output}"


def test_the_hand_check_script_agrees_with_verify(make_run: RunFactory, tmp_path: Path) -> None:
    script, _ = _blocks("python")
    checker = tmp_path / "check.py"
    checker.write_text(script)
    journal = make_run() / "journal.jsonl"
    ok = subprocess.run(
        [sys.executable, str(checker), str(journal)], capture_output=True, text=True, check=False
    )
    assert (ok.returncode, ok.stdout) == (0, "chain intact\n")
    journal.write_bytes(journal.read_bytes().replace(b"INC-7", b"INC-8", 1))
    bad = subprocess.run(
        [sys.executable, str(checker), str(journal)], capture_output=True, text=True, check=False
    )
    assert (bad.returncode, bad.stderr) == (1, "line 1: chain broken\n")


def test_the_hand_signature_check_agrees_with_verify(make_run: RunFactory, tmp_path: Path) -> None:
    import os

    _, script = _blocks("python")
    checker = tmp_path / "check_seal.py"
    checker.write_text(script)
    journal = make_run() / "journal.jsonl"
    public = Path(os.environ["ISOLATE_SIGNING_KEY"] + ".pub")
    ok = subprocess.run(
        [sys.executable, str(checker), str(journal), str(public)], capture_output=True, text=True, check=False
    )
    assert ok.returncode == 0 and ok.stdout.startswith("head seq "), ok.stderr
    lines = journal.read_bytes().splitlines(keepends=True)
    journal.write_bytes(b"".join(lines[:-1]))  # the seal cut off
    cut = subprocess.run(
        [sys.executable, str(checker), str(journal), str(public)], capture_output=True, text=True, check=False
    )
    assert cut.returncode == 1 and "no signed head at the end" in cut.stderr
    from isolate.journal.records import make_record, parse_line

    forged: list[bytes] = []  # the whole chain rewritten with recomputed hashes (a forger)
    prev = "0" * 64
    for raw in b"".join(lines).replace(b"INC-7", b"INC-8", 1).splitlines():
        rec = parse_line(raw)
        rec = make_record(rec.seq, rec.ts, rec.run, rec.kind, dict(rec.data), prev)
        forged.append(rec.line())
        prev = rec.hash
    journal.write_bytes(b"".join(forged))
    (chain, _) = _blocks("python")
    (tmp_path / "check.py").write_text(chain)
    checker_chain = [sys.executable, str(tmp_path / "check.py"), str(journal)]
    intact = subprocess.run(checker_chain, capture_output=True, text=True, check=False)
    assert intact.stdout == "chain intact\n"  # the chain alone cannot tell…
    changed = subprocess.run(
        [sys.executable, str(checker), str(journal), str(public)], capture_output=True, text=True, check=False
    )
    assert changed.returncode == 1 and "InvalidSignature" in changed.stderr  # …the signature can
