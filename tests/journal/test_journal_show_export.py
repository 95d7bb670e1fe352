"""show / export / list through the CLI: the same story in every format; RunView answers."""

from __future__ import annotations

import csv
import html
import io
import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

import isolate.cli
from isolate.errors import InputError
from isolate.journal import Journal, RunView, list_runs, resolve_run_dir
from isolate.journal.export import CSV_COLUMNS

RunFactory = Callable[..., Path]
HEADLINE = re.compile(r"^\[\s*\d+\] \d\d:\d\d:\d\d\.\d{3} \+\d+\.\d{3}s .*$", re.MULTILINE)


@pytest.fixture(scope="module")
def cli() -> CliRunner:
    isolate.cli._register_all()
    return CliRunner()


def _run(cli: CliRunner, *args: str) -> str:
    result = cli.invoke(isolate.cli.app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_show_tells_who_why_steps_commands_restore_and_end(make_run: RunFactory, cli: CliRunner) -> None:
    run_dir = make_run()
    out = _run(cli, "journal", "show", str(run_dir))
    for expected in (
        "Who:          alice@admin1 (pid 4242)",
        "Incident:     INC-7",
        "Reason:       ransomware on fs1",
        "Options:      confirm_window_s=120, workers=4",
        "Override 1:   step cut-smb: guard protected-asset overridden: approved by CISO (fs1)",
        "Verification: OK: 20 records, chain intact, every intent has an outcome, head signed by key ",
        "seal: signed head (ed25519, key ",
        "== step cut-smb ==",
        "intent core1/cut-smb: intent block-smb: 2 forward, 1 inverse command(s)",
        "           ip access-list extended ISOLATE-SMB",
        "           no ip access-list extended ISOLATE-SMB",
        "applied core1/cut-smb: applied ok in 0.250s",
        "== restore stage 1 ==",
        "gate core1: gate of stage 1 passed",
        "End: ok in 1.250s; time to contain 1.000s; now restored",
    ):
        assert expected in out, expected
    assert len(HEADLINE.findall(out)) == 20  # 19 records and the seal


def test_markdown_and_html_tell_the_same_story_as_show(make_run: RunFactory, cli: CliRunner) -> None:
    run_dir = make_run(reason="<script>alert('x')</script> & `ticks`")
    shown = HEADLINE.findall(_run(cli, "journal", "show", str(run_dir)))
    markdown = _run(cli, "journal", "export", str(run_dir), "--format", "md")
    md_lines = [m.group(2) for m in re.finditer(r"^- (`+) ?(.*?) ?\1$", markdown, re.MULTILINE)]
    assert md_lines == shown
    page = _run(cli, "journal", "export", str(run_dir), "--format", "html")
    assert "<script>" not in page and "&lt;script&gt;" in page
    html_lines = [html.unescape(m) for m in re.findall(r"<li[^>]*><code>(.*?)</code>", page)]
    assert html_lines == shown
    assert page.startswith("<!DOCTYPE html>") and "<link" not in page and "src=" not in page


def test_csv_has_one_row_per_record_with_documented_columns(make_run: RunFactory, cli: CliRunner) -> None:
    run_dir = make_run()
    rows = list(csv.DictReader(io.StringIO(_run(cli, "journal", "export", str(run_dir), "-f", "csv"))))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert [int(r["seq"]) for r in rows] == list(range(20))
    intent = next(r for r in rows if r["kind"] == "intent")
    assert intent["device"] == "core1" and intent["step"] == "cut-smb"
    assert intent["forward"].splitlines() == [
        "ip access-list extended ISOLATE-SMB",
        " deny tcp any any eq 445",
    ]
    assert intent["inverse"] == "no ip access-list extended ISOLATE-SMB"
    applied = next(r for r in rows if r["kind"] == "applied")
    assert (applied["ok"], applied["duration_s"]) == ("true", "0.250000")


def test_show_json_and_export_to_file(make_run: RunFactory, cli: CliRunner, tmp_path: Path) -> None:
    run_dir = make_run()
    doc = json.loads(_run(cli, "journal", "show", str(run_dir), "--json"))
    assert doc["status"] == "restored" and len(doc["events"]) == 20
    assert doc["header"]["Incident"] == "INC-7"
    assert doc["events"][3]["details"]["inverse"] == ["no ip access-list extended ISOLATE-SMB"]
    out = tmp_path / "run.md"
    _run(cli, "journal", "export", str(run_dir), "--format", "md", "--out", str(out))
    assert out.read_text().startswith("# Journal of run ")
    assert out.stat().st_mode & 0o077 == 0


def test_list_and_run_references(make_run: RunFactory, state_dir: Path, cli: CliRunner) -> None:
    first = make_run()
    second = make_run(finish=False)
    runs = json.loads(_run(cli, "journal", "list", "--state-dir", str(state_dir), "--json"))
    assert [r["run"] for r in runs] == [first.name, second.name]
    assert [r["status"] for r in runs] == ["restored", "interrupted"]
    assert runs[0]["devices"] == ["core1", "fw-int"] and runs[0]["incident"] == "INC-7"
    assert runs[0]["playbook"] == "ransomware-lateral" and runs[0]["user"] == "alice"
    table = _run(cli, "journal", "list", "--state-dir", str(state_dir))
    assert table.splitlines()[0].split() == [
        "RUN",
        "STARTED",
        "USER",
        "INCIDENT",
        "PLAYBOOK",
        "STATUS",
        "DEVICES",
    ]
    assert resolve_run_dir(state_dir, "last") == second
    assert resolve_run_dir(state_dir, first.name) == first
    assert resolve_run_dir(state_dir, str(first / "journal.jsonl")) == first
    with pytest.raises(InputError, match="no run 'nope'"):
        resolve_run_dir(state_dir, "nope")
    with Journal.open(second):
        assert list_runs(state_dir)[-1].status == "open"  # a live writer holds it
    assert "interrupted" in _run(cli, "journal", "show", "last", "--state-dir", str(state_dir))


def test_env_state_dir(
    make_run: RunFactory, state_dir: Path, cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_dir = make_run()
    monkeypatch.setenv("ISOLATE_STATE_DIR", str(state_dir))
    assert _run(cli, "journal", "verify", "last").startswith("OK: 20 records")
    assert run_dir.name in _run(cli, "journal", "list")


def test_run_view_groups_intents_and_finds_the_unfinished(make_run: RunFactory) -> None:
    view = RunView.load(make_run())
    assert view.devices() == ["core1", "fw-int"]
    per_device = view.by_device()
    core = per_device["core1"][0]
    assert (core.step, core.action, core.applied_ok, core.restored_ok) == ("cut-smb", "block-smb", True, True)
    assert core.inverse == ["no ip access-list extended ISOLATE-SMB"] and core.verified is not None
    assert view.pending_intents() == [] and view.pending_restores() == []
    assert view.status == "restored"

    crashed = make_run(finish=False)
    with Journal.open(crashed) as journal:
        journal.append(
            "intent", device="core1", step="edge", action="edge-block", platform="cisco_ios",
            forward=["a"], inverse=["b"], pre_state=None, stage=1, confirm_window_s=None,
        )  # fmt: skip
        journal.append("restore-start", stages=[1], user="ops", host="admin1", pid=4242)
        journal.append(
            "restore-intent", device="fw-int", step="cut-smb", stage=1, commands=["b"], target_state="d" * 64
        )
    view = RunView.load(crashed)
    assert [(v.device, v.step) for v in view.pending_intents()] == [("core1", "edge")]
    assert [(r.device, r.step) for r in view.pending_restores()] == [("fw-int", "cut-smb")]
    assert view.status == "interrupted"


def test_close_pending_answers_what_a_crash_left_open(make_run: RunFactory) -> None:
    run_dir = make_run(finish=False)
    with Journal.open(run_dir) as journal:
        journal.append(
            "intent", device="core1", step="edge", action="edge-block", platform="cisco_ios",
            forward=["a"], inverse=["b"], pre_state=None, stage=1, confirm_window_s=None,
        )  # fmt: skip
        journal.append("restore-start", stages=[1], user="ops", host="admin1", pid=4242)
        journal.append(
            "restore-intent", device="fw-int", step="cut-smb", stage=1, commands=["b"], target_state="d" * 64
        )
    from isolate.journal import verify_journal

    assert "has no outcome" in verify_journal(run_dir).summary()
    with Journal.open(run_dir) as journal:
        closed = journal.close_pending()
        assert journal.close_pending() == []  # harmless twice
    assert [(r.device, r.step, r.data["phase"], r.data["intent_seq"]) for r in closed] == [
        ("core1", "edge", "interrupted", 11),  # seq 10: the first session's seal
        ("fw-int", "cut-smb", "interrupted", 13),
    ]
    assert verify_journal(run_dir).ok
