"""disable-account at plan time, through the CLI (no directory needed: nothing is sent):
hostile account names refused with one line and exit 2, wherever they come from; the
identity guard (own bind account never, protected accounts only overridden); the blast
radius lists the accounts disabled."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOK = ROOT / "playbooks" / "disable-account.yml"

INVENTORY = {
    "version": 1,
    "name": "ad",
    "credentials": {"ad": {"username": "isolate@lab.example", "password": "env:AD_PASSWORD"}},
    "devices": [
        {"name": "dc1", "host": "127.0.0.1", "port": 636, "platform": "active_directory",
         "role": "server", "credentials": "ad"},
    ],
    "directory": {"devices": ["dc1"], "ca_file": "ca.pem",
                  "protected": {"accounts": ["breakglass"], "groups": ["Domain Admins"]}},
}  # fmt: skip


def plan(tmp_path: Path, *args: str, playbook: Path = PLAYBOOK) -> subprocess.CompletedProcess[str]:
    inv = tmp_path / "inventory.yml"
    inv.write_text(yaml.safe_dump(INVENTORY, sort_keys=False))
    argv = [sys.executable, "-m", "isolate", "plan", "-i", str(inv), str(playbook), *args]
    env = {"ISOLATE_STATE_DIR": str(tmp_path / "state"), "PATH": "/usr/bin:/bin"}
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120, check=False)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("*)(uid=*", "error: --set accounts=*)(uid=*: '*' not allowed in account name: '*)(uid=*'"),
        ("ca\nrol", "error: --set accounts='ca\\nrol': newline not allowed in account name: 'ca\\nrol'"),
        (
            "a" * 300,
            "error: --set accounts='aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa…: "
            "account name must be at most 20 characters, got 300",
        ),
        ("carol)", "error: --set accounts=carol): ')' not allowed in account name: 'carol)'"),
    ],
)
def test_hostile_names_from_set(tmp_path: Path, value: str, message: str) -> None:
    done = plan(tmp_path, "--set", f"accounts={value}")
    assert done.returncode == 2
    assert done.stderr.strip() == message
    assert done.stdout == ""


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("carol,ou=x", "',' not allowed in account name: 'carol,ou=x'"),
        ("*)(uid=*", "'*' not allowed in account name: '*)(uid=*'"),
        ("ca\nrol", "newline not allowed in account name: 'ca\\nrol'"),
        ("b" * 300, "account name must be at most 20 characters, got 300"),
    ],
)
def test_hostile_names_from_the_playbook(tmp_path: Path, value: str, why: str) -> None:
    book = tmp_path / "book.yml"
    book.write_text(
        yaml.safe_dump(
            {"version": 1, "name": "x",
             "steps": [{"id": "off", "action": "disable-account", "params": {"users": [value]}}]}
        )
    )  # fmt: skip
    done = plan(tmp_path, playbook=book)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"error: {book}:")
    assert lines[0].endswith(f"steps[0].params.users[0]: {why}")


def test_plan_lists_accounts_and_commands(tmp_path: Path) -> None:
    done = plan(tmp_path, "--set", "accounts=carol,dave", "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["blast"]["accounts_disabled"] == ["carol", "dave"]
    change = data["steps"][0]["changes"][0]
    assert change["commands"] == [
        "disable carol",
        "disable dave",
        "remove-member carol VPN Users",
        "remove-member dave VPN Users",
    ]
    assert change["item"]["protected_accounts"] == ["breakglass", "isolate"]
    assert change["item"]["protected_groups"] == ["Domain Admins"]


def test_protected_account_needs_an_override(tmp_path: Path) -> None:
    done = plan(tmp_path, "--set", "accounts=carol,breakglass")
    assert done.returncode == 6
    assert done.stderr.strip() == (
        "error: step 'disable-accounts' refused: it would disable protected account breakglass on dc1; "
        "use --override disable-accounts --reason TEXT to force"
    )
    done = plan(tmp_path, "--set", "accounts=breakglass", "--override", "disable-accounts",
                "--reason", "INC-7: break-glass password leaked", "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["overrides"] == [
        {"step": "disable-accounts", "guard": "protected-account",
         "detail": "disables protected account breakglass on dc1",
         "reason": "INC-7: break-glass password leaked"}
    ]  # fmt: skip
    assert data["steps"][0]["changes"][0]["item"]["override"] is True


def test_own_bind_account_is_never_disabled(tmp_path: Path) -> None:
    done = plan(tmp_path, "--set", "accounts=ISOLATE", "--override", "disable-accounts", "--reason", "x")
    assert done.returncode == 6
    assert done.stderr.strip() == (
        "error: step 'disable-accounts' refused: ISOLATE is isolate's own bind account on dc1; "
        "disabling it would lock isolate out of the restore (never overridable)"
    )


def test_playbook_check_counts_the_accounts(tmp_path: Path) -> None:
    inv = tmp_path / "inventory.yml"
    inv.write_text(yaml.safe_dump(INVENTORY, sort_keys=False))
    argv = [sys.executable, "-m", "isolate", "playbook", "check", str(PLAYBOOK), "-i", str(inv),
            "--set", "accounts=carol,dave"]  # fmt: skip
    env = {"ISOLATE_STATE_DIR": str(tmp_path / "state"), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert "  parameter accounts (account, --set): carol, dave\n" in done.stdout
    assert "  disable-accounts (disable-account): 2 accounts\n" in done.stdout


def test_ransomware_lateral_disables_the_vpn_users_where_there_is_a_directory(tmp_path: Path) -> None:
    city = yaml.safe_load((ROOT / "inventory" / "city.yml").read_text())
    city.pop("known_hosts", None)
    city["credentials"]["ad"] = {"username": "isolate@city.example", "password": "env:AD_PASSWORD"}
    city["devices"].append(
        {"name": "dc1", "host": "10.99.0.50", "port": 636, "platform": "active_directory",
         "role": "server", "credentials": "ad"}
    )  # fmt: skip
    city["directory"] = {"devices": ["dc1"], "ca_file": "ca.pem"}
    inv = tmp_path / "city-ad.yml"
    inv.write_text(yaml.safe_dump(city, sort_keys=False))
    lateral = str(ROOT / "playbooks" / "ransomware-lateral.yml")
    argv = [
        sys.executable,
        "-m",
        "isolate",
        "plan",
        "-i",
        str(inv),
        lateral,
        "--set",
        "vpn_users=carol",
        "--json",
    ]
    env = {"ISOLATE_STATE_DIR": str(tmp_path / "state"), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    steps = {s["id"]: s for s in json.loads(done.stdout)["steps"]}
    ids = list(steps)
    assert ids.index("disable-accounts") == ids.index("revoke-vpn") - 1  # disabled before the cut
    assert steps["disable-accounts"]["changes"][0]["device"] == "dc1"
    assert steps["disable-accounts"]["changes"][0]["commands"] == ["disable carol"]
    assert steps["disable-accounts"]["blast"]["accounts_disabled"] == ["carol"]
