"""quarantine on a Junos EX (ELS) access switch: the hosts' access ports become members of
a quarantine VLAN that has no ``l3-interface`` (``unit 0 family ethernet-switching vlan
members NAME``), so they reach nothing outside it, and each port gets an
``ethernet-switching`` filter discarding everything it receives, so quarantined hosts do not
reach each other inside that VLAN either. A VLAN isolate did not create is never renamed or
deleted: one that exists under another name or id makes the pre-check refuse."""

from __future__ import annotations

from isolate.actions.base import QuarantineItem, acl_name
from isolate.actions.junos_config import filter_path, restore, set_lines, under, values, vlan_names

TERMS = ("term quarantine then discard",)


def _unit(interface: str) -> str:
    return f"interfaces {interface} unit 0 family ethernet-switching"


class QuarantineJunos:
    action = "quarantine"
    platform = "junos"
    verify_commands: tuple[str, ...] = ()

    def render(self, item: QuarantineItem) -> list[str]:
        name = acl_name(item.step)
        lines = [f"set vlans {item.vlan_name} vlan-id {item.vlan}"]
        lines += [f"set {filter_path('ethernet-switching', name)} {t}" for t in TERMS]
        for port in item.ports:
            lines += [f"delete {_unit(port.interface)} vlan members",
                      f"set {_unit(port.interface)} vlan members {item.vlan_name}",
                      f"set {_unit(port.interface)} filter input {name}"]
        return lines

    def precheck(self, item: QuarantineItem, state: str) -> list[str]:
        lines = set_lines(state)
        vlans = vlan_names(lines)
        problems: list[str] = []
        for vlan, vlan_id in sorted(vlans.items()):
            if vlan_id == item.vlan and vlan != item.vlan_name:
                problems.append(f"VLAN {item.vlan} already exists as '{vlan}': not a safe quarantine VLAN "
                                "(isolate never renames or deletes a VLAN it did not create)")
        if item.vlan_name in vlans and vlans[item.vlan_name] != item.vlan:
            problems.append(f"VLAN '{item.vlan_name}' already exists with vlan-id {vlans[item.vlan_name]}")
        if values(lines, f"vlans {item.vlan_name} l3-interface"):
            problems.append(f"VLAN '{item.vlan_name}' has an l3-interface: quarantine VLAN would be routed")
        name = acl_name(item.step)
        if under(lines, filter_path("ethernet-switching", name)):
            problems.append(f"firewall filter {name} already exists (left by another run?)")
        for port in item.ports:
            problems += self._port(port.interface, port.host, port.expected_vlan, item, lines, vlans)
        return problems

    def _port(self, interface: str, host: str, expected: int, item: QuarantineItem,
              lines: list[str], vlans: dict[str, int]) -> list[str]:
        unit = _unit(interface)
        if not under(lines, unit):
            return [f"{interface} (host {host}) has no unit 0 family ethernet-switching: inventory drift"]
        if values(lines, f"{unit} interface-mode") == ["trunk"]:
            return [f"{interface} (host {host}) is a trunk, not an access port"]
        problems: list[str] = []
        bound = values(lines, f"{unit} filter input")
        if bound and bound != [acl_name(item.step)]:
            problems.append(f"{interface} (host {host}) already has 'filter input {bound[0]}'; "
                            "binding ours would replace it")
        members = values(lines, f"{unit} vlan members")
        ids = [vlans.get(m, int(m) if m.isdigit() else -1) for m in members]
        if ids not in ([expected], [item.vlan]):
            problems.append(f"inventory drift: {interface} (host {host}) is in VLAN "
                            f"{' '.join(members) or 'none'}, inventory says {expected}")
        return problems

    def inverse(self, item: QuarantineItem, state: str) -> list[str]:
        lines = set_lines(state)
        paths = [p for port in item.ports for p in (f"{_unit(port.interface)} vlan members",
                                                    f"{_unit(port.interface)} filter input")]
        paths.append(filter_path("ethernet-switching", acl_name(item.step)))
        if item.vlan_name not in vlan_names(lines):
            paths.append(f"vlans {item.vlan_name}")  # isolate created it: delete it again
        return restore(lines, paths)

    def verify(self, item: QuarantineItem, state: str, extra: dict[str, str]) -> list[str]:
        lines = set_lines(state)
        name = acl_name(item.step)
        problems: list[str] = []
        if vlan_names(lines).get(item.vlan_name) != item.vlan:
            problems.append(f"VLAN {item.vlan} '{item.vlan_name}' missing under vlans")
        wanted = [f"set {filter_path('ethernet-switching', name)} {t}" for t in TERMS]
        if under(lines, filter_path("ethernet-switching", name)) != wanted:
            problems.append(f"firewall filter {name} missing or not '{'; '.join(TERMS)}'")
        for port in item.ports:
            unit = _unit(port.interface)
            if values(lines, f"{unit} vlan members") != [item.vlan_name]:
                problems.append(f"{port.interface} (host {port.host}) not in VLAN {item.vlan_name}")
            elif values(lines, f"{unit} filter input") != [name]:
                problems.append(f"{port.interface} (host {port.host}) lacks 'filter input {name}'")
        return problems


ACTION = QuarantineJunos()
