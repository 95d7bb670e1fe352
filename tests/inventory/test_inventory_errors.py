"""Each broken-inventory case gives one exact, located line."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from isolate.errors import ExitCode, InventoryError
from isolate.inventory import load_inventory

BASE = """\
version: 1
name: city
credentials:
  lab: {username: admin, password: env:LAB_PW}
devices:
  - name: core1
    host: 127.0.0.1
    port: 20001
    platform: cisco_ios
    role: core
    credentials: lab
    ports:
      - {interface: Gi1/0/1, host: fs1}
segments:
  - {name: servers, vlan: 10, subnet: 10.10.10.0/24, gateway: core1}
hosts:
  - {name: fs1, address: 10.10.10.11, segment: servers}
"""


def problems_of(tmp_path: Path, text: str, name: str = "city.yml") -> list[str]:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(InventoryError) as info:
        load_inventory(path)
    assert info.value.exit_code == ExitCode.BAD_INPUT
    prefix = f"{tmp_path}/"
    return [p.replace(prefix, "") for p in info.value.problems]


def one_problem(tmp_path: Path, text: str) -> str:
    problems = problems_of(tmp_path, text)
    assert len(problems) == 1, problems
    return problems[0]


def test_base_is_valid(tmp_path: Path) -> None:
    (tmp_path / "city.yml").write_text(BASE)
    inv = load_inventory(tmp_path / "city.yml")
    assert inv.device("core1").ports[0].interface == "GigabitEthernet1/0/1"
    assert inv.access_port("fs1") is not None
    assert len(inv.sha256) == 64


def test_bad_yaml(tmp_path: Path) -> None:
    text = BASE.replace("  - {name: fs1, address", "  - {name: fs1 address: x, address")
    # libyaml (PyYAML's fast parser, used when present) and pure-Python PyYAML word it differently.
    reason = (
        "did not find expected ',' or '}'" if yaml.__with_libyaml__ else "expected ',' or '}', but got ':'"
    )
    assert one_problem(tmp_path, text) == f"city.yml:17: YAML syntax error: {reason}"


def test_bad_indentation(tmp_path: Path) -> None:
    text = BASE.replace("    port: 20001", "   port: 20001")
    assert one_problem(tmp_path, text).startswith("city.yml:8: YAML syntax error: ")


def test_duplicate_key(tmp_path: Path) -> None:
    text = BASE.replace("    port: 20001\n", "    port: 20001\n    port: 22\n")
    assert one_problem(tmp_path, text) == "city.yml:9: devices[0].port: duplicate key (first at line 8)"


def test_wrong_type(tmp_path: Path) -> None:
    text = BASE.replace("port: 20001", "port: [22]")
    assert (
        one_problem(tmp_path, text) == "city.yml:8: devices[0].port: port must be an integer, got list [22]"
    )


def test_port_out_of_range(tmp_path: Path) -> None:
    text = BASE.replace("port: 20001", "port: 70000")
    assert one_problem(tmp_path, text) == "city.yml:8: devices[0].port: must be 1..65535, got 70000"


def test_unknown_key_with_did_you_mean(tmp_path: Path) -> None:
    text = BASE.replace("    credentials: lab\n", "    credential: lab\n")
    assert one_problem(tmp_path, text) == (
        "city.yml:11: devices[0].credential: unknown key (did you mean 'credentials'?)"
    )


def test_unknown_top_level_key(tmp_path: Path) -> None:
    assert one_problem(tmp_path, BASE + "segmets: []\n") == (
        "city.yml:18: segmets: unknown key (did you mean 'segments'?)"
    )


def test_missing_field(tmp_path: Path) -> None:
    text = BASE.replace("    role: core\n", "")
    assert one_problem(tmp_path, text) == "city.yml:6: devices[0].role: required"


def test_bad_literal(tmp_path: Path) -> None:
    text = BASE.replace("role: core", "role: coer")
    assert one_problem(tmp_path, text) == (
        "city.yml:10: devices[0].role: must be one of core, distribution, access, firewall, "
        "edge, vpn, router, switch or server, got 'coer'"
    )


def test_dangling_gateway(tmp_path: Path) -> None:
    text = BASE.replace("gateway: core1", "gateway: core2")
    assert one_problem(tmp_path, text) == (
        "city.yml:15: segments[0].gateway: unknown device 'core2' (did you mean 'core1'?)"
    )


def test_dangling_host_segment(tmp_path: Path) -> None:
    text = BASE.replace("segment: servers", "segment: servres")
    assert one_problem(tmp_path, text) == (
        "city.yml:17: hosts[0].segment: unknown segment 'servres' (did you mean 'servers'?)"
    )


def test_dangling_port_host_and_credentials(tmp_path: Path) -> None:
    text = BASE.replace("host: fs1}", "host: fs2}").replace("credentials: lab\n", "credentials: lab2\n")
    assert problems_of(tmp_path, text) == [
        "city.yml:11: devices[0].credentials: unknown credential set 'lab2' (did you mean 'lab'?)",
        "city.yml:13: devices[0].ports[0].host: unknown host 'fs2' (did you mean 'fs1'?)",
    ]


def test_duplicate_device_name(tmp_path: Path) -> None:
    text = BASE.replace(
        "segments:\n", "  - {name: core1, host: 10.0.0.1, platform: linux, role: router}\nsegments:\n"
    )
    assert one_problem(tmp_path, text) == (
        "city.yml:14: devices[1].name: duplicate device 'core1' (first at line 6)"
    )


def test_duplicate_vlan_and_overlap(tmp_path: Path) -> None:
    text = BASE.replace("hosts:\n", "  - {name: staff, vlan: 10, subnet: 10.10.0.0/16}\nhosts:\n")
    assert problems_of(tmp_path, text) == [
        "city.yml:16: segments[1].vlan: VLAN 10 already used by segment 'servers'",
        "city.yml:16: segments[1].subnet: 10.10.0.0/16 overlaps segment 'servers' (10.10.10.0/24)",
    ]


def test_vlan_4095(tmp_path: Path) -> None:
    text = BASE.replace("vlan: 10", "vlan: 4095")
    assert one_problem(tmp_path, text) == "city.yml:15: segments[0].vlan: must be 1..4094, got 4095"


def test_bad_prefix(tmp_path: Path) -> None:
    text = BASE.replace("10.10.10.0/24", "10.10.10.0/33")
    assert one_problem(tmp_path, text) == "city.yml:15: segments[0].subnet: not an IP prefix: '10.10.10.0/33'"


def test_prefix_with_host_bits(tmp_path: Path) -> None:
    text = BASE.replace("10.10.10.0/24", "10.10.10.1/24")
    assert one_problem(tmp_path, text) == (
        "city.yml:15: segments[0].subnet: host bits set in prefix '10.10.10.1/24'"
    )


def test_host_outside_its_subnet(tmp_path: Path) -> None:
    text = BASE.replace("10.10.10.11", "10.10.20.11")
    assert one_problem(tmp_path, text) == (
        "city.yml:17: hosts[0].address: 10.10.20.11 is not in segment 'servers' (10.10.10.0/24)"
    )


def test_injection_in_name(tmp_path: Path) -> None:
    text = BASE.replace("  - name: core1\n", '  - name: "core1\\nreload"\n')
    problems = problems_of(tmp_path, text)
    assert problems[0] == "city.yml:6: devices[0].name: newline not allowed in device name: 'core1\\nreload'"


def test_injection_in_interface(tmp_path: Path) -> None:
    text = BASE.replace("interface: Gi1/0/1", 'interface: "Gi1/0/1; reload"')
    assert one_problem(tmp_path, text) == (
        "city.yml:13: devices[0].ports[0].interface: ';' not allowed in interface name: 'Gi1/0/1; reload'"
    )


def test_interface_wrong_for_platform(tmp_path: Path) -> None:
    text = BASE.replace("interface: Gi1/0/1", "interface: vethfs1")
    assert one_problem(tmp_path, text) == (
        "city.yml:13: devices[0].ports[0].interface: not an IOS interface name: 'vethfs1' "
        "(platform cisco_ios)"
    )


def test_literal_secret_refused_without_echo(tmp_path: Path) -> None:
    text = BASE.replace("password: env:LAB_PW", "password: Hunter2-secret")
    problem = one_problem(tmp_path, text)
    assert problem == (
        "city.yml:4: credentials.lab.password: literal secret not allowed: "
        "use env:VAR, file:PATH or file:PATH#key"
    )
    assert "Hunter2" not in problem


def test_many_errors_in_file_order_capped(tmp_path: Path) -> None:
    hosts = "".join(f"  - {{name: h{i}, address: 10.10.10.{i}, segment: nowhere}}\n" for i in range(30))
    problems = problems_of(tmp_path, BASE + hosts.replace("  - ", "  - ", 1))
    assert len(problems) == 21
    assert problems[0].startswith("city.yml:18: hosts[1].segment: unknown segment 'nowhere'")
    assert problems[-1] == "city.yml: … and 11 more errors"  # h11 also repeats fs1's address
    lines = [int(p.split(":")[1]) for p in problems[:20]]
    assert lines == sorted(lines)


def test_message_is_one_line(tmp_path: Path) -> None:
    text = BASE.replace("vlan: 10", "vlan: 4095").replace("port: 20001", "port: 0")
    path = tmp_path / "city.yml"
    path.write_text(text)
    with pytest.raises(InventoryError) as info:
        load_inventory(path)
    assert "\n" not in str(info.value)
    assert str(info.value).endswith("(and 1 more)")


def test_reserved_keys_refused(tmp_path: Path) -> None:
    assert one_problem(tmp_path, BASE + "sha256: abc\n") == "city.yml:18: sha256: unknown key"


def test_top_level_not_a_mapping(tmp_path: Path) -> None:
    assert one_problem(tmp_path, "- a\n- b\n") == "city.yml:1: the top level must be a mapping"


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InventoryError, match="no such file or directory"):
        load_inventory(tmp_path / "nope.yml")


def test_alias_bomb_refused(tmp_path: Path) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        prev = f"*a{i - 1}"
        lines.append(f"a{i}: &a{i} [{', '.join([prev] * 10)}]")
    problem = one_problem(tmp_path, "\n".join(lines) + "\n")
    assert problem.endswith("document too large or recursive")
