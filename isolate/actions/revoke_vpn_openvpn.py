"""revoke-vpn on an OpenVPN server (its management interface, :mod:`isolate.drivers.openvpn`):
``kill USER`` ends every session of each user (the user name is the common name on a server
with ``username-as-common-name``). Re-connection is refused by what the server asks: the
directory — put a ``disable-account`` step before this one (playbooks/compromised-account.yml)
so that a killed client cannot log straight back in. Nothing is configured on the server, so
the inverse is empty: once restore re-enables the account, the user logs in again.
Verify: ``status 3`` lists no session of any of the users."""

from __future__ import annotations

from isolate.actions.base import RevokeVpnItem
from isolate.drivers.openvpn import STATUS, sessions_in


class RevokeVpnOpenvpn:
    action = "revoke-vpn"
    platform = "openvpn"
    verify_commands: tuple[str, ...] = (STATUS,)
    # what this concentrator does to a user a directory authenticates (the plan says it)
    directory_users = (
        "isolate logs their VPN sessions off, but the account itself must be disabled in the "
        "directory, or they can log in again"
    )

    def render(self, item: RevokeVpnItem) -> list[str]:
        return [f"kill {user}" for user in item.users]

    def precheck(self, item: RevokeVpnItem, state: str) -> list[str]:
        return [] if state.strip() else ["the management interface answered no version"]

    def inverse(self, item: RevokeVpnItem, state: str) -> list[str]:
        return []

    def verify(self, item: RevokeVpnItem, state: str, extra: dict[str, str]) -> list[str]:
        sessions = sessions_in(extra.get(STATUS, ""))
        return [
            f"VPN user {user} still has a session ({', '.join(sessions[user])})"
            for user in item.users
            if user in sessions
        ]


ACTION = RevokeVpnOpenvpn()
