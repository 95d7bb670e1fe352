"""Junos end to end through the CLI on the embedded lab (tests/lab/junos.yml: Junos jcore1
routes servers and users and is the edge, ws-17 is plugged into Junos jcore2): ransomware-lateral
applies block-smb and edge-block on jcore1 and quarantine on jcore2 under ``commit confirmed``,
restore brings both back identical; and killing isolate (SIGKILL) inside the confirm window
leaves Junos rolling back by itself once the lab clock passes N minutes. Devices are read
back through PyEZ, never through the simulator; the clock moves through the lab's control
socket, never a sleep."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e import PLAYBOOKS, kill_when, lab_inventory, newest_run, records, run_cli, start_cli

from isolate.lab.faults import make_fault
from isolate.lab.flows import flows_from_state_dir
from isolate.lab.process import LabHandle, advance_clock, start_lab

jnpr = pytest.importorskip("jnpr.junos")

from jnpr.junos import Device  # noqa: E402

JLAB = Path(__file__).parents[1] / "lab" / "junos.yml"
LATERAL = str(PLAYBOOKS / "ransomware-lateral.yml")
DEVICES = ["jcore1", "jcore2"]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabHandle]:
    # every NETCONF exchange takes 0.2 s on jcore1, so a kill after its push lands before the
    # confirming commit (the journal is polled every 5 ms)
    handle = start_lab(tmp_path_factory.mktemp("lab"), JLAB,
                       faults=[("jcore1", make_fault("slow", delay=0.2))])
    try:
        yield handle
    finally:
        handle.stop()


def read_junos(lab_dir: Path, name: str) -> str:
    """The committed configuration as an admin's PyEZ script reads it, without the
    ``## Last commit`` line (docs/platforms.md, Normalisation)."""
    inventory, secrets = lab_inventory(lab_dir)
    device = next(d for d in inventory["devices"] if d["name"] == name)
    dev = Device(host="127.0.0.1", port=device["port"], user=secrets["username"],
                 password=secrets["password"], gather_facts=False, look_for_keys=False,
                 allow_agent=False)
    dev.open()
    try:
        reply: Any = dev.rpc.get_config(options={"format": "text", "database": "committed"})
        text = str(reply.text)
    finally:
        dev.close()
    return "\n".join(line for line in text.splitlines() if not line.startswith("## "))


def read_both(lab_dir: Path) -> dict[str, str]:
    return {name: read_junos(lab_dir, name) for name in DEVICES}


def test_apply_commit_confirmed_then_restore_identical(lab: LabHandle, tmp_path: Path) -> None:
    before = read_both(lab.state_dir)
    state = tmp_path / "state"
    inv = str(lab.inventory)
    result = run_cli("apply", "-i", inv, LATERAL, "--yes", "--confirm-window", "120", state=state)
    assert result.returncode == 0, result.stderr
    journal = records(newest_run(state))  # type: ignore[arg-type]
    confirmed = {(r["data"]["device"], r["data"]["step"]) for r in journal if r["kind"] == "confirmed"}
    assert confirmed == {("jcore1", "cut-smb"), ("jcore1", "block-attacker"),
                         ("jcore2", "quarantine-infected")}
    advance_clock(lab.state_dir, 7200)  # past any window: an unconfirmed commit would roll back now
    during = read_both(lab.state_dir)
    flows = flows_from_state_dir(lab.state_dir)  # the lab's traffic model reads the Junos configs
    assert not flows.allowed("ws-17", "fs1", 445) and not flows.allowed("fs1", "ws-17", 445)
    assert (flows.find("ws-17", "fs1", 445) or _none()).reason == \
        "jcore2 ge-0/0/0 filter input ISOLATE-QUARANTINE-INFECTED discards (ws-17)"
    assert not flows.allowed("attacker", "fs1", 445)
    assert "discard route" in (flows.find("attacker", "fs1", 445) or _none()).reason
    assert all(f.allowed for f in flows.flows if f.management)
    assert "input ISOLATE-CUT-SMB;" in during["jcore1"]
    assert "route 100.64.0.66/32 discard;" in during["jcore1"]
    assert "members ISOLATE-QUARANTINE;" in during["jcore2"]
    restored = run_cli("restore", "--yes", state=state)
    assert restored.returncode == 0, restored.stderr
    assert "identical to pre-state: jcore1, jcore2" in restored.stderr
    assert read_both(lab.state_dir) == before
    assert flows_from_state_dir(lab.state_dir).allowed("ws-17", "fs1", 445)


def _none() -> Any:
    raise AssertionError("no such flow")


def test_junos_rolls_back_by_itself_when_isolate_dies(lab: LabHandle, tmp_path: Path) -> None:
    before = read_both(lab.state_dir)
    state = tmp_path / "state"
    proc = start_cli("apply", "-i", str(lab.inventory), LATERAL, "--yes", "--confirm-window", "120",
                     state=state)
    kill_when(proc, state, lambda r: r["kind"] == "applied" and r["data"]["device"] == "jcore1")
    journal = records(newest_run(state))  # type: ignore[arg-type]
    assert not [r for r in journal if r["kind"] == "confirmed"], "killed after the confirming commit"
    assert read_junos(lab.state_dir, "jcore1") != before["jcore1"]  # committed, not confirmed
    advance_clock(lab.state_dir, 60)  # one minute of two: Junos still waits
    assert "ISOLATE-CUT-SMB" in read_junos(lab.state_dir, "jcore1")
    advance_clock(lab.state_dir, 121)  # past commit confirmed 2: Junos rolls back by itself
    deadline = time.monotonic() + 30
    while read_junos(lab.state_dir, "jcore1") != before["jcore1"]:
        assert time.monotonic() < deadline, "jcore1 did not roll back by itself"
        time.sleep(0.2)
    restored = run_cli("restore", "--yes", state=state)  # harmless now: the device is back
    assert restored.returncode == 0, restored.stderr
    assert read_both(lab.state_dir) == before


def test_junos_behind_a_jump_host(lab: LabHandle, tmp_path: Path) -> None:
    """NETCONF through a real OpenSSH jump host: the SSH transport runs over its direct-tcpip
    channel, the jump host's key is checked like any device's, and a read-back works."""
    import yaml
    from jumphosts import forwarded_to, needs_sshd, start_jump

    from isolate.drivers.registry import connect
    from isolate.execute.targets import resolve_targets
    from isolate.inventory.loader import load_inventory

    needs_sshd()
    jump = start_jump("j1", "127.0.0.2", tmp_path, [("127.0.0.1", lab.port("jcore2"))])
    try:
        data = yaml.safe_load(lab.inventory.read_text())
        data["credentials"]["jump1"] = {"username": "root", "key_file": str(jump.key_file)}
        data["jump_hosts"] = [{"name": "j1", "host": jump.address, "port": jump.port,
                               "credentials": "jump1"}]
        for device in data["devices"]:
            if device["name"] == "jcore2":
                device["via"] = ["j1"]
        (tmp_path / "inventory.yml").write_text(yaml.safe_dump(data, sort_keys=False))
        (tmp_path / "secrets.yml").write_bytes((lab.state_dir / "secrets.yml").read_bytes())
        (tmp_path / "known_hosts").write_text((lab.state_dir / "known_hosts").read_text()
                                              + jump.known_hosts_line())
        inventory = load_inventory(tmp_path / "inventory.yml")
        target = resolve_targets(inventory, ["jcore2"], timeout_s=10.0).targets["jcore2"]
        session = connect(target)
        try:
            assert "host-name jcore2;" in session.read_state()
        finally:
            session.close()
        assert forwarded_to(jump) == [("127.0.0.1", lab.port("jcore2"))]
    finally:
        jump.stop()


def test_a_pending_commit_confirmed_fails_the_next_runs_precheck(lab: LabHandle, tmp_path: Path) -> None:
    """Someone's ``commit confirmed`` still pending on jcore1: it would roll back whatever is
    there when it fires, so a new run refuses the device (exit 3) and sends nothing."""
    from isolate.drivers.junos import JunosSession
    from isolate.drivers.registry import connect
    from isolate.execute.targets import resolve_targets
    from isolate.inventory.loader import load_inventory

    target = resolve_targets(load_inventory(lab.inventory), ["jcore1"], timeout_s=10.0).targets["jcore1"]
    other = connect(target)
    assert isinstance(other, JunosSession)
    try:
        other.push_confirmed(["set vlans by-hand vlan-id 3005"], window_s=600)
    finally:
        other._nc.close_session()  # walks away without confirming
    before = read_both(lab.state_dir)
    result = run_cli("apply", "-i", str(lab.inventory), LATERAL, "--yes", state=tmp_path / "state")
    assert result.returncode == 3, result.stdout + result.stderr
    assert "jcore1: a device-side revert is pending (commit confirmed, rollback in 10mins" in result.stderr
    assert read_both(lab.state_dir) == before
    advance_clock(lab.state_dir, 601)  # it fires: by-hand is gone again
    assert "by-hand" not in read_junos(lab.state_dir, "jcore1")
