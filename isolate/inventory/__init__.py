"""Inventory: typed models and loaders (YAML, Ansible inventory)."""

from isolate.inventory.credentials import Credentials, resolve_credentials
from isolate.inventory.loader import base_dir, known_hosts_path, load_inventory, lock_dir_path
from isolate.inventory.models import (
    PLATFORMS,
    ROLES,
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
    "PLATFORMS",
    "ROLES",
    "AccessPort",
    "CredentialSet",
    "Credentials",
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
    "base_dir",
    "known_hosts_path",
    "load_inventory",
    "lock_dir_path",
    "resolve_credentials",
]
