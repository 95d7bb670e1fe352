"""`isolate inventory check` and `isolate playbook check` through the real CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from isolate.cli import main

FIXTURES = Path(__file__).parent.parent / "fixtures"
INVENTORY = FIXTURES / "inventory" / "valid.yml"
PLAYBOOK = FIXTURES / "playbooks" / "valid.yml"


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(args)
        raise SystemExit(0)
    out, err = capsys.readouterr()
    code = info.value.code
    return (code if isinstance(code, int) else 0), out, err


def test_inventory_check_ok(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["inventory", "check", "-i", str(INVENTORY)], capsys)
    assert code == 0, err
    assert out.startswith(f"{INVENTORY}: OK: 4 devices, 4 segments, 5 hosts, 1 groups, 2 VPN users (sha256 ")


def test_inventory_check_reports_every_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "city.yml"
    bad.write_text(
        INVENTORY.read_text().replace("vlan: 10\n", "vlan: 4095\n").replace("port: 20002", "port: 70000")
    )
    code, out, err = run(["inventory", "check", "-i", str(bad)], capsys)
    assert code == 2
    assert out == ""
    assert err.splitlines() == [
        f"error: {bad}:30: devices[1].port: must be 1..65535, got 70000",
        f"error: {bad}:59: segments[1].vlan: must be 1..4094, got 4095",
    ]
    assert "Traceback" not in err


def test_inventory_default_path_from_env(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ISOLATE_INVENTORY", str(INVENTORY))
    code, out, _ = run(["inventory", "check"], capsys)
    assert code == 0 and "OK" in out


def test_playbook_check_with_inventory(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["playbook", "check", str(PLAYBOOK), "-i", str(INVENTORY)], capsys)
    assert code == 0, err
    assert out.splitlines() == [
        f"{PLAYBOOK}: OK: playbook 'ransomware-lateral', 4 steps",
        "  cut-smb (block-smb): 3 segments",
        "  quarantine-infected (quarantine): 1 host",
        "  revoke-contractors (revoke-vpn): 1 VPN user",
        "  edge (edge-block): 1 device",
    ]


def test_playbook_check_unknown_target(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    book = tmp_path / "p.yml"
    book.write_text(PLAYBOOK.read_text().replace("[ws-17]", "[ws-99]"))
    code, _, err = run(["playbook", "check", str(book), "-i", str(INVENTORY)], capsys)
    assert code == 2
    assert err.splitlines() == [
        f"error: {book}:14: steps[1].targets.hosts[0]: no host 'ws-99' in the inventory "
        "(did you mean 'ws-17'?)"
    ]


def test_playbook_check_bad_action(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    book = tmp_path / "p.yml"
    book.write_text(PLAYBOOK.read_text().replace("action: quarantine", "action: quarantin"))
    code, _, err = run(["playbook", "check", str(book)], capsys)
    assert code == 2
    assert err.startswith(
        f"error: {book}:13: steps[1].action: unknown action 'quarantin' (did you mean 'quarantine'?)"
    )


def test_help_has_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["inventory", "check", "--help"], capsys)
    assert code == 0
    assert "isolate inventory check -i inventory/city.yml" in out


def test_subprocess_exit_code(tmp_path: Path) -> None:
    bad = tmp_path / "city.yml"
    bad.write_text("version: 1\nname: [\n")
    proc = subprocess.run(
        [sys.executable, "-m", "isolate", "inventory", "check", "-i", str(bad)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith(f"error: {bad}:3: YAML syntax error: ")
