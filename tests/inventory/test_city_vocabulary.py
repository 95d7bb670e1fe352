"""Issue 15: an inventory a city can write — the admins' Ansible INI (quoted env lookups,
``ansible.builtin.env``, a Windows domain account, winrm hosts, ``isolate_ports``), service
short forms, criticality ``essential`` — imports and passes ``inventory check``, which also
resolves every credential reference and catches duplicate addresses; ``inventory show``
displays the mapping with where each value came from. Through the CLI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

CITY = Path(__file__).resolve().parents[1] / "fixtures" / "ansible" / "city"
SECRETS = {"CITY_NET_PW": "n3t-pw", "CITY_NET_ENABLE": "en4ble", "CITY_WIN_PW": "w1n-pw"}


def isolate(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in SECRETS}
    return subprocess.run([sys.executable, "-m", "isolate", *args], capture_output=True, text=True,
                          env={**base, **(env or {})}, timeout=120, stdin=subprocess.DEVNULL, check=False)


def test_the_admins_ini_imports_and_passes_check() -> None:
    done = isolate("inventory", "check", "-i", str(CITY / "city.yml"), env=SECRETS)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"{CITY / 'city.yml'}: OK: 4 devices, 5 segments, 4 hosts")


def test_check_lists_every_credential_reference_that_does_not_resolve() -> None:
    done = isolate("inventory", "check", "-i", str(CITY / "city.yml"))
    assert done.returncode == 2
    ini = CITY / "hosts.ini"
    assert done.stderr.splitlines() == [
        f"error: {ini}:14: credentials.ansible-netops.password: credential reference 'env:CITY_NET_PW': "
        "environment variable CITY_NET_PW is not set",
        f"error: {ini}:14: credentials.ansible-netops.enable: credential reference 'env:CITY_NET_ENABLE': "
        "environment variable CITY_NET_ENABLE is not set",
        f"error: {ini}:19: credentials['ansible-svc_fw-mairie.example'].password: credential reference "
        "'env:CITY_NET_PW': environment variable CITY_NET_PW is not set",
        f"error: {ini}:25: credentials.ansible-MAIRIE-svc_ansible.password: credential reference "
        "'env:CITY_WIN_PW': environment variable CITY_WIN_PW is not set",
    ]
    offline = isolate("inventory", "check", "-i", str(CITY / "city.yml"), "--no-credentials")
    assert offline.returncode == 0, offline.stderr


def test_show_says_what_each_host_became_and_where_it_came_from() -> None:
    text = isolate("inventory", "show", "-i", str(CITY / "city.yml")).stdout
    ini = CITY / "hosts.ini"
    assert f"    platform: ansible  [{ini}:23]" in text  # winrm: a Windows host, not a device
    assert f"    port GigabitEthernet1/0/2 -> ws-01  [{ini}:4]" in text
    account = "user MAIRIE\\svc_ansible; password env:CITY_WIN_PW"
    assert f"  ansible-MAIRIE-svc_ansible: {account}  [{ini}:25]" in text
    assert not any(secret in text for secret in SECRETS.values())
    data = json.loads(isolate("inventory", "show", "-i", str(CITY / "city.yml"), "--json").stdout)
    fs1 = next(d for d in data["devices"] if d["name"] == "fs1")
    assert fs1["fields"]["platform"]["value"] == "ansible"
    assert fs1["fields"]["tags"]["value"] == ["windows"]
    assert fs1["fields"]["role"]["value"] == "server"
    assert [h["services"] for h in data["hosts"] if h["name"] == "fs1"] == [["smb:445/tcp", "dns:53/udp"]]
    graph = isolate("inventory", "show", "-i", str(CITY / "city.yml"), "--graph").stdout
    assert "  |--@internet (no vlan, 203.0.113.0/24, outside):\n  |  |--attackers (203.0.113.66)\n" in graph
    assert "  |--@windows:\n  |  |--fs1 (ansible, server)\n  |  |--ws-01 (ansible, server)\n" in graph


def test_duplicate_addresses_and_hosts_outside_their_subnet_are_caught(tmp_path: Path) -> None:
    shutil.copy(CITY / "hosts.ini", tmp_path / "hosts.ini")
    text = (CITY / "city.yml").read_text(encoding="utf-8")
    text = text.replace("{name: ws-01, address: 10.10.100.11", "{name: ws-01, address: 10.10.10.11")
    (tmp_path / "city.yml").write_text(text, encoding="utf-8")
    done = isolate("inventory", "check", "-i", str(tmp_path / "city.yml"), env=SECRETS)
    assert done.returncode == 2
    where = tmp_path / "city.yml"
    assert done.stderr.splitlines() == [
        f"error: {where}:14: hosts[2].address: 10.10.10.11 is already the address of host 'fs1' (line 13)",
        f"error: {where}:14: hosts[2].address: 10.10.10.11 is not in segment 'users' (10.10.100.0/24)",
    ]


def test_a_switched_segment_without_a_vlan_is_refused(tmp_path: Path) -> None:
    shutil.copy(CITY / "hosts.ini", tmp_path / "hosts.ini")
    text = (CITY / "city.yml").read_text(encoding="utf-8")
    text = text.replace("{name: users, vlan: 100, ", "{name: users, ")
    (tmp_path / "city.yml").write_text(text, encoding="utf-8")
    done = isolate("inventory", "check", "-i", str(tmp_path / "city.yml"), "--no-credentials")
    assert done.returncode == 2
    assert done.stderr == (
        f"error: {tmp_path / 'city.yml'}:8: segments[2]: segment 'users' needs a vlan: "
        "a switched (inside) segment\n"
    )


def test_lab_topologies_generate_switch_names_as_a_city_names_them(tmp_path: Path) -> None:
    from isolate.lab.topology import TOPOLOGIES_DIR, load_topology

    text = (TOPOLOGIES_DIR / "city.yml").read_text(encoding="utf-8")
    assert "  prefix: acc\n" in text
    topology = tmp_path / "acc.yml"
    topology.write_text(text.replace("  prefix: acc\n", "  prefix: acc-\n  digits: 2\n"), encoding="utf-8")
    lab = load_topology(topology)
    assert [d.name for d in lab.devices if d.role == "access"] == ["acc-01", "acc-02", "acc-03", "acc-04"]
