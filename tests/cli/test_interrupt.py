"""Ctrl-C during apply, with a real SIGINT to the CLI process on the embedded lab: the CLI says
the run id, what is contained now and the next command, and exits 130; the journal stays valid
and restore brings every device back.

The SIGINT lands during the last step by construction: the lab holds vpn1's first change line
unanswered (fault ``hold-on``) until the signal has been sent, then lets it go. (With vpn1
merely slow, a test process starved for the step's 3.5 s sent it after the run had ended and
was reported: exit 0.)"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from e2e import PLAYBOOKS, ctrl_c_as_on_a_terminal, newest_run, read_all, records, run_cli, start_cli

from isolate.lab.faults import make_fault
from isolate.lab.process import LabHandle, set_fault

LATERAL = str(PLAYBOOKS / "ransomware-lateral.yml")
TOUCHED = ["acc3", "core2", "fw-edge", "fw-int", "vpn1"]
VPN1_CHANGE = r"vpn-simultaneous-logins 0"  # the revoke-vpn step's change on the ASA


def _wait_for_intent(proc: subprocess.Popen[str], state: Path, device: str) -> None:
    deadline = time.monotonic() + 120  # a safety net only: the loop waits for a journal record
    while time.monotonic() < deadline:
        run = newest_run(state)
        if run is not None and any(
            r["kind"] == "intent" and r["data"]["device"] == device for r in records(run)
        ):
            return
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    raise AssertionError(f"no intent for {device}")


def _interrupt_at_intent(proc: subprocess.Popen[str], state: Path, lab: LabHandle, held: str) -> str:
    """Once ``held``'s intent is journaled (the lab holds its change line), SIGINT the CLI, then
    let the device answer; the CLI's stderr. The fault is cleared and the CLI gone, whatever
    happens."""
    try:
        _wait_for_intent(proc, state, held)
        os.kill(proc.pid, signal.SIGINT)  # pending in the process once kill() returns
        set_fault(lab.state_dir, held, make_fault("clear"))  # the step may end now
        _, err = proc.communicate(timeout=120)
        return err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        set_fault(lab.state_dir, held, make_fault("clear"))


def test_sigint_says_run_contained_and_next_then_exits_130(lab: LabHandle, tmp_path: Path) -> None:
    state = tmp_path / "state"
    baseline = read_all(lab.state_dir, TOUCHED)
    set_fault(lab.state_dir, "vpn1", make_fault("hold-on", pattern=VPN1_CHANGE))
    proc = start_cli("apply", "-i", str(lab.state_dir / "inventory.yml"), LATERAL, "--yes", state=state)
    err = _interrupt_at_intent(proc, state, lab, "vpn1")
    run = newest_run(state)
    assert run is not None
    assert proc.returncode == 130, err
    assert f"interrupted: run {run.name} stopped; its journal holds every change sent\n" in err
    assert "contained now:\n  acc3 quarantine-infected: contained\n" in err
    assert "  core2 cut-smb: contained\n" in err
    assert f"next: isolate apply --resume {run.name} --yes   (finish the containment)\n" in err
    assert f"  or: isolate restore {run.name} --yes   (undo what was applied)\n" in err
    assert not any(r["kind"] == "run-end" for r in records(run))
    restored = run_cli("restore", run.name, "--yes", state=state)
    assert restored.returncode == 0, restored.stderr
    assert read_all(lab.state_dir, TOUCHED) == baseline
    assert run_cli("journal", "verify", run.name, state=state).returncode == 0


def test_sigint_starts_no_device_still_waiting_for_a_worker(lab: LabHandle, tmp_path: Path) -> None:
    """With one worker, cut-smb's devices go one at a time (core2, then fw-int): a Ctrl-C while
    core2's change is in flight lets core2 finish and never starts fw-int; nothing of a later
    step is sent either."""
    state = tmp_path / "state"
    baseline = read_all(lab.state_dir, TOUCHED)
    set_fault(lab.state_dir, "core2", make_fault("hold-on", pattern="ISOLATE-CUT-SMB"))
    proc = start_cli(
        "apply", "-i", str(lab.state_dir / "inventory.yml"), LATERAL, "--yes", "--workers", "1", state=state
    )
    err = _interrupt_at_intent(proc, state, lab, "core2")
    run = newest_run(state)
    assert run is not None
    assert proc.returncode == 130, err
    assert "contained now:\n  core2 cut-smb: contained\nnext: " in err
    assert [r["data"]["device"] for r in records(run) if r["kind"] == "intent"] == ["core2"]
    after = read_all(lab.state_dir, TOUCHED)
    assert {d: after[d] for d in TOUCHED if d != "core2"} == {d: baseline[d] for d in TOUCHED if d != "core2"}
    restored = run_cli("restore", run.name, "--yes", state=state)
    assert restored.returncode == 0, restored.stderr
    assert read_all(lab.state_dir, TOUCHED) == baseline


def test_sigint_says_at_once_that_it_waits_for_the_device_in_flight(lab: LabHandle, tmp_path: Path) -> None:
    """The "stopping" line comes while core2 is still held by the lab (its change unanswered),
    not only once core2 has ended: an admin sees why the Ctrl-C has not returned yet."""
    state = tmp_path / "state"
    set_fault(lab.state_dir, "core2", make_fault("hold-on", pattern="ISOLATE-CUT-SMB"))
    proc = start_cli(
        "apply", "-i", str(lab.state_dir / "inventory.yml"), LATERAL, "--yes", "--workers", "1", state=state
    )
    lines: queue.Queue[str] = queue.Queue()
    assert proc.stderr is not None
    stderr = proc.stderr

    def read() -> None:
        for line in stderr:
            lines.put(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    seen: list[str] = []
    try:
        _wait_for_intent(proc, state, "core2")
        os.kill(proc.pid, signal.SIGINT)
        while not any("stopping:" in line for line in seen):
            seen.append(lines.get(timeout=120))  # a safety net only: the CLI prints it at once
        run = newest_run(state)
        assert run is not None
        # core2 is still held: nothing of it has come back yet
        assert not any(r["kind"] in ("applied", "failed") for r in records(run)), records(run)
        set_fault(lab.state_dir, "core2", make_fault("clear"))
        assert proc.wait(timeout=120) == 130
        reader.join(timeout=120)
        while not lines.empty():
            seen.append(lines.get())
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        set_fault(lab.state_dir, "core2", make_fault("clear"))
    text = "".join(seen)
    stopping = (
        "stopping: waiting for 1 device(s) in flight to finish what they are doing (a change sent is "
        "completed and read back; a device that stops answering is given up after "
    )
    assert stopping in text, text
    assert "no other device will be touched\n" in text
    assert text.index(stopping) < text.index(f"interrupted: run {run.name} stopped")
    assert "contained now:\n  core2 cut-smb: contained\n" in text


def _command_then_ctrl_c_at_exit(entry: str) -> subprocess.CompletedProcess[str]:
    """``isolate --help`` through ``entry``, with a Ctrl-C (a real SIGINT) arriving while the
    interpreter shuts down, after the command has said everything."""
    code = (
        "import atexit, os, signal, sys\n"
        "atexit.register(lambda: os.kill(os.getpid(), signal.SIGINT))\n"
        "sys.argv = ['isolate', '--help']\n"
        f"from isolate.cli import {entry}\n"
        f"{entry}()\n"
    )
    argv = [sys.executable, "-c", code]
    return subprocess.run(
        argv, capture_output=True, text=True, timeout=120, check=False, preexec_fn=ctrl_c_as_on_a_terminal
    )


def test_a_ctrl_c_after_the_command_has_ended_prints_nothing_and_keeps_its_exit_code() -> None:
    done = _command_then_ctrl_c_at_exit("entry")
    assert (done.returncode, done.stderr) == (0, "")
    assert "Usage:" in done.stdout
    # the entry point is what the installed command and `python -m isolate` run
    root = Path(__file__).parents[2]
    assert 'isolate = "isolate.cli:entry"' in (root / "pyproject.toml").read_text()
    assert "entry()" in (root / "isolate" / "__main__.py").read_text()
