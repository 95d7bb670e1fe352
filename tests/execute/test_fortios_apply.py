"""A FortiGate contained and restored through the CLI, on the embedded lab (HTTPS, real REST):
deny policies above the allow policies (read back), revoked users' SSL-VPN sessions ended
while the others' stay, the FortiGate read back identical after restore."""

from __future__ import annotations

import json
import ssl
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from e2e import run_cli

from isolate.lab.faults import make_fault
from isolate.lab.flows import flows_from_state_dir
from isolate.lab.process import LabHandle, advance_clock, set_fault, start_lab

TOPOLOGY = Path(__file__).parents[1] / "lab" / "fortigate.yml"
PLAYBOOK = """
version: 1
name: fortigate-containment
steps:
  - {id: cut-smb, action: block-smb, targets: {segments: [servers, users]}}
  - {id: edge, action: edge-block, targets: {hosts: [attacker]}}
  - {id: revoke, action: revoke-vpn, targets: {users: [alice, dave]}}
"""


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabHandle]:
    handle = start_lab(tmp_path_factory.mktemp("lab"), TOPOLOGY)
    try:
        yield handle
    finally:
        handle.stop()


def rest(lab: LabHandle, path: str) -> Any:
    """What an admin's REST client reads, the certificate verified against the lab's."""
    context = ssl.create_default_context(cafile=str(lab.state_dir / "fortios_cert.pem"))
    request = urllib.request.Request(f"https://127.0.0.1:{lab.port('fgt1')}{path}",
                                     headers={"Authorization": f"Bearer {lab.credentials.token}"})
    with urllib.request.urlopen(request, context=context, timeout=10) as answer:
        return json.loads(answer.read())["results"]


def read_all(lab: LabHandle) -> dict[str, Any]:
    tables = ("firewall/address", "firewall/addrgrp", "firewall.service/custom",
              "firewall/policy", "user/local", "user/group")
    return {t: rest(lab, f"/api/v2/cmdb/{t}") for t in tables}


def sessions(lab: LabHandle) -> set[str]:
    return {s["user_name"] for s in rest(lab, "/api/v2/monitor/vpn/ssl")}


def test_contain_and_restore_a_fortigate(lab: LabHandle, tmp_path: Path) -> None:
    state = tmp_path / "state"
    playbook = tmp_path / "fortigate.yml"
    playbook.write_text(PLAYBOOK)
    inventory = str(lab.inventory)
    before = read_all(lab)
    assert sessions(lab) == {"alice", "bob", "dave"}
    flows = flows_from_state_dir(lab.state_dir)
    assert flows.allowed("ws-17", "fs1", 445) and flows.allowed("attacker", "fs1", 443)

    plan = run_cli("plan", "-i", inventory, str(playbook), "--detail", state=state)
    assert plan.returncode == 0, plan.stderr
    assert "no device-owned revert on fgt1 (fortios)" in plan.stdout
    assert 'create firewall/policy {"name":"isolate-cut-smb"' in plan.stdout
    assert "move isolate-cut-smb top" in plan.stdout
    said = " ".join(plan.stdout.split())
    assert ("dave: authenticated by the directory (RADIUS/LDAP/SAML), not on the concentrator: isolate "
            "takes them out of every FortiGate user group listing them (so the SSL-VPN no longer admits "
            "them; restore puts them back) and logs their sessions off") in said
    assert "or they can log in again" not in said  # true of an ASA, not of a FortiGate

    applied = run_cli("apply", "-i", inventory, str(playbook), "--yes", state=state)
    assert applied.returncode == 0, applied.stdout[-2000:] + applied.stderr

    policies = rest(lab, "/api/v2/cmdb/firewall/policy")
    names = [p["name"] for p in policies]
    assert names[:3] == ["isolate-edge-in", "isolate-edge-out", "isolate-cut-smb"]  # each step on top
    assert names.index("isolate-cut-smb") < names.index("inside-to-inside")
    assert names.index("isolate-edge-in") < names.index("internet-to-dmz")
    assert all(p["action"] == "deny" for p in policies if p["name"].startswith("isolate-"))
    smb = rest(lab, "/api/v2/cmdb/firewall.service/custom/isolate-cut-smb-smb")[0]
    assert (smb["tcp-portrange"], smb["udp-portrange"]) == ("139 445", "137-138")
    users = {u["name"]: u for u in rest(lab, "/api/v2/cmdb/user/local")}
    assert users["alice"]["status"] == "disable" and users["bob"]["status"] == "enable"
    staff = rest(lab, "/api/v2/cmdb/user/group/staff")[0]
    assert [m["name"] for m in staff["member"]] == ["alice", "bob"]  # dave (remote) left it
    assert sessions(lab) == {"bob"}
    advance_clock(lab.state_dir, 7200)  # the clients retry (due in 3600 s): the revoked ones are refused
    assert sessions(lab) == {"bob"}
    flows = flows_from_state_dir(lab.state_dir)
    assert not flows.allowed("ws-17", "fs1", 445) and flows.allowed("ws-17", "fs1", 443)
    assert not flows.allowed("attacker", "fs1", 443)
    assert not flows.allowed("vpn-alice", "fs1", 443) and flows.allowed("vpn-bob", "fs1", 443)

    restored = run_cli("restore", "--yes", state=state)
    assert restored.returncode == 0, restored.stdout[-2000:] + restored.stderr
    after = read_all(lab)
    for table, rows in before.items():
        assert after[table] == rows, table  # the same objects, ids, uuids and policy order
    again = run_cli("restore", "--yes", state=state)
    assert again.returncode == 0, again.stderr
    advance_clock(lab.state_dir, 14400)  # past the refused clients' next retry (due 10800 s ahead)
    assert sessions(lab) == {"alice", "bob", "dave"}
    verify = run_cli("journal", "verify", "last", state=state)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    token = lab.credentials.token.encode()
    assert not [p for p in state.rglob("*") if p.is_file() and token in p.read_bytes()]


SEGMENT_ACL = """
version: 1
name: fortigate-segments
steps:
  - id: seal
    action: segment-acl
    targets: {segments: [servers, users]}
    params: {allow: [{service: https}], allow_from: [management]}
"""


def test_segment_acl_denies_all_but_the_allowed_services_then_restores(
    lab: LabHandle, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    playbook = tmp_path / "segments.yml"
    playbook.write_text(SEGMENT_ACL)
    before = read_all(lab)
    applied = run_cli("apply", "-i", str(lab.inventory), str(playbook), "--yes", state=state)
    assert applied.returncode == 0, applied.stdout[-2000:] + applied.stderr
    policies = {p["name"]: p for p in rest(lab, "/api/v2/cmdb/firewall/policy")}
    names = list(policies)
    assert names[:2] == ["isolate-seal", "isolate-seal-h1"]
    seal = policies["isolate-seal"]
    assert seal["action"] == "deny" and [s["name"] for s in seal["service"]] == ["ALL"]
    host = policies["isolate-seal-h1"]
    assert host["service-negate"] == "enable"
    assert [s["name"] for s in host["service"]] == ["isolate-seal-tcp-443"]
    assert [a["name"] for a in host["dstaddr"]] == ["isolate-seal-10.10.10.11-32"]
    flows = flows_from_state_dir(lab.state_dir)
    assert not flows.allowed("ws-17", "fs1", 445) and not flows.allowed("fs1", "ws-17", 445)
    assert flows.allowed("ws-17", "fs1", 443)  # the allowed service, left to the allow policy
    assert flows.allowed("admin1", "fs1", 445)  # management is not one of the segments
    restored = run_cli("restore", "--yes", state=state)
    assert restored.returncode == 0, restored.stdout[-2000:] + restored.stderr
    assert read_all(lab) == before


def test_isolates_own_window_restores_the_fortigate_when_not_kept(
    lab: LabHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No device-owned revert on FortiOS: --expires is the window; time moved by the test
    clock hook (ISOLATE_TEST_CLOCK), never by sleeping."""
    clock = tmp_path / "clock"
    clock.write_text("0")
    monkeypatch.setenv("ISOLATE_TEST_CLOCK", str(clock))
    state = tmp_path / "state"
    playbook = tmp_path / "fortigate.yml"
    playbook.write_text(PLAYBOOK)
    before = read_all(lab)
    applied = run_cli("apply", "-i", str(lab.inventory), str(playbook), "--expires", "10m", "--yes",
                      state=state)
    assert applied.returncode == 0, applied.stdout[-2000:] + applied.stderr
    assert read_all(lab) != before
    early = run_cli("expire", state=state)
    assert early.returncode == 0, early.stderr
    assert read_all(lab) != before  # not due yet
    clock.write_text("660")
    fired = run_cli("expire", state=state)
    assert fired.returncode == 0, fired.stdout + fired.stderr
    assert read_all(lab) == before


def variant(lab: LabHandle, tmp_path: Path, *, token_key: str = "token",
            tls: dict[str, str] | None = None) -> str:
    """The lab inventory with its references made absolute and the FortiGate's TLS or token
    reference changed."""
    data = yaml.safe_load(lab.inventory.read_text())
    secrets = lab.state_dir / "secrets.yml"
    data["known_hosts"] = str(lab.state_dir / "known_hosts")
    for creds in data["credentials"].values():
        for slot in ("password", "enable", "token"):
            if slot in creds:
                creds[slot] = f"file:{secrets}#{slot}"
    data["credentials"]["lab-api"]["token"] = f"file:{secrets}#{token_key}"
    fgt = next(d for d in data["devices"] if d["name"] == "fgt1")
    if tls is None:
        fgt.pop("tls")
    else:
        fgt["tls"] = tls
    path = tmp_path / "inventory.yml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return str(path)


def test_the_certificate_and_the_token_are_checked_in_one_line(lab: LabHandle, tmp_path: Path) -> None:
    playbook = tmp_path / "fortigate.yml"
    playbook.write_text(PLAYBOOK)
    fingerprint = yaml.safe_load(lab.inventory.read_text())["devices"][1]["tls"]["fingerprint"]
    assert len(fingerprint) == 95
    wrong = ":".join(["00"] * 32)
    cases = [
        ({"fingerprint": wrong}, "token",
         "fgt1: GET /api/v2/monitor/system/status: the HTTPS certificate does not match the pinned "
         "fingerprint (possible impersonation; check the device, then tls.fingerprint)"),
        (None, "token", "fgt1: no way to verify its HTTPS certificate: set 'tls: {fingerprint: …}' or "
         "'tls: {ca_file: …}' on the device in the inventory"),
        ({"fingerprint": fingerprint}, "password",
         "fgt1: GET /api/v2/monitor/system/status: HTTP 401, the API token was refused"),
    ]
    for index, (tls, token_key, message) in enumerate(cases):
        where = tmp_path / f"case{index}"
        where.mkdir()
        inventory = variant(lab, where, token_key=token_key, tls=tls)
        result = run_cli("apply", "-i", inventory, str(playbook), "--yes", state=where / "state")
        assert result.returncode == 3, result.stdout[-1500:] + result.stderr
        assert message in result.stdout + result.stderr
        assert "Traceback" not in result.stderr
    ca = variant(lab, tmp_path, tls={"ca_file": str(lab.state_dir / "fortios_cert.pem")})
    checked = run_cli("apply", "-i", ca, str(playbook), "--check", state=tmp_path / "state")
    assert checked.returncode == 0, checked.stdout[-1500:] + checked.stderr


def test_inventory_check_resolves_the_token_reference(lab: LabHandle, tmp_path: Path) -> None:
    inventory = variant(lab, tmp_path, token_key="no_such_key",
                        tls={"fingerprint": "sha256:" + "ab" * 32})
    result = run_cli("inventory", "check", "-i", inventory, state=tmp_path / "state")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "credentials.lab-api.token" in result.stderr and "no_such_key" in result.stderr
    bad = variant(lab, tmp_path, tls={"fingerprint": "12:34"})
    loaded = run_cli("inventory", "check", "-i", bad, "--no-credentials", state=tmp_path / "state")
    assert loaded.returncode == 2
    assert "devices[1].tls.fingerprint: must be a SHA-256 fingerprint" in loaded.stderr


LONG_STEP = """
version: 1
name: fortigate-long-step
steps:
  - id: block-the-attacker-at-the-city-edge-now
    action: edge-block
    targets: {hosts: [attacker]}
"""


def test_policy_names_fit_fortios_limit(lab: LabHandle, tmp_path: Path) -> None:
    state = tmp_path / "state"
    playbook = tmp_path / "long.yml"
    playbook.write_text(LONG_STEP)
    before = read_all(lab)
    applied = run_cli("apply", "-i", str(lab.inventory), str(playbook), "--yes", state=state)
    assert applied.returncode == 0, applied.stdout[-2000:] + applied.stderr
    names = [p["name"] for p in rest(lab, "/api/v2/cmdb/firewall/policy")][:2]
    assert all(n.startswith("isolate-block-the-attacker") and len(n) == 35 for n in names), names
    assert len(set(names)) == 2
    restored = run_cli("restore", "--yes", state=state)
    assert restored.returncode == 0, restored.stdout[-2000:] + restored.stderr
    assert read_all(lab) == before


SMB_ONLY = """
version: 1
name: fortigate-smb
steps:
  - {id: cut-smb, action: block-smb, targets: {segments: [servers, users]}}
"""


def test_a_refused_move_stops_the_step_in_one_line_and_restore_cleans_up(
    lab: LabHandle, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    playbook = tmp_path / "smb.yml"
    playbook.write_text(SMB_ONLY)
    before = read_all(lab)
    set_fault(lab.state_dir, "fgt1", make_fault("reject", pattern=r"action=move"))
    try:
        applied = run_cli("apply", "-i", str(lab.inventory), str(playbook), "--yes", state=state)
    finally:
        set_fault(lab.state_dir, "fgt1", make_fault("clear"))
    out = applied.stdout + applied.stderr
    assert applied.returncode == 1, out[-2000:]
    assert ("fgt1: 'move isolate-cut-smb top' rejected: PUT /api/v2/cmdb/firewall/policy/") in out
    assert "HTTP 500, FortiOS error -651 (input value is invalid)" in out
    names = [p["name"] for p in rest(lab, "/api/v2/cmdb/firewall/policy")]
    assert names[-1] == "isolate-cut-smb"  # created, never moved: below the allow policies
    restored = run_cli("restore", "--yes", state=state)
    assert restored.returncode == 0, restored.stdout[-2000:] + restored.stderr
    assert read_all(lab) == before
