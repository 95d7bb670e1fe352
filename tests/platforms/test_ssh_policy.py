"""Per-device SSH algorithms as the inventory says them: validated (one located line for an
unknown name), modern by default, legacy only when allowed, and one clear line when a device
and isolate have nothing in common."""

from __future__ import annotations

from pathlib import Path

import pytest

from isolate.drivers.base import Target
from isolate.drivers.ssh_algorithms import no_common_algorithm
from isolate.errors import ExitCode, InventoryError
from isolate.inventory import load_inventory
from isolate.platforms.ssh import (
    LEGACY_CIPHERS,
    LEGACY_KEX,
    MODERN,
    WITH_LEGACY,
    SshAlgorithms,
    algorithms,
)

BASE = """\
version: 1
name: city
credentials:
  lab: {username: admin, password: env:LAB_PW}
devices:
  - name: sw15
    host: 127.0.0.1
    platform: cisco_ios
    role: access
    credentials: lab
"""


def _load(tmp_path: Path, ssh: str) -> SshAlgorithms:
    path = tmp_path / "inv.yml"
    path.write_text(BASE + ssh)
    return load_inventory(path).device("sw15").ssh_algorithms


def test_modern_unless_the_inventory_allows_legacy(tmp_path: Path) -> None:
    assert _load(tmp_path, "") == MODERN and MODERN.legacy == ()
    allowed = _load(tmp_path, "    ssh: {legacy: true}\n")
    assert allowed == WITH_LEGACY
    assert set(LEGACY_KEX + LEGACY_CIPHERS + ("ssh-rsa",)) <= set(WITH_LEGACY.legacy)
    explicit = _load(tmp_path, "    ssh: {kex: [diffie-hellman-group14-sha1], ciphers: [aes256-cbc]}\n")
    assert explicit == algorithms(kex=("diffie-hellman-group14-sha1",), ciphers=("aes256-cbc",))
    assert explicit.legacy == ("diffie-hellman-group14-sha1", "aes256-cbc")


def test_an_unknown_algorithm_is_one_located_line(tmp_path: Path) -> None:
    path = tmp_path / "inv.yml"
    path.write_text(BASE + "    ssh: {kex: [diffie-hellman-group1-sha1]}\n")
    with pytest.raises(InventoryError) as info:
        load_inventory(path)
    assert info.value.exit_code == ExitCode.BAD_INPUT
    assert len(info.value.problems) == 1
    problem = info.value.problems[0]
    assert problem.startswith(f"{path}:11: devices[0].ssh.kex[0]: unknown SSH kex algorithm "
                              "'diffie-hellman-group1-sha1' (supported: curve25519-sha256, "), problem


def _target(legacy: bool) -> Target:
    return Target("sw15", "10.0.0.15", 22, "cisco_ios", "admin",
                  ssh=WITH_LEGACY if legacy else MODERN)


@pytest.mark.parametrize(
    "library_text",
    [
        "Incompatible ssh peer (no acceptable kex algorithm)",  # paramiko
        "No matching key exchange algorithm found, sent curve25519-sha256 and received "
        "diffie-hellman-group14-sha1",  # asyncssh
    ],
)
def test_nothing_in_common_is_one_clear_line(library_text: str) -> None:
    refused = no_common_algorithm(_target(False), library_text)
    assert refused is not None and str(refused) == (
        "sw15: no SSH key exchange algorithm in common with 10.0.0.15:22; an older device "
        "(IOS 12.2/15: CBC ciphers, SHA-1 key exchange, ssh-rsa) needs 'ssh: {legacy: true}' "
        "on this device in the inventory (a weaker channel)"
    )
    allowed = no_common_algorithm(_target(True), library_text)
    assert allowed is not None and "even with the legacy algorithms" in str(allowed)
    assert no_common_algorithm(_target(False), "Connection refused") is None
