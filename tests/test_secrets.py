"""Credential references and the scrubber; planted secrets never reach any file or output."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import isolate.cli
from isolate.errors import InventoryError
from isolate.journal import Journal, run_id_new, verify_journal
from isolate.secrets import _PATTERNS, REDACTED, Scrubber, _redact_value, _scrub_fields, read_ref

# --- read_ref ------------------------------------------------------------------------------


def test_env_reference(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ISOLATE_TEST_PW", "s3cr3t-env")
    assert read_ref("env:ISOLATE_TEST_PW", tmp_path) == "s3cr3t-env"
    monkeypatch.delenv("ISOLATE_TEST_PW")
    with pytest.raises(
        InventoryError, match=r"'env:ISOLATE_TEST_PW': environment variable ISOLATE_TEST_PW is not set"
    ):
        read_ref("env:ISOLATE_TEST_PW", tmp_path)


def test_file_references(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "pw.txt").write_text("whole-file-secret\n")
    (tmp_path / "secrets.yml").write_text("password: yaml-secret\nenable: 12345678\n")
    (tmp_path / "secrets.json").write_text('{"psk": "json-secret"}')
    assert read_ref("file:pw.txt", tmp_path) == "whole-file-secret"
    assert read_ref("file:secrets.yml#password", tmp_path) == "yaml-secret"
    assert read_ref("file:secrets.yml#enable", tmp_path) == "12345678"
    assert read_ref(f"file:{tmp_path}/secrets.json#psk", Path("/nonexistent")) == "json-secret"
    monkeypatch.setenv("HOME", str(tmp_path))
    assert read_ref("file:~/secrets.yml#password", Path("/")) == "yaml-secret"


def test_reference_errors_name_the_reference_never_the_value(tmp_path: Path) -> None:
    (tmp_path / "secrets.yml").write_text("password: yaml-secret\nlist: [a]\n")
    (tmp_path / "broken.yml").write_text("password: 'unterminated-secret-value\n  x: [\n")
    (tmp_path / "empty.txt").write_text("")
    cases = {
        "file:missing.yml#password": "file not found",
        "file:secrets.yml#nope": "key 'nope' not found",
        "file:secrets.yml#list": "is not a string",
        "file:broken.yml#password": "is not valid YAML",
        "file:empty.txt": "is empty",
        "file:": "no file path",
        "env:1BAD": "is not an environment name",
    }
    for ref, reason in cases.items():
        with pytest.raises(InventoryError) as err:
            read_ref(ref, tmp_path)
        message = str(err.value)
        assert repr(ref) in message and reason in message, message
        assert "yaml-secret" not in message and "unterminated-secret-value" not in message
    with pytest.raises(InventoryError) as err:
        read_ref("hunter2-inline", tmp_path)
    assert "hunter2" not in str(err.value) and "must be env:VAR, file:PATH or file:PATH#key" in str(err.value)


# --- Scrubber ------------------------------------------------------------------------------

CONFIG = """hostname core1
username admin privilege 15 secret 5 $1$mERr$hx5rVt7rPNoS4wqbXKX7m0
username ops password 7 0822455D0A16544541
enable secret 9 $9$nhEmQVczB7dqsO$X.HsgL6x1il0RxkOSSvyQYwucySCt7qFm4v7pqCxkKM
snmp-server community Publ1cCommunityX RO
tacacs-server host 10.99.0.5 key 7 060506324F41584B56
radius-server key R4diusSharedKey
 key 7 1511021F07257A767B
line vty 0 4
 password 7 121A0C0411045A5D
interface Vlan10
 ip access-group ISOLATE-SMB in
"""
ASA = """enable password 8Ry2YjIyt7RRXU24 encrypted
passwd 2KFQnbNIdI.2KYOU encrypted
username admin password 9Mj8wUaQb6ofXXX encrypted privilege 15
tunnel-group 203.0.113.9 ipsec-attributes
 ikev1 pre-shared-key Ik3PreSharedKey
"""
WIREGUARD = """[Interface]
PrivateKey = yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=
[Peer]
PublicKey = xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=
PresharedKey = AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=
interface: wg0
  private key: yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=
  preshared key: BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB=
"""
PEM = """-----BEGIN OPENSSH PRIVATE KEY-----
b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW
QyNTUxOQAAACDsecretpembody
-----END OPENSSH PRIVATE KEY-----
"""
PATTERN_SECRETS = [
    "$1$mERr$hx5rVt7rPNoS4wqbXKX7m0", "0822455D0A16544541", "$9$nhEmQVczB7dqsO", "Publ1cCommunityX",
    "060506324F41584B56", "R4diusSharedKey", "1511021F07257A767B", "121A0C0411045A5D", "8Ry2YjIyt7RRXU24",
    "2KFQnbNIdI.2KYOU", "9Mj8wUaQb6ofXXX", "Ik3PreSharedKey", "yAnz5TF+lXXJte14tji3zlMNq",
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB=",
    "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ", "secretpembody",
]  # fmt: skip
KNOWN = ["Tr0ub4dor&3-lab", "EnableMe!2026"]


def test_patterns_redact_every_place_configs_keep_secrets() -> None:
    scrubber = Scrubber.of([])
    out = scrubber.scrub(CONFIG + ASA + WIREGUARD + PEM)
    for secret in PATTERN_SECRETS:
        assert secret not in out, secret
    assert "PublicKey = xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=" in out  # not a secret
    assert "username admin privilege 15 secret 5 <redacted>" in out
    assert " ip access-group ISOLATE-SMB in" in out
    assert "-----BEGIN OPENSSH PRIVATE KEY-----\n<redacted>\n-----END OPENSSH PRIVATE KEY-----" in out


def test_scrubbing_is_deterministic_and_idempotent() -> None:
    scrubber = Scrubber.of([*KNOWN, None, ""])
    text = CONFIG + "banner motd Tr0ub4dor&3-lab\n description EnableMe!2026 x\n"
    once = scrubber.scrub(text)
    assert once == Scrubber.of(list(reversed(KNOWN))).scrub(text)
    assert scrubber.scrub(once) == once
    assert "Tr0ub4dor" not in once and "EnableMe" not in once
    assert scrubber.scrub_data({"password": "x-not-known", "nested": ["EnableMe!2026"], "n": 3}) == {
        "password": REDACTED, "nested": [REDACTED], "n": 3,
    }  # fmt: skip


def test_short_known_values_only_match_whole_tokens() -> None:
    scrubber = Scrubber.of(["ab1"])
    assert scrubber.scrub("ab1 cab12 ab1") == f"{REDACTED} cab12 {REDACTED}"


# --- end to end: plant secrets, grep every file and output ---------------------------------


def test_planted_secrets_never_reach_files_or_outputs(tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    scrubber = Scrubber.of(KNOWN)
    journal = Journal.create(state_dir, run_id_new(), scrubber=scrubber)
    with journal:
        journal.append(
            "run-start",
            user="alice",
            host="admin1",
            pid=1,
            command=["isolate", "apply", "--password=Tr0ub4dor&3-lab"],
            incident="INC-9",
            reason="enable was EnableMe!2026",
            options={"password": "Tr0ub4dor&3-lab", "psk": "x1"},
            tool_version="0.1.0",
            inventory={"path": "inventory/city.yml", "sha256": "a" * 64},
            playbook={"path": "playbooks/p.yml", "name": "p", "sha256": "b" * 64},
            plan_sha256="c" * 64,
            overrides=[],
        )
        sha = journal.store_state(CONFIG + ASA + WIREGUARD + PEM + "banner Tr0ub4dor&3-lab\n")
        journal.append(
            "precheck", device="core1", ok=False, message="login with EnableMe!2026 refused", state=sha,
            checks={},
        )
        journal.append(
            "intent",
            device="core1",
            step="s",
            action="shut-port",
            platform="cisco_ios",
            forward=["x"],
            inverse=["y"],
            pre_state=sha,
            stage=1,
            confirm_window_s=None,
        )
        journal.append(
            "failed", device="core1", step="s", phase="push", message="% bad secret Tr0ub4dor&3-lab"
        )
        journal.append(
            "intent", device="core1", step="s2", action="shut-port", platform="cisco_ios", forward=["x"],
            inverse=["y"], pre_state=sha, stage=1, confirm_window_s=None,
        )  # fmt: skip
        journal.append(  # the device's answers are journaled, and shown: scrubbed like everything else
            "applied", device="core1", step="s2", ok=True, message="", duration_s=0.1,
            answers=[{"command": "x", "output": "core1(config)# x\n% echo EnableMe!2026\n" + CONFIG}],
        )  # fmt: skip
        journal.append("run-end", status="failed", duration_s=1.0, time_to_contain_s=None)
    run_dir = journal.run_dir
    isolate.cli._register_all()
    runner = CliRunner()
    outputs = []
    for args in (
        ["journal", "show", str(run_dir)], ["journal", "show", str(run_dir), "--json"],
        ["journal", "verify", str(run_dir)], ["journal", "list", "--state-dir", str(state_dir), "--json"],
        *(["journal", "export", str(run_dir), "--format", f] for f in ("md", "html", "json", "csv")),
    ):  # fmt: skip
        result = runner.invoke(isolate.cli.app, args)
        assert result.exit_code == 0, result.output
        outputs.append(result.output)
    assert verify_journal(run_dir).ok
    assert "x: core1(config)# x % echo <redacted>" in outputs[0]  # the answers are shown, scrubbed
    blobs = [out.encode() for out in outputs]
    blobs.extend(p.read_bytes() for p in run_dir.rglob("*") if p.is_file())
    for secret in [*KNOWN, *PATTERN_SECRETS]:
        for blob in blobs:
            assert secret.encode() not in blob, secret
    assert os.listdir(run_dir / "state") == [f"{sha}.txt"]


def test_a_value_is_redacted_to_the_next_blank() -> None:
    out = Scrubber.of([]).scrub('username bob password 0 ab;cd,ef"gh\n')
    assert out == "username bob password 0 <redacted>\n"


WORDS = ["username", "admin", "password", "secret", "enable", "0", "7", "key", "key-string",
         "snmp-server", "community", "user", "auth", "priv", "sha", "neighbor", "10.0.0.1", "psk",
         "pre-shared-key", "PrivateKey", "=", ":", '"', ",", "passwd", "tacacs-server", "host",
         "message-digest-key", "1", "md5", "interface", "Vlan10", "description", "paſsword",
         "KEY", "prıv", "İ", "PASSWORD", "\t", " ", "  ", "\n", "\r\n", "s3cr3t!"]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(WORDS), max_size=60))
def test_line_by_line_scrubbing_equals_every_pattern_over_the_whole_text(words: list[str]) -> None:
    """The scrubber skips lines that cannot hold a secret field: never a different result."""
    text = " ".join(words)
    whole = text
    for pattern in _PATTERNS:
        whole = pattern.sub(_redact_value, whole)
    assert _scrub_fields(text) == whole
