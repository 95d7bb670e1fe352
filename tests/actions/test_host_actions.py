"""Host actions (disable-smb-host, fence-host) on platform ansible: the rendered Ansible
tasks for Linux and Windows hosts, inverses from captured state, verification, the
target mapping from real inventory/playbook files, and hostile inventory values."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from isolate.actions.base import PARAMS
from isolate.actions.disable_smb_host_ansible import ACTION as DISABLE
from isolate.actions.fence_host_ansible import ACTION as FENCE
from isolate.actions.host_items import DisableSmbHostItem, FenceHostItem, HostPort
from isolate.actions.host_targets import HOST_MAPPERS
from isolate.actions.table import lookup
from isolate.drivers.ansible import parse_tasks
from isolate.drivers.host_scripts import RECORD_PATH, SERVICES_SCRIPT, STATE_SCRIPT
from isolate.errors import CommandRejected, InputError, IsolateError, PlanError
from isolate.inventory import load_inventory
from isolate.playbook import load_playbook, resolve_step, validate_params

BEFORE = """isolate-host-state 1
manager sysvinit
service nmbd installed=yes running=no boot=unmanaged
service smbd installed=yes running=yes boot=unmanaged
recorded absent
nft available
table inet isolate_host absent
"""

AFTER = """isolate-host-state 1
manager sysvinit
service nmbd installed=yes running=no boot=unmanaged
service smbd installed=yes running=no boot=unmanaged
recorded service nmbd installed=yes running=no boot=unmanaged
recorded service smbd installed=yes running=yes boot=unmanaged
nft available
table inet isolate_host {
	chain smb_host_smb {
		type filter hook input priority -10; policy accept;
		tcp dport { 139, 445 } drop
	}
}
"""

SYSTEMD = """isolate-host-state 1
manager systemd
service nmbd installed=yes running=no boot=disabled
service smbd installed=yes running=yes boot=enabled
recorded absent
nft available
table inet isolate_host absent
"""


def tasks(lines: list[str]) -> list[dict[str, Any]]:
    return parse_tasks(lines, "fs1")


def modules(parsed: list[dict[str, Any]]) -> list[str]:
    return [next(k for k in t if "." in k) for t in parsed]


def smb_item(os: str = "linux", step: str = "host-smb") -> DisableSmbHostItem:
    return DisableSmbHostItem.model_validate({"step": step, "os": os, "host": "fs1"})


def fence_item(os: str = "linux") -> FenceHostItem:
    return FenceHostItem(
        step="fence-ws17",
        os=os,
        host="ws-17",
        management=("10.99.99.0/24", "fd00:99::/64"),
        allow=(
            HostPort(proto="tcp", port=443),
            HostPort(proto="tcp", port=80),
            HostPort(proto="udp", port=53),
        ),
    )


# ----------------------------------------------------------------------------- table


def test_both_actions_are_in_the_table_for_platform_ansible_only() -> None:
    assert lookup("disable-smb-host", "ansible") is DISABLE
    assert lookup("fence-host", "ansible") is FENCE
    with pytest.raises(PlanError, match="supported: ansible"):
        lookup("disable-smb-host", "linux")


# ----------------------------------------------------------------------------- Linux


def test_linux_disable_renders_probe_stop_boot_and_nft_tasks_in_order() -> None:
    parsed = tasks(DISABLE.render(smb_item()))
    assert modules(parsed) == [
        "ansible.builtin.shell",
        "ansible.builtin.service",
        "ansible.builtin.systemd_service",
        "ansible.builtin.service",
        "ansible.builtin.systemd_service",
        "ansible.builtin.command",
    ]
    probe = parsed[0]
    assert probe["register"] == "isolate_smb" and probe["changed_when"] is False
    assert (
        SERVICES_SCRIPT in probe["ansible.builtin.shell"]["cmd"]
        and RECORD_PATH in probe["ansible.builtin.shell"]["cmd"]
    )
    assert [t["ansible.builtin.service"]["name"] for t in parsed if "ansible.builtin.service" in t] == [
        "smbd",
        "nmbd",
    ]
    assert all(
        t["ansible.builtin.service"]["state"] == "stopped" for t in parsed if "ansible.builtin.service" in t
    )
    boot = [t for t in parsed if "ansible.builtin.systemd_service" in t]
    assert all(
        t["ansible.builtin.systemd_service"]["enabled"] is False and "manager systemd" in t["when"]
        for t in boot
    )
    nft = parsed[-1]["ansible.builtin.command"]
    assert nft["argv"] == ["nft", "-f", "-"]
    assert nft["stdin"].splitlines() == [
        "add table inet isolate_host",
        "add chain inet isolate_host smb_host_smb { type filter hook input priority -10; policy accept; }",
        "flush chain inet isolate_host smb_host_smb",
        "add rule inet isolate_host smb_host_smb tcp dport { 139, 445 } drop",
    ]


def test_linux_disable_without_boot_leaves_boot_settings_alone() -> None:
    item = DisableSmbHostItem(step="host-smb", host="fs1", boot=False)
    assert "ansible.builtin.systemd_service" not in modules(tasks(DISABLE.render(item)))


def test_rendered_batches_are_deterministic_json_lines() -> None:
    first, second = DISABLE.render(smb_item()), DISABLE.render(smb_item())
    assert first == second
    assert all("\n" not in line and json.loads(line) for line in first)


def test_linux_inverse_restarts_only_what_ran_and_removes_table_and_record() -> None:
    parsed = tasks(DISABLE.inverse(smb_item(), BEFORE))
    services = {
        t["ansible.builtin.service"]["name"]: t["ansible.builtin.service"]
        for t in parsed
        if "ansible.builtin.service" in t
    }
    assert services["smbd"]["state"] == "started"
    assert services["nmbd"]["state"] == "stopped"  # stopped before: stays stopped
    assert all(s["use"] == "sysvinit" for s in services.values())
    nft = next(t["ansible.builtin.command"] for t in parsed if "ansible.builtin.command" in t)
    assert nft["stdin"] == "add table inet isolate_host\ndelete table inet isolate_host\n"
    assert {"path": RECORD_PATH, "state": "absent"} in [t.get("ansible.builtin.file") for t in parsed]
    assert "ansible.builtin.systemd_service" not in modules(parsed)  # no service manager: boot untouched


def test_linux_inverse_on_systemd_puts_boot_settings_back_as_captured() -> None:
    parsed = tasks(DISABLE.inverse(smb_item(), SYSTEMD))
    boot = {
        t["ansible.builtin.systemd_service"]["name"]: t["ansible.builtin.systemd_service"]["enabled"]
        for t in parsed
        if "ansible.builtin.systemd_service" in t
    }
    assert boot == {"smbd": True, "nmbd": False}
    assert all(
        t["ansible.builtin.service"]["use"] == "systemd" for t in parsed if "ansible.builtin.service" in t
    )


def test_a_second_disable_restores_the_first_ones_record_not_stopped() -> None:
    """Captured after a first disable: smbd is stopped now, but the host's record says it
    ran; the inverse starts it, and keeps the table and record the first step owns."""
    parsed = tasks(DISABLE.inverse(smb_item(step="again"), AFTER))
    smbd = next(
        t["ansible.builtin.service"]
        for t in parsed
        if t.get("ansible.builtin.service", {}).get("name") == "smbd"
    )
    assert smbd["state"] == "started"
    nft = next(t["ansible.builtin.command"]["stdin"] for t in parsed if "ansible.builtin.command" in t)
    assert "delete chain inet isolate_host smb_again" in nft and "delete table" not in nft
    assert "ansible.builtin.file" not in modules(parsed)


def test_inverse_of_the_same_step_on_an_already_disabled_host_keeps_its_chain() -> None:
    parsed = tasks(DISABLE.inverse(smb_item(), AFTER))
    assert "ansible.builtin.command" not in modules(parsed)


def test_verify_reads_services_and_chain_back() -> None:
    assert DISABLE.verify(smb_item(), AFTER, {}) == []
    assert DISABLE.verify(smb_item(), BEFORE, {}) == [
        "smbd still running",
        "chain smb_host_smb missing in table inet isolate_host",
    ]
    wrong = AFTER.replace("tcp dport { 139, 445 } drop", "tcp dport 445 drop")
    assert DISABLE.verify(smb_item(), wrong, {}) == [
        "chain smb_host_smb: 1 rule(s) differ from the 1 expected"
    ]


def test_precheck_needs_a_readable_state_and_nft() -> None:
    assert DISABLE.precheck(smb_item(), BEFORE) == []
    assert DISABLE.precheck(smb_item(), "garbage\n") == [
        "host state unreadable (no isolate-host-state header)"
    ]
    missing = BEFORE.replace("nft available", "nft missing")
    assert "nft not found" in DISABLE.precheck(smb_item(), missing)[0]


def test_state_script_reads_isolates_own_table_only() -> None:
    assert "nft -s list table inet isolate_host" in STATE_SCRIPT
    assert "list ruleset" not in STATE_SCRIPT and "flush" not in STATE_SCRIPT


def test_linux_fence_keeps_management_and_listed_services_only() -> None:
    parsed = tasks(FENCE.render(fence_item()))
    script = parsed[0]["ansible.builtin.command"]["stdin"].splitlines()
    assert script == [
        "add table inet isolate_host",
        "add chain inet isolate_host fence_in_fence_ws17 "
        "{ type filter hook input priority -5; policy drop; }",
        "flush chain inet isolate_host fence_in_fence_ws17",
        'add rule inet isolate_host fence_in_fence_ws17 iif "lo" accept',
        "add rule inet isolate_host fence_in_fence_ws17 ct state established,related accept",
        "add rule inet isolate_host fence_in_fence_ws17 ip saddr 10.99.99.0/24 tcp dport 22 accept",
        "add rule inet isolate_host fence_in_fence_ws17 ip6 saddr fd00:99::/64 tcp dport 22 accept",
        "add rule inet isolate_host fence_in_fence_ws17 tcp dport { 80, 443 } accept",
        "add rule inet isolate_host fence_in_fence_ws17 udp dport 53 accept",
        "add chain inet isolate_host fence_out_fence_ws17 "
        "{ type filter hook output priority -5; policy drop; }",
        "flush chain inet isolate_host fence_out_fence_ws17",
        'add rule inet isolate_host fence_out_fence_ws17 oif "lo" accept',
        "add rule inet isolate_host fence_out_fence_ws17 ct state established,related accept",
        "add rule inet isolate_host fence_out_fence_ws17 ip daddr 10.99.99.0/24 tcp sport 22 accept",
        "add rule inet isolate_host fence_out_fence_ws17 ip6 daddr fd00:99::/64 tcp sport 22 accept",
    ]
    inverse = tasks(FENCE.inverse(fence_item(), BEFORE))
    assert (
        inverse[0]["ansible.builtin.command"]["stdin"]
        == "add table inet isolate_host\ndelete table inet isolate_host\n"
    )


def test_fence_precheck_refuses_without_management_path() -> None:
    item = fence_item().model_copy(update={"management": ()})
    assert FENCE.precheck(item, BEFORE) == ["no management network: fencing would cut isolate's own path"]


# ----------------------------------------------------------------------------- Windows


def test_windows_disable_renders_lanmanserver_firewall_rule_and_smb1() -> None:
    parsed = tasks(DISABLE.render(smb_item("windows")))
    assert modules(parsed) == [
        "ansible.windows.win_service",
        "community.windows.win_firewall_rule",
        "ansible.windows.win_regedit",
    ]
    assert parsed[0]["ansible.windows.win_service"] == {
        "name": "LanmanServer",
        "state": "stopped",
        "start_mode": "disabled",
        "force_dependent_services": True,
    }
    rule = parsed[1]["community.windows.win_firewall_rule"]
    assert (rule["direction"], rule["action"], rule["protocol"], rule["localport"]) == (
        "in",
        "block",
        "tcp",
        "139,445",
    )
    assert rule["name"] == "isolate-host-smb-smb" and rule["state"] == "present"
    smb1 = parsed[2]["ansible.windows.win_regedit"]
    assert (smb1["name"], smb1["data"], smb1["type"]) == ("SMB1", 0, "dword")
    assert smb1["path"].endswith(r"Services\LanmanServer\Parameters")


def test_windows_disable_inverse_from_a_captured_windows_state() -> None:
    state = (
        "isolate-host-state 1\nmanager windows\nservice LanmanServer installed=yes running=yes boot=auto\n"
    )
    parsed = tasks(DISABLE.inverse(smb_item("windows"), state))
    assert parsed[0]["ansible.windows.win_service"] == {
        "name": "LanmanServer",
        "state": "started",
        "start_mode": "auto",
    }
    assert parsed[1]["community.windows.win_firewall_rule"] == {
        "name": "isolate-host-smb-smb",
        "state": "absent",
    }


def test_windows_fence_allows_management_then_blocks_the_rest() -> None:
    parsed = tasks(FENCE.render(fence_item("windows")))
    mgmt = parsed[0]["community.windows.win_firewall_rule"]
    assert (mgmt["localport"], mgmt["remoteip"], mgmt["action"]) == (
        "22",
        "10.99.99.0/24,fd00:99::/64",
        "allow",
    )
    assert [t["community.windows.win_firewall_rule"]["localport"] for t in parsed[1:-1]] == [
        "443",
        "80",
        "53",
    ]
    assert parsed[-1]["ansible.windows.win_firewall"]["inbound_action"] == "block"
    assert parsed[-1]["ansible.windows.win_firewall"]["outbound_action"] == "block"


# ----------------------------------------------------------------------------- mapping


INVENTORY: dict[str, Any] = {
    "version": 1,
    "name": "hosts",
    "management": {"networks": ["10.99.99.0/24"]},
    "credentials": {"lab": {"username": "root", "key_file": "id"}},
    "devices": [
        {
            "name": "fw-int",
            "host": "10.99.99.1",
            "platform": "linux",
            "role": "firewall",
            "credentials": "lab",
        },
        {
            "name": "fs1",
            "host": "10.99.10.11",
            "platform": "ansible",
            "role": "server",
            "credentials": "lab",
            "address": "10.99.10.11",
        },
        {
            "name": "win-fs",
            "host": "10.99.10.13",
            "platform": "ansible",
            "role": "server",
            "credentials": "lab",
            "address": "10.99.10.13",
            "tags": ["windows"],
        },
    ],
    "segments": [{"name": "servers", "vlan": 10, "subnet": "10.99.10.0/24"}],
    "hosts": [
        {
            "name": "fs1",
            "address": "10.99.10.11",
            "segment": "servers",
            "tags": ["file-server"],
            "services": [{"name": "smb", "port": 445}, {"name": "https", "port": 443}],
        },
        {"name": "fs3", "address": "10.99.10.13", "segment": "servers", "tags": ["file-server"]},
        {"name": "fs9", "address": "10.99.10.19", "segment": "servers", "tags": ["file-server"]},
    ],
}


def _write(tmp_path: Path, inventory: dict[str, Any], steps: list[dict[str, Any]]) -> tuple[Path, Path]:
    inv = tmp_path / "inventory.yml"
    inv.write_text(yaml.safe_dump(inventory))
    book = tmp_path / "book.yml"
    book.write_text(yaml.safe_dump({"version": 1, "name": "hosts", "steps": steps}))
    return inv, book


def _map(inv_path: Path, book_path: Path) -> list[tuple[str, Any]]:
    inv, book = load_inventory(inv_path), load_playbook(book_path)
    step = book.steps[0]
    params = validate_params(step, PARAMS[step.action])
    items, _notes = HOST_MAPPERS[step.action](step, params, resolve_step(step, inv), inv)
    return [(device.name, item) for device, item in items]


def test_file_server_tag_maps_hosts_to_their_ansible_devices_by_name_or_address(tmp_path: Path) -> None:
    paths = _write(
        tmp_path,
        INVENTORY,
        [{"id": "host-smb", "action": "disable-smb-host", "targets": {"tags": ["file-server"]}}],
    )
    mapped = _map(*paths)
    assert [(name, item.os) for name, item in mapped] == [("fs1", "linux"), ("win-fs", "windows")]


def test_fence_maps_service_names_to_ports_and_takes_management_networks(tmp_path: Path) -> None:
    steps = [
        {
            "id": "fence",
            "action": "fence-host",
            "targets": {"hosts": ["fs1"]},
            "params": {"allow": [{"service": "https"}, {"proto": "udp", "port": 53}]},
        }
    ]
    [(name, item)] = _map(*_write(tmp_path, INVENTORY, steps))
    assert name == "fs1"
    assert [(p.proto, p.port) for p in item.allow] == [("tcp", 443), ("udp", 53)]
    assert [str(n) for n in item.management] == ["10.99.99.0/24"]


def test_a_host_without_ansible_device_is_a_plan_error_naming_it(tmp_path: Path) -> None:
    steps = [{"id": "host-smb", "action": "disable-smb-host", "targets": {"hosts": ["fs9"]}}]
    with pytest.raises(PlanError, match="host fs9 has no device with platform ansible"):
        _map(*_write(tmp_path, INVENTORY, steps))


def test_selecting_a_network_device_is_a_plan_error(tmp_path: Path) -> None:
    steps = [{"id": "host-smb", "action": "disable-smb-host", "targets": {"devices": ["fw-int"]}}]
    with pytest.raises(PlanError, match="fw-int is a linux device"):
        _map(*_write(tmp_path, INVENTORY, steps))


# ----------------------------------------------------------------------------- hostile values

HOSTILE = [
    "{{ lookup('pipe', 'id') }}",
    "fs1\nrm -rf /",
    'fs1"; reboot; "',
    "fs1 && reboot",
    "$(reboot)",
]


@pytest.mark.parametrize("value", HOSTILE)
@pytest.mark.parametrize("field", ["device_name", "host_name", "address", "tag"])
def test_hostile_inventory_values_never_reach_a_task(tmp_path: Path, value: str, field: str) -> None:
    inventory = json.loads(json.dumps(INVENTORY))
    if field == "device_name":
        inventory["devices"][1]["name"] = value
    elif field == "host_name":
        inventory["hosts"][0]["name"] = value
    elif field == "address":
        inventory["devices"][1]["address"] = value
    else:
        inventory["devices"][1]["tags"] = [value]
    paths = _write(
        tmp_path,
        inventory,
        [{"id": "host-smb", "action": "disable-smb-host", "targets": {"segments": ["servers"]}}],
    )
    with pytest.raises(IsolateError):
        _map(*paths)


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_step_ids_and_params_are_refused_before_rendering(tmp_path: Path, value: str) -> None:
    steps = [{"id": value, "action": "disable-smb-host", "targets": {"hosts": ["fs1"]}}]
    with pytest.raises(InputError):
        _map(*_write(tmp_path, INVENTORY, steps))
    steps = [
        {
            "id": "fence",
            "action": "fence-host",
            "targets": {"hosts": ["fs1"]},
            "params": {"allow": [{"service": value}]},
        }
    ]
    with pytest.raises(IsolateError):
        _map(*_write(tmp_path, INVENTORY, steps))


def test_only_fixed_templates_appear_in_rendered_tasks() -> None:
    """Jinja in a task is isolate's own fixed text, never a value: every ``{{`` rendered
    for a host is one of the two expressions the module defines."""
    for line in DISABLE.render(smb_item()) + FENCE.render(fence_item()):
        text = json.dumps(json.loads(line))
        assert text.count("{{") == text.count(
            "{{ 'systemd' if 'manager systemd' in isolate_smb.stdout else 'sysvinit' }}"
        )


def test_a_batch_line_that_is_not_a_task_is_rejected_by_the_driver() -> None:
    with pytest.raises(CommandRejected, match="fs1: not an Ansible task"):
        parse_tasks(["nft add table inet x"], "fs1")
    with pytest.raises(CommandRejected, match="must be a JSON object"):
        parse_tasks(['["a"]'], "fs1")


def test_hosts_from_the_admins_ansible_inventory_are_worked_on(tmp_path: Path) -> None:
    (tmp_path / "hosts.ini").write_text(
        "[fileservers]\n"
        "fs1 ansible_host=10.99.10.11 isolate_platform=ansible isolate_role=server "
        "isolate_address=10.99.10.11 ansible_user=root ansible_ssh_private_key_file=id\n"
    )
    inventory = {
        "version": 1,
        "name": "from-ansible",
        "management": {"networks": ["10.99.99.0/24"]},
        "segments": [{"name": "servers", "vlan": 10, "subnet": "10.99.10.0/24"}],
        "hosts": [{"name": "fs1", "address": "10.99.10.11", "segment": "servers", "tags": ["file-server"]}],
        "ansible_inventory": "hosts.ini",
    }
    steps = [{"id": "host-smb", "action": "disable-smb-host", "targets": {"tags": ["file-server"]}}]
    [(name, item)] = _map(*_write(tmp_path, inventory, steps))
    assert (name, item.host, item.os) == ("fs1", "fs1", "linux")
