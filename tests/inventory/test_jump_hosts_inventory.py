"""Inventory ``via:`` (jump hosts): which path each device takes, and each mistake in one
located line (CLI: exit 2)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_inventory_errors import BASE, one_problem

from isolate.errors import ExitCode, InventoryError
from isolate.inventory import load_inventory

JUMPS = (
    BASE
    + """\
jump_hosts:
  - {name: bastion1, host: 127.0.0.2, port: 2201, credentials: lab}
  - {name: bastion2, host: 127.0.0.3, credentials: lab}
"""
)
MORE = """\
  - {name: core2, host: 127.0.0.1, port: 20002, platform: cisco_ios, role: core, credentials: lab,
     address: 10.99.0.3, groups: [site-b]}
  - {name: fw1, host: 127.0.0.1, port: 20003, platform: linux, role: firewall, credentials: lab,
     address: 10.99.0.4}
  - {name: core3, host: 127.0.0.1, port: 20004, platform: cisco_ios, role: core, credentials: lab,
     address: 10.99.0.5, groups: [site-b], via: []}
"""


def _load(tmp_path: Path, text: str) -> object:
    (tmp_path / "city.yml").write_text(text)
    return load_inventory(tmp_path / "city.yml")


def test_path_from_device_then_group_then_segment(tmp_path: Path) -> None:
    text = JUMPS.replace("    ports:\n", "    via: [bastion1, bastion2]\n    ports:\n", 1)
    text = text.replace(
        "segments:\n",
        MORE + "segments:\n  - {name: mgmt, vlan: 99, subnet: 10.99.0.0/24, "
        "zone: management, via: [bastion2]}\n",
    )
    text += "groups:\n  - {name: site-b, via: [bastion1]}\n"
    inv = _load(tmp_path, text)
    assert inv.via_of("core1") == ("bastion1", "bastion2")  # type: ignore[attr-defined]
    assert inv.via_of("core2") == ("bastion1",)  # type: ignore[attr-defined]  # its group
    assert inv.via_of("fw1") == ("bastion2",)  # type: ignore[attr-defined]  # its address's segment
    assert inv.via_of("core3") == ()  # type: ignore[attr-defined]  # via: [] = direct


def test_unknown_jump_host(tmp_path: Path) -> None:
    text = JUMPS.replace("    ports:\n", "    via: [bastion1, bastoin2]\n    ports:\n", 1)
    assert one_problem(tmp_path, text) == (
        "city.yml:12: devices[0].via[1]: unknown jump host 'bastoin2' (did you mean 'bastion2'?)"
    )


def test_jump_host_twice_in_one_path(tmp_path: Path) -> None:
    text = JUMPS.replace("    ports:\n", "    via: [bastion1, bastion1]\n    ports:\n", 1)
    problem = one_problem(tmp_path, text)
    assert problem == "city.yml:12: devices[0].via[1]: jump host 'bastion1' twice in one path"


def test_jump_host_with_unknown_credentials(tmp_path: Path) -> None:
    text = JUMPS.replace("port: 2201, credentials: lab", "port: 2201, credentials: jump")
    problem = one_problem(tmp_path, text)
    assert problem == "city.yml:19: jump_hosts[0].credentials: unknown credential set 'jump'"


def test_groups_giving_two_paths(tmp_path: Path) -> None:
    text = JUMPS.replace("    ports:\n", "    groups: [a, b]\n    ports:\n", 1)
    text += "groups:\n  - {name: a, via: [bastion1]}\n  - {name: b, via: [bastion2]}\n"
    assert one_problem(tmp_path, text) == (
        "city.yml:12: devices[0].groups: core1: its groups give different jump paths (bastion1; bastion2); "
        "set 'via' on the device"
    )


def test_platform_that_cannot_jump(tmp_path: Path) -> None:
    text = JUMPS.replace(
        "segments:\n",
        "  - {name: ws1, host: 127.0.0.1, platform: ansible, role: server, "
        "credentials: lab, via: [bastion1]}\nsegments:\n",
    )
    problem = one_problem(tmp_path, text)
    assert problem.endswith("ws1: platform ansible cannot be reached through jump hosts (via)"), problem
    assert ".via: " in problem


def test_bad_input_exit_code(tmp_path: Path) -> None:
    (tmp_path / "city.yml").write_text(JUMPS + "  - {name: core1, host: 127.0.0.4, credentials: lab}\n")
    with pytest.raises(InventoryError) as info:
        load_inventory(tmp_path / "city.yml")
    assert info.value.exit_code == ExitCode.BAD_INPUT
    assert any("already the name of a device" in p for p in info.value.problems)


def test_site_needs_a_broker(tmp_path: Path) -> None:
    text = BASE.replace("    ports:\n", "    site: north\n    ports:\n", 1)
    assert (
        one_problem(tmp_path, text)
        == "city.yml:12: devices[0].site: core1: site 'north' needs a broker (top-level 'broker')"
    )


def test_broker_url_never_carries_the_password(tmp_path: Path) -> None:
    text = BASE + "broker: {url: 'redis://:hunter2@10.0.0.5:6379/0'}\n"
    problem = one_problem(tmp_path, text)
    assert problem.startswith("city.yml:18: broker.url: must be redis://HOST[:PORT][/DB] or rediss://…"), (
        problem
    )
    assert "hunter2" not in problem


def test_site_and_broker_load(tmp_path: Path) -> None:
    text = BASE.replace("    ports:\n", "    site: north\n    ports:\n", 1)
    text += "broker: {url: 'rediss://broker.example.org:6380/0', password: env:B_PW, ca_file: ca.pem}\n"
    inv = _load(tmp_path, text)
    assert inv.device("core1").site == "north"  # type: ignore[attr-defined]


def test_inventory_show_says_each_device_path_and_where_it_is_said(tmp_path: Path) -> None:
    text = JUMPS.replace("    ports:\n", "    groups: [site-b]\n    site: north\n    ports:\n", 1)
    text += "groups:\n  - {name: site-b, via: [bastion1, bastion2]}\n"
    text += "broker: {url: 'redis://10.0.0.5:6379/0'}\n"
    (tmp_path / "city.yml").write_text(text)
    env = {**os.environ, "LAB_PW": "x"}
    shown = subprocess.run(
        [sys.executable, "-m", "isolate", "inventory", "show", "-i", str(tmp_path / "city.yml")],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=60,
    )
    assert shown.returncode == 0, shown.stderr
    where = tmp_path / "city.yml"
    assert f"    via: bastion1, bastion2  [{where}:24]" in shown.stdout, shown.stdout  # said by its group
    assert f"    site: north  [{where}:13]" in shown.stdout, shown.stdout
