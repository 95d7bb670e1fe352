"""block-smb on Cisco IOS: an extended ACL denying SMB towards every selected segment,
bound ``in`` on each selected segment's SVI on this gateway, ending in ``permit ip any any``."""

from __future__ import annotations

from isolate.actions.base import SMB_TCP_PORTS, SMB_UDP_PORTS, BlockSmbItem, acl_name
from isolate.actions.ios_acl import inverse_acl, ios_address, precheck_acl, render_acl, verify_acl
from isolate.values import network_key

DIRECTION = "in"


def entries(item: BlockSmbItem) -> list[str]:
    lines: list[str] = []
    for subnet in sorted(item.subnets, key=network_key):
        dst = ios_address(subnet)
        lines += [f"deny tcp any {dst} eq {port}" for port in sorted(SMB_TCP_PORTS, reverse=True)]
        lines += [f"deny udp any {dst} eq {port}" for port in sorted(SMB_UDP_PORTS)]
    lines.append("permit ip any any")
    return lines


class BlockSmbCiscoIos:
    action = "block-smb"
    platform = "cisco_ios"
    verify_commands: tuple[str, ...] = ()

    def render(self, item: BlockSmbItem) -> list[str]:
        return render_acl(acl_name(item.step), entries(item), item.svis, DIRECTION)

    def precheck(self, item: BlockSmbItem, state: str) -> list[str]:
        return precheck_acl(acl_name(item.step), item.svis, DIRECTION, state)

    def inverse(self, item: BlockSmbItem, state: str) -> list[str]:
        return inverse_acl(acl_name(item.step), item.svis, DIRECTION, state)

    def verify(self, item: BlockSmbItem, state: str, extra: dict[str, str]) -> list[str]:
        return verify_acl(acl_name(item.step), entries(item), item.svis, DIRECTION, state)


ACTION = BlockSmbCiscoIos()
