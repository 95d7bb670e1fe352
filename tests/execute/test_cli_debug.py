"""`--debug` through the real CLI: the traceback is printed, scrubbed of every secret (a
planted literal password that pydantic would echo as ``input_value='…'``, a resolved
``env:`` secret), and the documented exit code is kept (docs/exit-codes.md)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from e2e import ROOT, isolate_cmd, run_cli

from isolate.secrets import read_ref, scrub_debug

FIXTURES = ROOT / "tests" / "fixtures"
INVENTORY = FIXTURES / "inventory" / "valid.yml"
PLAYBOOK = FIXTURES / "playbooks" / "every-action.yml"
PLANTED = "Pl4nted-S3cret-0xC0FFEE"


def _inventory(tmp_path: Path, old: str, new: str) -> Path:
    text = INVENTORY.read_text()
    assert old in text
    path = tmp_path / "city.yml"
    path.write_text(text.replace(old, new))
    (tmp_path / "known_hosts").write_text("")
    return path


def test_debug_never_prints_a_literal_secret_and_keeps_exit_2(tmp_path: Path) -> None:
    inventory = _inventory(tmp_path, "password: file:secrets.yml#password", f"password: {PLANTED}")
    expected = f"error: {inventory}:11: credentials.lab.password: literal secret not allowed"
    for args in (["inventory", "check", "-i", str(inventory)], ["plan", "-i", str(inventory), str(PLAYBOOK)],
                 ["apply", "-i", str(inventory), str(PLAYBOOK), "--check", "--yes"]):  # fmt: skip
        result = run_cli("--debug", *args, state=tmp_path / "state")
        assert result.returncode == 2, result.stderr
        assert "Traceback (most recent call last):" in result.stderr
        assert "input_value=<redacted>" in result.stderr  # pydantic's echo of the value, scrubbed
        assert PLANTED not in result.stderr and PLANTED not in result.stdout
        assert result.stderr.splitlines()[-1].startswith(expected)


def test_debug_keeps_documented_exit_codes(tmp_path: Path) -> None:
    missing = run_cli("--debug", "inventory", "check", "-i", str(tmp_path / "nope.yml"), state=tmp_path)
    assert missing.returncode == 2
    assert "Traceback (most recent call last):" in missing.stderr
    assert missing.stderr.splitlines()[-1] == f"error: {tmp_path / 'nope.yml'}: no such file or directory"
    after = run_cli("inventory", "check", "-i", str(tmp_path / "nope.yml"), "--debug", state=tmp_path)
    assert (after.returncode, after.stderr) == (2, missing.stderr)  # typed last, as the hint says
    env = {**os.environ, "ISOLATE_DEBUG": "1", "ISOLATE_STATE_DIR": str(tmp_path / "state")}
    same = subprocess.run(isolate_cmd("inventory", "check", "-i", str(tmp_path / "nope.yml")), env=env,
                          capture_output=True, text=True, check=False, timeout=60)  # fmt: skip
    assert same.returncode == 2 and "Traceback" in same.stderr


def test_debug_run_with_a_resolved_secret_keeps_exit_3_and_prints_no_secret(tmp_path: Path) -> None:
    inventory = _inventory(tmp_path, "file:secrets.yml#", "env:ISOLATE_PLANTED_")
    inventory.write_text(inventory.read_text().replace("port: 2000", "port: 1"))  # nothing listens on port 1
    env = {**os.environ, "ISOLATE_PLANTED_password": PLANTED, "ISOLATE_PLANTED_enable": PLANTED + "-en",
           "ISOLATE_STATE_DIR": str(tmp_path / "state"),
           "ISOLATE_LOCK_DIR": str(tmp_path / "locks")}  # fmt: skip
    result = subprocess.run(
        isolate_cmd("--debug", "apply", "-i", str(inventory), str(PLAYBOOK), "--check", "--yes"),
        env=env, capture_output=True, text=True, check=False, timeout=120, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert result.returncode == 3, result.stderr
    assert "prechecks-failed" in result.stderr
    assert PLANTED not in result.stderr + result.stdout
    journal = next((tmp_path / "state" / "runs").glob("*/journal.jsonl"))
    assert PLANTED not in journal.read_text()


def test_scrub_debug_redacts_every_resolved_secret(tmp_path: Path) -> None:
    os.environ["ISOLATE_TEST_SCRUB_PW"] = "s3cret-resolved-value"
    try:
        assert read_ref("env:ISOLATE_TEST_SCRUB_PW", tmp_path) == "s3cret-resolved-value"
        text = "Traceback ...\nValueError: login as admin/s3cret-resolved-value failed\n"
        assert scrub_debug(text) == "Traceback ...\nValueError: login as admin/<redacted> failed\n"
    finally:
        del os.environ["ISOLATE_TEST_SCRUB_PW"]
