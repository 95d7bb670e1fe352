"""The identity lab (root): a real Samba Active Directory DC in its own namespace, an
admin station isolate runs in, on one bridged inside network. Separate from the city
network lab (its own directory, ledger and namespaces ``iso-<id>-*``), so the city
lab's tests neither wait for nor depend on it; ``netlab.build.down(DIR)`` removes it.

``up_directory(DIR)``:
1. namespaces ``sw`` (a Linux bridge), ``dc`` (10.77.0.2), ``adm`` (10.77.0.10);
2. a lab CA and the DC's certificate (subjectAltName IP:10.77.0.2), ``DIR/dc-ca.pem``;
3. ``samba-tool domain provision`` (realm LAB.EXAMPLE, DNS backend SAMBA_INTERNAL, every
   path under ``DIR/dc``), users and groups created with ``samba-tool`` (offline): the bind
   account ``isolate`` (Account Operators), VPN users ``carol`` and ``dave`` (group ``VPN
   Users``), a protected admin ``admin2`` (Domain Admins) and a listed protected account
   ``breakglass``;
4. ``samba -i`` inside ``dc`` (LDAP 389/636, Kerberos, SMB 445), recorded by pid;
5. ``DIR/inventory.yml`` (device ``dc1``: LDAPS 636, credentials by reference to
   ``DIR/secrets.yml``, mode 0600, with a test credential for each VPN user).
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from isolate.errors import LabError
from isolate.netlab import netns, openvpn_lab
from isolate.netlab.state import Ledger, alive, spawn

PREFIX = "iso"
INSIDE = ipaddress.ip_network("10.77.0.0/24")
DC_ADDRESS = "10.77.0.2"
ADMIN_ADDRESS = "10.77.0.10"
VPN_INSIDE = "10.77.0.1"  # the OpenVPN server's inside address (its management interface)
VPN_OUTSIDE = "10.78.0.1"  # where VPN clients connect (UDP 1194)
VPN_POOL = "10.8.77.0/24"
REALM = "LAB.EXAMPLE"
DOMAIN = "LAB"
BASE_DN = "DC=lab,DC=example"
# samba-tool is a heavy Python program: tens of seconds per call on a loaded 2-core machine
SAMBA_TOOL_TIMEOUT_S = 300.0
VPN_GROUP = "VPN Users"
PROTECTED_GROUP = "Domain Admins"
READY_TIMEOUT_S = 60.0
NODES = ("sw", "dc", "adm")
# (name, groups) — every password is random, written to DIR/secrets.yml
USERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("isolate", ("Account Operators",)),
    ("carol", (VPN_GROUP,)),
    ("dave", (VPN_GROUP,)),
    ("admin2", (PROTECTED_GROUP,)),
    ("breakglass", ()),
    ("vpnsvc", ()),  # the OpenVPN server's own search account
)
VPN_USERS = ("carol", "dave")


@dataclass(frozen=True)
class DirectoryLab:
    dir: Path
    prefix: str
    passwords: dict[str, str]
    vpn: bool = False

    def ns(self, node: str) -> str:
        return f"{self.prefix}-{node}"

    @property
    def inventory(self) -> Path:
        return self.dir / "inventory.yml"

    @property
    def ca_file(self) -> Path:
        return self.dir / "dc-ca.pem"


def missing() -> list[str]:
    """Why the identity lab cannot run here ([] = it can)."""
    problems = []
    if os.geteuid() != 0:
        problems.append("identity lab needs root (network namespaces)")
    for tool in ("/usr/sbin/samba", "/usr/bin/samba-tool", "/usr/sbin/ip"):
        if not Path(tool).exists():
            problems.append(f"{tool} not found (run scripts/netlab-deps.sh)")
    if not Path("/usr/share/samba/setup/provision.ldif").exists():
        problems.append("samba-ad-provision is not installed (run scripts/netlab-deps.sh)")
    return problems


def _password() -> str:
    return "Lab-" + secrets.token_urlsafe(12) + "-9x"


# ------------------------------------------------------------------------------ network


# (node, its interface, bridge in ``sw``, address/len); routes per node
LINKS: tuple[tuple[str, str, str, str], ...] = (
    ("dc", "dc0", "br0", f"{DC_ADDRESS}/24"),
    ("adm", "adm0", "br0", f"{ADMIN_ADDRESS}/24"),
)
VPN_LINKS: tuple[tuple[str, str, str, str], ...] = (
    ("vpn", "in0", "br0", f"{VPN_INSIDE}/24"),
    ("vpn", "out0", "br1", f"{VPN_OUTSIDE}/24"),
    ("c1", "c10", "br1", "10.78.0.11/24"),
    ("c2", "c20", "br1", "10.78.0.12/24"),
)
VPN_ROUTES = {"dc": [f"{VPN_POOL} via {VPN_INSIDE}"]}


def _network(ledger: Ledger, prefix: str, *, vpn: bool) -> None:
    links = LINKS + (VPN_LINKS if vpn else ())
    nodes = ["sw", *dict.fromkeys(node for node, *_ in links)]
    names = {n: f"{prefix}-{n}" for n in nodes}
    for name in names.values():
        ledger.add_ns(name)
    netns.ip_batch(None, [f"netns add {n}" for n in names.values()])
    sw = names["sw"]
    bridges = sorted({bridge for *_, bridge, _ in links})
    lines = [f"link add {b} netns {sw} type bridge" for b in bridges]
    lines += [f"link add {i} netns {names[n]} type veth peer name p-{i} netns {sw}" for n, i, _, _ in links]
    netns.ip_batch(None, lines)
    up = ["link set lo up", *(f"link set {b} up" for b in bridges)]
    up += [c for _, i, b, _ in links for c in (f"link set p-{i} master {b}", f"link set p-{i} up")]
    netns.ip_batch(sw, up)
    for node in nodes[1:]:
        mine = [(i, a) for n, i, _, a in links if n == node]
        cmds = [
            "link set lo up",
            *(c for i, a in mine for c in (f"addr add {a} dev {i}", f"link set {i} up")),
        ]
        if vpn:
            cmds += [f"route add {r}" for r in VPN_ROUTES.get(node, [])]
        netns.ip_batch(names[node], cmds)
    if vpn:
        netns.run(["sysctl", "-q", "-w", "net.ipv4.ip_forward=1"], ns=names["vpn"])


# ------------------------------------------------------------------------------ TLS


def _issue(
    ca_key: ec.EllipticCurvePrivateKey, ca_name: x509.Name, cn: str, address: str, *, server_auth: bool
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    now = datetime.datetime.now(datetime.UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName(cn), x509.IPAddress(ipaddress.ip_address(address))]),
            critical=False,
        )
    )
    if server_auth:  # OpenVPN clients check it (remote-cert-tls server)
        builder = builder.add_extension(
            x509.KeyUsage(True, False, True, False, True, False, False, False, False), critical=True
        ).add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    return builder.sign(ca_key, hashes.SHA256()), key


def _certificates(directory: Path) -> tuple[Path, Path, Path]:
    """A lab CA, the DC's and the VPN server's certificates and keys (ECDSA P-256), files
    mode 0600 (``dc-*.pem``, ``vpn-*.pem``). Returns the CA, DC certificate and DC key."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "isolate identity lab CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    files = {"dc-ca.pem": ca.public_bytes(pem)}
    for prefix, cn, address in (
        ("dc", "dc1.lab.example", DC_ADDRESS),
        ("vpn", "vpn1.lab.example", VPN_OUTSIDE),
    ):
        cert, key = _issue(ca_key, ca_name, cn, address, server_auth=prefix == "vpn")
        files[f"{prefix}-cert.pem"] = cert.public_bytes(pem)
        files[f"{prefix}-key.pem"] = key.private_bytes(
            pem, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        )
    for name, data in files.items():
        path = directory / name
        path.write_bytes(data)
        path.chmod(0o600)
    return directory / "dc-ca.pem", directory / "dc-cert.pem", directory / "dc-key.pem"


# ------------------------------------------------------------------------------ samba


def _provision(ledger: Ledger, ns: str, admin_password: str) -> Path:
    target = ledger.dir / "dc"
    run_dir = target / "run"
    ca, cert, key = _certificates(ledger.dir)
    options = {
        "pid directory": run_dir,
        "ncalrpc dir": run_dir / "ncalrpc",
        "winbindd socket directory": run_dir / "winbindd",
        "ntp signd socket directory": run_dir / "ntp_signd",
        "log file": target / "log.%m",
        "server services": "-dns -dnsupdate",
        "dns forwarder": "127.0.0.1",
        "interfaces": "lo dc0",
        "bind interfaces only": "yes",
        "tls enabled": "yes",
        "tls keyfile": key,
        "tls certfile": cert,
        "tls cafile": ca,
    }
    argv = [
        "samba-tool", "domain", "provision", f"--targetdir={target}", "--server-role=dc",
        "--dns-backend=SAMBA_INTERNAL", f"--realm={REALM}", f"--domain={DOMAIN}",
        "--host-name=dc1", f"--host-ip={DC_ADDRESS}", f"--adminpass={admin_password}",
        *(f"--option={k}={v}" for k, v in options.items()),
    ]  # fmt: skip
    netns.run(argv, ns=ns, timeout_s=SAMBA_TOOL_TIMEOUT_S, secrets=[admin_password])
    run_dir.mkdir(mode=0o755, exist_ok=True)
    return target / "etc" / "smb.conf"


def _accounts(conf: Path, ns: str, passwords: dict[str, str]) -> None:
    conf_option = f"--configfile={conf}"
    netns.run(
        ["samba-tool", "group", "add", VPN_GROUP, conf_option], ns=ns, timeout_s=SAMBA_TOOL_TIMEOUT_S
    )
    for name, _ in USERS:
        netns.run(
            ["samba-tool", "user", "create", name, passwords[name], conf_option],
            ns=ns,
            timeout_s=SAMBA_TOOL_TIMEOUT_S,
            secrets=[passwords[name]],
        )
    for group in sorted({g for _, groups in USERS for g in groups}):
        members = ",".join(name for name, groups in USERS if group in groups)
        netns.run(
            ["samba-tool", "group", "addmembers", group, members, conf_option],
            ns=ns,
            timeout_s=SAMBA_TOOL_TIMEOUT_S,
        )


def _wait_ldaps(ledger: Ledger, ns: str) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    last = ""
    while time.monotonic() < deadline:
        dead = [p.name for p in ledger.procs if not alive(p)]
        if dead:
            raise LabError(f"{dead[0]} exited during start-up (see {ledger.dir}/logs/{dead[0]}.log)")
        try:
            netns.connect_in(ns, DC_ADDRESS, 636, timeout_s=0.5).close()
            return
        except OSError as exc:
            last = str(exc) or type(exc).__name__
        time.sleep(0.1)
    raise LabError(f"samba DC: {DC_ADDRESS}:636 not reachable within {READY_TIMEOUT_S:g} s ({last})")


def _write_inventory(lab: DirectoryLab) -> None:
    secrets_path = lab.dir / "secrets.yml"
    secrets_path.write_text(yaml.safe_dump(dict(lab.passwords)))
    secrets_path.chmod(0o600)
    inventory: dict[str, Any] = {
        "version": 1,
        "name": "identity-lab",
        "management": {"tool_address": ADMIN_ADDRESS},
        "credentials": {
            "ad": {"username": f"isolate@{REALM.lower()}", "password": "file:secrets.yml#isolate"},
        },
        "devices": [
            {"name": "dc1", "host": DC_ADDRESS, "port": 636, "platform": "active_directory",
             "role": "server", "credentials": "ad"},
        ],
        "directory": {
            "devices": ["dc1"],
            "ca_file": "dc-ca.pem",
            "protected": {"accounts": ["breakglass"], "groups": [PROTECTED_GROUP]},
            "test_credentials": {u: f"file:secrets.yml#{u}" for u in VPN_USERS},
        },
    }  # fmt: skip
    if lab.vpn:
        inventory["credentials"]["vpnmgmt"] = {
            "username": "management",
            "password": "file:secrets.yml#openvpn-management",
        }
        inventory["devices"].append(
            {"name": "vpn1", "host": VPN_INSIDE, "port": openvpn_lab.MGMT_PORT, "platform": "openvpn",
             "role": "vpn", "credentials": "vpnmgmt"}
        )  # fmt: skip
        inventory["vpn"] = {"concentrators": ["vpn1"], "users": [{"name": u} for u in VPN_USERS]}
    lab.inventory.write_text(yaml.safe_dump(inventory, sort_keys=False))


def up_directory(directory: Path, *, vpn: bool = False) -> DirectoryLab:
    """Build the identity lab in ``directory`` (with ``vpn``: the OpenVPN server and its
    clients' namespaces, isolate.netlab.openvpn_lab); on any failure, remove what was built."""
    from isolate.netlab.build import down  # the city lab's ledger-driven removal

    problems = missing() + (openvpn_lab.missing() if vpn else [])
    if problems:
        raise LabError("cannot build the identity lab: " + "; ".join(problems))
    directory = directory.resolve()
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    lab_id = secrets.token_hex(3)
    prefix = f"{PREFIX}-{lab_id}"
    ledger = Ledger(dir=directory, lab_id=lab_id, prefix=prefix, topology="identity")
    ledger.save()
    extra = ("Administrator", "openvpn-management")
    passwords = {name: _password() for name, _ in USERS} | {name: _password() for name in extra}
    lab = DirectoryLab(directory, prefix, passwords, vpn)
    try:
        _network(ledger, prefix, vpn=vpn)
        conf = _provision(ledger, lab.ns("dc"), passwords["Administrator"])
        _accounts(conf, lab.ns("dc"), passwords)
        spawn(
            ledger,
            "samba-dc",
            lab.ns("dc"),
            ["ip", "netns", "exec", lab.ns("dc"), "samba", "-s", str(conf), "-i"],
        )
        _wait_ldaps(ledger, lab.ns("adm"))
        if vpn:
            openvpn_lab.write_server_files(
                directory, passwords, dc=DC_ADDRESS, base_dn=f"CN=Users,{BASE_DN}",
                group_dn=f"CN={VPN_GROUP},CN=Users,{BASE_DN}", outside=VPN_OUTSIDE, inside=VPN_INSIDE,
                pool=VPN_POOL,
            )  # fmt: skip
            openvpn_lab.start_server(ledger, lab.ns("vpn"), inside=VPN_INSIDE)
        _write_inventory(lab)
    except BaseException:
        down(directory)
        raise
    ledger.status = "up"
    ledger.save()
    return lab
