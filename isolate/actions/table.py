"""The one table of supported (action, platform) pairs. A new vendor for an action is
one module and one line here; a pair missing here fails at plan time (PlanError)."""

from __future__ import annotations

from isolate.actions import (
    block_smb_cisco_ios,
    block_smb_fortios,
    block_smb_junos,
    block_smb_linux,
    disable_account_active_directory,
    disable_smb_host_ansible,
    edge_block_cisco_ios,
    edge_block_fortios,
    edge_block_junos,
    edge_block_linux,
    fence_host_ansible,
    quarantine_cisco_ios,
    quarantine_junos,
    quarantine_openvswitch,
    revoke_vpn_cisco_asa,
    revoke_vpn_fortios,
    revoke_vpn_openvpn,
    revoke_vpn_wireguard,
    segment_acl_cisco_ios,
    segment_acl_fortios,
    segment_acl_junos,
    segment_acl_linux,
    shut_port_cisco_ios,
)
from isolate.actions.base import AnyAction
from isolate.errors import PlanError

ACTIONS: dict[tuple[str, str], AnyAction] = {
    ("quarantine", "cisco_ios"): quarantine_cisco_ios.ACTION,
    ("quarantine", "openvswitch"): quarantine_openvswitch.ACTION,
    ("quarantine", "junos"): quarantine_junos.ACTION,
    ("shut-port", "cisco_ios"): shut_port_cisco_ios.ACTION,
    ("block-smb", "cisco_ios"): block_smb_cisco_ios.ACTION,
    ("block-smb", "linux"): block_smb_linux.ACTION,
    ("block-smb", "fortios"): block_smb_fortios.ACTION,
    ("block-smb", "junos"): block_smb_junos.ACTION,
    ("segment-acl", "cisco_ios"): segment_acl_cisco_ios.ACTION,
    ("segment-acl", "linux"): segment_acl_linux.ACTION,
    ("segment-acl", "fortios"): segment_acl_fortios.ACTION,
    ("segment-acl", "junos"): segment_acl_junos.ACTION,
    ("edge-block", "cisco_ios"): edge_block_cisco_ios.ACTION,
    ("edge-block", "linux"): edge_block_linux.ACTION,
    ("edge-block", "fortios"): edge_block_fortios.ACTION,
    ("edge-block", "junos"): edge_block_junos.ACTION,
    ("revoke-vpn", "cisco_asa"): revoke_vpn_cisco_asa.ACTION,
    ("revoke-vpn", "wireguard"): revoke_vpn_wireguard.ACTION,
    ("revoke-vpn", "openvpn"): revoke_vpn_openvpn.ACTION,
    ("revoke-vpn", "fortios"): revoke_vpn_fortios.ACTION,
    ("disable-smb-host", "ansible"): disable_smb_host_ansible.ACTION,
    ("fence-host", "ansible"): fence_host_ansible.ACTION,
    ("disable-account", "active_directory"): disable_account_active_directory.ACTION,
}


def lookup(action: str, platform: str) -> AnyAction:
    """The module object for ``(action, platform)``; PlanError listing what exists if none."""
    found = ACTIONS.get((action, platform))
    if found is None:
        supported = sorted(p for a, p in ACTIONS if a == action)
        hint = f"supported: {', '.join(supported)}" if supported else "no platform supports it yet"
        raise PlanError(f"action {action} is not supported on platform {platform} ({hint})")
    return found
