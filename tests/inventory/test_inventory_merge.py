"""Directory inventories: files merged, errors still name the right file."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from isolate.errors import InventoryError
from isolate.inventory import load_inventory

FIXTURES = Path(__file__).parent.parent / "fixtures" / "inventory"

MAIN = """\
version: 1
name: city
credentials:
  lab: {username: admin, password: env:LAB_PW}
devices:
  - {name: core1, host: 127.0.0.1, platform: cisco_ios, role: core, credentials: lab}
protected:
  segments: [servers]
"""
SEGMENTS = """\
segments:
  - {name: servers, vlan: 10, subnet: 10.10.10.0/24, gateway: core1}
  - {name: staff, vlan: 20, subnet: 10.10.20.0/24, gateway: core1}
devices:
  - {name: fw1, host: 127.0.0.1, platform: linux, role: firewall}
protected:
  hosts: [fs1]
"""
HOSTS = """\
hosts:
  - {name: fs1, address: 10.10.10.11, segment: servers}
  - {name: ws1, address: 10.10.20.11, segment: staff}
"""


def write(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return tmp_path


def test_directory_merges_lists_and_sections(tmp_path: Path) -> None:
    write(tmp_path, {"00-main.yml": MAIN, "10-segments.yaml": SEGMENTS, "20-hosts.yml": HOSTS})
    (tmp_path / "secrets.yml").write_text("password: x\n")
    (tmp_path / "notes.txt").write_text("not yaml: [")
    inv = load_inventory(tmp_path)
    assert [d.name for d in inv.devices] == ["core1", "fw1"]
    assert [s.name for s in inv.segments] == ["servers", "staff"]
    assert inv.protected.segments == ("servers",)
    assert inv.protected.hosts == ("fs1",)
    assert [h.name for h in inv.hosts_in("staff")] == ["ws1"]
    assert inv.source_path == str(tmp_path)


def test_directory_error_names_the_right_file(tmp_path: Path) -> None:
    write(
        tmp_path,
        {"00-main.yml": MAIN, "10-segments.yml": SEGMENTS, "20-hosts.yml": HOSTS.replace("staff}", "stuff}")},
    )
    with pytest.raises(InventoryError) as info:
        load_inventory(tmp_path)
    assert info.value.problems == [
        f"{tmp_path}/20-hosts.yml:3: hosts[1].segment: unknown segment 'stuff' (did you mean 'staff'?)"
    ]


def test_directory_type_error_names_the_right_file(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "00-main.yml": MAIN,
            "10-segments.yml": SEGMENTS.replace("vlan: 20", "vlan: 5000"),
            "20-hosts.yml": HOSTS,
        },
    )
    with pytest.raises(InventoryError) as info:
        load_inventory(tmp_path)
    assert info.value.problems == [
        f"{tmp_path}/10-segments.yml:3: segments[1].vlan: must be 1..4094, got 5000"
    ]


def test_duplicate_across_files(tmp_path: Path) -> None:
    dup = "devices:\n  - {name: core1, host: 127.0.0.2, platform: linux, role: router}\n"
    write(
        tmp_path, {"00-main.yml": MAIN, "10-segments.yml": SEGMENTS, "20-hosts.yml": HOSTS, "30-dup.yml": dup}
    )
    with pytest.raises(InventoryError) as info:
        load_inventory(tmp_path)
    assert info.value.problems == [
        f"{tmp_path}/30-dup.yml:2: devices[2].name: duplicate device 'core1' "
        f"(first at {tmp_path}/00-main.yml:6)"
    ]


def test_conflicting_scalars(tmp_path: Path) -> None:
    write(tmp_path, {"00-main.yml": MAIN, "10-other.yml": "name: town\n"})
    with pytest.raises(InventoryError) as info:
        load_inventory(tmp_path)
    assert info.value.problems == [
        f"{tmp_path}/10-other.yml:1: name: conflicts with {tmp_path}/00-main.yml:2"
    ]


def test_errors_of_several_files_in_file_order(tmp_path: Path) -> None:
    write(tmp_path, {"a.yml": "version: 1\nname: [x\n", "b.yml": "devices: {\n"})
    with pytest.raises(InventoryError) as info:
        load_inventory(tmp_path)
    problems = info.value.problems
    assert len(problems) == 2
    assert problems[0].startswith(f"{tmp_path}/a.yml:3: YAML syntax error")
    assert problems[1].startswith(f"{tmp_path}/b.yml:2: YAML syntax error")


def test_sha256_single_file_is_file_digest() -> None:
    inv = load_inventory(FIXTURES / "valid.yml")
    assert inv.sha256 == hashlib.sha256((FIXTURES / "valid.yml").read_bytes()).hexdigest()


def test_sha256_changes_with_any_file(tmp_path: Path) -> None:
    write(tmp_path, {"00-main.yml": MAIN, "10-segments.yml": SEGMENTS, "20-hosts.yml": HOSTS})
    first = load_inventory(tmp_path).sha256
    assert load_inventory(tmp_path).sha256 == first
    (tmp_path / "20-hosts.yml").write_text(HOSTS + "  - {name: ws2, address: 10.10.20.12, segment: staff}\n")
    assert load_inventory(tmp_path).sha256 != first


def test_fixture_directory_loads() -> None:
    inv = load_inventory(FIXTURES)
    assert inv.has_device("core1")


REPO = Path(__file__).parent.parent.parent


def test_shipped_inventory_and_playbooks_load() -> None:
    from isolate.playbook import load_playbook, resolve_step
    from isolate.playbook.params import bind

    inv = load_inventory(REPO / "inventory" / "city.yml")
    assert inv.devices and inv.segments and inv.hosts
    books = sorted((REPO / "playbooks").glob("*.yml"))
    assert books
    for path in books:
        book = load_playbook(path)
        if path.name in ("disable-account.yml", "compromised-account.yml"):
            continue  # need a directory and accounts given with --set: the city has neither
        book = bind(book, inv).playbook  # parameters at their defaults
        for step in book.steps:
            if step.action == "disable-account":  # left out of the plan: the city has no directory
                continue
            # edge-block's targets are prefixes (a parameter bound into params), not inventory objects
            has_work = not resolve_step(step, inv).is_empty() or bool(step.params.get("prefixes"))
            assert has_work, (path.name, step.id)
