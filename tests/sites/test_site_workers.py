"""A site worker over a TLS broker, on 127.0.0.1: redis-server with TLS only (a CA made here)
and a password; ``isolate worker --site north`` drives core2 (IOS CLI) and fw-int (Linux, exec
channels) of the embedded city lab; the controller plans, applies and restores through it. A
redelivered push is refused by the worker (claimed once); a wrong broker password and a wrong
CA are each one line naming the broker, without the password."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from brokerkit import Broker, make_ca, needs_redis, start_broker, stop_worker_and_broker
from e2e import newest_run, read_all, records

from isolate.drivers.base import Batch, Target
from isolate.drivers.registry import connect
from isolate.errors import ConnectError
from isolate.execute.targets import resolve_targets
from isolate.inventory.loader import load_inventory
from isolate.inventory.models import Inventory
from isolate.lab.process import LabHandle, advance_clock
from isolate.sites.client import RemoteSession, SiteClient
from isolate.sites.resolve import broker_of
from isolate.sites.worker import SiteWorker

SITE = ("core2", "fw-int")
PLAYBOOK = """version: 1
name: two-cuts
description: SMB between users and museums (core2), then between servers and civil-status (fw-int)
steps:
  - {id: cut-users, action: block-smb, targets: {segments: [users, museums]}}
  - {id: cut-servers, action: block-smb, targets: {segments: [servers, civil-status]}}
"""


@pytest.fixture(scope="module")
def north(lab: LabHandle, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Broker, Path]]:
    """The broker, the controller's inventory (site north for core2 and fw-int), one worker."""
    needs_redis()
    where = tmp_path_factory.mktemp("north")
    broker = start_broker(where / "broker")
    worker: subprocess.Popen[bytes] | None = None
    try:
        inventory = _inventory(lab, broker, where)
        env = {**os.environ, "ISOLATE_BROKER_PASSWORD": broker.password}
        log = open(where / "worker.log", "wb")  # noqa: SIM115 (the worker keeps it)
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "isolate",
                "worker",
                "--site",
                "north",
                "-i",
                str(inventory),
                "--state-dir",
                str(where / "worker-state"),
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        log.close()
        client, _ = _client(inventory, broker.password)
        assert client.ping("north", wait_s=60)["devices"] == 2
        yield broker, inventory
    finally:
        stop_worker_and_broker(worker, broker)


def _inventory(lab: LabHandle, broker: Broker, where: Path, **broker_change: Any) -> Path:
    data = yaml.safe_load((lab.state_dir / "inventory.yml").read_text())
    data["broker"] = {
        "url": broker.url,
        "password": "env:ISOLATE_BROKER_PASSWORD",
        "ca_file": str(broker.ca_file),
        **broker_change,
    }
    for device in data["devices"]:
        if device["name"] in SITE:
            device["site"] = "north"
    for name in ("secrets.yml", "known_hosts"):
        (where / name).write_bytes((lab.state_dir / name).read_bytes())
    path = where / "inventory.yml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _client(inventory: Path, password: str) -> tuple[SiteClient, Inventory]:
    """A controller's broker client, as apply builds it (the password read by reference)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ISOLATE_BROKER_PASSWORD", password)
        inv = load_inventory(inventory)
        found = broker_of(inv)
    assert found is not None
    return SiteClient(found), inv


def _cli(*args: str, state: Path, password: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ISOLATE_STATE_DIR": str(state), "ISOLATE_BROKER_PASSWORD": password}
    return subprocess.run(
        [sys.executable, "-m", "isolate", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def test_plan_apply_restore_through_a_site_worker_over_tls(
    lab: LabHandle, north: tuple[Broker, Path], tmp_path: Path
) -> None:
    broker, inventory = north
    playbook = tmp_path / "playbook.yml"
    playbook.write_text(PLAYBOOK)
    state = tmp_path / "state"
    before = read_all(lab.state_dir, list(SITE))
    plan = _cli("plan", "-i", str(inventory), str(playbook), state=state, password=broker.password)
    assert plan.returncode == 0, plan.stderr
    assert "note: cut-users: core2 driven by site north's worker" in plan.stdout
    applied = _cli(
        "apply", "-i", str(inventory), str(playbook), "--yes", state=state, password=broker.password
    )
    assert applied.returncode == 0, applied.stdout + applied.stderr
    journal = records(newest_run(state))  # type: ignore[arg-type]
    ready = {r["data"]["device"]: r["data"]["message"] for r in journal if r["kind"] == "precheck"}
    assert set(ready) == set(SITE)  # each names the worker that took its session
    assert all(m.startswith("ready (by site north's worker north-") for m in ready.values()), ready
    kinds = [
        (r["kind"], r["data"].get("device"))
        for r in journal
        if r["kind"] in ("intent", "applied", "verified")
    ]
    assert kinds == [(k, d) for d in SITE for k in ("intent", "applied", "verified")]
    assert read_all(lab.state_dir, list(SITE)) != before
    restored = _cli("restore", "--yes", state=state, password=broker.password)
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert "identical to pre-state: core2, fw-int" in restored.stdout + restored.stderr
    assert read_all(lab.state_dir, list(SITE)) == before
    verify = _cli("journal", "verify", "last", state=state, password=broker.password)
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_a_redelivered_push_is_never_applied_twice(lab: LabHandle, north: tuple[Broker, Path]) -> None:
    broker, inventory = north
    client, inv = _client(inventory, broker.password)
    target: Target = resolve_targets(inv, ["core2"]).targets["core2"]
    session = client.open(target)
    assert isinstance(session, RemoteSession)
    before = session.read_state()
    lines = ["ip access-list extended ISOLATE-REDELIVERY", "deny tcp any any eq 445"]
    args = {"commands": lines, "key": "redelivery-test-1"}
    try:
        client.call(target, session.queue, "push", session.sid, args, worker=session.worker, wait_s=60)
        with pytest.raises(ConnectError) as second:  # the same task delivered again
            client.call(target, session.queue, "push", session.sid, args, worker=session.worker, wait_s=60)
        assert str(second.value) == (
            "core2: push already taken by a delivery before this one (not sent again); the outcome is unknown"
        )
        assert "ip access-list extended ISOLATE-REDELIVERY" in session.read_state()
    finally:
        session.push(["no ip access-list extended ISOLATE-REDELIVERY"])
        assert session.read_state() == before
        session.close()


def test_exec_mode_lines_travel_typed_through_the_worker(lab: LabHandle, north: tuple[Broker, Path]) -> None:
    """A change with exec-mode lines (a typed Batch) reaches a site device apart from its
    configuration lines: configuration mode first, then the exec line, each answered."""
    broker, inventory = north
    client, inv = _client(inventory, broker.password)
    target: Target = resolve_targets(inv, ["core2"]).targets["core2"]
    session = client.open(target)
    assert isinstance(session, RemoteSession)
    before = session.read_state()
    try:
        answers = session.push_batch(Batch(("vlan 632",), ("show vlan brief",)))
        assert [a.command for a in answers] == ["vlan 632", "show vlan brief"]
        assert "632" in answers[1].output
    finally:
        session.push(["no vlan 632"])
        assert session.read_state() == before
        session.close()


def test_wrong_broker_password_is_one_line_without_it(
    lab: LabHandle, north: tuple[Broker, Path], tmp_path: Path
) -> None:
    broker, inventory = north
    playbook = tmp_path / "playbook.yml"
    playbook.write_text(PLAYBOOK)
    wrong = "not-the-broker-password"
    started = time.monotonic()
    applied = _cli(
        "apply", "-i", str(inventory), str(playbook), "--yes", state=tmp_path / "s", password=wrong
    )
    assert applied.returncode == 3, applied.stdout + applied.stderr  # pre-checks failed, nothing changed
    assert f"core2: broker {broker.url} unreachable: " in applied.stdout + applied.stderr
    assert wrong not in applied.stdout + applied.stderr and "Traceback" not in applied.stderr
    assert time.monotonic() - started < 300


def test_wrong_ca_is_one_line(lab: LabHandle, north: tuple[Broker, Path], tmp_path: Path) -> None:
    broker, _ = north
    _, _, other_ca = make_ca(tmp_path, "other")
    inventory = _inventory(lab, broker, tmp_path, ca_file=str(other_ca))
    playbook = tmp_path / "playbook.yml"
    playbook.write_text(PLAYBOOK)
    applied = _cli(
        "apply", "-i", str(inventory), str(playbook), "--yes", state=tmp_path / "s", password=broker.password
    )
    assert applied.returncode == 3, applied.stdout + applied.stderr
    said = applied.stdout + applied.stderr
    assert f"core2: broker {broker.url} unreachable: " in said and "certificate verify failed" in said, said


def test_confirm_window_through_the_worker(
    lab: LabHandle, north: tuple[Broker, Path], tmp_path: Path
) -> None:
    """--confirm-window on site devices: the worker arms IOS's revert timer and the Linux
    firewall's revert job, the controller confirms after verification (remote calls), the
    changes stay past the window (the lab's clock, no sleep), and restore brings them back."""
    broker, inventory = north
    playbook = tmp_path / "playbook.yml"
    playbook.write_text(PLAYBOOK)
    state = tmp_path / "state"
    before = read_all(lab.state_dir, list(SITE))
    applied = _cli(
        "apply",
        "-i",
        str(inventory),
        str(playbook),
        "--yes",
        "--confirm-window",
        "120",
        state=state,
        password=broker.password,
    )
    assert applied.returncode == 0, applied.stdout + applied.stderr
    journal = records(newest_run(state))  # type: ignore[arg-type]
    assert {r["data"]["device"]: r["data"]["confirm_window_s"] for r in journal if r["kind"] == "intent"} == {
        "core2": 120,
        "fw-int": 120,
    }
    prechecks = {r["data"]["device"]: r["data"]["checks"] for r in journal if r["kind"] == "precheck"}
    assert prechecks["core2"]["confirm_window"] is True  # the IOS archive prerequisite, asked remotely
    assert {r["data"]["device"] for r in journal if r["kind"] == "confirmed"} == set(SITE)
    advance_clock(lab.state_dir, 7200)  # past any window: an unconfirmed change would revert now
    assert all(v != before[d] for d, v in read_all(lab.state_dir, list(SITE)).items())
    restored = _cli("restore", "--yes", state=state, password=broker.password)
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert read_all(lab.state_dir, list(SITE)) == before


def test_a_site_device_is_never_connected_to_directly(lab: LabHandle, north: tuple[Broker, Path]) -> None:
    """A command that does not go through site workers (locate, a script using the driver API)
    is refused for a site device, rather than trying the device from this machine's network."""
    broker, inventory = north
    _, inv = _client(inventory, broker.password)
    target = resolve_targets(inv, ["core2"]).targets["core2"]
    with pytest.raises(ConnectError) as refused:
        connect(target)
    assert str(refused.value) == (
        "core2: driven by site north's worker; "
        "this command does not go through site workers (run it at the site)"
    )


def test_worker_closes_sessions_left_idle_by_a_dead_controller(
    lab: LabHandle, north: tuple[Broker, Path]
) -> None:
    """A controller killed mid-run never sends its closes: the worker closes a session no call
    used for --idle-close seconds (the clock is passed in, no sleep)."""
    broker, inventory = north
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ISOLATE_BROKER_PASSWORD", broker.password)
        inv = load_inventory(inventory)
        worker = SiteWorker(inv, "north", broker_of(inv), idle_close_s=600)  # type: ignore[arg-type]
    opened = worker._do("open", "fw-int", "sid-1", {})
    assert opened["worker"] == worker.name
    assert worker._do("read_state", "fw-int", "sid-1", {})
    assert worker.reap(now=time.monotonic() + 60) == []  # used a minute ago: kept
    assert worker.reap(now=time.monotonic() + 601) == ["fw-int"]
    with pytest.raises(ConnectError, match="no open session on site worker"):
        worker._do("read_state", "fw-int", "sid-1", {})
