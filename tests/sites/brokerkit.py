"""A real redis-server for tests on 127.0.0.1: password required, TLS with a CA made here
(``cryptography``), optionally mutual (``tls-auth-clients yes``: a client certificate signed by
that CA required), stopped by pid."""

from __future__ import annotations

import datetime
import ipaddress
import secrets
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

REDIS = shutil.which("redis-server") or "/usr/sbin/redis-server"


@dataclass
class Broker:
    port: int
    dir: Path
    ca_file: Path
    password: str = field(repr=False)
    ca_key: ec.EllipticCurvePrivateKey = field(repr=False)
    ca: x509.Certificate = field(repr=False)
    mutual: bool = False  # tls-auth-clients yes: clients must show a certificate signed by ca
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"rediss://127.0.0.1:{self.port}/0"

    def client_cert(self, where: Path, name: str = "controller") -> tuple[Path, Path]:
        """A client certificate signed by the broker's CA, and its key (mode 0600)."""
        return issue_cert(where, self.ca_key, self.ca, name, client=True)

    def restart(self) -> None:
        """Start the broker again, stopped, on its port with its configuration (no data kept)."""
        assert self.proc is not None and self.proc.poll() is not None, "stop it first"
        _launch(self)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


def needs_redis() -> None:
    if not Path(REDIS).exists():
        pytest.skip("SITE TESTS SKIPPED: redis-server missing (bash scripts/netlab-deps.sh installs it)")


def _name(text: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, text)])


def make_ca(where: Path, tag: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(f"isolate test CA {tag}"))
        .issuer_name(_name(f"isolate test CA {tag}"))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    path = where / f"ca-{tag}.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key, cert, path


def issue_cert(
    where: Path, ca_key: ec.EllipticCurvePrivateKey, ca: x509.Certificate, name: str, *, client: bool
) -> tuple[Path, Path]:
    """A certificate signed by ``ca`` and its key, written to ``where/NAME.pem`` and
    ``where/NAME.key`` (0600): the broker's (subjectAltName 127.0.0.1) or a client's."""
    where.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(name if client else "127.0.0.1"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
    )
    if client:
        usage = x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH])
        builder = builder.add_extension(usage, critical=False)
    else:
        san = x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
        builder = builder.add_extension(san, critical=False)
    cert = builder.sign(ca_key, hashes.SHA256())
    cert_path, key_path = where / f"{name}.pem", where / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    key_path.chmod(0o600)
    return cert_path, key_path


def start_broker(where: Path, *, mutual: bool = False) -> Broker:
    """redis-server with TLS only (no plain port) and a password, on 127.0.0.1; ``mutual``:
    a client certificate signed by the broker's CA required (``tls-auth-clients yes``)."""
    where.mkdir(parents=True, exist_ok=True)
    ca_key, ca, ca_file = make_ca(where, "broker")
    cert, key = issue_cert(where, ca_key, ca, "broker", client=False)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    broker = Broker(port, where, ca_file, secrets.token_urlsafe(18), ca_key, ca, mutual)
    conf = where / "redis.conf"
    auth_clients = "yes" if mutual else "no"
    conf.write_text(
        f"bind 127.0.0.1\nport 0\ntls-port {port}\ntls-cert-file {cert}\ntls-key-file {key}\n"
        f"tls-ca-cert-file {ca_file}\ntls-auth-clients {auth_clients}\nrequirepass {broker.password}\n"
        f'save ""\nappendonly no\ndaemonize no\ndir {where}\nlogfile {where / "redis.log"}\n'
    )
    conf.chmod(0o600)
    _launch(broker)
    return broker


def _launch(broker: Broker) -> None:
    """redis-server on the broker's configuration file; back when its port accepts."""
    where, port = broker.dir, broker.port
    broker.proc = subprocess.Popen([REDIS, str(where / "redis.conf")], stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if broker.proc.poll() is not None:
                break
            time.sleep(0.05)
    broker.stop()
    log = (where / "redis.log").read_text() if (where / "redis.log").exists() else ""
    raise AssertionError(f"redis-server did not start: {log}")


def stop_worker_and_broker(worker: subprocess.Popen[Any] | None, broker: Broker) -> None:
    """Stop a site worker (terminate, then kill after 20 s) and the broker; both are gone after."""
    if worker is not None and worker.poll() is None:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
    broker.stop()
    stopped = broker.proc is not None and broker.proc.poll() is not None
    assert stopped and (worker is None or worker.poll() is not None)
