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

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from isolate.errors import LabError
from isolate.netlab import netns
from isolate.netlab.state import Ledger, alive, spawn

PREFIX = "iso"
INSIDE = ipaddress.ip_network("10.77.0.0/24")
DC_ADDRESS = "10.77.0.2"
ADMIN_ADDRESS = "10.77.0.10"
REALM = "LAB.EXAMPLE"
DOMAIN = "LAB"
BASE_DN = "DC=lab,DC=example"
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
)
VPN_USERS = ("carol", "dave")


@dataclass(frozen=True)
class DirectoryLab:
    dir: Path
    prefix: str
    passwords: dict[str, str]

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


def _network(ledger: Ledger, prefix: str) -> None:
    names = {n: f"{prefix}-{n}" for n in NODES}
    for name in names.values():
        ledger.add_ns(name)
    netns.ip_batch(None, [f"netns add {n}" for n in names.values()])
    sw = names["sw"]
    lines = [f"link add br0 netns {sw} type bridge"]
    for node in ("dc", "adm"):
        lines.append(f"link add {node}0 netns {names[node]} type veth peer name p-{node} netns {sw}")
    netns.ip_batch(None, lines)
    netns.ip_batch(
        sw,
        ["link set lo up", "link set br0 up"]
        + [
            cmd
            for node in ("dc", "adm")
            for cmd in (f"link set p-{node} master br0", f"link set p-{node} up")
        ],
    )
    for node, address in (("dc", DC_ADDRESS), ("adm", ADMIN_ADDRESS)):
        netns.ip_batch(
            names[node], ["link set lo up", f"addr add {address}/24 dev {node}0", f"link set {node}0 up"]
        )


# ------------------------------------------------------------------------------ TLS


def _certificates(directory: Path) -> tuple[Path, Path, Path]:
    """A lab CA and the DC's certificate and key (ECDSA P-256), files mode 0600."""
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
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "dc1.lab.example")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("dc1.lab.example"), x509.IPAddress(ipaddress.ip_address(DC_ADDRESS))]
            ),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    files = {
        "dc-ca.pem": ca.public_bytes(pem),
        "dc-cert.pem": cert.public_bytes(pem),
        "dc-key.pem": key.private_bytes(
            pem, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        ),
    }
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
    netns.run(argv, ns=ns)
    run_dir.mkdir(mode=0o755, exist_ok=True)
    return target / "etc" / "smb.conf"


def _accounts(conf: Path, ns: str, passwords: dict[str, str]) -> None:
    conf_option = f"--configfile={conf}"
    netns.run(["samba-tool", "group", "add", VPN_GROUP, conf_option], ns=ns)
    for name, _ in USERS:
        netns.run(["samba-tool", "user", "create", name, passwords[name], conf_option], ns=ns)
    for group in sorted({g for _, groups in USERS for g in groups}):
        members = ",".join(name for name, groups in USERS if group in groups)
        netns.run(["samba-tool", "group", "addmembers", group, members, conf_option], ns=ns)


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
    inventory = {
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
    lab.inventory.write_text(yaml.safe_dump(inventory, sort_keys=False))


def up_directory(directory: Path) -> DirectoryLab:
    """Build the identity lab in ``directory``; on any failure, remove what was built."""
    from isolate.netlab.build import down  # the city lab's ledger-driven removal

    problems = missing()
    if problems:
        raise LabError("cannot build the identity lab: " + "; ".join(problems))
    directory = directory.resolve()
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    lab_id = secrets.token_hex(3)
    prefix = f"{PREFIX}-{lab_id}"
    ledger = Ledger(dir=directory, lab_id=lab_id, prefix=prefix, topology="identity")
    ledger.save()
    passwords = {name: _password() for name, _ in USERS} | {"Administrator": _password()}
    lab = DirectoryLab(directory, prefix, passwords)
    try:
        _network(ledger, prefix)
        conf = _provision(ledger, lab.ns("dc"), passwords["Administrator"])
        _accounts(conf, lab.ns("dc"), passwords)
        spawn(
            ledger,
            "samba-dc",
            lab.ns("dc"),
            ["ip", "netns", "exec", lab.ns("dc"), "samba", "-s", str(conf), "-i"],
        )
        _wait_ldaps(ledger, lab.ns("adm"))
        _write_inventory(lab)
    except BaseException:
        down(directory)
        raise
    ledger.status = "up"
    ledger.save()
    return lab
