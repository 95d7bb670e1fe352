"""A lab device with the ``ios15`` SSH profile offers exactly what IOS 15 offers (read from
the server's own KEXINIT on the wire); clients without those algorithms cannot connect,
clients allowed them can; the generated inventory and known_hosts say so."""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import asyncssh
import pytest
import yaml

from isolate.drivers.base import Target
from isolate.drivers.ssh_algorithms import probe_unmatched, read_offer
from isolate.lab.process import LabHandle, start_lab
from isolate.platforms.ssh import WITH_LEGACY, algorithms

WIRED = Path(__file__).with_name("wired.yml")
KINDS = ("kex", "host_keys", "ciphers", "ciphers_in", "macs", "macs_in")


@pytest.fixture(scope="module", name="lab")
def wired_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabHandle]:
    handle = start_lab(tmp_path_factory.mktemp("lab"), WIRED)
    try:
        yield handle
    finally:
        handle.stop()


def server_kexinit(port: int) -> dict[str, list[str]]:
    """The algorithm lists the server sends in its first (clear-text) KEXINIT packet."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"SSH-2.0-probe\r\n")
        data = b""
        while b"\r\n" not in data:
            data += sock.recv(1)
        while len(data.split(b"\r\n", 1)[1]) < 5:
            data += sock.recv(4096)
        packet = data.split(b"\r\n", 1)[1]
        (length,) = struct.unpack(">I", packet[:4])
        while len(packet) < 4 + length:
            packet += sock.recv(4096)
    payload = packet[5 : 4 + length - packet[4]]
    assert payload[0] == 20  # SSH_MSG_KEXINIT
    at, lists = 17, {}
    for kind in KINDS:
        (size,) = struct.unpack(">I", payload[at : at + 4])
        lists[kind] = payload[at + 4 : at + 4 + size].decode().split(",")
        at += 4 + size
    return lists


def test_ios15_offers_only_ios15_algorithms(lab: LabHandle) -> None:
    offered = server_kexinit(lab.port("sw15"))
    assert [a for a in offered["kex"] if not a.startswith("ext-info") and "strict" not in a] == [
        "diffie-hellman-group14-sha1", "diffie-hellman-group-exchange-sha1"]
    assert offered["host_keys"] == ["ssh-rsa"]
    assert offered["ciphers"] == ["aes128-cbc", "aes192-cbc", "aes256-cbc", "3des-cbc"]
    assert offered["macs"] == ["hmac-sha1", "hmac-sha1-96"]
    modern = server_kexinit(lab.port("core1"))
    assert any(a.startswith("mlkem") for a in modern["kex"])
    assert modern["host_keys"] == ["ssh-ed25519"]


async def _login(lab: LabHandle, device: str, **algs: list[str]) -> str:
    async with asyncssh.connect(
        "127.0.0.1", lab.port(device), username=lab.credentials.username,
        password=lab.credentials.password, known_hosts=str(lab.state_dir / "known_hosts"),
        client_keys=None, **algs) as conn:
        result = await conn.run("show version | include IOS", check=False)
        return str(result.stdout)


def test_clients_connect_only_with_the_legacy_algorithms(lab: LabHandle) -> None:
    modern = {"kex_algs": ["curve25519-sha256", "ecdh-sha2-nistp256"],
              "encryption_algs": ["aes128-gcm@openssh.com", "aes128-ctr"]}
    # the device hangs up after its disconnect; asyncssh handles the device's KEXINIT in a task,
    # so now and then the hang-up reaches it first and all it says is "Connection lost"
    with pytest.raises((asyncssh.KeyExchangeFailed, asyncssh.ConnectionLost)):
        asyncio.run(_login(lab, "sw15", **modern))
    legacy = {"kex_algs": ["diffie-hellman-group14-sha1"], "encryption_algs": ["aes256-cbc"],
              "mac_algs": ["hmac-sha1"], "server_host_key_algs": ["ssh-rsa"]}
    assert "Cisco IOS Software" in asyncio.run(_login(lab, "sw15", **legacy))


def test_isolate_reads_what_was_missing_from_the_device_offer(lab: LabHandle) -> None:
    """What isolate says when the device hangs up before the SSH library could say why."""
    sw15 = Target(name="sw15", host="127.0.0.1", port=lab.port("sw15"), platform="cisco_ios",
                  username="admin", timeout_s=10)
    with socket.create_connection(("127.0.0.1", sw15.port), timeout=10) as sock:
        offer = read_offer(sock)
    assert offer is not None
    assert {k: list(offer[k]) for k in ("kex", "host_keys", "ciphers", "macs")} == {
        k: server_kexinit(sw15.port)[k] for k in ("kex", "host_keys", "ciphers", "macs")}
    unmatched = probe_unmatched(sw15)
    assert unmatched is not None and str(unmatched).startswith(
        f"sw15: no SSH key exchange algorithm in common with 127.0.0.1:{sw15.port}; an older device")
    assert probe_unmatched(replace(sw15, ssh=WITH_LEGACY)) is None
    no_cbc = algorithms(kex=("diffie-hellman-group14-sha1",), host_keys=("ssh-rsa",))  # modern ciphers
    assert str(probe_unmatched(replace(sw15, ssh=no_cbc))).startswith(
        f"sw15: no SSH cipher in common with 127.0.0.1:{sw15.port}, even with the legacy algorithms")


def test_inventory_and_known_hosts_say_legacy(lab: LabHandle) -> None:
    devices = {d["name"]: d for d in yaml.safe_load(lab.inventory.read_text())["devices"]}
    assert devices["sw15"]["ssh"] == {"legacy": True} and "ssh" not in devices["core1"]
    known = (lab.state_dir / "known_hosts").read_text().splitlines()
    line = next(k for k in known if k.startswith(f"[127.0.0.1]:{lab.port('sw15')} "))
    assert line.split()[1] == "ssh-rsa"
