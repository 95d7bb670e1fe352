"""Bad input through the real CLI (a subprocess, as an admin types it): one line on
stderr naming file:line:field, the documented exit code 2, no traceback."""

from __future__ import annotations

import os
from pathlib import Path

from e2e import ROOT, run_cli

FIXTURES = ROOT / "tests" / "fixtures"
INVENTORY = FIXTURES / "inventory" / "valid.yml"
INVISIBLE = "invisible, line-separator or bidi character"
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


def test_incident_and_reason_refuse_line_breaking_and_bidi_characters(tmp_path: Path) -> None:
    playbook = FIXTURES / "playbooks" / "every-action.yml"
    cases = [
        ("--incident", "INC-42\n[   1] forged", "newline not allowed in --incident"),
        ("--incident", "INC-42\u2028x", f"{INVISIBLE} U+2028 not allowed in --incident"),
        ("--reason", "ok\u0085x", "control character U+0085 not allowed in --reason"),
        ("--reason", "exe.\u202egnp", f"{INVISIBLE} U+202E not allowed in --reason"),
        ("--reason", "a\x1b[2Jb", "control character U+001B not allowed in --reason"),
    ]
    for flag, value, message in cases:
        result = run_cli("apply", "-i", str(INVENTORY), str(playbook), flag, value, "--yes",
                         state=tmp_path / "state")  # fmt: skip
        assert result.returncode == 2, result.stderr
        assert _one_error(result.stderr) == f"error: {message}"
        assert not (tmp_path / "state" / "runs").exists()
    result = run_cli("plan", "-i", str(INVENTORY), str(playbook), "--override", "edge",
                     "--reason", "x\u2029y", state=tmp_path / "state")  # fmt: skip
    assert result.returncode == 2
    assert _one_error(result.stderr) == f"error: {INVISIBLE} U+2029 not allowed in --reason"


def test_numbers_are_strict(tmp_path: Path) -> None:
    cases = {
        '"10 "': "VLAN id must be a decimal integer, got '10 '",
        "0x3E7": "VLAN id must be a decimal integer, got '0x3E7'",
        "01747": "VLAN id must be a decimal integer, got '01747'",
        "16:39": "VLAN id must be a decimal integer, got '16:39'",
        "9" * 5000: "must be 1..4094, got a 5000-digit number",
    }
    for value, message in cases.items():
        inventory = _inventory(tmp_path, "vlan: 10\n", f"vlan: {value}\n")
        result = run_cli("inventory", "check", "-i", str(inventory), state=tmp_path / "state")
        assert result.returncode == 2, result.stderr
        assert _one_error(result.stderr) == f"error: {inventory}:59: segments[1].vlan: {message}"


def test_unusable_input_paths_are_one_line_exit_2(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo.yml"
    os.mkfifo(fifo)
    (tmp_path / "loop1.yml").symlink_to(tmp_path / "loop2.yml")
    (tmp_path / "loop2.yml").symlink_to(tmp_path / "loop1.yml")
    big = tmp_path / "big.yml"
    with big.open("wb") as out:
        out.truncate(64 * 1024 * 1024 + 1)
    cases = {
        "~nosuchuser-isolate/city.yml": "cannot expand '~nosuchuser-isolate': no such user",
        "/dev/zero": "cannot read: not a regular file (a character device)",
        str(fifo): "cannot read: not a regular file (a FIFO)",
        str(tmp_path / "loop1.yml"): "cannot read: Too many levels of symbolic links",
        str(big): "cannot read: larger than 64 MiB",
    }
    for path, message in cases.items():
        for args in (["inventory", "check", "-i", path], ["playbook", "check", path],
                     ["plan", "-i", str(INVENTORY), path]):  # fmt: skip
            result = run_cli(*args, state=tmp_path / "state", timeout=60)
            assert result.returncode == 2, (args, result.stderr)
            assert _one_error(result.stderr) == f"error: {path}: {message}", args


def test_unusable_secret_files_are_one_line_exit_2(tmp_path: Path) -> None:
    fifo = tmp_path / "secret.fifo"
    os.mkfifo(fifo)
    playbook = FIXTURES / "playbooks" / "every-action.yml"
    cases = {
        "file:/dev/zero": "cannot read /dev/zero: not a regular file (a character device)",
        f"file:{fifo}": f"cannot read {fifo}: not a regular file (a FIFO)",
        "file:~nosuchuser-isolate/s": (
            "cannot read ~nosuchuser-isolate/s: cannot expand '~nosuchuser-isolate': no such user"
        ),
    }
    for ref, message in cases.items():
        inventory = _inventory(tmp_path, "file:secrets.yml#password", ref)
        result = run_cli("apply", "-i", str(inventory), str(playbook), "--check", "--yes",
                         state=tmp_path / "state", timeout=60)  # fmt: skip
        assert result.returncode == 2, result.stderr
        prefix = f"error: core1: credentials 'lab': credential reference {ref!r}: "
        assert _one_error(result.stderr) == prefix + message
