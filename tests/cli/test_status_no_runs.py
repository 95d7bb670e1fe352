"""`isolate status` in a state directory with no runs (a colleague's shell without the
ISOLATE_STATE_DIR the runs were made with) does not read as the all-clear: it names the
directory it looked in. The all-clear is for a directory whose runs are all restored."""

from __future__ import annotations

import json
from pathlib import Path

from e2e import run_cli


def test_status_with_no_runs_names_where_it_looked(tmp_path: Path) -> None:
    state = tmp_path / "elsewhere"
    status = run_cli("status", state=state)
    assert (status.returncode, status.stderr) == (0, "")
    assert status.stdout == (
        f"nothing contained here: no runs in {state / 'runs'} (runs made with another --state-dir or "
        "ISOLATE_STATE_DIR are not seen: is it the one the runs were made with?)\n"
    )
    as_json = json.loads(run_cli("status", "--json", state=state).stdout)
    assert (as_json["runs"], as_json["contained"]) == (0, [])
