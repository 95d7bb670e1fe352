"""Drills of one lab run one at a time (``isolate drill -i`` on a lab left running, as cron
would run it twice): while a drill holds the lab's ``drill.lock`` (here: the test, as a drill
would), a second is refused before it reads a flow or sends anything, exit 5, one line naming
the holder; its reports say it. Once the lock is free, the same drill passes."""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path

from e2e import PLAYBOOKS, records, run_cli

from isolate.lab.process import LabHandle


def test_a_second_drill_of_one_lab_is_refused_while_the_first_runs(lab: LabHandle, tmp_path: Path) -> None:
    inventory = str(lab.state_dir / "inventory.yml")
    playbook = str(PLAYBOOKS / "ransomware-lateral.yml")
    state = tmp_path / "state"
    fd = os.open(lab.state_dir / "drill.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.ftruncate(fd, 0)
        os.pwrite(fd, b"pid 4242, since 2026-12-04T03:00:00Z", 0)
        busy = run_cli("drill", "-i", inventory, playbook, "--report-dir", str(tmp_path / "busy"),
                       state=state)  # fmt: skip
    finally:
        os.close(fd)
    assert busy.returncode == 5, busy.stdout + busy.stderr
    holder = "pid 4242, since 2026-12-04T03:00:00Z"
    line = (f"error: lab {lab.state_dir}: another drill is running on it ({holder}); "
            "drills of one lab run one at a time: run this one when it has ended")  # fmt: skip
    assert busy.stderr.splitlines()[-1] == line
    report = json.loads((tmp_path / "busy" / "report.json").read_text())
    assert report["exit_code"] == 5
    assert not list(state.glob("runs/*")), "a run was made while another drill held the lab"

    passed = run_cli("drill", "-i", inventory, playbook, "--report-dir", str(tmp_path / "ok"), state=state)
    assert passed.returncode == 0, passed.stdout[-3000:] + passed.stderr
    (run,) = state.glob("runs/*")
    assert records(run)[-1]["kind"] == "seal"
