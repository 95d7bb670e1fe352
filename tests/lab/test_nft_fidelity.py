"""Fidelity of the nft simulator against real nft, in a network namespace this test creates.

Each scenario runs the same commands on the simulator and on real nft in a fresh
namespace (so the kernel's handles start from 1 like the simulator's) and compares,
byte for byte, every command's stdout, stderr and exit status, then ``nft list ruleset``
plain, ``-a``, ``-s`` and ``-j``. Nothing is normalised. Known, documented differences
(not exercised here): when an input has several errors real nft reports each, the
simulator only the first; the kernel's table handle counter is per namespace and
survives ``flush ruleset``, the simulator's restarts with an empty ruleset.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator

import pytest

from isolate.lab.nft import Ruleset, run_nft

pytestmark = pytest.mark.root

Step = tuple[list[str], str]  # argv, stdin


def _script(text: str) -> Step:
    return (["-f", "-"], text)


def _cmd(line: str, *tail: str) -> Step:
    return ([*line.split(), *tail], "")


SCENARIOS: dict[str, list[Step]] = {
    "isolate-step-table": [
        _script(
            "add table inet isolate_cut_smb\n"
            "add chain inet isolate_cut_smb forward "
            "{ type filter hook forward priority -10; policy accept; }\n"
            "add rule inet isolate_cut_smb forward ip saddr { 10.10.10.0/24, 10.10.100.0/24 } "
            "ip daddr { 10.10.10.0/24, 10.10.100.0/24 } tcp dport { 139, 445 } drop\n"
            "add rule inet isolate_cut_smb forward ip saddr { 10.10.10.0/24, 10.10.100.0/24 } "
            "ip daddr { 10.10.10.0/24, 10.10.100.0/24 } udp dport { 137, 138 } drop\n"
            "add rule inet isolate_cut_smb forward ip saddr { 100.64.0.66/32 } drop\n"
        ),
        _script("add table inet isolate_cut_smb\ndelete table inet isolate_cut_smb\n"),
        _cmd("list", "ruleset"),
    ],
    "debian-default-and-edits": [
        _script(
            "table inet filter {\n\tchain input {\n\t\ttype filter hook input priority filter;\n\t}\n"
            "\tchain forward {\n\t\ttype filter hook forward priority filter;\n\t}\n"
            "\tchain output {\n\t\ttype filter hook output priority filter;\n\t}\n}\n"
        ),
        _cmd("add rule inet filter forward ct state established,related accept"),
        _cmd("insert rule inet filter forward iifname", '"eth0"', "tcp", "dport", "22", "accept"),
        _cmd("add rule inet filter forward position 2 ip daddr 10.10.10.0/24 counter drop"),
        _cmd("add rule inet filter forward meta l4proto { tcp, udp } th dport 53 accept"),
        _cmd("delete rule inet filter forward handle 4"),
        _cmd("-a list chain inet filter forward"),
        _cmd("list table inet filter"),
    ],
    "sets-and-priorities": [
        _script(
            "table ip t {\n"
            "\tset blocked { type ipv4_addr; flags interval; elements = { 10.0.0.0/8, 192.168.1.1 }; }\n"
            "\tset ports { type inet_service; elements = { 445, 22, 139, 3389 }; }\n"
            "\tchain a { type filter hook input priority 10; }\n"
            "\tchain b { type filter hook input priority 11; }\n"
            "\tchain c { type filter hook forward priority -150; policy drop; }\n"
            "\tchain d { type filter hook output priority 45; }\n"
            "\tchain e { type filter hook prerouting priority -100; }\n"
            "\tchain f { return; }\n"
            "}\n"
            "table ip nat {\n\tchain post { type nat hook postrouting priority 100; }\n}\n"
        ),
        _cmd("add element ip t blocked { 172.16.0.0/12, 8.8.8.8 }"),
        _cmd("add set ip t hosts { type ipv4_addr; }"),
        _cmd("add element ip t hosts { 10.0.0.9, 10.0.0.1, 192.168.0.5, 10.0.0.3, 1.1.1.1 }"),
        _cmd("add rule ip t c ip saddr @blocked tcp dport @ports counter reject with tcp reset"),
        _cmd("add rule ip t c ip daddr != 10.1.0.0/16 udp dport 1000-2000 jump f"),
        _cmd("add rule ip t c tcp dport 80 drop comment", '"isolate:run1"'),
        _cmd("delete element ip t hosts { 10.0.0.3 }"),
        _cmd("list set ip t hosts"),
    ],
    "families-and-misc": [
        _script(
            "table ip6 t6 {\n\tchain c {\n"
            "\t\tip6 saddr 2001:db8::/32 ip6 daddr { ::1, 2001:db8::/64 } accept\n\t}\n}\n"
            "table bridge b {\n\tchain c { type filter hook forward priority -200; }\n}\n"
            "table netdev n {\n}\n"
            'table inet f {\n\tchain l { comment "hi there"; type filter hook forward priority 0; }\n'
            '\tchain m {\n\t\tct state new,established,invalid,related accept comment "isolate:r1"\n'
            "\t\tip saddr 10.0.0.5/24 ip daddr 10.0.0.1-10.0.0.5 ip protocol tcp meta l4proto udp drop\n"
            '\t\tudp dport { 53, 1000-2000 } th sport 3 meta oifname "x" oifname != "y" '
            'log prefix "m " accept\n'
            "\t\tip daddr { 10.0.0.0-10.0.0.255, 1.2.3.4/32 } reject with icmpx type admin-prohibited\n"
            "\t}\n}\n"
        ),
        _cmd("replace rule inet f m handle 2 tcp dport 8080 drop"),
        _cmd("list tables"),
        _cmd("list chains"),
        _cmd("-j list chain inet f m"),
        _cmd("flush chain inet f m"),
        _cmd("delete chain inet f m"),
    ],
    "normalisation": [
        _cmd("add table inet t"),
        _cmd("add chain inet t c"),
        _cmd("add table ip f"),
        _cmd("add chain ip f c"),
        *[
            _cmd(f"add rule {where} c {rule}")
            for rule in (
                "meta l4proto tcp th dport 22 accept",
                "ip protocol tcp tcp dport 22 accept",
                "meta l4proto tcp ip saddr 1.2.3.4 tcp dport 22 accept",
                "ct state { established, related } accept",
                "ct state { established } accept",
                "ip saddr { 10.0.0.1 } accept",
                "ip saddr != { 10.0.0.0/24 } accept",
                "udp dport { 1000-2000 } accept",
                "ip daddr 10.0.0.0-10.0.0.255 drop",
                "tcp dport { http, https } accept",
                'iifname "eth*" accept',
                "ip6 saddr ::ffff:1.2.3.4 drop",
                "ip protocol { tcp, udp } accept",
            )
            for where in ("inet t", "ip f")
        ],
    ],
    "errors": [
        _cmd("add table inet t"),
        _cmd("add chain inet t drop"),
        _cmd("add chain inet t c"),
        _cmd("add rule inet t c tcp dprt 22 accept"),
        _cmd("add rule inet t c tcp dport foo accept"),
        _cmd("add rule inet t nochain accept"),
        _cmd("delete rule inet t c handle 99"),
        _cmd("create table inet t"),
        _cmd("list table inet zz"),
        _script("add table ip x\nadd chain ip x c\nadd rule ip x c tcp dport 22 drp\n"),
        _script("add rule inet t c jump nowhere\n"),
        _cmd("add rule inet t c ip saddr 10.0.0.0/8 accpt"),
        _cmd("add rule inet t c drp 22"),
        _cmd("-f /nonexistent/isolate.nft"),
        _cmd("list"),
        ([], ""),
    ],
}


def _real(ns: str, step: Step) -> tuple[str, str, int]:
    argv, stdin = step
    proc = subprocess.run(["ip", "netns", "exec", ns, "nft", *argv], input=stdin,
                          capture_output=True, text=True, timeout=30)  # fmt: skip
    return proc.stdout, proc.stderr, proc.returncode


@pytest.fixture
def netns() -> Iterator[str]:
    if os.geteuid() != 0:
        pytest.skip("ROOT NEEDED: the nft fidelity test runs real nft in a network namespace")
    if shutil.which("nft") is None or shutil.which("ip") is None:
        pytest.skip("nft/ip NOT INSTALLED: apt-get install -y nftables iproute2")
    name = f"isolate-nft-{uuid.uuid4().hex[:8]}"
    subprocess.run(["ip", "netns", "add", name], check=True, timeout=30)
    try:
        yield name
    finally:
        subprocess.run(["ip", "netns", "delete", name], check=False, timeout=30)


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_simulator_prints_what_real_nft_prints(netns: str, scenario: str) -> None:
    rs = Ruleset()
    for step in SCENARIOS[scenario]:
        expected = _real(netns, step)
        result = run_nft(rs, step[0], stdin=step[1], read_file=lambda _: None)
        rs = result.ruleset
        assert (result.stdout, result.stderr, result.exit_status) == expected, step
    for options in ([], ["-a"], ["-s"], ["-j"]):
        listing = [*options, "list", "ruleset"]
        expected = _real(netns, (listing, ""))
        result = run_nft(rs, listing, read_file=lambda _: None)
        assert (result.stdout, result.stderr, result.exit_status) == expected, listing
