"""A TLS-terminating LDAP proxy for crash tests (imported as ``ldap_proxy``).

It listens on 127.0.0.1:636 inside a lab namespace with its own CA and certificate, relays
every LDAP message to the real DC over LDAPS (the lab CA verified) and back, except the
first ModifyResponse ([APPLICATION 7]) the DC sends: that one it holds back and sets
``held``. So when ``held`` is set, the DC has applied a modify whose answer the client
never got — the exact instant "between the LDAP modify and its journal outcome".
Later connections are relayed in full (restore goes through the same proxy).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import ipaddress
import ssl
import threading
from pathlib import Path
from types import TracebackType

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from isolate.netlab import netns

MODIFY_RESPONSE = 0x67


def _certs(directory: Path) -> tuple[Path, Path, Path]:
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ldap proxy CA")])
    ca = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(name).public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                       critical=False)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    pem = serialization.Encoding.PEM
    paths = (directory / "proxy-ca.pem", directory / "proxy-cert.pem", directory / "proxy-key.pem")
    paths[0].write_bytes(ca.public_bytes(pem))
    paths[1].write_bytes(cert.public_bytes(pem))
    paths[2].write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption())
    )
    for path in paths:
        path.chmod(0o600)
    return paths


def _split(buf: bytearray) -> bytes | None:
    """One whole BER LDAPMessage off the front of ``buf`` (None: not complete yet)."""
    if len(buf) < 2:
        return None
    first = buf[1]
    if first < 0x80:
        size, head = first, 2
    else:
        n = first & 0x7F
        if len(buf) < 2 + n:
            return None
        size, head = int.from_bytes(buf[2 : 2 + n], "big"), 2 + n
    if len(buf) < head + size:
        return None
    message = bytes(buf[: head + size])
    del buf[: head + size]
    return message


def _op(message: bytes) -> int:
    """The protocolOp tag of an LDAPMessage (after the messageID INTEGER)."""
    first = message[1]
    head = 2 if first < 0x80 else 2 + (first & 0x7F)
    id_len = message[head + 1]
    return message[head + 2 + id_len]


class HoldingProxy:
    def __init__(self, ns: str, address: str, port: int, *, ca_file: Path, lab_dir: Path) -> None:
        self.ns, self.address, self.upstream_port = ns, address, port
        self.held = threading.Event()
        ca, cert, key = _certs(lab_dir)
        self.ca_file = ca
        self._server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._server_ctx.load_cert_chain(cert, key)
        self._client_ctx = ssl.create_default_context(cafile=str(ca_file))
        self._listener = netns.socket_in(ns)
        self._listener.bind(("127.0.0.1", 636))  # 636: the driver speaks LDAPS (not StartTLS) there
        self._listener.listen(16)
        self.port = int(self._listener.getsockname()[1])
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._writers: list[asyncio.StreamWriter] = []

    def __enter__(self) -> HoldingProxy:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=10)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._serve, sock=self._listener, ssl=self._server_ctx)

    async def _stop(self) -> None:
        self._server.close()
        for writer in self._writers:
            writer.close()

    async def _serve(self, c_reader: asyncio.StreamReader, c_writer: asyncio.StreamWriter) -> None:
        self._writers.append(c_writer)
        try:
            raw = netns.connect_in(self.ns, self.address, self.upstream_port, timeout_s=10)
            raw.setblocking(False)
            u_reader, u_writer = await asyncio.open_connection(
                sock=raw, ssl=self._client_ctx, server_hostname=self.address
            )
        except OSError:
            c_writer.close()
            return
        self._writers.append(u_writer)
        await asyncio.gather(self._forward(c_reader, u_writer), self._backward(u_reader, c_writer))

    @staticmethod
    async def _forward(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, ConnectionError):
            while data := await src.read(65536):
                dst.write(data)
                await dst.drain()

    async def _backward(self, src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        buf = bytearray()
        with contextlib.suppress(OSError, ConnectionError):
            while data := await src.read(65536):
                buf += data
                while (message := _split(buf)) is not None:
                    if _op(message) == MODIFY_RESPONSE and not self.held.is_set():
                        self.held.set()
                        return  # hold this answer (and everything after it) back
                    dst.write(message)
                    await dst.drain()
