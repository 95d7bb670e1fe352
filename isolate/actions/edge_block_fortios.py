"""edge-block on a FortiGate: the attacker prefixes as address objects in the step's address
group, and two deny policies moved above every allow policy: from the group to anything
(the WAN side in) and from anything to the group (out). Interfaces are ``any``: the policies
match on addresses, so they hold whichever WAN link the attacker comes through
(``isolate/actions/fortios_objects.py``)."""

from __future__ import annotations

from isolate.actions.base import EdgeBlockItem
from isolate.actions.fortios_objects import Objects, owned
from isolate.drivers.fortios_state import ADDRESS, SERVICE, by_name


def objects(item: EdgeBlockItem) -> Objects:
    made = Objects(item.step)
    group = made.group(owned(item.step), item.prefixes)
    made.policy(owned(item.step, "in"), src=group, dst="all", service="ALL")
    made.policy(owned(item.step, "out"), src="all", dst=group, service="ALL")
    return made


class EdgeBlockFortios:
    action = "edge-block"
    platform = "fortios"
    verify_commands: tuple[str, ...] = ()

    def render(self, item: EdgeBlockItem) -> list[str]:
        return objects(item).render()

    def precheck(self, item: EdgeBlockItem, state: str) -> list[str]:
        problems = objects(item).precheck(state)
        if "all" not in by_name(state, ADDRESS):
            problems.append("no address object 'all' (FortiOS's default) to deny against")
        if "ALL" not in by_name(state, SERVICE):
            problems.append("no service 'ALL' (FortiOS's predefined service)")
        return problems

    def inverse(self, item: EdgeBlockItem, state: str) -> list[str]:
        return objects(item).inverse(state)

    def verify(self, item: EdgeBlockItem, state: str, extra: dict[str, str]) -> list[str]:
        return objects(item).verify(state)


ACTION = EdgeBlockFortios()
