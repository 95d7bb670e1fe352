"""Confirm-window prerequisites are pre-checked before anything is sent: an IOS device
without the archive feature refuses ``apply --check --confirm-window`` in one line, and a
platform without a device-owned revert (ASA) is never journaled as having a window; a device
that answers its identity probe as another platform fails its pre-check."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from e2e import PLAYBOOKS, newest_run, read_all, records, run_cli

from isolate.drivers.registry import connect
from isolate.execute.targets import resolve_targets
from isolate.inventory.loader import load_inventory
from isolate.lab.process import LabHandle, start_lab

LATERAL = str(PLAYBOOKS / "ransomware-lateral.yml")


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabHandle]:
    handle = start_lab(tmp_path_factory.mktemp("lab"), "city", time_scale=20)
    try:
        yield handle
    finally:
        handle.stop()


def _push(lab: LabHandle, device: str, lines: list[str]) -> None:
    inventory = load_inventory(lab.state_dir / "inventory.yml")
    target = resolve_targets(inventory, [device], timeout_s=10.0).targets[device]
    session = connect(target)
    try:
        session.push(lines)
    finally:
        session.close()


def test_check_refuses_a_confirm_window_on_a_device_without_archive(lab: LabHandle, tmp_path: Path) -> None:
    _push(lab, "core2", ["no archive"])
    try:
        devices = ["core1", "core2", "fw-int", "vpn1"]
        before = read_all(lab.state_dir, devices)
        inv = str(lab.state_dir / "inventory.yml")
        result = run_cli("apply", "-i", inv, LATERAL, "--check", "--confirm-window", "120", state=tmp_path)
        assert result.returncode == 3, result.stderr
        line = "core2: --confirm-window needs the IOS archive feature ('archive' with 'path flash:archive'), "
        assert line + "which is not configured" in result.stderr + result.stdout
        assert read_all(lab.state_dir, devices) == before  # nothing was sent
        journal = records(newest_run(tmp_path))  # type: ignore[arg-type]
        checks = {r["data"]["device"]: r["data"] for r in journal if r["kind"] == "precheck"}
        assert checks["core2"]["ok"] is False and checks["core2"]["checks"]["confirm_window"] is False
        others = [d for d, c in checks.items() if "confirm_window" in c["checks"] and d != "core2"]
        assert others and all(checks[d]["checks"]["confirm_window"] is True for d in others), checks
        assert not [r for r in journal if r["kind"] == "intent"]
    finally:
        _push(lab, "core2", ["archive", "path flash:archive", "maximum 14"])


def test_a_platform_without_revert_is_not_journaled_with_a_window(lab: LabHandle, tmp_path: Path) -> None:
    inv = str(lab.state_dir / "inventory.yml")
    plan = run_cli("plan", "-i", inv, LATERAL, state=tmp_path)
    assert plan.returncode == 0, plan.stderr
    assert "no device-owned revert on vpn1 (cisco_asa): --confirm-window does not cover it" in plan.stdout
    applied = run_cli("apply", "-i", inv, LATERAL, "--yes", "--confirm-window", "120", state=tmp_path)
    assert applied.returncode == 0, applied.stderr
    intents = {r["data"]["device"]: r["data"] for r in records(newest_run(tmp_path)) if r["kind"] == "intent"}  # type: ignore[arg-type]
    assert intents["vpn1"]["confirm_window_s"] is None
    assert intents["core2"]["confirm_window_s"] == 120
    assert run_cli("restore", "--yes", state=tmp_path).returncode == 0


def test_a_device_answering_as_another_platform_fails_its_precheck(lab: LabHandle, tmp_path: Path) -> None:
    """The identity probe runs through the driver: core2 (IOS) declared as a Linux firewall
    answers 'uname -s' like IOS, so its pre-check fails (exit 3) in one line naming the
    device and what answered; the journal records the platform check only where it ran."""
    inventory = yaml.safe_load((lab.state_dir / "inventory.yml").read_text())
    for device in inventory["devices"]:
        if device["name"] == "core2":
            device["platform"] = "linux"
    wrong = lab.state_dir / "inventory-wrong-platform.yml"  # beside the lab's secrets file
    wrong.write_text(yaml.safe_dump(inventory))
    result = run_cli("apply", "-i", str(wrong), LATERAL, "--check", state=tmp_path / "state")
    assert result.returncode == 3, result.stdout + result.stderr
    line = "core2: declared linux but 'uname -s' does not show it"
    assert line + " (answered \"% Invalid input detected at '^' marker.\")" in result.stdout + result.stderr
    journal = records(newest_run(tmp_path / "state"))  # type: ignore[arg-type]
    checks = {r["data"]["device"]: r["data"]["checks"] for r in journal if r["kind"] == "precheck"}
    assert checks["core2"] == {"platform": False}  # nothing else was tested on it
    assert all(checks[d]["platform"] is True for d in ("vpn1", "acc3", "fw-int")), checks  # ASA, IOS, Linux
