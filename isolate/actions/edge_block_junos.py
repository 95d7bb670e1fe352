"""edge-block on Junos: a discard static route per attacker prefix (``routing-options static
route P discard``; IPv6 under ``rib inet6.0``). Traffic towards the attacker is dropped, so
no TCP session with it completes in either direction."""

from __future__ import annotations

import ipaddress

from isolate.actions.base import EdgeBlockItem
from isolate.actions.junos_config import restore, set_lines, under
from isolate.values import IPNetwork, network_key


def route_path(prefix: IPNetwork) -> str:
    if isinstance(prefix, ipaddress.IPv4Network):
        return f"routing-options static route {prefix}"
    return f"routing-options rib inet6.0 static route {prefix}"


def route(prefix: IPNetwork) -> str:
    return f"set {route_path(prefix)} discard"


class EdgeBlockJunos:
    action = "edge-block"
    platform = "junos"
    verify_commands: tuple[str, ...] = ()

    def render(self, item: EdgeBlockItem) -> list[str]:
        return [route(p) for p in sorted(item.prefixes, key=network_key)]

    def precheck(self, item: EdgeBlockItem, state: str) -> list[str]:
        lines = set_lines(state)
        problems: list[str] = []
        for prefix in sorted(item.prefixes, key=network_key):
            existing = under(lines, route_path(prefix))
            if existing and existing != [route(prefix)]:
                problems.append(f"a route to {prefix} already exists: '{existing[0][4:]}'")
        return problems

    def inverse(self, item: EdgeBlockItem, state: str) -> list[str]:
        lines = set_lines(state)
        ordered = sorted(item.prefixes, key=network_key)
        return restore(lines, [route_path(p) for p in ordered if route(p) not in lines])

    def verify(self, item: EdgeBlockItem, state: str, extra: dict[str, str]) -> list[str]:
        lines = set_lines(state)
        ordered = sorted(item.prefixes, key=network_key)
        return [f"route missing: '{route(p)[4:]}'" for p in ordered if route(p) not in lines]


ACTION = EdgeBlockJunos()
