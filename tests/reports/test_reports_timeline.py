"""Spans, time to restore and per-device restore outcomes read from a real journal."""

from __future__ import annotations

from pathlib import Path

from isolate.journal import Journal
from isolate.reports.timeline import restore_outcomes, spans_from_journal, timings_from_journal

RUN = "20261123T054000Z-abc123"
BEFORE = "hostname core1\n!\ninterface Vlan10\n ip address 10.10.10.1 255.255.255.0\n!\nend\n"
CONTAINED = BEFORE.replace("!\nend", "ip access-list extended CUT\n deny tcp any any eq 445\n!\nend")


def write_run(state: Path, *, restored_state: str) -> Path:
    journal = Journal.create(state, RUN)
    pre = journal.store_state(BEFORE)
    journal.append("run-start", command="drill", incident="DRILL", reason="test")
    for device in ("core1", "fw-int"):
        journal.append("precheck", device=device, ok=True, message="ready", state=pre, checks={})
    for device in ("core1", "fw-int"):
        journal.append("intent", device=device, step="cut-smb", action="block-smb", forward=["x"],
                       inverse=["no x"], pre_state=pre)
        journal.append("applied", device=device, step="cut-smb", ok=True, message="", duration_s=0.1)
        journal.append("verified", device=device, step="cut-smb", ok=True, problems=[],
                       post_state=journal.store_state(CONTAINED))
    journal.append("step-end", step="cut-smb", ok=True, duration_s=0.2)
    journal.append("run-end", status="ok", duration_s=0.3, time_to_contain_s=0.3)
    journal.append("restore-start", stages=[1], user="ops", host="admin1", pid=4242)
    for device, text in (("core1", restored_state), ("fw-int", BEFORE)):
        journal.append("restore-intent", device=device, step="cut-smb", commands=["no x"], stage=1)
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
