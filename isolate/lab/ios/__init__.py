"""Simulated Cisco IOS / IOS-XE switch and router (netmiko ``cisco_ios``).

Answers netmiko, Ansible ``cisco.ios`` and paramiko the way a Catalyst running IOS
15.2 does: user (``name>``), privileged (``name#``, ``enable`` + secret) and the
configuration modes ``(config)``, ``(config-if)``, ``(config-vlan)``,
``(config-ext-nacl)``, ``(config-archive)``; abbreviations resolved as IOS does;
errors printed exactly as IOS does (caret line + ``% Invalid input detected at '^'
marker.``, ``% Incomplete command.``, ``% Ambiguous command:  "..."``).
``configure terminal revert timer N`` (needs ``archive`` + ``path``) arms the
device-owned rollback; ``configure confirm`` keeps the change; otherwise the device
reverts by itself when the window expires. ``ISOLATE_LAB_TIME_SCALE=60`` makes one
revert minute last one second (tests); real syntax is unchanged.

Model API (for the traffic model, ``isolate.lab.flows``) — read-only use:

``IosDevice.config -> IosConfig`` (the running configuration):
  - ``hostname: str``
  - ``vlans: dict[int, str | None]`` — VLAN id -> name (None: IOS default ``VLAN0010``)
  - ``interfaces: dict[str, Interface]`` keyed by full name (``GigabitEthernet1/0/5``,
    ``Vlan10``). ``Interface`` fields: ``name``, ``description``, ``shutdown: bool``,
    ``switchport: bool`` (L2), ``mode: "access" | "trunk" | None``,
    ``access_vlan: int`` (1 by default), ``trunk_allowed: tuple[int, ...] | None``
    (None = all), ``ip_address``/``ip_mask`` (``prefix`` property: ``"10.10.10.1/24"``),
    ``acl_in``/``acl_out: str | None`` (``ip access-group``), ``connected: bool``
    (a link is plugged in: lab wiring, not configuration)
  - ``acls: dict[str, list[Ace]]`` — extended ACLs, entries in sequence order
  - ``routes: list[Route]`` — static routes (``prefix``, ``mask``, ``target``)
``IosDevice.interface(name) -> Interface | None``
``IosDevice.svi(vlan) -> Interface | None`` — ``interface VlanN`` when it has an
  address and is not shut (a VLAN without one cannot route)
``IosDevice.null_routes() -> list[IPv4Network]``; ``IosDevice.drops_to(ip) -> bool``
``IosDevice.acl_permits(name, proto, src_ip, dst_ip, dport) -> bool`` — IOS semantics:
  first match wins, implicit deny at the end, a missing (undefined) ACL permits;
  ``proto`` is ``"tcp"``, ``"udp"`` or ``"icmp"``; an entry with a source-port
  condition never matches (flows use an ephemeral source port).
"""

from isolate.lab.ios.config import Interface, IosConfig, Route
from isolate.lab.ios.device import IosDevice, IosSpec, time_scale

__all__ = ["Interface", "IosConfig", "IosDevice", "IosSpec", "Route", "time_scale"]
