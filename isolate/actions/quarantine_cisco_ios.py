"""quarantine on a Cisco IOS access switch: the hosts' access ports move to a
quarantine VLAN that has no SVI, so they reach nothing outside it."""

from __future__ import annotations

from isolate.actions.base import QuarantineItem
from isolate.actions.ios_config import (
    RunningConfig,
    access_vlan,
    child_value,
    has_child,
)


class QuarantineCiscoIos:
    action = "quarantine"
    platform = "cisco_ios"
    verify_commands: tuple[str, ...] = ()

    def render(self, item: QuarantineItem) -> list[str]:
        commands = [f"vlan {item.vlan}", f"name {item.vlan_name}"]
        for port in item.ports:
            commands += [f"interface {port.interface}", f"switchport access vlan {item.vlan}"]
        return commands

    def precheck(self, item: QuarantineItem, state: str) -> list[str]:
        config = RunningConfig(state)
        problems: list[str] = []
        vlan = config.vlan(item.vlan)
        name = child_value(vlan, "name") if vlan is not None else None
        if vlan is not None and name != item.vlan_name:
            problems.append(
                f"VLAN {item.vlan} already exists as '{name or 'unnamed'}': not a safe quarantine VLAN"
            )
        if config.interface(f"Vlan{item.vlan}") is not None:
            problems.append(f"interface Vlan{item.vlan} exists: quarantine VLAN would be routed")
        for port in item.ports:
            block = config.interface(port.interface)
            if block is None:
                problems.append(f"{port.interface} (host {port.host}) not found: inventory drift")
                continue
            if has_child(block, "switchport mode trunk"):
                problems.append(f"{port.interface} (host {port.host}) is a trunk, not an access port")
            actual = access_vlan(block)
            if actual not in (port.expected_vlan, item.vlan):
                problems.append(
                    f"inventory drift: {port.interface} (host {port.host}) is in VLAN {actual}, "
                    f"inventory says {port.expected_vlan}"
                )
        return problems

    def inverse(self, item: QuarantineItem, state: str) -> list[str]:
        config = RunningConfig(state)
        commands: list[str] = []
        for port in item.ports:
            block = config.interface(port.interface)
            commands.append(f"interface {port.interface}")
            had = child_value(block, "switchport access vlan") if block is not None else None
            commands.append(f"switchport access vlan {had}" if had else "no switchport access vlan")
        vlan = config.vlan(item.vlan)
        if vlan is None:
            commands.append(f"no vlan {item.vlan}")
        else:
            name = child_value(vlan, "name")
            commands += [f"vlan {item.vlan}", f"name {name}" if name else "no name"]
        return commands

    def verify(self, item: QuarantineItem, state: str, extra: dict[str, str]) -> list[str]:
        config = RunningConfig(state)
        problems: list[str] = []
        if config.vlan(item.vlan) is None:
            problems.append(f"VLAN {item.vlan} missing")
        for port in item.ports:
            block = config.interface(port.interface)
            if block is None or access_vlan(block) != item.vlan:
                problems.append(f"{port.interface} (host {port.host}) not in VLAN {item.vlan}")
        return problems


ACTION = QuarantineCiscoIos()
