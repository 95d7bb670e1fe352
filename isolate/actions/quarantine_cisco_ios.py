"""quarantine on a Cisco IOS access switch: the hosts' access ports move to a
quarantine VLAN that has no SVI, so they reach nothing outside it, and each port gets a
port ACL (``ip access-group ISOLATE-<STEP> in``, ``deny ip any any``) so that quarantined
hosts do not reach each other inside that VLAN either — on one switch or across trunks,
where ``switchport protected`` alone would not isolate them.

VTP: the VLAN database is read from the device state (``show vlan brief``, ``show vtp
status``), not from the running configuration, where a VTP server or client does not
show VLANs. A VLAN that exists under another name is never renamed or deleted: the
pre-check refuses (isolate only deletes, on restore, the VLAN it created). A VTP client
cannot create the VLAN: the pre-check refuses in one line."""

from __future__ import annotations

from isolate.actions.base import QuarantineItem, acl_name
from isolate.actions.ios_config import (
    RunningConfig,
    access_group,
    access_vlan,
    acl_entries,
    canonical_ace,
    child_value,
    has_child,
)
from isolate.actions.ios_vlans import vlan_database, vtp_mode

ENTRIES = ("deny ip any any",)


class QuarantineCiscoIos:
    action = "quarantine"
    platform = "cisco_ios"
    verify_commands: tuple[str, ...] = ()

    def render(self, item: QuarantineItem) -> list[str]:
        acl = acl_name(item.step)
        commands = [f"vlan {item.vlan}", f"name {item.vlan_name}", f"ip access-list extended {acl}", *ENTRIES]
        for port in item.ports:
            commands += [
                f"interface {port.interface}",
                f"switchport access vlan {item.vlan}",
                f"ip access-group {acl} in",
            ]
        return commands

    def precheck(self, item: QuarantineItem, state: str) -> list[str]:
        config = RunningConfig(state)
        mode = vtp_mode(state)
        if mode == "client":
            return [
                f"VTP client: VLAN {item.vlan} cannot be created here (the VTP server owns the "
                "VLAN database); quarantine on this switch refused"
            ]
        problems: list[str] = []
        name = vlan_database(state).get(item.vlan)
        if name is not None and name != item.vlan_name:
            problems.append(
                f"VLAN {item.vlan} already exists as '{name}' in the VLAN database: not a safe "
                "quarantine VLAN (isolate never renames or deletes a VLAN it did not create)"
            )
        if config.interface(f"Vlan{item.vlan}") is not None:
            problems.append(f"interface Vlan{item.vlan} exists: quarantine VLAN would be routed")
        acl = acl_name(item.step)
        if config.acl(acl) is not None:
            problems.append(f"ACL {acl} already exists (left by another run?)")
        for port in item.ports:
            block = config.interface(port.interface)
            if block is None:
                problems.append(f"{port.interface} (host {port.host}) not found: inventory drift")
                continue
            if has_child(block, "switchport mode trunk"):
                problems.append(f"{port.interface} (host {port.host}) is a trunk, not an access port")
            bound = access_group(block, "in")
            if bound is not None and bound != acl:
                problems.append(
                    f"{port.interface} (host {port.host}) already has 'ip access-group {bound} in'; "
                    "binding ours would replace it"
                )
            actual = access_vlan(block)
            if actual not in (port.expected_vlan, item.vlan):
                problems.append(
                    f"inventory drift: {port.interface} (host {port.host}) is in VLAN {actual}, "
                    f"inventory says {port.expected_vlan}"
                )
        return problems

    def inverse(self, item: QuarantineItem, state: str) -> list[str]:
        config = RunningConfig(state)
        acl = acl_name(item.step)
        commands: list[str] = []
        for port in item.ports:
            block = config.interface(port.interface)
            commands.append(f"interface {port.interface}")
            had = child_value(block, "switchport access vlan") if block is not None else None
            commands.append(f"switchport access vlan {had}" if had else "no switchport access vlan")
            bound = access_group(block, "in") if block is not None else None
            commands.append(f"ip access-group {bound} in" if bound else f"no ip access-group {acl} in")
        commands.append(f"no ip access-list extended {acl}")
        previous = config.acl(acl)
        if previous is not None:
            commands += [f"ip access-list extended {acl}", *previous.children]
        if item.vlan not in vlan_database(state):
            commands.append(f"no vlan {item.vlan}")  # isolate created it: delete it again
        return commands

    def verify(self, item: QuarantineItem, state: str, extra: dict[str, str]) -> list[str]:
        config = RunningConfig(state)
        problems: list[str] = []
        if vlan_database(state).get(item.vlan) != item.vlan_name:
            problems.append(f"VLAN {item.vlan} '{item.vlan_name}' missing from the VLAN database")
        acl = acl_name(item.step)
        block = config.acl(acl)
        if block is None or acl_entries(block) != [canonical_ace(e) for e in ENTRIES]:
            problems.append(f"ACL {acl} missing or not '{'; '.join(ENTRIES)}'")
        for port in item.ports:
            iface = config.interface(port.interface)
            if iface is None or access_vlan(iface) != item.vlan:
                problems.append(f"{port.interface} (host {port.host}) not in VLAN {item.vlan}")
            elif access_group(iface, "in") != acl:
                problems.append(f"{port.interface} (host {port.host}) lacks 'ip access-group {acl} in'")
        return problems


ACTION = QuarantineCiscoIos()
