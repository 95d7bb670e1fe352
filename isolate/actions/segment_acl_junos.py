"""segment-acl on a Junos gateway: a ``family inet`` firewall filter bound ``output`` on each
selected segment's IRB unit that accepts the allowed services (both directions: filters
are stateless), what the ``allow_from`` sources start (and TCP replies to them), discards
everything else coming from another selected segment, and accepts the rest."""

from __future__ import annotations

from isolate.actions.base import AllowEntry, SegmentAclItem, acl_name
from isolate.actions.junos_config import ipv4
from isolate.actions.junos_filter import (
    Term,
    inverse_filter,
    precheck_filter,
    render_filter,
    verify_filter,
)
from isolate.values import network_key

DIRECTION = "output"


def _allow(index: int, allow: AllowEntry) -> list[Term]:
    to = [f"from destination-address {ipv4(allow.address)}"] if allow.address is not None else []
    back = [f"from source-address {ipv4(allow.address)}"] if allow.address is not None else []
    proto = f"from protocol {allow.proto}"
    return [
        (f"allow-{index}", [*to, proto, f"from destination-port {allow.port}", "then accept"]),
        (f"allow-{index}-reply", [*back, proto, f"from source-port {allow.port}", "then accept"]),
    ]


def terms(item: SegmentAclItem) -> list[Term]:
    out: list[Term] = []
    for index, allow in enumerate(item.allow, 1):
        out += _allow(index, allow)
    sources = sorted(item.allow_from, key=network_key)
    if sources:
        out.append(("allow-from", [*(f"from source-address {ipv4(s)}" for s in sources), "then accept"]))
        out.append(("allow-from-reply", [*(f"from destination-address {ipv4(s)}" for s in sources),
                                         "from protocol tcp", "from tcp-established", "then accept"]))
    subnets = sorted(item.subnets, key=network_key)
    out.append(("deny-segments", [*(f"from source-address {ipv4(s)}" for s in subnets), "then discard"]))
    out.append(("other", ["then accept"]))
    return out


class SegmentAclJunos:
    action = "segment-acl"
    platform = "junos"
    verify_commands: tuple[str, ...] = ()

    def render(self, item: SegmentAclItem) -> list[str]:
        return render_filter(acl_name(item.step), terms(item), item.svis, DIRECTION)

    def precheck(self, item: SegmentAclItem, state: str) -> list[str]:
        return precheck_filter(acl_name(item.step), item.svis, DIRECTION, state)

    def inverse(self, item: SegmentAclItem, state: str) -> list[str]:
        return inverse_filter(acl_name(item.step), item.svis, DIRECTION, state)

    def verify(self, item: SegmentAclItem, state: str, extra: dict[str, str]) -> list[str]:
        return verify_filter(acl_name(item.step), terms(item), item.svis, DIRECTION, state)


ACTION = SegmentAclJunos()
