"""Devices from an Ansible inventory (YAML, INI, ansible-inventory --list JSON)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from isolate.errors import InventoryError
from isolate.inventory import load_inventory, resolve_credentials

ANSIBLE = Path(__file__).parent.parent / "fixtures" / "ansible"

INVENTORY = """\
version: 1
name: city
ansible_inventory: {include}
segments:
  - {{name: servers, vlan: 10, subnet: 10.10.10.0/24, gateway: core1, firewall: fw-int}}
"""


def load_with(tmp_path: Path, source: str, text: str | None = None) -> Path:
    if text is None:
        shutil.copy(ANSIBLE / source, tmp_path / source)
    else:
        (tmp_path / source).write_text(text)
    path = tmp_path / "city.yml"
    path.write_text(INVENTORY.format(include=source))
    return path


@pytest.mark.parametrize("source", ["hosts.yml", "hosts.ini", "list.json"])
def test_three_formats_map_to_the_same_devices(tmp_path: Path, source: str) -> None:
    inv = load_inventory(load_with(tmp_path, source))
    core1 = inv.device("core1")
    assert (core1.host, core1.port, core1.platform, core1.role) == ("127.0.0.1", 20001, "cisco_ios", "core")
    assert core1.tags == ("l3", "core")
    assert "core" in core1.groups
    fw = inv.device("fw-int")
    assert (fw.platform, fw.role, str(fw.address)) == ("linux", "firewall", "10.99.0.3")
    assert inv.credentials["ansible-netops"].password == "env:NETOPS_PW"
    assert inv.credentials["ansible-root"].key_file == "~/.ssh/id_ed25519"
    assert {g.name for g in inv.groups} >= {"core", "firewall"}


def test_env_lookup_becomes_reference(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NETOPS_PW", "s3cret")
    inv = load_inventory(load_with(tmp_path, "hosts.yml"))
    assert resolve_credentials(inv, "core1").password == "s3cret"


def test_sha256_covers_the_ansible_file(tmp_path: Path) -> None:
    path = load_with(tmp_path, "hosts.ini")
    first = load_inventory(path).sha256
    (tmp_path / "hosts.ini").write_text((ANSIBLE / "hosts.ini").read_text().replace("20002", "20003"))
    assert load_inventory(path).sha256 != first


def test_literal_password_refused_without_echo(tmp_path: Path) -> None:
    text = "[core]\ncore1 ansible_host=127.0.0.1 ansible_user=admin ansible_password=Tr0ub4dor\n"
    with pytest.raises(InventoryError) as info:
        load_inventory(load_with(tmp_path, "hosts.ini", text))
    assert info.value.problems[0] == (
        f"{tmp_path}/hosts.ini:2: host 'core1': ansible_password is a literal or vaulted secret; "
        "use isolate_password / isolate_enable with env:VAR or file:PATH#key, "
        "or \"{{ lookup('env', 'VAR') }}\""
    )
    assert not any("Tr0ub4dor" in p for p in info.value.problems)


def test_become_password_literal_refused(tmp_path: Path) -> None:
    text = "all:\n  hosts:\n    core1:\n      ansible_user: admin\n      ansible_become_password: x\n"
    with pytest.raises(InventoryError) as info:
        load_inventory(load_with(tmp_path, "hosts.yml", text))
    assert info.value.problems[0].startswith(
        f"{tmp_path}/hosts.yml:5: host 'core1': ansible_become_password is a literal"
    )


def test_bad_value_in_ansible_file_is_located_there(tmp_path: Path) -> None:
    text = "[core]\ncore1 ansible_host=127.0.0.1 ansible_port=99999 ansible_network_os=ios\n"
    with pytest.raises(InventoryError) as info:
        load_inventory(load_with(tmp_path, "hosts.ini", text))
    assert info.value.problems == [f"{tmp_path}/hosts.ini:2: devices[0].port: must be 1..65535, got 99999"]


def test_injection_in_ansible_host_refused(tmp_path: Path) -> None:
    text = '[core]\ncore1 ansible_host="127.0.0.1;reboot" ansible_network_os=ios\n'
    with pytest.raises(InventoryError) as info:
        load_inventory(load_with(tmp_path, "hosts.ini", text))
    assert info.value.problems == [
        f"{tmp_path}/hosts.ini:2: devices[0].host: ';' not allowed in host: '127.0.0.1;reboot'"
    ]


def test_unsupported_network_os(tmp_path: Path) -> None:
    text = "[core]\ncore1 ansible_network_os=arista.eos.eos\n"
    with pytest.raises(InventoryError) as info:
        load_inventory(load_with(tmp_path, "hosts.ini", text))
    assert info.value.problems[0].startswith(
        f"{tmp_path}/hosts.ini:2: host 'core1': unsupported ansible_network_os (supported: asa,"
    )


def test_host_ranges_refused(tmp_path: Path) -> None:
    text = "[web]\nweb[01:10] ansible_user=a\n"
    with pytest.raises(InventoryError) as info:
        load_inventory(load_with(tmp_path, "hosts.ini", text))
    assert info.value.problems[0] == (
        f"{tmp_path}/hosts.ini:2: host ranges like web[01:10] are not supported; list hosts"
    )


def test_vault_refused(tmp_path: Path) -> None:
    text = (
        "all:\n  hosts:\n    core1:\n      ansible_password: !vault |\n"
        "        $ANSIBLE_VAULT;1.1;AES256\n        6231\n"
    )
    with pytest.raises(InventoryError) as info:
        load_inventory(load_with(tmp_path, "hosts.yml", text))
    assert info.value.problems[0].startswith(f"{tmp_path}/hosts.yml:4: YAML syntax error:")


def test_missing_include(tmp_path: Path) -> None:
    path = tmp_path / "city.yml"
    path.write_text(INVENTORY.format(include="nope.ini"))
    with pytest.raises(InventoryError) as info:
        load_inventory(path)
    assert info.value.problems == [f"{path}:3: ansible_inventory: no such file: {tmp_path}/nope.ini"]


def test_json_with_tabs_falls_back_to_json(tmp_path: Path) -> None:
    text = (
        '{\n\t"core": {"hosts": ["core1"], "vars": {"ansible_network_os": "ios", "ansible_port": 2201}},\n'
        '\t"firewall": {"hosts": ["fw-int"]}\n}\n'
    )
    inv = load_inventory(load_with(tmp_path, "list.json", text))
    assert (inv.device("core1").platform, inv.device("core1").port) == ("cisco_ios", 2201)


def test_bad_json_located(tmp_path: Path) -> None:
    with pytest.raises(InventoryError) as info:
        load_inventory(load_with(tmp_path, "list.json", '{\n\t"core": {},,\n}\n'))
    assert info.value.problems == [
        f"{tmp_path}/list.json:2: JSON syntax error: Expecting property name enclosed in double quotes"
    ]
