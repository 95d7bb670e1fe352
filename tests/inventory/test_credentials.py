"""Credential references: env:, file:, file:#key; literal secrets refused; no secret in messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from isolate.errors import InventoryError
from isolate.inventory import load_inventory, resolve_credentials

TEMPLATE = """\
version: 1
name: city
credentials:
  lab:
    username: admin
{creds}
devices:
  - {{name: core1, host: 127.0.0.1, platform: cisco_ios, role: core, credentials: lab}}
  - {{name: bare, host: 127.0.0.1, platform: linux, role: server}}
"""


def inventory(tmp_path: Path, creds: str) -> Path:
    path = tmp_path / "inv" / "city.yml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(TEMPLATE.format(creds=creds))
    return path


def test_env_reference(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAB_PW", "pw-from-env")
    monkeypatch.setenv("LAB_EN", "enable-from-env")
    inv = load_inventory(inventory(tmp_path, "    password: env:LAB_PW\n    enable: env:LAB_EN"))
    username, password, secret, key_file, agent = resolve_credentials(inv, "core1")
    assert (username, password, secret, key_file, agent) == (
        "admin",
        "pw-from-env",
        "enable-from-env",
        None,
        False,
    )


def test_file_reference_relative_to_inventory(tmp_path: Path) -> None:
    path = inventory(tmp_path, "    password: file:pw.txt")
    (path.parent / "pw.txt").write_text("pw-from-file\n")
    creds = resolve_credentials(load_inventory(path), "core1")
    assert creds.password == "pw-from-file"
    assert creds.secret == "pw-from-file"  # enable defaults to the password
    assert "pw-from-file" not in repr(creds)


def test_file_key_reference(tmp_path: Path) -> None:
    path = inventory(tmp_path, "    password: file:secrets.yml#password\n    enable: file:secrets.yml#enable")
    (path.parent / "secrets.yml").write_text("password: p1\nenable: e1\n")
    creds = resolve_credentials(load_inventory(path), "core1")
    assert (creds.password, creds.secret) == ("p1", "e1")


def test_key_file_expanded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    inv = load_inventory(inventory(tmp_path, "    key_file: ~/.ssh/id_ed25519\n    agent: true"))
    creds = resolve_credentials(inv, "core1")
    assert creds.key_file == tmp_path / ".ssh" / "id_ed25519"
    assert creds.agent is True


def test_literal_refused(tmp_path: Path) -> None:
    with pytest.raises(InventoryError) as info:
        load_inventory(inventory(tmp_path, "    password: SuperSecret99"))
    assert info.value.problems == [
        f"{tmp_path}/inv/city.yml:6: credentials.lab.password: literal secret not allowed: "
        "use env:VAR, file:PATH or file:PATH#key"
    ]


def test_literal_number_refused_without_echo(tmp_path: Path) -> None:
    with pytest.raises(InventoryError) as info:
        load_inventory(inventory(tmp_path, "    enable: 123456"))
    assert "123456" not in str(info.value.problems)


def test_missing_env_names_device_and_reference(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOPE_PW", raising=False)
    inv = load_inventory(inventory(tmp_path, "    password: env:NOPE_PW"))
    with pytest.raises(InventoryError) as info:
        resolve_credentials(inv, "core1")
    assert str(info.value) == (
        "core1: credentials 'lab': credential reference 'env:NOPE_PW': "
        "environment variable NOPE_PW is not set"
    )


def test_missing_key_never_shows_file_content(tmp_path: Path) -> None:
    path = inventory(tmp_path, "    password: file:secrets.yml#pasword")
    (path.parent / "secrets.yml").write_text("password: do-not-show\n")
    with pytest.raises(InventoryError) as info:
        resolve_credentials(load_inventory(path), "core1")
    assert "do-not-show" not in str(info.value)
    assert str(info.value).startswith(
        "core1: credentials 'lab': credential reference 'file:secrets.yml#pasword'"
    )


def test_device_without_credentials(tmp_path: Path) -> None:
    inv = load_inventory(inventory(tmp_path, "    agent: true"))
    with pytest.raises(InventoryError, match=r"^bare: no credentials set"):
        resolve_credentials(inv, "bare")
