"""shut-port on a Cisco IOS switch: ``shutdown`` on the hosts' access ports."""

from __future__ import annotations

from isolate.actions.base import ShutPortItem
from isolate.actions.ios_config import RunningConfig, is_shutdown


class ShutPortCiscoIos:
    action = "shut-port"
    platform = "cisco_ios"
    verify_commands: tuple[str, ...] = ()

    def render(self, item: ShutPortItem) -> list[str]:
        commands: list[str] = []
        for port in item.ports:
            commands += [f"interface {port.interface}", "shutdown"]
        return commands

    def precheck(self, item: ShutPortItem, state: str) -> list[str]:
        config = RunningConfig(state)
        return [
            f"{p.interface} (host {p.host}) not found: inventory drift"
            for p in item.ports
            if config.interface(p.interface) is None
        ]

    def inverse(self, item: ShutPortItem, state: str) -> list[str]:
        config = RunningConfig(state)
        commands: list[str] = []
        for port in item.ports:
            block = config.interface(port.interface)
            if block is not None and not is_shutdown(block):
                commands += [f"interface {port.interface}", "no shutdown"]
        return commands

    def verify(self, item: ShutPortItem, state: str, extra: dict[str, str]) -> list[str]:
        config = RunningConfig(state)
        problems: list[str] = []
        for port in item.ports:
            block = config.interface(port.interface)
            if block is None or not is_shutdown(block):
                problems.append(f"{port.interface} (host {port.host}) is not shut down")
        return problems


ACTION = ShutPortCiscoIos()
