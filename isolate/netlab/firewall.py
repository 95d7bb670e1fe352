"""Kernel settings and initial nftables rulesets of the lab's namespaces.

Each router/firewall starts with Debian's default ``table inet filter`` (input,
forward and output chains, policy accept): the flat network of the Caen case,
which isolate's linux actions then cut in tables of their own. Beside it, the lab
adds ``table inet netlab_guard``, which never changes: it drops every forwarded
packet from or to an address outside the lab's ranges, every IPv6 packet and, on
the edge and the VPN gateway, anything forwarded into or out of their management
leg (the management network is reached only on its own VLAN); and SSH to the device
itself is accepted only on its management interface.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

GUARD_TABLE = "netlab_guard"

DEBIAN_DEFAULT = """table inet filter {
	chain input {
		type filter hook input priority filter; policy accept;
	}

	chain forward {
		type filter hook forward priority filter; policy accept;
	}

	chain output {
		type filter hook output priority filter; policy accept;
	}
}
"""


def guard(ranges: Sequence[ipaddress.IPv4Network], *, mgmt_iface: str | None, ssh_iface: str) -> str:
    nets = ", ".join(str(r) for r in ranges)
    rules = [
        "meta nfproto ipv6 drop",
        f"ip saddr != {{ {nets} }} drop",
        f"ip daddr != {{ {nets} }} drop",
    ]
    if mgmt_iface:
        rules += [f'iifname "{mgmt_iface}" drop', f'oifname "{mgmt_iface}" drop']
    body = "\n".join(f"\t\t{r}" for r in rules)
    return (
        f"table inet {GUARD_TABLE} {{\n\tchain forward {{\n"
        f"\t\ttype filter hook forward priority filter - 10; policy accept;\n{body}\n\t}}\n\n"
        f"\tchain input {{\n\t\ttype filter hook input priority filter - 10; policy accept;\n"
        f'\t\ttcp dport 22 iifname != "{ssh_iface}" drop\n\t}}\n}}\n'
    )


def router_rules(ranges: Sequence[ipaddress.IPv4Network], *, mgmt_iface: str | None, ssh_iface: str) -> str:
    return DEBIAN_DEFAULT + guard(ranges, mgmt_iface=mgmt_iface, ssh_iface=ssh_iface)
