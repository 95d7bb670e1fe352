"""disable-account on a real Samba Active Directory DC (the identity lab, root).

isolate runs (through its CLI) in the admin station's namespace and speaks LDAPS to the
DC, certificate verified against the lab CA. The directory is read back with Samba's own
``samba-tool user show`` (the vendor's tool, on the DC) and authentication is tried with
a real LDAP simple bind as the user (ldap3 from the test, not isolate's driver):
before, carol binds and is in "VPN Users"; after apply, her bind is refused and she is
out of the group; after restore, userAccountControl and memberOf read back identical
and she binds again. A SIGKILL of isolate after the DC applied the modify but before
isolate read its answer (a TLS-terminating proxy holds the answer back), then
``isolate restore``, leaves her enabled and in her groups.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from idlabkit import can_bind, cli, show, start_cli
from ldap_proxy import HoldingProxy, _certs

from isolate.netlab import build, directory
from isolate.netlab.directory import DC_ADDRESS, DirectoryLab

pytestmark = pytest.mark.netlab

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOK = ROOT / "playbooks" / "disable-account.yml"


@pytest.fixture(scope="module")
def idlab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DirectoryLab]:
    problems = directory.missing()
    if problems:
        pytest.skip("IDENTITY LAB SKIPPED: " + "; ".join(problems))
    lab_dir = tmp_path_factory.mktemp("idlab")
    try:
        yield directory.up_directory(lab_dir)
    finally:
        if (lab_dir / "netlab.json").exists():
            result = build.down(lab_dir)
            assert not result.problems, result.problems
        shutil.rmtree(lab_dir, ignore_errors=True)


def test_disable_account_then_restore_on_a_real_dc(idlab: DirectoryLab, tmp_path: Path) -> None:
    before = show(idlab, "carol")
    assert before["userAccountControl"] == ["512"]
    assert any(g.startswith("CN=VPN Users,") for g in before["memberOf"])
    assert can_bind(idlab, "carol")

    done = cli(idlab, tmp_path, "apply", "-i", str(idlab.inventory), str(PLAYBOOK), "--set", "accounts=carol",
               "--yes", "--incident", "INC-AD-1")  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    journal = next((tmp_path / "runs").iterdir()) / "journal.jsonl"
    records = [json.loads(line) for line in journal.read_text().splitlines()]
    prechecks = [r["data"] for r in records if r["kind"] == "precheck"]
    checks = [d["checks"] for d in prechecks if d["device"] == "dc1"]
    assert checks and checks[0]["platform"] is True, checks  # the RootDSE answered as Active Directory
    after = show(idlab, "carol")
    assert after["userAccountControl"] == ["514"]  # NORMAL_ACCOUNT | ACCOUNTDISABLE
    assert "memberOf" not in after
    assert not can_bind(idlab, "carol")
    assert can_bind(idlab, "dave")  # only the named account

    done = cli(idlab, tmp_path, "restore", "last", "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert show(idlab, "carol") == before
    assert can_bind(idlab, "carol")
    done = cli(idlab, tmp_path, "journal", "verify", "last")
    assert done.returncode == 0, done.stdout + done.stderr


def test_protected_accounts_refused(idlab: DirectoryLab, tmp_path: Path) -> None:
    inv, book = str(idlab.inventory), str(PLAYBOOK)
    done = cli(idlab, tmp_path, "plan", "-i", inv, book, "--set", "accounts=breakglass")
    assert done.returncode == 6, done.stdout + done.stderr
    assert done.stderr.strip() == (
        "error: step 'disable-accounts' refused: it would disable protected account breakglass on dc1; "
        "use --override disable-accounts --reason TEXT to force"
    )
    done = cli(idlab, tmp_path, "plan", "-i", inv, book, "--set", "accounts=isolate",
               "--override", "disable-accounts", "--reason", "test")  # fmt: skip
    assert done.returncode == 6, done.stdout + done.stderr
    assert "isolate's own bind account" in done.stderr
    # admin2 is a member of the protected group Domain Admins: only the DC knows it
    before = show(idlab, "admin2")
    done = cli(idlab, tmp_path, "apply", "-i", inv, book, "--set", "accounts=admin2", "--yes")
    assert done.returncode == 3, done.stdout + done.stderr
    assert "account admin2 is protected: member of protected group Domain Admins" in done.stdout + done.stderr
    assert show(idlab, "admin2") == before


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("*)(uid=*", "error: --set accounts=*)(uid=*: '*' not allowed in account name: '*)(uid=*'"),
        ("ca\nrol", "error: --set accounts='ca\\nrol': newline not allowed in account name: 'ca\\nrol'"),
        ("a" * 300, "account name must be at most 20 characters, got 300"),
    ],
)
def test_hostile_account_names_refused_at_plan_time(
    idlab: DirectoryLab, tmp_path: Path, value: str, message: str
) -> None:
    done = cli(
        idlab, tmp_path, "plan", "-i", str(idlab.inventory), str(PLAYBOOK), "--set", f"accounts={value}"
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert message in done.stderr


def test_sigkill_between_modify_and_outcome_then_restore(idlab: DirectoryLab, tmp_path: Path) -> None:
    before = {u: show(idlab, u) for u in ("carol", "dave")}
    inventory = yaml.safe_load(idlab.inventory.read_text())
    proxy = HoldingProxy(idlab.ns("adm"), DC_ADDRESS, 636, ca_file=idlab.ca_file, lab_dir=idlab.dir)
    with proxy:
        inventory["devices"][0].update(host="127.0.0.1", port=proxy.port)
        inventory["directory"]["ca_file"] = str(proxy.ca_file)
        inv = tmp_path / "inventory.yml"
        inv.write_text(yaml.safe_dump(inventory, sort_keys=False))
        shutil.copy(idlab.dir / "secrets.yml", tmp_path / "secrets.yml")
        state = tmp_path / "state"
        proc = start_cli(
            idlab, state, "apply", "-i", str(inv), str(PLAYBOOK), "--set", "accounts=carol,dave", "--yes"
        )
        try:
            assert proxy.held.wait(timeout=120), "the DC never answered a modify"
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        run = sorted((state / "runs").iterdir())[-1]
        kinds = [json.loads(line)["kind"] for line in (run / "journal.jsonl").read_text().splitlines()]
        assert "intent" in kinds and "applied" not in kinds and "failed" not in kinds
        assert show(idlab, "carol")["userAccountControl"] == ["514"]  # the DC did apply it
        done = cli(idlab, state, "restore", "last", "--yes")
        assert done.returncode == 0, done.stdout + done.stderr
    assert {u: show(idlab, u) for u in ("carol", "dave")} == before
    assert can_bind(idlab, "carol")


def test_the_dc_certificate_is_verified(idlab: DirectoryLab, tmp_path: Path) -> None:
    """A CA that did not sign the DC's certificate, or an address the certificate does not
    name, stops the pre-check (exit 3) in one line; nothing is sent."""
    inventory = yaml.safe_load(idlab.inventory.read_text())
    shutil.copy(idlab.dir / "secrets.yml", tmp_path / "secrets.yml")
    other_ca = _certs(tmp_path)[0]
    wrong_ca = {**inventory, "directory": {**inventory["directory"], "ca_file": str(other_ca)}}
    (tmp_path / "wrong-ca.yml").write_text(yaml.safe_dump(wrong_ca, sort_keys=False))
    done = cli(idlab, tmp_path / "s1", "apply", "-i", str(tmp_path / "wrong-ca.yml"), str(PLAYBOOK),
               "--set", "accounts=carol", "--check")  # fmt: skip
    assert done.returncode == 3, done.stdout + done.stderr
    assert (
        "precheck dc1 FAILED: dc1: LDAP connection failed: the server certificate is not signed by the CA"
        in done.stderr
    ), done.stderr
    # the DC also answers on 10.77.0.3 (an address its certificate does not name): DNAT to it
    dc = idlab.ns("dc")
    subprocess.run(["ip", "-n", dc, "addr", "add", "10.77.0.3/24", "dev", "dc0"], check=True)
    nat = (
        "table ip idtest {\n chain pre {\n  type nat hook prerouting priority -100;\n"
        f"  ip daddr 10.77.0.3 tcp dport 636 dnat to {DC_ADDRESS}\n }}\n}}\n"
    )
    subprocess.run(["ip", "netns", "exec", dc, "nft", "-f", "-"], input=nat, text=True, check=True)
    try:
        inventory["devices"][0]["host"] = "10.77.0.3"
        inventory["directory"]["ca_file"] = str(idlab.ca_file)
        (tmp_path / "other-name.yml").write_text(yaml.safe_dump(inventory, sort_keys=False))
        done = cli(idlab, tmp_path / "s2", "apply", "-i", str(tmp_path / "other-name.yml"), str(PLAYBOOK),
                   "--set", "accounts=carol", "--check")  # fmt: skip
    finally:
        subprocess.run(["ip", "netns", "exec", dc, "nft", "delete", "table", "ip", "idtest"], check=True)
        subprocess.run(["ip", "-n", dc, "addr", "del", "10.77.0.3/24", "dev", "dc0"], check=True)
    assert done.returncode == 3, done.stdout + done.stderr
    assert (
        "precheck dc1 FAILED: dc1: LDAP connection failed: the server certificate does not name 10.77.0.3"
        in done.stderr
    ), done.stderr
    assert show(idlab, "carol")["userAccountControl"] == ["512"]
