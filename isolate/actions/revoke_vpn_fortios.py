"""revoke-vpn on a FortiGate SSL-VPN: each local user is disabled (``set user/local U
{"status":"disable"}``); each user the inventory says a directory authenticates (a remote
user: ``type ldap``/``radius`` on the FortiGate) is removed from every user group listing it
(``leave-groups U``), so the SSL-VPN no longer admits it; then every user's SSL-VPN sessions
are ended through the monitor API (``logoff U``). The inverse, from the captured state, gives
each local user its captured status back and each group a user left its captured member list
(the membership captured for the inverse); sessions are not restored (clients reconnect by
themselves). Verify: the users disabled / in no group, and no session of any of them
(``vpn-sessions``)."""

from __future__ import annotations

import json

from isolate.actions.base import RevokeVpnItem
from isolate.drivers.fortios_state import GROUP, USER, VPN_SESSIONS, by_name, member_names, table_in


def _local(item: RevokeVpnItem) -> list[str]:
    return [user for user in item.users if user not in item.directory]


def session_users(output: str) -> set[str]:
    return {line.split()[0] for line in output.splitlines() if line.split()}


class RevokeVpnFortios:
    action = "revoke-vpn"
    platform = "fortios"
    verify_commands: tuple[str, ...] = (VPN_SESSIONS,)
    # what this concentrator does to a user a directory authenticates (the plan says it)
    directory_users = (
        "isolate takes them out of every FortiGate user group listing them (so the SSL-VPN no "
        "longer admits them; restore puts them back) and logs their sessions off; their directory "
        "account stays enabled for everything else (add a disable-account step for that)"
    )

    def render(self, item: RevokeVpnItem) -> list[str]:
        lines = [f'set {USER} {user} {{"status":"disable"}}' for user in _local(item)]
        lines += [f"leave-groups {user}" for user in item.directory]
        lines += [f"logoff {user}" for user in item.users]
        return lines

    def precheck(self, item: RevokeVpnItem, state: str) -> list[str]:
        users = by_name(state, USER)
        return [
            f"VPN user {user} is not a local user here (no user/local {user}); if a directory "
            "authenticates it, say so in the inventory (vpn.users: auth: directory)"
            for user in _local(item)
            if user not in users
        ]

    def inverse(self, item: RevokeVpnItem, state: str) -> list[str]:
        users = by_name(state, USER)
        lines = []
        for user in _local(item):
            status = users.get(user, {}).get("status")
            if status in ("enable", "disable"):
                lines.append(f"set {USER} {user} {json.dumps({'status': status})}")
        for group in table_in(state, GROUP):
            members = member_names(group, "member")
            if any(user in members for user in item.directory):
                body = json.dumps({"member": [{"name": m} for m in members]}, separators=(",", ":"))
                lines.append(f"set {GROUP} {group['name']} {body}")
        return lines

    def verify(self, item: RevokeVpnItem, state: str, extra: dict[str, str]) -> list[str]:
        users = by_name(state, USER)
        problems = [f"local user {user} is not disabled" for user in _local(item)
                    if users.get(user, {}).get("status") != "disable"]
        for group in table_in(state, GROUP):
            members = member_names(group, "member")
            problems += [f"user {user} is still in group {group['name']}"
                         for user in item.directory if user in members]
        active = session_users(extra.get(VPN_SESSIONS, ""))
        problems += [f"user {user} still has an SSL-VPN session" for user in item.users if user in active]
        return problems


ACTION = RevokeVpnFortios()
