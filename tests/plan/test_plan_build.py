"""build_plan: targets → devices, plan-time errors with file:line, deterministic JSON,
saved plans re-validated and refused when the inventory or playbook changed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from isolate.api import load_saved_plan
from isolate.errors import InputError, PlanError, PlanRefused
from isolate.inventory.loader import load_inventory
from isolate.inventory.models import Inventory
from isolate.plan.builder import build_plan
from isolate.plan.models import Plan, load_plan_file, plan_json
from isolate.playbook.loader import load_playbook
from isolate.playbook.models import Playbook

DATA = Path(__file__).parent / "data"
PLAYBOOKS = Path(__file__).resolve().parents[2] / "playbooks"


@pytest.fixture(scope="module")
def city() -> Inventory:
    return load_inventory(DATA / "city.yml")


def _playbook(tmp_path: Path, steps: str) -> Playbook:
    path = tmp_path / "p.yml"
    path.write_text(f"version: 1\nname: p\nsteps:\n{steps}", encoding="utf-8")
    return load_playbook(path)


def _plan(city: Inventory, name: str = "ransomware-lateral") -> Plan:
    return build_plan(city, load_playbook(PLAYBOOKS / f"{name}.yml"))


def test_targets_map_to_the_right_devices(city: Inventory) -> None:
    plan = _plan(city)
    devices = {s.id: [(c.device, c.platform) for c in s.changes] for s in plan.steps}
    assert devices == {
        "cut-smb": [("core2", "cisco_ios"), ("fw-int", "linux")],
        "block-attacker": [("fw-edge", "linux")],
        "quarantine-infected": [("acc3", "cisco_ios")],
        "revoke-vpn": [("vpn1", "cisco_asa")],
    }
    smb = plan.steps[0].changes[0]
    assert smb.commands[-2:] == ("interface Vlan100", "ip access-group ISOLATE-CUT-SMB in")
    assert [s.restore_stage for s in plan.steps] == [4, 3, 2, 1]


def test_blast_radius_names_what_goes_dark(city: Inventory) -> None:
    plan = _plan(city)
    quarantine = plan.steps[2].blast
    assert quarantine.hosts_cut_off == ("ws-17",)
    assert [(p.device, p.interface, p.change) for p in quarantine.ports] == [
        ("acc3", "GigabitEthernet1/0/17", "vlan 999")
    ]
    assert plan.steps[3].blast.vpn_users == ("carol",)
    smb = {(s.host, s.service): s.sources for s in plan.steps[0].blast.services}
    assert "users" in smb[("fs1", "smb")]
    assert "management" not in smb[("fs1", "smb")]
    assert plan.blast.management_kept
    assert plan.blast.flows_cut == plan.steps[-1].blast.flows_cut_total


def test_plan_is_deterministic(city: Inventory) -> None:
    first = plan_json(_plan(city))
    again = plan_json(
        build_plan(load_inventory(DATA / "city.yml"), load_playbook(PLAYBOOKS / "ransomware-lateral.yml"))
    )
    assert first == again
    assert json.loads(first)["steps"][0]["id"] == "cut-smb"


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        (
            "  - id: e\n    action: edge-block\n    targets: {devices: [vpn1]}\n"
            "    params: {prefixes: [100.64.0.0/24]}\n",
            "p.yml:6: steps[0].targets: vpn1: action edge-block is not supported on platform "
            "cisco_asa (supported: cisco_ios, fortios, junos, linux)",
        ),
        (
            "  - id: v\n    action: revoke-vpn\n    targets: {hosts: [fs1]}\n",
            "p.yml:6: steps[0].targets: selects no VPN user for revoke-vpn",
        ),
        (
            "  - id: f\n    action: fence-host\n    targets: {hosts: [ws-17]}\n",
            "p.yml:6: steps[0].targets: host ws-17 has no device with platform ansible "
            "(same name or address) in the inventory",
        ),
        (
            "  - id: s\n    action: block-smb\n    targets: {segments: [users]}\n",
            "p.yml:6: steps[0].targets: selects no pair of segments (select at least two) for block-smb",
        ),
        (
            "  - id: q\n    action: quarantine\n    targets: {hosts: [ws-17]}\n    params: {vlan: 100}\n",
            "p.yml:7: steps[0].params.vlan: VLAN 100 belongs to segment users: "
            "a quarantine VLAN has no segment",
        ),
        (
            "  - id: a\n    action: segment-acl\n    targets: {segments: [users, servers]}\n"
            "    params: {allow: [{service: nfs}]}\n",
            "p.yml:7: steps[0].params.allow[0].service: no host offers service 'nfs'",
        ),
    ],
)
def test_plan_errors_name_file_and_line(city: Inventory, tmp_path: Path, steps: str, message: str) -> None:
    with pytest.raises(PlanError) as caught:
        build_plan(city, _playbook(tmp_path, steps))
    assert str(caught.value) == f"{tmp_path}/{message}"


def test_bad_params_are_input_errors(city: Inventory, tmp_path: Path) -> None:
    steps = "  - id: q\n    action: quarantine\n    targets: {hosts: [ws-17]}\n    params: {vlan: 4095}\n"
    with pytest.raises(InputError) as caught:
        build_plan(city, _playbook(tmp_path, steps))
    assert str(caught.value) == f"{tmp_path}/p.yml:7: steps[0].params.vlan: must be 1..4094, got 4095"


def test_saved_plan_roundtrips_and_detects_changes(city: Inventory, tmp_path: Path) -> None:
    plan = _plan(city)
    path = tmp_path / "plan.json"
    path.write_text(plan.to_json(), encoding="utf-8")
    loaded = load_plan_file(path)
    assert loaded.to_json() == plan.to_json()
    assert load_saved_plan(path, DATA / "city.yml")[1] == loaded
    stale = plan.model_copy(update={"inventory_sha256": "0" * 64})
    path.write_text(stale.to_json(), encoding="utf-8")
    with pytest.raises(PlanError) as caught:
        load_saved_plan(path, DATA / "city.yml")
    assert str(caught.value) == (
        f"{path}: the inventory changed since this plan was made "
        f"(plan 000000000000, now {city.sha256[:12]}); plan again"
    )


def test_tampered_plan_file_is_refused(city: Inventory, tmp_path: Path) -> None:
    text = _plan(city).to_json().replace('"users": [\n', '"users": [\n "x; reload",\n', 1)
    path = tmp_path / "plan.json"
    path.write_text(text.replace('"carol"', '"carol\\nreload"'), encoding="utf-8")
    with pytest.raises(PlanError, match="not a plan file"):
        load_plan_file(path)


def test_two_steps_binding_one_svi_direction_are_refused(city: Inventory, tmp_path: Path) -> None:
    steps = (
        "  - id: smb-a\n    action: block-smb\n    targets: {segments: [users, websites]}\n"
        "  - id: smb-b\n    action: block-smb\n    targets: {segments: [users, museums]}\n"
    )
    with pytest.raises(PlanError) as caught:
        build_plan(city, _playbook(tmp_path, steps))
    assert str(caught.value) == (
        f"{tmp_path}/p.yml:9: steps[1].targets: steps 'smb-a' and 'smb-b' both bind an ACL in on "
        "core2 interface Vlan100; IOS keeps only one: merge them into one step"
    )


def test_device_known_only_by_dns_name_is_planned(tmp_path: Path) -> None:
    text = (DATA / "city.yml").read_text(encoding="utf-8")
    text = text.replace(
        "host: 127.0.0.1\n    port: 20008\n    platform: cisco_ios\n    role: access\n"
        "    address: 10.99.0.23\n",
        "host: acc3.city.example\n    port: 20008\n    platform: cisco_ios\n    role: access\n",
    )
    assert "acc3.city.example" in text
    path = tmp_path / "city.yml"
    path.write_text(text, encoding="utf-8")
    plan = build_plan(load_inventory(path), load_playbook(PLAYBOOKS / "drill.yml"))
    assert plan.blast.management_kept
    assert [c.device for c in plan.steps[1].changes] == ["acc3"]


def _with_ansible_hosts(tmp_path: Path) -> Inventory:
    text = (
        (DATA / "city.yml")
        .read_text(encoding="utf-8")
        .replace(
            "segments:\n",
            "  - {name: fs1, host: 127.0.0.1, port: 20101, platform: ansible, role: server, "
            "address: 10.10.10.11, credentials: lab}\n"
            "  - {name: ws-17, host: 127.0.0.1, port: 20102, platform: ansible, role: server, "
            "address: 10.10.100.17, credentials: lab}\n"
            "  - {name: dns1, host: 127.0.0.1, port: 20103, platform: ansible, role: server, "
            "address: 10.10.10.53, credentials: lab}\n"
            "segments:\n",
            1,
        )
    )
    path = tmp_path / "city.yml"
    path.write_text(text, encoding="utf-8")
    return load_inventory(path)


def test_host_actions_are_planned_with_their_blast_radius(tmp_path: Path) -> None:
    inventory = _with_ansible_hosts(tmp_path)
    steps = (
        "  - id: host-smb\n    action: disable-smb-host\n    targets: {hosts: [fs1]}\n"
        "  - id: fence\n    action: fence-host\n    targets: {hosts: [ws-17]}\n"
    )
    plan = build_plan(inventory, _playbook(tmp_path, steps))
    assert [[c.device for c in s.changes] for s in plan.steps] == [["fs1"], ["ws-17"]]
    smb = plan.steps[0].blast.services
    assert {(s.host, s.service) for s in smb} == {("fs1", "smb"), ("fs1", "netbios-ssn")}
    assert "servers" in smb[0].sources  # cut inside its own segment too
    fenced = plan.steps[1].blast
    assert ("ws-17", "smb") in {(s.host, s.service) for s in fenced.services}
    assert ("dns1", "dns") in {(s.host, s.service) for s in fenced.services}
    assert plan.overrides == ()


def test_fencing_a_protected_host_is_refused(tmp_path: Path) -> None:
    inventory = _with_ansible_hosts(tmp_path)
    steps = "  - id: fence-dns\n    action: fence-host\n    targets: {hosts: [dns1]}\n"
    with pytest.raises(PlanRefused) as caught:
        build_plan(inventory, _playbook(tmp_path, steps))
    assert str(caught.value).startswith(
        "step 'fence-dns' refused: on dns1 it would cut protected service dns on dns1 "
        "(10.10.10.53:53/tcp) from "
    )
