"""Incident parameters through the real command line (`isolate plan/apply/playbook check
--set`): values validated like inventory values, one-line errors naming the parameter
(exit 2), the plan and its JSON showing them, and the shipped playbook planning on an
inventory that has no VPN and no host tagged attacker or infected."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from isolate.cli import main

ROOT = Path(__file__).resolve().parents[2]
CITY = str(ROOT / "tests" / "plan" / "data" / "city.yml")
LATERAL = str(ROOT / "playbooks" / "ransomware-lateral.yml")


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> subprocess.CompletedProcess[str]:
    with pytest.raises(SystemExit) as info:
        main(list(args))
        raise SystemExit(0)
    out, err = capsys.readouterr()
    code = info.value.code if isinstance(info.value.code, int) else 0
    return subprocess.CompletedProcess(list(args), code, out, err)


def test_set_values_reach_the_plan(capsys: pytest.CaptureFixture[str]) -> None:
    done = _cli(
        capsys, "plan", "-i", CITY, LATERAL, "--set", "infected=10.10.100.12",
        "--set", "attacker=203.0.113.0/24,198.51.100.7", "--set", "vpn_users=alice", "--json",
    )
    assert done.returncode == 0, done.stderr
    plan = json.loads(done.stdout)
    params = {p["name"]: p for p in plan["parameters"]}
    assert params["infected"] == {
        "name": "infected", "type": "host", "given": ["10.10.100.12"], "resolved": ["ws-02"],
        "source": "--set",
    }
    assert params["attacker"]["resolved"] == ["203.0.113.0/24", "198.51.100.7/32"]
    assert params["quarantine_vlan"]["source"] == "default"
    steps = {s["id"]: s for s in plan["steps"]}
    assert [p["host"] for p in steps["quarantine-infected"]["changes"][0]["item"]["ports"]] == ["ws-02"]
    assert steps["block-attacker"]["changes"][0]["item"]["prefixes"] == ["198.51.100.7/32", "203.0.113.0/24"]
    assert steps["revoke-vpn"]["changes"][0]["item"]["users"] == ["alice"]
    text = _cli(
        capsys, "plan", "-i", CITY, LATERAL, "--set", "infected=ws-02", "--set", "quarantine_vlan=998"
    )
    assert "parameter infected (host, --set): ws-02\n" in text.stdout
    assert "-> vlan 998" in text.stdout


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("attacker=203.0.113.300/24",
         "--set attacker=203.0.113.300/24: not an IP prefix: '203.0.113.300/24'"),
        ("attacker=10.0.0.1/8", "--set attacker=10.0.0.1/8: host bits set in prefix '10.0.0.1/8'"),
        ("infected=ws-17;reload",
         "--set infected=ws-17;reload: ';' not allowed in host name: 'ws-17;reload'"),
        # an address the inventory does not map is located on the network (tests/cli/test_locate.py);
        # here the devices' credentials are not set, so locating fails before any connection
        ("infected=10.10.100.99", "--set infected=10.10.100.99: not in the inventory; locating it failed: "
         "acc1: credentials 'lab': credential reference 'env:ISOLATE_TEST_PASSWORD': environment "
         "variable ISOLATE_TEST_PASSWORD is not set"),
        ("infected=tag:nope", "--set infected=tag:nope: no host with tag 'nope' in the inventory"),
        ("quarantine_vlan=5000", "--set quarantine_vlan=5000: must be 1..4094, got 5000"),
        ("vpn_users=mallory", "--set vpn_users=mallory: no VPN user 'mallory' in the inventory (vpn.users)"),
        ("attackr=1.2.3.4", "--set attackr: no parameter 'attackr' in playbook ransomware-lateral (known: "),
        ("infected", "--set 'infected': expected NAME=VALUE"),
    ],
)
def test_bad_values_are_one_line_naming_the_parameter(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, option: str, message: str
) -> None:
    monkeypatch.delenv("ISOLATE_TEST_PASSWORD", raising=False)
    done = _cli(capsys, "plan", "-i", CITY, LATERAL, "--set", option)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith(f"error: {message}"), done.stderr


def _without_vpn_and_tags(tmp_path: Path) -> Path:
    """The test city with no VPN segment, users or concentrator, and no tagged host."""
    data = yaml.safe_load(Path(CITY).read_text())
    data["devices"] = [d for d in data["devices"] if d["name"] != "vpn1"]
    data["groups"] = [g for g in data.get("groups", []) if g["name"] != "vpn"]
    data["segments"] = [s for s in data["segments"] if s["name"] != "vpn"]
    data["hosts"] = [h for h in data["hosts"] if h["segment"] != "vpn"]
    for host in data["hosts"]:
        host["tags"] = [t for t in host.get("tags", []) if t not in ("attacker", "infected")]
    data.pop("vpn", None)
    path = tmp_path / "novpn.yml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_shipped_playbook_plans_without_vpn_or_tags(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    inventory = str(_without_vpn_and_tags(tmp_path))
    done = _cli(capsys, "plan", "-i", inventory, LATERAL)
    assert done.returncode == 0, done.stderr
    assert "plan ransomware-lateral on inventory city: 1 step(s)" in done.stdout
    assert (
        "note: step block-attacker left out: parameter attacker is empty (--set attacker=PREFIX)"
        in done.stdout
    )
    note = "note: step revoke-vpn left out: parameter vpn_users is empty (--set vpn_users=USER)"
    assert note in done.stdout
    with_values = _cli(
        capsys, "plan", "-i", inventory, LATERAL, "--set", "infected=10.10.100.17",
        "--set", "attacker=203.0.113.66",
    )
    assert with_values.returncode == 0, with_values.stderr
    assert "3 step(s)" in with_values.stdout
    assert "port acc3 GigabitEthernet1/0/17 (ws-17) -> vlan 999" in with_values.stdout
    checked = _cli(capsys, "playbook", "check", LATERAL, "-i", inventory, "--set", "attacker=203.0.113.66")
    assert checked.returncode == 0, checked.stderr
    assert "  block-attacker (edge-block): 1 prefix" in checked.stdout
    assert "  note: step quarantine-infected left out: parameter infected is empty" in checked.stdout


def test_playbook_naming_an_undeclared_parameter_is_refused_at_load(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    book = tmp_path / "bad.yml"
    book.write_text(
        "version: 1\nname: bad\nparameters:\n  infected: {type: host}\n  vlan: {type: vlan, default: 4095}\n"
        "steps:\n  - id: q\n    action: quarantine\n    targets: {parameters: [infectd]}\n"
    )
    done = _cli(capsys, "playbook", "check", str(book))
    assert done.returncode == 2
    assert "parameters.vlan" in done.stderr and "4095" in done.stderr, done.stderr
    book.write_text(
        "version: 1\nname: bad\nparameters:\n  infected: {type: host}\n"
        "steps:\n  - id: q\n    action: quarantine\n    targets: {parameters: [infectd]}\n"
    )
    done = _cli(capsys, "playbook", "check", str(book))
    assert done.returncode == 2
    where = f"{book}:8: steps[0].targets.parameters[0]"
    assert done.stderr == f"error: {where}: no parameter 'infectd' declared\n"
