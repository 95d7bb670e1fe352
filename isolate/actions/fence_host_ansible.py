"""fence-host through Ansible: the host keeps only its management path and listed services.

Linux: two base chains of the step in isolate's own table ``inet isolate_host``, both
``policy drop``: ``input`` accepts loopback, established/related traffic, tcp/22 from
the inventory's management networks and the listed services; ``output`` accepts
loopback, established/related traffic and tcp/22 replies to the management networks
(the fenced host starts no connection).
Inverse: remove the step's chains (the whole table when the captured state had none).

Windows (rendered only): one inbound allow rule for tcp/22 from the management networks,
one per listed service, then the firewall's default inbound and outbound actions set to
block on every profile.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from isolate.actions.host_items import FenceHostItem
from isolate.actions.host_state import (
    chain_name,
    chain_problems,
    nft_task,
    parse_state,
    remove_chains,
    state_problems,
    task_line,
)
from isolate.drivers.host_scripts import HOST_TABLE

PRIORITY = -5


def _chains(item: FenceHostItem) -> tuple[str, str]:
    return chain_name("fence_in", item.step), chain_name("fence_out", item.step)


def _set(values: list[str]) -> str:
    return values[0] if len(values) == 1 else "{ " + ", ".join(values) + " }"


def _management(item: FenceHostItem, direction: str) -> list[str]:
    """tcp/22 with the management networks, by address and port, not by conntrack: a
    connection open before the fence (Ansible's own) was not tracked in every kernel."""
    out = []
    for family, version in (("ip", 4), ("ip6", 6)):
        nets = sorted(n for n in item.management if n.version == version)
        if nets:
            where = "saddr" if direction == "in" else "daddr"
            port = "dport" if direction == "in" else "sport"
            out.append(f"{family} {where} {_set([str(n) for n in nets])} tcp {port} 22 accept")
    return out


def input_rules(item: FenceHostItem) -> list[str]:
    out = ['iif "lo" accept', "ct state established,related accept", *_management(item, "in")]
    for proto in ("tcp", "udp"):
        ports = sorted(p.port for p in item.allow if p.proto == proto)
        if ports:
            out.append(f"{proto} dport {_set([str(p) for p in ports])} accept")
    return out


def output_rules(item: FenceHostItem) -> list[str]:
    return ['oif "lo" accept', "ct state established,related accept", *_management(item, "out")]


def _nft_forward(item: FenceHostItem) -> list[str]:
    chain_in, chain_out = _chains(item)
    script = [f"add table inet {HOST_TABLE}"]
    chains = ((chain_in, "input", input_rules(item)), (chain_out, "output", output_rules(item)))
    for chain, hook, rules in chains:
        script += [
            f"add chain inet {HOST_TABLE} {chain} "
            f"{{ type filter hook {hook} priority {PRIORITY}; policy drop; }}",
            f"flush chain inet {HOST_TABLE} {chain}",
            *(f"add rule inet {HOST_TABLE} {chain} {rule}" for rule in rules),
        ]
    return script


def windows_tasks(item: FenceHostItem) -> list[dict[str, Any]]:
    label = f"isolate {item.step}"
    remote = ",".join(str(n) for n in item.management)
    tasks: list[dict[str, Any]] = [
        {
            "name": f"{label}: allow management tcp/22",
            "community.windows.win_firewall_rule": {
                "name": f"isolate-{item.step}-mgmt",
                "direction": "in",
                "action": "allow",
                "protocol": "tcp",
                "localport": "22",
                "remoteip": remote,
                "enabled": True,
                "state": "present",
            },
        }
    ]
    for port in item.allow:
        tasks.append(
            {
                "name": f"{label}: allow {port.proto}/{port.port}",
                "community.windows.win_firewall_rule": {
                    "name": f"isolate-{item.step}-{port.proto}-{port.port}",
                    "direction": "in",
                    "action": "allow",
                    "protocol": port.proto,
                    "localport": str(port.port),
                    "enabled": True,
                    "state": "present",
                },
            }
        )
    tasks.append(
        {
            "name": f"{label}: block everything else in and out",
            "ansible.windows.win_firewall": {
                "profiles": ["domain", "private", "public"],
                "state": "enabled",
                "inbound_action": "block",
                "outbound_action": "block",
            },
        }
    )
    return tasks


def _management_ok(item: FenceHostItem) -> list[str]:
    if not item.management:
        return ["no management network: fencing would cut isolate's own path"]
    if any(n == ipaddress.ip_network("0.0.0.0/0") or n.prefixlen == 0 for n in item.management):
        return ["a management network of /0 would fence nothing"]
    return []


class FenceHostAnsible:
    action = "fence-host"
    platform = "ansible"
    verify_commands: tuple[str, ...] = ()

    def render(self, item: FenceHostItem) -> list[str]:
        if item.os == "windows":
            return [task_line(t) for t in windows_tasks(item)]
        return [task_line(nft_task(f"isolate {item.step}: fence the host", _nft_forward(item)))]

    def precheck(self, item: FenceHostItem, state: str) -> list[str]:
        problems = _management_ok(item)
        if item.os == "windows":
            return problems
        return problems + state_problems(parse_state(state))

    def inverse(self, item: FenceHostItem, state: str) -> list[str]:
        if item.os == "windows":
            # Windows read-back is not implemented: the captured profile defaults are unknown,
            # so restore removes isolate's rules and puts Windows' defaults back (documented).
            return [task_line(t) for t in _windows_inverse(item)]
        script = remove_chains(parse_state(state), list(_chains(item)))
        if not script:
            return []
        return [task_line(nft_task(f"isolate {item.step}: remove the fence", script))]

    def verify(self, item: FenceHostItem, state: str, extra: dict[str, str]) -> list[str]:
        if item.os == "windows":
            return []
        parsed = parse_state(state)
        chain_in, chain_out = _chains(item)
        return [
            *state_problems(parsed),
            *chain_problems(parsed, chain_in, hook="input", policy="drop", rules=input_rules(item)),
            *chain_problems(parsed, chain_out, hook="output", policy="drop", rules=output_rules(item)),
        ]


def _windows_inverse(item: FenceHostItem) -> list[dict[str, Any]]:
    label = f"isolate {item.step}"
    names = [f"isolate-{item.step}-mgmt", *(f"isolate-{item.step}-{p.proto}-{p.port}" for p in item.allow)]
    tasks: list[dict[str, Any]] = [
        {
            "name": f"{label}: firewall defaults back",
            "ansible.windows.win_firewall": {
                "profiles": ["domain", "private", "public"],
                "inbound_action": "block",
                "outbound_action": "allow",
            },
        }
    ]
    tasks += [
        {
            "name": f"{label}: remove rule {n}",
            "community.windows.win_firewall_rule": {"name": n, "state": "absent"},
        }
        for n in names
    ]
    return tasks


ACTION = FenceHostAnsible()
