"""The management-path and protected-asset guards: refused with one exact line naming the
step, the device and what would be cut; passing with an override that the plan records."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from isolate.errors import ExitCode, PlanError, PlanRefused
from isolate.inventory.loader import load_inventory
from isolate.inventory.models import Inventory
from isolate.plan.builder import build_plan
from isolate.playbook.loader import load_playbook
from isolate.playbook.models import Playbook

DATA = Path(__file__).parent / "data"
PLAYBOOKS = Path(__file__).resolve().parents[2] / "playbooks"
FULL = {"cut-all": "drill", "cut-internet": "drill: the Internet cut from every public service"}


@pytest.fixture(scope="module")
def city() -> Inventory:
    return load_inventory(DATA / "city.yml")


def _playbook(tmp_path: Path, steps: str) -> Playbook:
    path = tmp_path / "p.yml"
    path.write_text(f"version: 1\nname: p\nsteps:\n{steps}", encoding="utf-8")
    return load_playbook(path)


QUARANTINE_ADMIN = """\
  - id: q-admin
    action: quarantine
    targets: {hosts: [admin1]}
"""

SEGMENT_USERS_SERVERS = """\
  - id: seg
    action: segment-acl
    targets: {segments: [users, servers]}
"""


def test_management_path_refused_with_one_line(city: Inventory, tmp_path: Path) -> None:
    with pytest.raises(PlanRefused) as caught:
        build_plan(city, _playbook(tmp_path, QUARANTINE_ADMIN))
    assert str(caught.value) == (
        "step 'q-admin' refused: on acc1 it would cut the management path admin1 (10.99.0.10) "
        "→ core1 (10.99.0.2:22) (management-path 8; --override q-admin:GUARD lifts one guard); "
        "use --override q-admin --reason TEXT to force"
    )
    assert caught.value.exit_code == ExitCode.REFUSED


def test_tool_address_is_guarded_too(city: Inventory, tmp_path: Path) -> None:
    playbook = _playbook(
        tmp_path,
        "  - id: cut-admin-net\n    action: edge-block\n    targets: {devices: [fw-edge]}\n"
        "    params: {prefixes: [10.99.0.0/24]}\n",
    )
    with pytest.raises(PlanRefused) as caught:
        build_plan(city, playbook, tool_address="100.64.0.10")
    assert str(caught.value).startswith(
        "step 'cut-admin-net' refused: on fw-edge it would cut the management path "
        "100.64.0.10 → core1 (10.99.0.2:22)"
    )


def test_protected_service_refused_with_one_line(city: Inventory, tmp_path: Path) -> None:
    with pytest.raises(PlanRefused) as caught:
        build_plan(city, _playbook(tmp_path, SEGMENT_USERS_SERVERS))
    assert str(caught.value) == (
        "step 'seg' refused: on fw-int it would cut protected service dns on dns1 "
        "(10.10.10.53:53/tcp) from users, which then reaches no dns provider "
        "(protected-host 1, protected-service 1; --override seg:GUARD lifts one guard); "
        "use --override seg --reason TEXT to force"
    )


def test_allowing_the_protected_services_passes(city: Inventory, tmp_path: Path) -> None:
    steps = SEGMENT_USERS_SERVERS + "    params: {allow: [{service: dns}, {service: tacacs}]}\n"
    plan = build_plan(city, _playbook(tmp_path, steps))
    assert plan.overrides == ()
    kept = {(k.host, k.service): k for k in plan.blast.kept}
    assert kept[("dns1", "dns")].cut_from == 0


def test_override_passes_and_is_recorded(city: Inventory, tmp_path: Path) -> None:
    plan = build_plan(
        city, _playbook(tmp_path, QUARANTINE_ADMIN), overrides={"q-admin": "INC-7 admin1 is owned"}
    )
    assert [(o.step, o.guard, o.reason) for o in plan.overrides] == [
        ("q-admin", "management-path", "INC-7 admin1 is owned")
    ]
    assert plan.overrides[0].detail.startswith("on acc1 it cuts the management path admin1")
    assert not plan.blast.management_kept


def test_override_needs_a_known_step_and_a_reason(city: Inventory, tmp_path: Path) -> None:
    playbook = _playbook(tmp_path, QUARANTINE_ADMIN)
    with pytest.raises(PlanError, match="no step 'nope'"):
        build_plan(city, playbook, overrides={"nope": "x"})
    with pytest.raises(PlanError, match="needs --reason"):
        build_plan(city, playbook, overrides={"q-admin": "  "})
    with pytest.raises(PlanError, match="newline not allowed"):
        build_plan(city, playbook, overrides={"q-admin": "a\nb"})


def test_smb_to_a_protected_host_is_not_protected(city: Inventory, tmp_path: Path) -> None:
    steps = "  - id: smb\n    action: block-smb\n    targets: {segments: [users, backups, servers]}\n"
    plan = build_plan(city, _playbook(tmp_path, steps))
    cut = {(s.host, s.service) for s in plan.steps[0].blast.services}
    assert ("fs1", "smb") in cut
    assert plan.overrides == ()


def test_quarantining_a_protected_host_is_refused(city: Inventory, tmp_path: Path) -> None:
    steps = "  - id: q\n    action: quarantine\n    targets: {hosts: [backup1]}\n"
    with pytest.raises(PlanRefused, match=r"protected host backup1 \(backup\)"):
        build_plan(city, _playbook(tmp_path, steps))


def test_shipped_playbooks_plan_cleanly(city: Inventory) -> None:
    for name in ("ransomware-lateral", "drill"):
        plan = build_plan(city, load_playbook(PLAYBOOKS / f"{name}.yml"))
        assert plan.overrides == ()
        assert plan.blast.management_kept
    with pytest.raises(PlanRefused, match="step 'cut-all' refused"):
        build_plan(city, load_playbook(PLAYBOOKS / "full-isolation.yml"))
    forced = build_plan(city, load_playbook(PLAYBOOKS / "full-isolation.yml"), overrides=FULL)
    assert {o.step for o in forced.overrides} == {"cut-all", "cut-internet"}


def test_shipped_playbooks_plan_against_the_shipped_inventory() -> None:
    shipped = Path(__file__).resolve().parents[2] / "inventory" / "city.yml"
    if not shipped.exists():
        pytest.skip("inventory/city.yml not generated in this checkout")
    inventory = load_inventory(shipped)
    for name in ("ransomware-lateral", "drill"):
        plan = build_plan(inventory, load_playbook(PLAYBOOKS / f"{name}.yml"))
        assert plan.overrides == () and plan.blast.management_kept
    forced = build_plan(
        inventory, load_playbook(PLAYBOOKS / "full-isolation.yml"), overrides=FULL
    )
    assert forced.blast.management_kept


def test_management_path_is_each_device_on_its_own_management_port(tmp_path: Path) -> None:
    """A Junos switch is managed over NETCONF (830), a switch with no modelled address on the
    inventory's port: cutting the admin station off names each path on that port."""
    text = (DATA / "city.yml").read_text(encoding="utf-8").replace(
        "devices:\n",
        "devices:\n"
        "  - {name: jcore9, host: 127.0.0.1, port: 20099, platform: junos, role: core, address: 10.99.0.9, "
        "credentials: lab}\n"
        "  - {name: core8, host: 10.99.0.8, port: 2222, platform: cisco_ios, role: core, credentials: lab}\n",
        1,
    )
    inventory = tmp_path / "city.yml"
    inventory.write_text(text, encoding="utf-8")
    playbook = tmp_path / "p.yml"
    playbook.write_text(f"version: 1\nname: p\nsteps:\n{QUARANTINE_ADMIN}", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "isolate", "plan", "-i", str(inventory), str(playbook),
         "--override", "q-admin", "--reason", "drill: cut the admin station"],
        capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "ISOLATE_TEST_PASSWORD": "x"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "MANAGEMENT PATH CUT: admin1 -> jcore9 (10.99.0.9:830) on acc1" in done.stdout
    assert "MANAGEMENT PATH CUT: admin1 -> core8 (10.99.0.8:2222) on acc1" in done.stdout
    assert "MANAGEMENT PATH CUT: admin1 -> core1 (10.99.0.2:22) on acc1" in done.stdout
