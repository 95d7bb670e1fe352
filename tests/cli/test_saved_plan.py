"""Saved plans through the real CLI: `plan --out` carries a content hash and the inventory's
digest; `plan show` and `apply` check both and re-run the guards by planning again; a
hand-edited plan is refused in one line (exit 2) even when its hash was recomputed; apply of a
saved plan needs no -i while the inventory it records is intact."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path

from e2e import PLAYBOOKS, isolate_cmd, read_all, run_cli

from isolate.lab.process import LabHandle

LATERAL = str(PLAYBOOKS / "ransomware-lateral.yml")


def _rehash(data: dict[str, object]) -> str:
    """What someone forging a plan would do: recompute the content hash after the edit."""
    bare = {**data, "content_sha256": None}
    return hashlib.sha256(json.dumps(bare, indent=2, ensure_ascii=False).encode()).hexdigest()


def test_saved_plan_checked_shown_and_applied_without_inventory(lab: LabHandle, tmp_path: Path) -> None:
    state = tmp_path / "state"
    saved = tmp_path / "plan.json"
    inventory = str(lab.state_dir / "inventory.yml")
    made = run_cli("plan", "-i", inventory, LATERAL, "--set", "infected=ws-01", "--out", str(saved),
                   state=state)
    assert made.returncode == 0, made.stderr
    data = json.loads(saved.read_text())
    assert len(data["content_sha256"]) == 64 and data["inventory_path"] == inventory

    shown = run_cli("plan", "show", str(saved), state=state)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout == made.stdout

    edited = tmp_path / "edited.json"
    vlan = '"switchport access vlan 999"'
    text = saved.read_text().replace(vlan, f'{vlan},\n "shutdown"')
    edited.write_text(text)
    for args in (("apply", str(edited), "--yes"), ("plan", "show", str(edited))):
        refused = run_cli(*args, state=state)
        assert refused.returncode == 2, refused.stderr
        assert refused.stderr == (
            f"error: {edited}: changed after it was saved (its content hash does not match); "
            "never edit a plan by hand: plan again\n"
        )
    forged = json.loads(text)
    forged["content_sha256"] = _rehash(forged)
    edited.write_text(json.dumps(forged, indent=2))
    refused = run_cli("apply", str(edited), "--yes", state=state)
    assert refused.returncode == 2, refused.stderr
    assert refused.stderr == (
        f"error: {edited}: is not what {LATERAL} plans on this inventory now; plan again\n"
    )
    assert not (state / "runs").exists()

    before = read_all(lab.state_dir, ["acc1"])
    applied = run_cli("apply", str(saved), "--yes", "--incident", "INC-5", state=state)
    assert applied.returncode == 0, applied.stderr
    assert read_all(lab.state_dir, ["acc1"]) != before
    assert run_cli("restore", "--yes", state=state).returncode == 0
    assert read_all(lab.state_dir, ["acc1"]) == before

    moved = tmp_path / "elsewhere.json"
    data["inventory_path"] = str(tmp_path / "gone.yml")
    data["content_sha256"] = _rehash(data)
    moved.write_text(json.dumps(data, indent=2))
    lost = run_cli("apply", str(moved), "--yes", state=state)
    assert lost.returncode == 2
    assert lost.stderr == (
        f"error: {moved}: the inventory it records ({tmp_path / 'gone.yml'}) is not there: "
        "pass -i INVENTORY\n"
    )


def test_a_plan_saved_with_relative_paths_is_shown_from_another_directory(
    lab: LabHandle, tmp_path: Path
) -> None:
    """The plan is made where the inventory is (``-i inventory.yml``) and shown or applied
    from wherever the admin is next: it records the inventory and playbook as absolute paths."""
    env = {**os.environ, "ISOLATE_STATE_DIR": str(tmp_path / "state")}
    saved = tmp_path / "plan.json"
    playbook = os.path.relpath(LATERAL, lab.state_dir)
    made = subprocess.run(
        isolate_cmd("plan", "-i", "inventory.yml", playbook, "--set", "infected=ws-01", "--out", str(saved)),
        capture_output=True, text=True, env=env, cwd=lab.state_dir, timeout=300, check=False,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    data = json.loads(saved.read_text())
    assert data["inventory_path"] == str((lab.state_dir / "inventory.yml").resolve())
    assert data["playbook_path"] == str(Path(LATERAL).resolve())
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shown = subprocess.run(isolate_cmd("plan", "show", str(saved)), capture_output=True, text=True, env=env,
                           cwd=elsewhere, timeout=300, check=False)  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout == made.stdout
