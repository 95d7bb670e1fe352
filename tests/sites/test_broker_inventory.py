"""The inventory's broker block for mutual TLS: ``cert_file`` and ``key_file`` (relative to the
inventory, as ca_file is) go together, over rediss:// only; a missing file, a key others can
read, an encrypted key or a key that is not the certificate's is one located line (exit 2)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from brokerkit import issue_cert, make_ca
from cryptography.hazmat.primitives import serialization

from isolate.errors import ExitCode, InventoryError
from isolate.inventory import load_inventory
from isolate.sites.resolve import broker_of

CITY = """\
version: 1
name: city
credentials:
  lab: {username: admin, password: env:LAB_PW}
devices:
  - {name: core1, host: 127.0.0.1, port: 20001, platform: cisco_ios, role: core, credentials: lab,
     site: north}
broker:
  url: rediss://broker.example.org:6380/0
  password: env:B_PW
  ca_file: pki/ca-broker.pem
  cert_file: pki/controller.pem
  key_file: pki/controller.key
"""


@pytest.fixture(autouse=True)
def _references(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("B_PW", "broker-password")
    monkeypatch.setenv("LAB_PW", "lab-password")


@pytest.fixture
def pki(tmp_path: Path) -> Path:
    """The CA and a client certificate and key (0600) in tmp_path/pki, as CITY names them."""
    (tmp_path / "pki").mkdir()
    ca_key, ca, _ = make_ca(tmp_path / "pki", "broker")
    issue_cert(tmp_path / "pki", ca_key, ca, "controller", client=True)
    return tmp_path / "pki"


def _problems(tmp_path: Path, text: str) -> list[str]:
    (tmp_path / "city.yml").write_text(text)
    with pytest.raises(InventoryError) as info:
        broker_of(load_inventory(tmp_path / "city.yml"))
    assert info.value.exit_code == ExitCode.BAD_INPUT
    return [p.replace(f"{tmp_path}/", "") for p in info.value.problems]


def test_client_certificate_resolved_relative_to_the_inventory(tmp_path: Path, pki: Path) -> None:
    (tmp_path / "city.yml").write_text(CITY)
    broker = broker_of(load_inventory(tmp_path / "city.yml"))
    assert broker is not None
    assert (broker.cert_file, broker.key_file) == (pki / "controller.pem", pki / "controller.key")
    tls = broker.ssl_options()
    assert tls is not None
    assert tls["ssl_certfile"] == str(pki / "controller.pem")
    assert tls["ssl_keyfile"] == str(pki / "controller.key")
    assert tls["ssl_ca_certs"] == str(pki / "ca-broker.pem")


@pytest.mark.parametrize(
    ("drop", "problem"),
    [
        ("  key_file: pki/controller.key\n",
         "city.yml:12: broker.cert_file: a client certificate needs its key: set key_file too"),
        ("  cert_file: pki/controller.pem\n",
         "city.yml:12: broker.key_file: a client key needs its certificate: set cert_file too"),
        ("  ca_file: pki/ca-broker.pem\n",
         "city.yml:9: broker.url: rediss:// needs ca_file "
         "(the CA the broker's certificate is checked against)"),
    ],
)  # fmt: skip
def test_both_or_neither_and_the_ca(tmp_path: Path, drop: str, problem: str) -> None:
    (tmp_path / "city.yml").write_text(CITY.replace(drop, ""))
    with pytest.raises(InventoryError) as info:
        load_inventory(tmp_path / "city.yml")  # said at load, before any broker is reached
    assert info.value.exit_code == ExitCode.BAD_INPUT
    assert [p.replace(f"{tmp_path}/", "") for p in info.value.problems] == [problem]


def test_client_certificate_needs_tls(tmp_path: Path) -> None:
    text = CITY.replace("rediss://", "redis://").replace("  ca_file: pki/ca-broker.pem\n", "")
    (tmp_path / "city.yml").write_text(text)
    with pytest.raises(InventoryError) as info:
        load_inventory(tmp_path / "city.yml")
    assert [p.replace(f"{tmp_path}/", "") for p in info.value.problems] == [
        "city.yml:11: broker.cert_file: a client certificate is for TLS only: the url must be rediss://"
    ]


def test_missing_certificate_file(tmp_path: Path, pki: Path) -> None:
    (pki / "controller.pem").unlink()
    assert _problems(tmp_path, CITY) == [
        "city.yml:12: broker.cert_file: pki/controller.pem: No such file or directory"
    ]


def test_key_readable_by_others_is_refused(tmp_path: Path, pki: Path) -> None:
    (pki / "controller.key").chmod(0o644)
    assert _problems(tmp_path, CITY) == [
        "city.yml:13: broker.key_file: pki/controller.key: "
        "the broker client key is readable by others; chmod 600 it"
    ]


def test_encrypted_key_is_refused_not_prompted_for(tmp_path: Path, pki: Path) -> None:
    key = serialization.load_pem_private_key((pki / "controller.key").read_bytes(), password=None)
    encrypted = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"passphrase"),
    )
    (pki / "controller.key").write_bytes(encrypted)
    assert _problems(tmp_path, CITY) == [
        "city.yml:13: broker.key_file: pki/controller.key is encrypted: "
        "isolate takes an unencrypted key (kept chmod 600)"
    ]


def test_key_of_another_certificate(tmp_path: Path, pki: Path) -> None:
    (tmp_path / "other").mkdir()
    ca_key, ca, _ = make_ca(tmp_path / "other", "other")
    issue_cert(tmp_path / "other", ca_key, ca, "controller", client=True)
    (pki / "controller.key").write_bytes((tmp_path / "other" / "controller.key").read_bytes())
    assert _problems(tmp_path, CITY) == [
        "city.yml:12: broker.cert_file: pki/controller.pem and pki/controller.key: "
        "not a client certificate and its key (the key does not match the certificate)"
    ]


def test_inventory_check_says_it_in_one_line(tmp_path: Path, pki: Path) -> None:
    """``isolate inventory check``, as an admin checks a site's inventory before starting it."""
    (pki / "controller.key").chmod(0o640)
    (tmp_path / "city.yml").write_text(CITY)
    checked = subprocess.run(
        [sys.executable, "-m", "isolate", "inventory", "check", "-i", str(tmp_path / "city.yml")],
        capture_output=True,
        text=True,
        env={**os.environ, "LAB_PW": "x", "B_PW": "y"},
        check=False,
        timeout=60,
    )
    assert checked.returncode == ExitCode.BAD_INPUT, checked.stdout + checked.stderr
    assert checked.stderr.replace(f"{tmp_path}/", "") == (
        "error: city.yml:13: broker.key_file: pki/controller.key: "
        "the broker client key is readable by others; chmod 600 it\n"
    )
