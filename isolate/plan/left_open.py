"""What a change that is not made leaves open, in the operator's words (pure).

Used when devices are left out of a plan (``--exclude``, ``--limit``, unreachable at
pre-check with ``--skip-unreachable``): the plan, the journal and the run's summary say in
one place what stays open because of them.
"""

from __future__ import annotations

from typing import Any


def left_open(item: Any) -> str:
    """``attacker prefixes not blocked: 203.0.113.0/24`` for one work item not applied."""
    action = getattr(item, "action", "?")
    if action == "edge-block":
        return f"attacker prefixes not blocked: {', '.join(str(p) for p in item.prefixes)}"
    if action == "revoke-vpn":
        return f"VPN users not revoked: {', '.join(item.users)}"
    if action == "quarantine":
        return f"ports not quarantined: {', '.join(f'{p.interface} ({p.host})' for p in item.ports)}"
    if action == "shut-port":
        return f"ports not shut: {', '.join(f'{p.interface} ({p.host})' for p in item.ports)}"
    if action == "block-smb":
        return f"SMB not cut for segments: {', '.join(item.segments)}"
    if action == "segment-acl":
        return f"segments not cut: {', '.join(item.segments)}"
    if action in ("disable-smb-host", "fence-host"):
        return f"{action} not done on host {item.host}"
    return f"{action} not done"
