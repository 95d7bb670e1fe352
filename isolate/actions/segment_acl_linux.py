"""segment-acl on a Linux nftables firewall/router: the step's own table accepts the
allowed services (both directions, by port: no conntrack shortcut, so SMB sessions
already open are cut too) and drops everything else between selected subnets."""

from __future__ import annotations

import ipaddress

from isolate.actions.base import AllowEntry, SegmentAclItem
from isolate.actions.nft_common import (
    family_sets,
    inverse_table,
    precheck_table,
    render_table,
    verify_table,
)


def _allow_rules(allow: AllowEntry) -> list[str]:
    if allow.address is None:
        return [
            f"{allow.proto} dport {allow.port} accept",
            f"{allow.proto} sport {allow.port} accept",
        ]
    family = "ip" if isinstance(allow.address, ipaddress.IPv4Network) else "ip6"
    return [
        f"{family} daddr {allow.address} {allow.proto} dport {allow.port} accept",
        f"{family} saddr {allow.address} {allow.proto} sport {allow.port} accept",
    ]


def rules(item: SegmentAclItem) -> list[str]:
    out: list[str] = []
    for allow in item.allow:
        out += _allow_rules(allow)
    for family, sources in family_sets(item.allow_from):
        out.append(f"{family} saddr {sources} accept")
        out.append(f"{family} daddr {sources} ct state established accept")
    for family, subnets in family_sets(item.subnets):
        out.append(f"{family} saddr {subnets} {family} daddr {subnets} drop")
    return out


class SegmentAclLinux:
    action = "segment-acl"
    platform = "linux"
    verify_commands: tuple[str, ...] = ()

    def render(self, item: SegmentAclItem) -> list[str]:
        return render_table(item.step, rules(item))

    def precheck(self, item: SegmentAclItem, state: str) -> list[str]:
        return precheck_table(item.step, state)

    def inverse(self, item: SegmentAclItem, state: str) -> list[str]:
        return inverse_table(item.step, state)

    def verify(self, item: SegmentAclItem, state: str, extra: dict[str, str]) -> list[str]:
        return verify_table(item.step, rules(item), state)


ACTION = SegmentAclLinux()
