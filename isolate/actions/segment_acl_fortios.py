"""segment-acl on a FortiGate: traffic between the selected segments is denied except the
allowed services, which are left to the FortiGate's existing policies — as on Linux, where
the step's accept rules only keep its own drop from matching — never opened by isolate.

FortiOS evaluates policies top-down and stops at the first match, and an accept policy would
open what a lower policy denies, so the exceptions are written as negations, in deny
policies moved above every allow policy (``isolate/actions/fortios_objects.py``):

- ``isolate-STEP``: from the segments' group to the group less the hosts named below, every
  service but those allowed to any host (``service-negate enable``; ``ALL`` when none is);
- ``isolate-STEP-hN``: for each host of the segments offering an allowed service of its own,
  from the group to that host, every service but its own and those allowed to any host;
- the sources of ``allow_from`` are taken out of the source group (``exclude-member``): their
  connections fall through to the existing policies; replies to them are the FortiGate's own
  session table (it is stateful), new connections to them are denied like any other.
"""

from __future__ import annotations

from collections.abc import Sequence

from isolate.actions.base import AllowEntry, SegmentAclItem
from isolate.actions.fortios_objects import Objects, owned
from isolate.values import IPNetwork


def _service(made: Objects, step: str, entry: AllowEntry, seen: dict[str, str]) -> str:
    name = owned(step, f"{entry.proto}-{entry.port}")
    if name not in seen:
        port = str(entry.port)
        seen[name] = made.service(name, tcp=port if entry.proto == "tcp" else "",
                                  udp=port if entry.proto == "udp" else "")
    return name


def _inside(address: IPNetwork, subnets: Sequence[IPNetwork]) -> bool:
    return any(address.version == net.version and address.subnet_of(net)  # type: ignore[arg-type]
               for net in subnets)


def objects(item: SegmentAclItem) -> Objects:
    made = Objects(item.step)
    seen: dict[str, str] = {}
    to_any = [_service(made, item.step, e, seen) for e in item.allow if e.address is None]
    per_host: dict[IPNetwork, list[str]] = {}
    for entry in item.allow:
        if entry.address is not None and _inside(entry.address, item.subnets):
            per_host.setdefault(entry.address, []).append(_service(made, item.step, entry, seen))
    hosts = sorted(per_host, key=lambda n: (n.version, int(n.network_address)))
    src = made.group(owned(item.step, "src"), item.subnets, exclude=item.allow_from)
    dst = made.group(owned(item.step), item.subnets, exclude=hosts)
    made.policy(owned(item.step), src=src, dst=dst, service=sorted(set(to_any)) or "ALL",
                negate_service=bool(to_any))
    for index, host in enumerate(hosts, 1):
        allowed = sorted(set(to_any) | set(per_host[host]))
        made.policy(owned(item.step, f"h{index}"), src=src, dst=made.address(host),
                    service=allowed, negate_service=True)
    return made


class SegmentAclFortios:
    action = "segment-acl"
    platform = "fortios"
    verify_commands: tuple[str, ...] = ()

    def render(self, item: SegmentAclItem) -> list[str]:
        return objects(item).render()

    def precheck(self, item: SegmentAclItem, state: str) -> list[str]:
        return objects(item).precheck(state)

    def inverse(self, item: SegmentAclItem, state: str) -> list[str]:
        return objects(item).inverse(state)

    def verify(self, item: SegmentAclItem, state: str, extra: dict[str, str]) -> list[str]:
        return objects(item).verify(state)


ACTION = SegmentAclFortios()
