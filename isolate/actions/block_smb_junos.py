"""block-smb on a Junos gateway: a ``family inet`` firewall filter discarding SMB towards
every selected segment (TCP 445/139, UDP 137/138), ending in ``then accept``, bound
``input`` on each selected segment's IRB unit (isolate/actions/junos_filter.py)."""

from __future__ import annotations

from isolate.actions.base import SMB_TCP_PORTS, SMB_UDP_PORTS, BlockSmbItem, acl_name
from isolate.actions.junos_config import ipv4
from isolate.actions.junos_filter import (
    Term,
    inverse_filter,
    precheck_filter,
    render_filter,
    verify_filter,
)
from isolate.values import network_key

DIRECTION = "input"


def terms(item: BlockSmbItem) -> list[Term]:
    dests = [f"from destination-address {ipv4(s)}" for s in sorted(item.subnets, key=network_key)]
    tcp = [f"from destination-port {p}" for p in sorted(SMB_TCP_PORTS, reverse=True)]
    udp = [f"from destination-port {p}" for p in sorted(SMB_UDP_PORTS)]
    return [
        ("smb-tcp", [*dests, "from protocol tcp", *tcp, "then discard"]),
        ("smb-udp", [*dests, "from protocol udp", *udp, "then discard"]),
        ("other", ["then accept"]),
    ]


class BlockSmbJunos:
    action = "block-smb"
    platform = "junos"
    verify_commands: tuple[str, ...] = ()

    def render(self, item: BlockSmbItem) -> list[str]:
        return render_filter(acl_name(item.step), terms(item), item.svis, DIRECTION)

    def precheck(self, item: BlockSmbItem, state: str) -> list[str]:
        return precheck_filter(acl_name(item.step), item.svis, DIRECTION, state)

    def inverse(self, item: BlockSmbItem, state: str) -> list[str]:
        return inverse_filter(acl_name(item.step), item.svis, DIRECTION, state)

    def verify(self, item: BlockSmbItem, state: str, extra: dict[str, str]) -> list[str]:
        return verify_filter(acl_name(item.step), terms(item), item.svis, DIRECTION, state)


ACTION = BlockSmbJunos()
