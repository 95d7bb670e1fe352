"""revoke-vpn on a Cisco ASA: each local user gets ``vpn-simultaneous-logins 0``
(configuration: the client cannot reconnect), then every user's sessions are logged off
(privileged exec: the batch's ``exec_after`` lines, run after leaving configuration mode). A user
the inventory says is authenticated by a directory (RADIUS/LDAP/SAML, most AnyConnect
deployments) has no local account to change: only its sessions are logged off, and the plan
says plainly that the account must be disabled in the directory. The inverse gives each
local user back exactly the attribute value captured before, or removes it; sessions are not
restored (clients reconnect by themselves)."""

from __future__ import annotations

import re

from isolate.actions.base import RevokeVpnItem
from isolate.actions.ios_config import RunningConfig, child_value
from isolate.drivers.base import Batch

SESSIONS_COMMAND = "show vpn-sessiondb anyconnect"
_SESSION_USER = re.compile(r"^\s*Username\s*:\s*(\S+)", re.M)
ATTRIBUTE = "vpn-simultaneous-logins"


def session_users(output: str) -> set[str]:
    """User names with an active session in ``show vpn-sessiondb anyconnect`` output."""
    return set(_SESSION_USER.findall(output))


def _configured(config: RunningConfig, user: str) -> bool:
    prefix = f"username {user} ".lower()
    return any(line.lower().startswith(prefix) for line in config.top_lines())


def _local(item: RevokeVpnItem) -> list[str]:
    """The users with an account on the concentrator (not authenticated by a directory)."""
    return [user for user in item.users if user not in item.directory]


class RevokeVpnCiscoAsa:
    action = "revoke-vpn"
    platform = "cisco_asa"
    verify_commands: tuple[str, ...] = (SESSIONS_COMMAND,)
    # what this concentrator does to a user a directory authenticates (the plan says it)
    directory_users = (
        "isolate logs their VPN sessions off, but the account itself must be disabled in the "
        "directory, or they can log in again"
    )

    def render(self, item: RevokeVpnItem) -> Batch:
        config: list[str] = []
        for user in _local(item):
            config += [f"username {user} attributes", f"{ATTRIBUTE} 0"]
        logoff = tuple(f"vpn-sessiondb logoff name {user} noconfirm" for user in item.users)
        return Batch(tuple(config), logoff)

    def precheck(self, item: RevokeVpnItem, state: str) -> list[str]:
        config = RunningConfig(state)
        return [
            f"VPN user {user} is not a local user here (no 'username {user}' line); if it is "
            "authenticated by a directory, say so in the inventory (vpn.users: auth: directory)"
            for user in _local(item)
            if not _configured(config, user)
        ]

    def inverse(self, item: RevokeVpnItem, state: str) -> list[str]:
        config = RunningConfig(state)
        commands: list[str] = []
        for user in _local(item):
            block = config.block(f"username {user} attributes")
            before = child_value(block, ATTRIBUTE) if block is not None else None
            commands.append(f"username {user} attributes")
            commands.append(f"{ATTRIBUTE} {before}" if before else f"no {ATTRIBUTE}")
        return commands

    def verify(self, item: RevokeVpnItem, state: str, extra: dict[str, str]) -> list[str]:
        config = RunningConfig(state)
        active = session_users(extra.get(SESSIONS_COMMAND, ""))
        problems: list[str] = []
        for user in item.users:
            block = config.block(f"username {user} attributes")
            if user not in item.directory and (block is None or child_value(block, ATTRIBUTE) != "0"):
                problems.append(f"user {user} lacks '{ATTRIBUTE} 0'")
            if user in active:
                problems.append(f"user {user} still has an active VPN session")
        return problems


ACTION = RevokeVpnCiscoAsa()
