"""Inventory: typed models and loaders (YAML, Ansible inventory)."""

from isolate.inventory.models import (
    AccessPort,
    CredentialSet,
    Device,
    Edge,
    Group,
    Host,
    Inventory,
    Management,
    Protected,
    Segment,
    Service,
    Vpn,
    VpnGroup,
    VpnUser,
)

__all__ = [
    "AccessPort",
    "CredentialSet",
    "Device",
    "Edge",
    "Group",
    "Host",
    "Inventory",
    "Management",
    "Protected",
    "Segment",
    "Service",
    "Vpn",
    "VpnGroup",
    "VpnUser",
]
