"""revoke-vpn on an ASA whose VPN user is authenticated by a directory (RADIUS/LDAP/SAML):
no local account to change, so isolate logs the sessions off and the plan says plainly that
the account must be disabled in the directory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e import newest_run, records, run_cli

from isolate.drivers.registry import connect
from isolate.execute.targets import resolve_targets
from isolate.inventory.loader import load_inventory
from isolate.lab.process import LabHandle, start_lab

CITY = Path(__file__).resolve().parents[2] / "isolate" / "lab" / "topologies" / "city.yml"
PLAYBOOK = """version: 1
name: revoke-carol
description: carol's VPN access is believed compromised.
steps:
  - id: revoke-carol
    action: revoke-vpn
    targets: {users: [carol]}
"""


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabHandle]:
    where = tmp_path_factory.mktemp("lab")
    topology = where / "city-directory.yml"
    text = CITY.read_text().replace("{name: carol, group: contractors}",
                                    "{name: carol, group: contractors, auth: directory}")
    assert "auth: directory" in text
    topology.write_text(text)
    handle = start_lab(where / "state", topology)
    try:
        yield handle
    finally:
        handle.stop()


def _sessions(lab: LabHandle) -> str:
    inventory = load_inventory(lab.state_dir / "inventory.yml")
    session = connect(resolve_targets(inventory, ["vpn1"], timeout_s=10.0).targets["vpn1"])
    try:
        return session.run("show vpn-sessiondb anyconnect").output
    finally:
        session.close()


def test_directory_user_sessions_logged_off_and_the_plan_says_disable_it(
    lab: LabHandle, tmp_path: Path
) -> None:
    inv = str(lab.state_dir / "inventory.yml")
    assert "carol" in _sessions(lab)  # the directory let her in: a live session
    playbook = tmp_path / "revoke-carol.yml"
    playbook.write_text(PLAYBOOK)
    plan = run_cli("plan", "-i", inv, str(playbook), state=tmp_path)
    assert plan.returncode == 0, plan.stderr
    said = " ".join(plan.stdout.split())
    assert ("carol: authenticated by the directory (RADIUS/LDAP/SAML), not on the concentrator: isolate "
            "logs their VPN sessions off, but the account itself must be disabled in the directory") in said
    applied = run_cli("apply", "-i", inv, str(playbook), "--yes", state=tmp_path)
    assert applied.returncode == 0, applied.stderr
    journal = records(newest_run(tmp_path))  # type: ignore[arg-type]
    intent = next(r["data"] for r in journal if r["kind"] == "intent")
    assert intent["device"] == "vpn1"
    assert intent["forward"] == []
    assert intent["exec_after"] == ["vpn-sessiondb logoff name carol noconfirm"]
    assert intent["inverse"] == []
    verified = next(r["data"] for r in journal if r["kind"] == "verified")
    assert verified["ok"] is True, verified  # no active session for carol right after
    restored = run_cli("restore", "--yes", state=tmp_path)
    assert restored.returncode == 0, restored.stderr
