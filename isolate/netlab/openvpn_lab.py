"""The identity lab's OpenVPN part (root): a real OpenVPN server (Debian ``openvpn``) that
asks the Samba DC who may log in, through Debian's ``openvpn-auth-ldap`` plugin, and real
OpenVPN clients, one per VPN user, each in its own namespace.

- server, namespace ``vpn``: UDP 1194 on 10.78.0.1 (outside), pool 10.8.77.0/24, routes
  the inside 10.77.0.0/24 to its clients; certificate from the lab CA; no client
  certificates (``verify-client-cert none``), the user name is the common name
  (``username-as-common-name``); management interface on 10.77.0.1:7505 with a password
  (isolate's ``openvpn`` platform speaks to it);
- the plugin binds as ``vpnsvc`` over LDAPS (the lab CA verified), finds the account by
  ``sAMAccountName`` *and* membership of "VPN Users", then binds as it with the password
  given: a disabled account, or one taken out of the group, cannot log in;
- clients ``c1`` (carol) and ``c2`` (dave): ``openvpn --client`` with the user's password
  in a 0600 file; without ``--auth-retry`` a client whose login is refused exits.
"""

from __future__ import annotations

import time
from pathlib import Path

from isolate.errors import LabError
from isolate.netlab import netns
from isolate.netlab.state import Ledger, Proc, alive, spawn

PLUGIN = Path("/usr/lib/openvpn/openvpn-auth-ldap.so")
MGMT_PORT = 7505
CLIENT_NS = {"carol": "c1", "dave": "c2"}
READY_TIMEOUT_S = 60.0


def missing() -> list[str]:
    problems = []
    if not Path("/usr/sbin/openvpn").exists():
        problems.append("/usr/sbin/openvpn not found: install openvpn (scripts/netlab-deps.sh)")
    if not PLUGIN.exists():
        problems.append(f"{PLUGIN} not found: install openvpn-auth-ldap (scripts/netlab-deps.sh)")
    return problems


def _auth_ldap_conf(lab_dir: Path, password: str, *, dc: str, base_dn: str, group_dn: str) -> str:
    return f"""<LDAP>
\tURL\t\tldaps://{dc}
\tBindDN\t\t"vpnsvc@lab.example"
\tPassword\t"{password}"
\tTimeout\t\t15
\tTLSEnable\tno
\tFollowReferrals\tno
\tTLSCACertFile\t{lab_dir / "dc-ca.pem"}
</LDAP>

<Authorization>
\tBaseDN\t\t"{base_dn}"
\tSearchFilter\t"(&(sAMAccountName=%u)(memberOf={group_dn}))"
\tRequireGroup\tfalse
</Authorization>
"""


def _server_conf(lab_dir: Path, *, outside: str, inside: str, pool: str) -> str:
    vpn = lab_dir / "vpn"
    network, _ = pool.split("/")
    return "\n".join(
        [
            "dev tun",
            "proto udp4",
            f"local {outside}",
            "port 1194",
            "topology subnet",
            f"server {network} 255.255.255.0",
            'push "route 10.77.0.0 255.255.255.0"',
            f"ca {lab_dir / 'dc-ca.pem'}",
            f"cert {lab_dir / 'vpn-cert.pem'}",
            f"key {lab_dir / 'vpn-key.pem'}",
            "dh none",
            "verify-client-cert none",
            "username-as-common-name",
            f"plugin {PLUGIN} {vpn / 'auth-ldap.conf'}",
            f"management {inside} {MGMT_PORT} {vpn / 'mgmt.pw'}",
            "keepalive 2 10",
            "verb 3",
            "",
        ]
    )


def write_server_files(lab_dir: Path, passwords: dict[str, str], **where: str) -> None:
    vpn = lab_dir / "vpn"
    vpn.mkdir(mode=0o700, exist_ok=True)
    files = {
        "auth-ldap.conf": _auth_ldap_conf(
            lab_dir, passwords["vpnsvc"], dc=where["dc"], base_dn=where["base_dn"], group_dn=where["group_dn"]
        ),
        "server.conf": _server_conf(
            lab_dir, outside=where["outside"], inside=where["inside"], pool=where["pool"]
        ),
        "mgmt.pw": passwords["openvpn-management"] + "\n",
    }
    for user in CLIENT_NS:
        files[f"{user}.pass"] = f"{user}\n{passwords[user]}\n"
    for name, text in files.items():
        path = vpn / name
        path.write_text(text)
        path.chmod(0o600)


def start_server(ledger: Ledger, ns: str, *, inside: str) -> Proc:
    conf = ledger.dir / "vpn" / "server.conf"
    proc = spawn(ledger, "openvpn-server", ns, ["ip", "netns", "exec", ns, "openvpn", "--config", str(conf)])
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if not alive(proc):
            raise LabError(
                f"openvpn server exited during start-up (see {ledger.dir}/logs/openvpn-server.log)"
            )
        try:
            netns.connect_in(ns, inside, MGMT_PORT, timeout_s=0.5).close()
            return proc
        except OSError:
            time.sleep(0.1)
    raise LabError(f"openvpn server: management {inside}:{MGMT_PORT} not up within {READY_TIMEOUT_S:g} s")


def start_client(ledger: Ledger, prefix: str, user: str, *, remote: str, name: str | None = None) -> Proc:
    """A real OpenVPN client for ``user`` in its namespace (recorded in the ledger)."""
    ns = f"{prefix}-{CLIENT_NS[user]}"
    vpn = ledger.dir / "vpn"
    argv = [
        "ip", "netns", "exec", ns, "openvpn", "--client", "--dev", "tun", "--proto", "udp4",
        "--remote", remote, "1194", "--nobind", "--ca", str(ledger.dir / "dc-ca.pem"),
        "--remote-cert-tls", "server", "--auth-user-pass", str(vpn / f"{user}.pass"),
        "--connect-retry-max", "1", "--verb", "3",
    ]  # fmt: skip
    return spawn(ledger, name or f"openvpn-{user}", ns, argv)


def log_of(ledger: Ledger, proc: Proc) -> str:
    path = ledger.dir / "logs" / f"{proc.name}.log"
    return path.read_text(errors="replace") if path.exists() else ""
