"""segment-acl on Cisco IOS: an extended ACL bound ``out`` on each selected segment's SVI
that lets the allowed services through (both directions: ACLs are stateless), denies
everything else coming from another selected segment, and permits the rest."""

from __future__ import annotations

from isolate.actions.base import SegmentAclItem, acl_name
from isolate.actions.ios_acl import inverse_acl, ios_address, precheck_acl, render_acl, verify_acl
from isolate.values import network_key

DIRECTION = "out"


def entries(item: SegmentAclItem) -> list[str]:
    lines: list[str] = []
    for allow in item.allow:
        host = ios_address(allow.address) if allow.address is not None else "any"
        lines.append(f"permit {allow.proto} any {host} eq {allow.port}")
        lines.append(f"permit {allow.proto} {host} eq {allow.port} any")
    for source in sorted(item.allow_from, key=network_key):
        lines.append(f"permit ip {ios_address(source)} any")
        lines.append(f"permit tcp any {ios_address(source)} established")
    lines += [f"deny ip {ios_address(s)} any" for s in sorted(item.subnets, key=network_key)]
    lines.append("permit ip any any")
    return lines


class SegmentAclCiscoIos:
    action = "segment-acl"
    platform = "cisco_ios"
    verify_commands: tuple[str, ...] = ()

    def render(self, item: SegmentAclItem) -> list[str]:
        return render_acl(acl_name(item.step), entries(item), item.svis, DIRECTION)

    def precheck(self, item: SegmentAclItem, state: str) -> list[str]:
        return precheck_acl(acl_name(item.step), item.svis, DIRECTION, state)

    def inverse(self, item: SegmentAclItem, state: str) -> list[str]:
        return inverse_acl(acl_name(item.step), item.svis, DIRECTION, state)

    def verify(self, item: SegmentAclItem, state: str, extra: dict[str, str]) -> list[str]:
        return verify_acl(acl_name(item.step), entries(item), item.svis, DIRECTION, state)


ACTION = SegmentAclCiscoIos()
