"""The SSH host-key rule, the same on every transport (asyncssh, netmiko, paramiko exec,
Ansible's ssh), and its messages.

- Checking on (the default): a device's host key must be in the inventory's known_hosts.
- ``--insecure-host-keys`` (``Target.host_key_checking`` false): a device that known_hosts
  does not list is accepted unverified (the CLI warns, the journal records it); a key that
  *contradicts* a listed one is still refused — it may be an impersonation.
"""

from __future__ import annotations

import paramiko

from isolate.drivers.base import Target

INSECURE_ADVICE = ", or pass --insecure-host-keys (journaled)"
HOP_ADVICE = " (--insecure-host-keys never covers a jump host)"


def unknown_key_message(t: Target) -> str:
    """One line for a host key that known_hosts does not list (or no known_hosts at all)."""
    where = f"{t.host}:{t.port}"
    if t.known_hosts is None:
        return (
            f"{t.name}: SSH host key of {where} cannot be checked: the inventory names no "
            "known_hosts file; set 'known_hosts: FILE' in the inventory and add the device's key "
            f"(ssh-keyscan -p {t.port} {t.host} >> FILE, after checking its fingerprint on the "
            "console)" + INSECURE_ADVICE
        )
    return (
        f"{t.name}: SSH host key of {where} is not in known_hosts ({t.known_hosts}); add it"
        + INSECURE_ADVICE
    )


def changed_key_message(t: Target) -> str:
    """One line for a host key that contradicts the one known_hosts lists."""
    return (
        f"{t.name}: SSH host key of {t.host}:{t.port} does not match known_hosts "
        "(possible impersonation; check the device before going on)"
    )


class AcceptUnlisted(paramiko.MissingHostKeyPolicy):
    """paramiko's side of ``--insecure-host-keys``: accept (in memory, never saved) a host that
    known_hosts does not list at all; a host it lists with another key type is refused like a
    changed key (paramiko asks the policy whenever no key *of the offered type* is known)."""

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> None:
        listed = client.get_host_keys().lookup(hostname)
        if listed:
            raise paramiko.BadHostKeyException(hostname, key, next(iter(listed.values())))
        client.get_host_keys().add(hostname, key.get_name(), key)


def paramiko_policy(t: Target) -> paramiko.MissingHostKeyPolicy:
    """The rule above for paramiko clients (paramiko exec and netmiko)."""
    return paramiko.RejectPolicy() if t.host_key_checking else AcceptUnlisted()
