"""Bad input through the real CLI (a subprocess, as an admin types it): one line on
stderr naming file:line:field, the documented exit code 2, no traceback."""

from __future__ import annotations

from pathlib import Path

from e2e import ROOT, run_cli

FIXTURES = ROOT / "tests" / "fixtures"
INVENTORY = FIXTURES / "inventory" / "valid.yml"
ZONE_PLAYBOOK = """version: 1
name: zone
steps:
  - id: edge
    action: edge-block
    targets: {devices: [fw-edge]}
    params:
      prefixes: ["fe80::1%x } accept #"]
"""


def _one_error(result_stderr: str) -> str:
    lines = result_stderr.splitlines()
    assert len(lines) == 1, result_stderr
    assert "Traceback" not in result_stderr
    return lines[0]


def _inventory(tmp_path: Path, old: str, new: str) -> Path:
    text = INVENTORY.read_text()
    assert old in text
    path = tmp_path / "city.yml"
    path.write_text(text.replace(old, new, 1))
    return path


def test_zone_id_edge_prefix_is_refused_at_load(tmp_path: Path) -> None:
    playbook = tmp_path / "zone.yml"
    playbook.write_text(ZONE_PLAYBOOK)
    expected = (
        f"error: {playbook}:8: steps[0].params.prefixes[0]: "
        "zone ID ('%...') not allowed in prefix: 'fe80::1%x } accept #'"
    )
    for args in (["plan", "-i", str(INVENTORY), str(playbook)], ["playbook", "check", str(playbook)]):
        result = run_cli(*args, state=tmp_path / "state")
        assert result.returncode == 2, result.stderr
        assert _one_error(result.stderr) == expected
        assert result.stdout == ""


def test_zone_id_in_inventory_is_refused_by_check_and_plan(tmp_path: Path) -> None:
    inventory = _inventory(tmp_path, "subnet: 10.10.20.0/24", 'subnet: "fe80::%eth0 } accept #/64"')
    expected = (
        f"error: {inventory}:66: segments[2].subnet: "
        "zone ID ('%...') not allowed in prefix: 'fe80::%eth0 } accept #/64'"
    )
    playbook = FIXTURES / "playbooks" / "every-action.yml"
    for args in (["inventory", "check", "-i", str(inventory)], ["plan", "-i", str(inventory), str(playbook)]):
        result = run_cli(*args, state=tmp_path / "state")
        assert result.returncode == 2, result.stderr
        assert _one_error(result.stderr) == expected


def test_zone_id_host_address_and_loose_address_forms_are_refused(tmp_path: Path) -> None:
    cases = {
        'address: "fe80::17%eth0"': "zone ID ('%...') not allowed in address: 'fe80::17%eth0'",
        "address: 010.10.20.17": "not an IP address: '010.10.20.17'",
        "address: ' 10.10.20.17'": "not an IP address: ' 10.10.20.17'",
    }
    for new, message in cases.items():
        inventory = _inventory(tmp_path, "address: 10.10.20.17", new)
        result = run_cli("inventory", "check", "-i", str(inventory), state=tmp_path / "state")
        assert result.returncode == 2, result.stderr
        assert _one_error(result.stderr) == f"error: {inventory}:90: hosts[3].address: {message}"
