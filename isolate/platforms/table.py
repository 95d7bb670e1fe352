"""The one literal table of platforms. Adding a vendor starts with one entry here
(docs/platforms.md, "Adding a platform")."""

from __future__ import annotations

from typing import Final

from isolate.platforms.record import (
    CommitConfirmed,
    Dialect,
    Identity,
    InterfaceGrammar,
    Locate,
    Markers,
    Platform,
    Probe,
    RevertOnEnter,
    ScheduledRevert,
    State,
)

IOS_INTERFACES: Final = InterfaceGrammar(
    style="typed",
    types=(
        "GigabitEthernet",
        "TenGigabitEthernet",
        "TwentyFiveGigE",
        "FortyGigabitEthernet",
        "HundredGigE",
        "FastEthernet",
        "Ethernet",
        "Vlan",
        "Loopback",
        "Port-channel",
        "Tunnel",
    ),
    logical=frozenset({"Vlan", "Loopback", "Port-channel", "Tunnel"}),
)
ASA_INTERFACES: Final = InterfaceGrammar(
    style="typed",
    types=(*IOS_INTERFACES.types, "Management", "Redundant"),
    logical=IOS_INTERFACES.logical | {"Redundant"},
)
KERNEL_INTERFACES: Final = InterfaceGrammar(style="kernel")
# Junos: physical ports TYPE-FPC/PIC/PORT (ge, xe, et, mge…), aggregates aeN, irb, lo0, vme,
# me0, emN; a logical unit as .N
JUNOS_INTERFACES: Final = InterfaceGrammar(
    style="pattern",
    pattern=r"(?:(?:ge|xe|et|mge|fe|xle|sxe|gr)-\d{1,2}/\d{1,2}/\d{1,3}(?::\d)?|ae\d{1,3}|irb|lo0|vme|me0"
    r"|em\d)(?:\.\d{1,5})?",
)

# IOS answers a refused or failed configuration command with a line starting with '%'
# (Invalid input, Incomplete, Ambiguous, Unknown command, Access denied, No Rollback Confirmed
# Change pending, IP addresses may not be configured on L2 links, Duplicate sequence number,
# %Turn config archive on ...), and some refusals without one: TACACS+ command authorization
# and a VTP client refusing a VLAN change. Some '%' lines are information on a change that
# was made (a missing access VLAN is created; warnings; VLAN changes being applied).
IOS_MARKERS: Final = Markers(
    refusal=(
        r"%",
        r"Command authorization failed",
        r"VTP VLAN configuration not allowed when device is in CLIENT mode",
        r"Command rejected:",
    ),
    informational=(
        r"% Access VLAN does not exist\. Creating vlan \d+",
        r"%\s*Warning\b",
        r"% Applying VLAN changes may take few minutes",
    ),
)
ASA_MARKERS: Final = Markers(
    refusal=(
        r"ERROR:",
        r"%\s*Invalid input",
        r"%\s*Incomplete command",
        r"%\s*Ambiguous command",
        r"Command authorization failed",
    ),
    informational=(r"WARNING:", r"INFO:"),
)

# Configuration lines that enter or leave a sub-mode (Dialect.contexts): a pipelined write ends
# with one of them. Listing a line that is not a context costs a round trip; missing one means a
# refused context line lets the lines written after it run in the previous mode (docs/platforms.md).
IOS_CONTEXTS: Final = (
    "interface", "vlan", "ip access-list", "ipv6 access-list", "mac access-list", "router",
    "line", "archive", "class-map", "policy-map", "ip dhcp pool", "ipv6 dhcp pool", "key chain",
    "crypto", "control-plane", "aaa", "vrf", "ip vrf", "object-group", "track", "redundancy",
    "spanning-tree mst", "monitor", "banner", "event", "flow", "parameter-map", "zone",
    "zone-pair", "ip sla", "route-map", "template", "username", "exit", "end",
)  # fmt: skip
ASA_CONTEXTS: Final = (
    "interface", "username", "group-policy", "tunnel-group", "object", "object-group", "router",
    "crypto", "webvpn", "class-map", "policy-map", "aaa-server", "ldap", "dynamic-access-policy-record",
    "exit", "end",
)  # fmt: skip

IOS_REVERT: Final = RevertOnEnter(
    enter="configure terminal revert timer {units}",
    confirm="configure confirm",
    unit_s=60,
    requires=r"(?m)^archive\n(?: [^\n]*\n)*? path \S+",
    requires_text="the IOS archive feature ('archive' with 'path flash:archive')",
    armed=Probe(
        "show archive config rollback timer",
        r"^\s*Timer value\s*:",
        "the revert timer is armed",
    ),
)

PLATFORMS: Final[dict[str, Platform]] = {
    "cisco_ios": Platform(
        name="cisco_ios",
        title="Cisco IOS / IOS-XE",
        session="cli",
        grammar="ios",
        interfaces=IOS_INTERFACES,
        dialect=Dialect(prepare=("terminal length 0", "terminal width 511"), contexts=IOS_CONTEXTS),
        markers=IOS_MARKERS,
        state=State(
            "show running-config",
            header=(r"Building configuration\.\.\.$", r"Current configuration : \d+ bytes$"),
            volatile=(
                r"! Last configuration change at ",
                r"! NVRAM config last updated at ",
                r"! No configuration change since last restart",
                r"ntp clock-period \d+$",
                r"Configuration last modified by ",
                r"Local updater ID is ",
                r"Configuration Revision\s+:",
                r"MD5 digest\s+:",
                r"\s+(?:0x[0-9A-F]{2} ){8}$",
            ),
            also=("show vlan brief", "show vtp status"),
        ),
        identity=Identity("show version", r"Cisco IOS"),
        confirm=IOS_REVERT,
        netmiko_type="cisco_ios",
        ansible_network_os=("cisco.ios.ios", "cisco.ios", "ios"),
        default_role="switch",
        lab_kind="cisco_ios",
        acl_binding="interface",
        locate=Locate("show ip arp {address}", "ios", mac_table="show mac address-table address {mac}"),
    ),
    "cisco_asa": Platform(
        name="cisco_asa",
        title="Cisco ASA",
        session="cli",
        grammar="ios",
        interfaces=ASA_INTERFACES,
        dialect=Dialect(prepare=("terminal pager 0",), contexts=ASA_CONTEXTS),
        markers=ASA_MARKERS,
        state=State("show running-config", header=(r": ", r":$", r"Cryptochecksum:")),
        identity=Identity("show version", r"Adaptive Security Appliance"),
        netmiko_type="cisco_asa",
        ansible_network_os=("cisco.asa.asa", "cisco.asa", "asa"),
        default_role="firewall",
        lab_kind="cisco_asa",
    ),
    "linux": Platform(
        name="linux",
        title="Linux nftables firewall/router",
        session="nft",
        grammar="nft",
        interfaces=KERNEL_INTERFACES,
        state=State("nft -s list ruleset"),
        identity=Identity("uname -s", r"^Linux\s*$"),
        confirm=ScheduledRevert(),
        default_role="server",
        lab_kind="linux",
        locate=Locate("ip neigh show {address}", "ip-neigh"),
    ),
    "openvswitch": Platform(
        name="openvswitch",
        title="Open vSwitch",
        session="ovs",
        grammar="ovs",
        interfaces=KERNEL_INTERFACES,
        state=State("ovs-vsctl --format=json list port"),
        identity=Identity("ovs-vsctl --version", r"(?m)^ovs-vsctl \(Open vSwitch\) \d"),
        ansible_network_os=("openvswitch.openvswitch.openvswitch", "openvswitch"),
        default_role="switch",
    ),
    "wireguard": Platform(
        name="wireguard",
        title="WireGuard VPN concentrator",
        session="wireguard",
        grammar="wg",
        interfaces=KERNEL_INTERFACES,
        state=State("wg show wg0 dump"),
        identity=Identity("wg show interfaces", r"(?:^|\s)wg0(?:\s|$)"),  # the interface driven
        default_role="vpn",
    ),
    "ansible": Platform(
        name="ansible",
        title="Server managed with Ansible",
        session="ansible",
        grammar="ansible",
        interfaces=KERNEL_INTERFACES,
        state=State("ansible facts: smbd/nmbd states, isolate's host nft table"),
        identity=Identity("uname -s", r"^Linux\s*$"),  # answered through an Ansible task on the host
        default_role="server",
    ),
    "active_directory": Platform(
        name="active_directory",
        title="Active Directory domain controller (LDAP)",
        session="ldap",
        management_port=636,
        grammar="ldap",
        interfaces=KERNEL_INTERFACES,
        state=State("LDAP search: userAccountControl and memberOf of every account and group"),
        # the RootDSE names LDAP_CAP_ACTIVE_DIRECTORY_OID among its supportedCapabilities
        identity=Identity("root-dse", r"(?m)^supportedCapabilities: 1\.2\.840\.113556\.1\.4\.800$"),
        default_role="server",
    ),
    "fortios": Platform(
        name="fortios",
        title="Fortinet FortiGate (FortiOS REST API)",
        session="fortios",
        management_port=443,
        grammar="fortios",
        interfaces=KERNEL_INTERFACES,
        # the driver's read of GET /api/v2/cmdb/TABLE for firewall/address, firewall/addrgrp,
        # firewall.service/custom, firewall/policy, user/local, user/group, normalised
        # (isolate/drivers/fortios_state.py)
        state=State("cmdb-tables"),
        identity=Identity("system-status", r"(?m)^model_name: FortiGate$"),
        ansible_network_os=("fortinet.fortios.fortios", "fortios"),
        default_role="firewall",
        lab_kind="fortios",
    ),
    "junos": Platform(
        name="junos",
        title="Juniper Junos (EX/QFX/MX over NETCONF)",
        session="netconf",
        management_port=830,
        grammar="junos",
        interfaces=JUNOS_INTERFACES,
        # <get-configuration database="committed" format="text"/>: show configuration
        state=State(
            "show configuration",
            volatile=(r"## Last commit: ", r"## Last changed: "),
        ),
        # 'Junos: 18.4R2.7' (15.1 and later); before 15.1 only package lines: 'JUNOS Base OS
        # boot [12.3R12.4]'
        identity=Identity("show version", r"(?m)^(?:Junos: \d|JUNOS [^\n]*\[\d)"),
        confirm=CommitConfirmed(),
        netmiko_type="juniper_junos",
        ansible_network_os=("junipernetworks.junos.junos", "junos"),
        default_role="switch",
        lab_kind="junos",
        acl_binding="interface",
        locate=Locate("show arp no-resolve hostname {address}", "junos"),
    ),
    "openvpn": Platform(
        name="openvpn",
        title="OpenVPN server (management interface)",
        session="openvpn",
        grammar="openvpn",
        interfaces=KERNEL_INTERFACES,
        state=State("version"),
        identity=Identity("version", r"(?m)^OpenVPN Version: OpenVPN "),
        default_role="vpn",
    ),
}
