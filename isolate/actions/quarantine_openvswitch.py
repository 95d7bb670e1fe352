"""quarantine on Open vSwitch: the hosts' access ports get the quarantine VLAN's tag and
become protected ports (``ovs-vsctl set port P tag=N protected=true``). No router port
carries that VLAN, so a quarantined host reaches nothing outside it, and OVS forwards
nothing between two protected ports, so quarantined hosts do not reach each other inside
it either. The inverse puts back each port's captured tag (or clears it when the port
had none) and its captured ``protected`` flag."""

from __future__ import annotations

from isolate.actions.base import QuarantineItem
from isolate.drivers.openvswitch import port_protected, port_tags


class QuarantineOpenvswitch:
    action = "quarantine"
    platform = "openvswitch"
    verify_commands: tuple[str, ...] = ()

    def render(self, item: QuarantineItem) -> list[str]:
        return [f"ovs-vsctl set port {port.interface} tag={item.vlan} protected=true" for port in item.ports]

    def precheck(self, item: QuarantineItem, state: str) -> list[str]:
        tags = port_tags(state)
        problems: list[str] = []
        for port in item.ports:
            actual = tags.get(port.interface)
            if actual is None:
                problems.append(f"port {port.interface} (host {port.host}) not found: inventory drift")
            elif actual not in (str(port.expected_vlan), str(item.vlan)):
                problems.append(
                    f"inventory drift: port {port.interface} (host {port.host}) has tag {actual}, "
                    f"inventory says {port.expected_vlan}"
                )
        in_use = sorted(p for p, tag in tags.items() if tag == str(item.vlan))
        mine = {port.interface for port in item.ports}
        others = [p for p in in_use if p not in mine]
        if others:
            problems.append(f"VLAN {item.vlan} is already used by port(s) {', '.join(others)}")
        return problems

    def inverse(self, item: QuarantineItem, state: str) -> list[str]:
        tags = port_tags(state)
        protected = port_protected(state)
        commands: list[str] = []
        for port in item.ports:
            had = tags.get(port.interface, "none")
            flag = "true" if protected.get(port.interface) else "false"
            if had == "none":
                commands.append(f"ovs-vsctl clear port {port.interface} tag")
                commands.append(f"ovs-vsctl set port {port.interface} protected={flag}")
            else:
                commands.append(f"ovs-vsctl set port {port.interface} tag={had} protected={flag}")
        return commands

    def verify(self, item: QuarantineItem, state: str, extra: dict[str, str]) -> list[str]:
        tags = port_tags(state)
        protected = port_protected(state)
        problems = []
        for port in item.ports:
            if tags.get(port.interface) != str(item.vlan):
                problems.append(f"port {port.interface} (host {port.host}) not in VLAN {item.vlan}")
            elif not protected.get(port.interface):
                problems.append(f"port {port.interface} (host {port.host}) is not a protected port")
        return problems


ACTION = QuarantineOpenvswitch()
