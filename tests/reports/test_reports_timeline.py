"""Spans, time to restore and per-device restore outcomes read from a real journal."""

from __future__ import annotations

from pathlib import Path

import pytest

from isolate.errors import JournalError
from isolate.journal import Journal, read_journal
from isolate.journal.records import make_record
from isolate.journal.schema import Gate
from isolate.reports.timeline import restore_outcomes, spans_from_journal, timings_from_journal

RUN = "20261123T054000Z-abc123"
BEFORE = "hostname core1\n!\ninterface Vlan10\n ip address 10.10.10.1 255.255.255.0\n!\nend\n"
CONTAINED = BEFORE.replace("!\nend", "ip access-list extended CUT\n deny tcp any any eq 445\n!\nend")


def write_run(state: Path, *, restored_state: str) -> Path:
    journal = Journal.create(state, RUN)
    pre = journal.store_state(BEFORE)
    journal.append(
        "run-start", user="ops", host="admin1", pid=1, command="drill", incident="DRILL", reason="test",
        tool_version="0.1.0", inventory={"path": "inv.yml", "sha256": "a" * 64},
        playbook={"path": None, "name": "p", "sha256": "b" * 64}, plan_sha256="c" * 64,
        overrides=[], options={},
    )  # fmt: skip
    for device in ("core1", "fw-int"):
        journal.append("precheck", device=device, ok=True, message="ready", state=pre, checks={})
    for device in ("core1", "fw-int"):
        journal.append("intent", device=device, step="cut-smb", action="block-smb", platform="cisco_ios",
                       forward=["x"], inverse=["no x"], pre_state=pre, stage=1, confirm_window_s=None)
        journal.append("applied", device=device, step="cut-smb", ok=True, message="", duration_s=0.1)
        journal.append("verified", device=device, step="cut-smb", ok=True, problems=[],
                       post_state=journal.store_state(CONTAINED))
    journal.append("step-end", step="cut-smb", ok=True, duration_s=0.2)
    journal.append("run-end", status="ok", duration_s=0.3, time_to_contain_s=0.3)
    journal.append("restore-start", stages=[1], user="ops", host="admin1", pid=4242)
    for device, text in (("core1", restored_state), ("fw-int", BEFORE)):
        journal.append("restore-intent", device=device, step="cut-smb", commands=["no x"], stage=1,
                       target_state=pre)
        journal.append("restored", device=device, step="cut-smb", ok=True, message="", stage=1)
        read_back = journal.store_state(text)
        ok = read_back == pre
        journal.append("gate", stage=1, device=device, ok=ok, check="equality", state=read_back,
                       expected=pre, problems=[] if ok else ["differs from its captured pre-state"])
    journal.append("restore-end", ok=restored_state == BEFORE)
    journal.close()
    return journal.run_dir


def test_spans_and_restore_time(tmp_path: Path) -> None:
    timings = timings_from_journal(write_run(tmp_path, restored_state=BEFORE))
    assert timings is not None and timings.restore_s is not None and timings.restore_s >= 0
    spans = spans_from_journal(timings)
    phases = {(s.device, s.phase) for s in spans}
    assert phases == {(d, p) for d in ("core1", "fw-int") for p in ("precheck", "apply", "restore")}
    assert all(s.ok and s.end_s >= s.start_s >= 0 for s in spans)
    apply_core1 = next(s for s in spans if s.device == "core1" and s.phase == "apply")
    restore_core1 = next(s for s in spans if s.device == "core1" and s.phase == "restore")
    assert apply_core1.step == "cut-smb" and restore_core1.step == "stage 1"
    assert restore_core1.start_s >= apply_core1.end_s


def test_restore_outcomes_identical(tmp_path: Path) -> None:
    run_dir = write_run(tmp_path, restored_state=BEFORE)
    timings = timings_from_journal(run_dir)
    assert timings is not None
    outcomes = restore_outcomes(timings, run_dir)
    assert [(o.device, o.identical) for o in outcomes] == [("core1", True), ("fw-int", True)]


def test_restore_outcome_carries_the_diff(tmp_path: Path) -> None:
    run_dir = write_run(tmp_path, restored_state=CONTAINED)
    timings = timings_from_journal(run_dir)
    assert timings is not None
    core1 = restore_outcomes(timings, run_dir)[0]
    assert core1.device == "core1" and not core1.identical
    assert "differs" in core1.difference
    assert "+ip access-list extended CUT" in core1.diff
    assert core1.diff[0] == "--- captured pre-state"


def test_an_altered_state_file_gives_no_diff(tmp_path: Path) -> None:
    """The diff is read only from state files that hash to their names."""
    run_dir = write_run(tmp_path, restored_state=CONTAINED)
    timings = timings_from_journal(run_dir)
    assert timings is not None
    core1 = next(r for r in timings.records if r.kind == "gate" and r.device == "core1")
    assert isinstance(core1.data, Gate) and core1.data.state is not None
    (run_dir / "state" / f"{core1.data.state}.txt").write_text(BEFORE + "tampered\n", encoding="utf-8")
    outcome = restore_outcomes(timings, run_dir)[0]
    assert (outcome.identical, outcome.diff) == (False, ())
    assert outcome.difference == "differs from its captured pre-state"


def test_a_record_not_fitting_its_model_names_journal_seq_and_field(tmp_path: Path) -> None:
    run_dir = write_run(tmp_path, restored_state=BEFORE)
    path = run_dir / "journal.jsonl"
    records = read_journal(path).records
    gate = next(r for r in records if r.kind == "gate")
    out, prev = [], "0" * 64
    for rec in records:  # re-chained: only the model can tell
        data = {**rec.data, "stage": "one"} if rec.seq == gate.seq else dict(rec.data)
        new = make_record(rec.seq, rec.ts, rec.run, rec.kind, data, prev)
        out.append(new.line())
        prev = new.hash
    path.write_bytes(b"".join(out))
    with pytest.raises(JournalError) as err:
        timings_from_journal(run_dir)
    expected = f"{path}: seq {gate.seq}: gate record: stage: Input should be a valid integer;"
    assert str(err.value).startswith(expected)
