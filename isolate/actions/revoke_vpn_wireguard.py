"""revoke-vpn on a WireGuard gateway: each user's peer is removed
(``wg set wg0 peer @USER remove``; the driver resolves the user to its public key from
the device's peer-name file), so its client can no longer reach anything. The inverse
re-adds each peer exactly as captured: allowed IPs, endpoint, keepalive and, when it
had one, its pre-shared key (the flag ``with-captured-preshared-key``: the driver supplies
the key from the state it captured, so the key never appears in a command or journal)."""

from __future__ import annotations

from isolate.actions.base import RevokeVpnItem
from isolate.drivers.wireguard import CAPTURED_PSK, IFACE, peers_in_state


def _peer_of(state: str, user: str) -> tuple[str, dict[str, str]] | None:
    for key, fields in peers_in_state(state).items():
        if fields.get("user") == user:
            return key, fields
    return None


class RevokeVpnWireguard:
    action = "revoke-vpn"
    platform = "wireguard"
    verify_commands: tuple[str, ...] = ()
    # what this concentrator does to a user a directory authenticates (the plan says it)
    directory_users = (
        "WireGuard authenticates keys, not accounts: isolate removes their peers, which ends "
        "their access here whatever the directory says; disable the account in the directory "
        "for everything else"
    )

    def render(self, item: RevokeVpnItem) -> list[str]:
        return [f"wg set {IFACE} peer @{user} remove" for user in item.users]

    def precheck(self, item: RevokeVpnItem, state: str) -> list[str]:
        return [
            f"VPN user {user} has no peer on {IFACE} (peer-name file or peer missing)"
            for user in item.users
            if _peer_of(state, user) is None
        ]

    def inverse(self, item: RevokeVpnItem, state: str) -> list[str]:
        commands: list[str] = []
        for user in item.users:
            found = _peer_of(state, user)
            if found is None:
                continue
            key, fields = found
            words = [f"wg set {IFACE} peer {key}"]
            if fields.get("allowed-ips", "none") != "none":
                words.append(f"allowed-ips {fields['allowed-ips']}")
            if fields.get("endpoint", "(none)") != "(none)":
                words.append(f"endpoint {fields['endpoint']}")
            if fields.get("persistent-keepalive", "off") != "off":
                words.append(f"persistent-keepalive {fields['persistent-keepalive']}")
            if fields.get("preshared-key") != "(none)":
                words.append(CAPTURED_PSK)
            commands.append(" ".join(words))
        return commands

    def verify(self, item: RevokeVpnItem, state: str, extra: dict[str, str]) -> list[str]:
        return [
            f"VPN user {user} still has a peer on {IFACE}" for user in item.users if _peer_of(state, user)
        ]


ACTION = RevokeVpnWireguard()
