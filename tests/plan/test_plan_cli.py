"""`isolate plan` through the real command line: identical bytes twice, JSON that parses,
--out, one-line refusals with exit 6, bad input exit 2, overrides shown."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from isolate.cli import main

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).resolve().parents[2]
INVENTORY = str(DATA / "city.yml")


def _isolate(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "isolate", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )


def _inproc(capsys: pytest.CaptureFixture[str], *args: str) -> subprocess.CompletedProcess[str]:
    """The same CLI entry point, in this process (faster than a subprocess)."""
    with pytest.raises(SystemExit) as info:
        main(list(args))
        raise SystemExit(0)
    out, err = capsys.readouterr()
    code = info.value.code if isinstance(info.value.code, int) else 0
    return subprocess.CompletedProcess(list(args), code, out, err)


def test_plan_text_twice_identical() -> None:
    first = _isolate("plan", "-i", INVENTORY, str(ROOT / "playbooks" / "ransomware-lateral.yml"), "--detail")
    second = _isolate("plan", "-i", INVENTORY, str(ROOT / "playbooks" / "ransomware-lateral.yml"), "--detail")
    assert first.returncode == 0, first.stderr
    assert first.stdout == second.stdout
    out = first.stdout
    assert "step 1/4 cut-smb: block-smb on 2 device(s)" in out
    assert "    ip access-group ISOLATE-CUT-SMB in" in out
    assert "    (exec) vpn-sessiondb logoff name carol noconfirm" in out
    assert "port acc3 GigabitEthernet1/0/17 (ws-17) -> vlan 999" in out
    assert "management path: kept" in out
    assert "  ec1 civil-status 443/tcp: kept for" in out


def test_plan_json_twice_identical_and_out(tmp_path: Path) -> None:
    saved = tmp_path / "plan.json"
    first = _isolate(
        "plan", "-i", INVENTORY, str(ROOT / "playbooks" / "drill.yml"), "--json", "--out", str(saved)
    )
    second = _isolate("plan", "-i", INVENTORY, str(ROOT / "playbooks" / "drill.yml"), "--json")
    assert first.returncode == 0, first.stderr
    assert first.stdout == second.stdout == saved.read_text(encoding="utf-8")
    data = json.loads(first.stdout)
    assert [s["id"] for s in data["steps"]] == ["drill-smb", "drill-quarantine"]
    assert data["steps"][1]["changes"][0]["item"]["action"] == "quarantine"


def test_refused_is_one_line_exit_6_and_override_passes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    refused = _inproc(capsys, "plan", "-i", INVENTORY, str(ROOT / "playbooks" / "full-isolation.yml"))
    assert refused.returncode == 6
    assert refused.stdout == ""
    assert refused.stderr.count("\n") == 1
    assert refused.stderr.startswith("error: step 'cut-all' refused: on fw-int it would cut ")
    assert refused.stderr.rstrip().endswith("use --override cut-all --reason TEXT to force")
    forced = _inproc(
        capsys,
        "plan",
        "-i",
        INVENTORY,
        str(ROOT / "playbooks" / "full-isolation.yml"),
        "--override",
        "cut-all",
        "--override",
        "cut-internet",
        "--reason",
        "INC-42 drill comparison",
    )
    assert forced.returncode == 0, forced.stderr
    assert "OVERRIDE step cut-all (protected-service): on fw-int it cuts" in forced.stdout
    assert "reason: INC-42 drill comparison" in forced.stdout


def test_bad_input_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    missing = _inproc(capsys, "plan", "-i", INVENTORY, str(ROOT / "playbooks" / "nope.yml"))
    assert missing.returncode == 2
    no_reason = _inproc(
        capsys,
        "plan",
        "-i",
        INVENTORY,
        str(ROOT / "playbooks" / "full-isolation.yml"),
        "--override",
        "cut-all",
    )
    assert no_reason.returncode == 2
    assert no_reason.stderr == "error: --override needs --reason TEXT (why forcing it is safe)\n"
    hostile = _inproc(
        capsys,
        "plan",
        "-i",
        INVENTORY,
        str(ROOT / "playbooks" / "full-isolation.yml"),
        "--override",
        "cut-all",
        "--reason",
        "x\nreload",
    )
    assert hostile.returncode == 2
    assert "Traceback" not in hostile.stderr


def test_help_has_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    helped = _inproc(capsys, "plan", "--help")
    assert helped.returncode == 0
    assert "isolate plan -i inventory/city.yml playbooks/ransomware-lateral.yml" in helped.stdout
