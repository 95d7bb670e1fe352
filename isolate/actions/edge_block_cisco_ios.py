"""edge-block on Cisco IOS: a Null0 route per attacker prefix. Traffic towards the
attacker is dropped, so no TCP session with it can complete in either direction."""

from __future__ import annotations

import ipaddress

from isolate.actions.base import EdgeBlockItem
from isolate.actions.ios_config import RunningConfig, norm
from isolate.values import IPNetwork, network_key


def route(prefix: IPNetwork) -> str:
    if isinstance(prefix, ipaddress.IPv4Network):
        return f"ip route {prefix.network_address} {prefix.netmask} Null0"
    return f"ipv6 route {prefix} Null0"


def _destination(line: str) -> str:
    """``ip route A M NEXT…`` → ``ip route A M``; ``ipv6 route P NEXT…`` → ``ipv6 route P``."""
    words = norm(line).lower().split()
    return " ".join(words[:4] if words[0] == "ip" else words[:3])


def _routes(state: str) -> set[str]:
    return {
        norm(line).lower()
        for line in RunningConfig(state).top_lines()
        if line.lower().startswith(("ip route ", "ipv6 route "))
    }


class EdgeBlockCiscoIos:
    action = "edge-block"
    platform = "cisco_ios"
    verify_commands: tuple[str, ...] = ()

    def render(self, item: EdgeBlockItem) -> list[str]:
        return [route(p) for p in sorted(item.prefixes, key=network_key)]

    def precheck(self, item: EdgeBlockItem, state: str) -> list[str]:
        existing = _routes(state)
        problems: list[str] = []
        for prefix in sorted(item.prefixes, key=network_key):
            wanted = route(prefix).lower()
            for line in sorted(existing):
                if _destination(line) == _destination(wanted) and line != wanted:
                    problems.append(f"a route to {prefix} already exists: '{line}'")
        return problems

    def inverse(self, item: EdgeBlockItem, state: str) -> list[str]:
        existing = _routes(state)
        ordered = sorted(item.prefixes, key=network_key)
        return [f"no {route(p)}" for p in ordered if route(p).lower() not in existing]

    def verify(self, item: EdgeBlockItem, state: str, extra: dict[str, str]) -> list[str]:
        existing = _routes(state)
        ordered = sorted(item.prefixes, key=network_key)
        return [f"route missing: '{route(p)}'" for p in ordered if route(p).lower() not in existing]


ACTION = EdgeBlockCiscoIos()
