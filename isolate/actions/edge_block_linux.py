"""edge-block on a Linux nftables edge firewall: the step's own table drops forwarded
traffic from and to the attacker prefixes."""

from __future__ import annotations

from isolate.actions.base import EdgeBlockItem
from isolate.actions.nft_common import (
    family_sets,
    inverse_table,
    precheck_table,
    render_table,
    verify_table,
)


def rules(item: EdgeBlockItem) -> list[str]:
    out: list[str] = []
    for family, prefixes in family_sets(item.prefixes):
        out += [f"{family} saddr {prefixes} drop", f"{family} daddr {prefixes} drop"]
    return out


class EdgeBlockLinux:
    action = "edge-block"
    platform = "linux"
    verify_commands: tuple[str, ...] = ()

    def render(self, item: EdgeBlockItem) -> list[str]:
        return render_table(item.step, rules(item))

    def precheck(self, item: EdgeBlockItem, state: str) -> list[str]:
        return precheck_table(item.step, state)

    def inverse(self, item: EdgeBlockItem, state: str) -> list[str]:
        return inverse_table(item.step, state)

    def verify(self, item: EdgeBlockItem, state: str, extra: dict[str, str]) -> list[str]:
        return verify_table(item.step, rules(item), state)


ACTION = EdgeBlockLinux()
