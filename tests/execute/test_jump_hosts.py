"""Devices behind two SSH jump hosts (inventory ``via:``), end to end through the CLI on the
embedded lab: real OpenSSH sshd jump hosts on 127.0.0.2 and 127.0.0.3, each with its own key
(credentials by reference) and host key (checked at every hop), hop 1 forwarding only to hop 2
and hop 2 only to the devices behind it. core2 (CLI, ``via`` on the device) and the two Linux
firewalls (exec channels, ``via`` on their group) are planned, applied and restored through
both hops, over both CLI transports; a hop that fails is named in one line."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from e2e import PLAYBOOKS, newest_run, read_all, records, run_cli
from jumphosts import JumpHost, forwarded_to, needs_sshd, start_jump

from isolate.lab.process import LabHandle

pytestmark = pytest.mark.root  # the jump hosts are real sshd (root: a private /run for each)
BEHIND = ("core2", "fw-edge", "fw-int")  # core2: via on the device; the firewalls: via on their group
CUT_USERS = """version: 1
name: cut-users
description: SMB between users and museums (their gateway is core2)
steps:
  - {id: cut-users, action: block-smb, targets: {segments: [users, museums]}}
"""


@pytest.fixture(scope="module")
def jumps(lab: LabHandle, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[JumpHost, JumpHost]]:
    needs_sshd()
    where = tmp_path_factory.mktemp("jumps")
    second = start_jump("j2", "127.0.0.3", where, [("127.0.0.1", lab.port(d)) for d in BEHIND])
    try:
        first = start_jump("j1", "127.0.0.2", where, [("127.0.0.3", second.port)])
    except BaseException:
        second.stop()
        raise
    try:
        yield first, second
    finally:
        first.stop()
        second.stop()


def _inventory(lab: LabHandle, jumps: tuple[JumpHost, JumpHost], where: Path, **change: Any) -> Path:
    """The lab's inventory with the jump hosts; ``change`` edits it (keys: known_hosts_of,
    key_of, core2_via)."""
    data = yaml.safe_load((lab.state_dir / "inventory.yml").read_text())
    first, second = jumps
    keys = change.get("key_of", {})
    data["credentials"]["jump1"] = {"username": "root", "key_file": str(keys.get("j1", first.key_file))}
    data["credentials"]["jump2"] = {"username": "root", "key_file": str(keys.get("j2", second.key_file))}
    data["jump_hosts"] = [
        {"name": j.name, "host": j.address, "port": j.port, "credentials": f"jump{i}"}
        for i, j in enumerate(jumps, start=1)
    ]
    for device in data["devices"]:
        if device["name"] == "core2":
            device["via"] = change.get("core2_via", ["j1", "j2"])
    data.setdefault("groups", [])
    firewalls = next((g for g in data["groups"] if g["name"] == "firewalls"), None)
    if firewalls is None:
        data["groups"].append({"name": "firewalls", "via": ["j1", "j2"]})
    else:
        firewalls["via"] = ["j1", "j2"]
    where.mkdir(parents=True, exist_ok=True)
    (where / "inventory.yml").write_text(yaml.safe_dump(data, sort_keys=False))
    (where / "secrets.yml").write_bytes((lab.state_dir / "secrets.yml").read_bytes())
    listed = change.get("known_hosts_of", jumps)
    (where / "known_hosts").write_text(
        (lab.state_dir / "known_hosts").read_text() + "".join(j.known_hosts_line() for j in listed)
    )
    return where / "inventory.yml"


@pytest.mark.parametrize("transport", ["asyncssh", "netmiko"])
def test_devices_behind_two_jump_hosts_planned_applied_and_restored(
    lab: LabHandle, jumps: tuple[JumpHost, JumpHost], tmp_path: Path, transport: str
) -> None:
    inv = str(_inventory(lab, jumps, tmp_path / "inv"))
    playbook = str(PLAYBOOKS / "ransomware-lateral.yml")
    state = tmp_path / "state"
    before = read_all(lab.state_dir, list(BEHIND))
    seen_before = {j.name: len(forwarded_to(j)) for j in jumps}

    plan = run_cli("plan", "-i", inv, playbook, state=state)
    assert plan.returncode == 0, plan.stderr
    assert "note: cut-smb: core2, fw-int reached via jump hosts j1 → j2" in plan.stdout
    assert "note: block-attacker: fw-edge reached via jump hosts j1 → j2" in plan.stdout

    checked = run_cli("apply", "-i", inv, playbook, "--check", "--transport", transport, state=state)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "pre-check ready (via j1 → j2): core2, fw-edge, fw-int" in checked.stderr

    applied = run_cli("apply", "-i", inv, playbook, "--yes", "--transport", transport, state=state)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    journal = records(newest_run(state))  # type: ignore[arg-type]
    ready = {r["data"]["device"]: r["data"]["message"] for r in journal if r["kind"] == "precheck"}
    assert {ready[d] for d in BEHIND if d in ready} == {"ready (via j1 → j2)"}
    assert set(BEHIND) <= set(ready)
    assert ready["acc3"] == "ready"  # not behind the jump hosts
    assert all(r["data"]["ok"] for r in journal if r["kind"] == "verified")
    assert read_all(lab.state_dir, list(BEHIND)) != before

    # the jump hosts really carried the sessions: j1 forwarded only to j2, j2 to the devices
    first, second = jumps
    assert set(forwarded_to(first)[seen_before["j1"]:]) == {(second.address, second.port)}
    assert set(forwarded_to(second)[seen_before["j2"]:]) == {("127.0.0.1", lab.port(d)) for d in BEHIND}

    restored = run_cli("restore", "--yes", "--transport", transport, state=state)
    assert restored.returncode == 0, restored.stdout + restored.stderr
    gates = [r["data"] for r in records(newest_run(state)) if r["kind"] == "gate"]  # type: ignore[arg-type]
    assert gates and all(g["ok"] for g in gates)
    assert read_all(lab.state_dir, list(BEHIND)) == before


def _apply_fails(inv: Path, text: str, tmp_path: Path, transport: str, *extra: str) -> str:
    playbook = tmp_path / "playbook.yml"
    playbook.write_text(text)
    applied = run_cli("apply", "-i", str(inv), str(playbook), "--yes", "--transport", transport, *extra,
                      state=tmp_path / "state")
    assert applied.returncode == 3, applied.stdout + applied.stderr  # pre-check failed, nothing changed
    journal = records(newest_run(tmp_path / "state"))  # type: ignore[arg-type]
    failed = [r["data"]["message"] for r in journal if r["kind"] == "precheck" and not r["data"]["ok"]]
    assert len(failed) == 1, failed
    assert failed[0] in " ".join(applied.stderr.split()) or failed[0] in " ".join(applied.stdout.split())
    return str(failed[0])


@pytest.mark.parametrize("transport", ["asyncssh", "netmiko"])
def test_unlisted_jump_host_key_refused_at_its_hop_even_with_insecure_host_keys(
    lab: LabHandle, jumps: tuple[JumpHost, JumpHost], tmp_path: Path, transport: str
) -> None:
    first, second = jumps
    inv = _inventory(lab, jumps, tmp_path / "inv", known_hosts_of=[first])
    for extra in ((), ("--insecure-host-keys",)):
        message = _apply_fails(inv, CUT_USERS, tmp_path, transport, *extra)
        assert message == (
            f"core2: via jump host j2 (hop 2 of 2): SSH host key of 127.0.0.3:{second.port} is not in "
            f"known_hosts ({inv.parent / 'known_hosts'}); add it"
            " (--insecure-host-keys never covers a jump host)"
        )


@pytest.mark.parametrize("transport", ["asyncssh", "netmiko"])
def test_jump_host_refusing_the_key_named_in_one_line(
    lab: LabHandle, jumps: tuple[JumpHost, JumpHost], tmp_path: Path, transport: str
) -> None:
    first, second = jumps
    inv = _inventory(lab, jumps, tmp_path / "inv", key_of={"j1": second.key_file})
    message = _apply_fails(inv, CUT_USERS, tmp_path, transport)
    assert message == (
        "core2: via jump host j1 (hop 1 of 2): "
        f"authentication failed for user 'root' at 127.0.0.2:{first.port}"
    )


@pytest.mark.parametrize("transport", ["asyncssh", "netmiko"])
def test_jump_host_refusing_the_forward_named_in_one_line(
    lab: LabHandle, jumps: tuple[JumpHost, JumpHost], tmp_path: Path, transport: str
) -> None:
    inv = _inventory(lab, jumps, tmp_path / "inv", core2_via=["j1"])  # j1 forwards only to j2
    message = _apply_fails(inv, CUT_USERS, tmp_path, transport)
    assert message == (
        f"core2: via jump host j1 (hop 1 of 1): cannot forward to 127.0.0.1:{lab.port('core2')}: "
        "Administratively prohibited"
    )
