"""block-smb on a Linux nftables firewall/router: the step's own table drops TCP 445/139
and UDP 137/138 forwarded between any two selected subnets."""

from __future__ import annotations

from isolate.actions.base import SMB_TCP_PORTS, SMB_UDP_PORTS, BlockSmbItem
from isolate.actions.nft_common import (
    family_sets,
    inverse_table,
    precheck_table,
    render_table,
    verify_table,
)


def rules(item: BlockSmbItem) -> list[str]:
    tcp = ", ".join(str(p) for p in sorted(SMB_TCP_PORTS))
    udp = ", ".join(str(p) for p in sorted(SMB_UDP_PORTS))
    out: list[str] = []
    for family, subnets in family_sets(item.subnets):
        match = f"{family} saddr {subnets} {family} daddr {subnets}"
        out += [f"{match} tcp dport {{ {tcp} }} drop", f"{match} udp dport {{ {udp} }} drop"]
    return out


class BlockSmbLinux:
    action = "block-smb"
    platform = "linux"
    verify_commands: tuple[str, ...] = ()

    def render(self, item: BlockSmbItem) -> list[str]:
        return render_table(item.step, rules(item))

    def precheck(self, item: BlockSmbItem, state: str) -> list[str]:
        return precheck_table(item.step, state)

    def inverse(self, item: BlockSmbItem, state: str) -> list[str]:
        return inverse_table(item.step, state)

    def verify(self, item: BlockSmbItem, state: str, extra: dict[str, str]) -> list[str]:
        return verify_table(item.step, rules(item), state)


ACTION = BlockSmbLinux()
