"""`isolate inventory check` and `isolate playbook check` through the real CLI entry point."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import isolate.cli as cli

FIXTURES = Path(__file__).parent.parent / "fixtures"
INVENTORY = FIXTURES / "inventory" / "valid.yml"
PLAYBOOK = FIXTURES / "playbooks" / "valid.yml"

Run = Callable[[list[str]], tuple[int, str, str]]
_REGISTERED = {"done": False}


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Run:
    """``run(args) -> (exit code, stdout, stderr)`` through ``isolate.cli.main`` in-process,
    the command groups registered once."""
    if not _REGISTERED["done"]:
        cli._register_all()
        _REGISTERED["done"] = True
    monkeypatch.setattr(cli, "_register_all", lambda: None)

    def invoke(args: list[str]) -> tuple[int, str, str]:
        capsys.readouterr()
        code: int | str | None = 0
        try:
            cli.main(args)
        except SystemExit as exc:
            code = exc.code
        out, err = capsys.readouterr()
        return (code if isinstance(code, int) else 0), out, err

    return invoke


def test_inventory_check_ok(run: Run) -> None:
    code, out, err = run(["inventory", "check", "-i", str(INVENTORY)])
    assert code == 0, err
    assert out.startswith(f"{INVENTORY}: OK: 4 devices, 4 segments, 5 hosts, 1 groups, 2 VPN users (sha256 ")


def test_inventory_check_reports_every_error(tmp_path: Path, run: Run) -> None:
    bad = tmp_path / "city.yml"
    text = INVENTORY.read_text().replace("vlan: 10\n", "vlan: 4095\n").replace("port: 20002", "port: 70000")
    bad.write_text(text)
    code, out, err = run(["inventory", "check", "-i", str(bad)])
    assert code == 2
    assert out == ""
    assert err.splitlines() == [
        f"error: {bad}:30: devices[1].port: must be 1..65535, got 70000",
        f"error: {bad}:59: segments[1].vlan: must be 1..4094, got 4095",
    ]


def test_inventory_default_path_from_env(run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ISOLATE_INVENTORY", str(INVENTORY))
    code, out, _ = run(["inventory", "check"])
    assert code == 0 and "OK" in out


def test_playbook_check_with_inventory(run: Run) -> None:
    code, out, err = run(["playbook", "check", str(PLAYBOOK), "-i", str(INVENTORY)])
    assert code == 0, err
    assert out.splitlines() == [
        f"{PLAYBOOK}: OK: playbook 'ransomware-lateral', 4 steps",
        "  cut-smb (block-smb): 3 segments",
        "  quarantine-infected (quarantine): 1 host",
        "  revoke-contractors (revoke-vpn): 1 VPN user",
        "  edge (edge-block): 1 device, 1 prefix",
    ]


def test_playbook_check_unknown_target(tmp_path: Path, run: Run) -> None:
    book = tmp_path / "p.yml"
    book.write_text(PLAYBOOK.read_text().replace("[ws-17]", "[ws-99]"))
    code, _, err = run(["playbook", "check", str(book), "-i", str(INVENTORY)])
    assert code == 2
    assert err.splitlines() == [
        f"error: {book}:14: steps[1].targets.hosts[0]: no host 'ws-99' in the inventory "
        "(did you mean 'ws-17'?)"
    ]


def test_playbook_check_bad_action(tmp_path: Path, run: Run) -> None:
    book = tmp_path / "p.yml"
    book.write_text(PLAYBOOK.read_text().replace("action: quarantine", "action: quarantin"))
    code, _, err = run(["playbook", "check", str(book)])
    assert code == 2
    assert err.startswith(
        f"error: {book}:13: steps[1].action: unknown action 'quarantin' (did you mean 'quarantine'?)"
    )


def test_playbook_check_validates_params(tmp_path: Path, run: Run) -> None:
    book = tmp_path / "p.yml"
    book.write_text(
        "version: 1\nname: x\nsteps:\n"
        "  - id: a\n    action: quarantine\n    targets: {hosts: [ws-17]}\n    params: {vlan: 4095}\n"
        "  - id: b\n    action: edge-block\n    targets: {devices: [fw-edge]}\n"
        "    params: {prefixes: ['10.0.0.1/8; reload']}\n"
    )
    code, _, err = run(["playbook", "check", str(book)])
    assert code == 2
    assert err.splitlines() == [
        f"error: {book}:7: steps[0].params.vlan: must be 1..4094, got 4095",
        f"error: {book}:11: steps[1].params.prefixes[0]: ';' not allowed in prefix: '10.0.0.1/8; reload'",
    ]


def test_help_has_an_example(run: Run) -> None:
    code, out, _ = run(["inventory", "check", "--help"])
    assert code == 0
    assert "isolate inventory check -i inventory/city.yml" in out


@settings(
    max_examples=10,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    arg=st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=20).map(
        lambda a: "x" + a + ";reload\n$(id)"
    )
)
def test_hostile_cli_arguments(tmp_path: Path, run: Run, arg: str) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("version: 1\nname: x\nsteps: []\n")
    for args in (
        ["playbook", "check", arg],
        ["inventory", "check", "-i", arg],
        ["playbook", "check", str(bad)],
    ):
        code, _, err = run(args)
        assert code == 2, err
        assert "internal error" not in err and "Traceback" not in err
        assert all(line.startswith("error: ") for line in err.splitlines()), err


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
