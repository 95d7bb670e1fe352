"""`isolate lab up/status/down/inventory` as a user runs them, and topology errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from isolate.cli import main
from isolate.inventory import load_inventory
from isolate.paths import process_alive

REPO = Path(__file__).resolve().parents[2]
SMALL = Path(__file__).with_name("small.yml")


def isolate(*args: str) -> subprocess.CompletedProcess[str]:
    """The real command, in its own process (for up/down: process lifetime matters)."""
    return subprocess.run([sys.executable, "-m", "isolate", *args], capture_output=True,
                          text=True, timeout=120, cwd=REPO, check=False)


def isolate_main(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """``isolate.cli.main`` in this process: same error handling and exit codes, faster."""
    code = 0
    try:
        main(list(args))
    except SystemExit as done:
        code = int(done.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_up_status_down_leaves_no_process(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "x"
    up = isolate("lab", "up", "--state-dir", str(state), "--topology", str(SMALL))
    pid = int((state / "lab.pid").read_text()) if (state / "lab.pid").exists() else 0
    try:
        assert up.returncode == 0, up.stderr
        assert up.stdout.strip() == str(state / "inventory.yml")
        assert process_alive(pid, os.uname().nodename)
        code, out, _ = isolate_main(capsys, "lab", "status", "--state-dir", str(state))
        assert code == 0 and f"pid {pid}" in out
        code, _, err = isolate_main(capsys, "lab", "up", "--state-dir", str(state),
                                    "--topology", str(SMALL))
        assert code == 1 and "already running" in err
        inventory = load_inventory(state / "inventory.yml")
        assert {d.name for d in inventory.devices} == {"core1", "acc1", "acc2"}
        assert inventory.credentials["lab"].password == "file:secrets.yml#password"
        assert (state / "secrets.yml").stat().st_mode & 0o777 == 0o600
    finally:
        down = isolate("lab", "down", "--state-dir", str(state))
    assert down.returncode == 0 and "stopped" in down.stdout
    assert not process_alive(pid, os.uname().nodename)
    assert not (state / "lab.pid").exists()
    code, out, _ = isolate_main(capsys, "lab", "status", "--state-dir", str(state))
    assert code == 1 and "not running" in out


def test_up_in_another_state_dir_says_which_inventory_reaches_it(tmp_path: Path) -> None:
    """The runbook's ISOLATE_STATE_DIR: the shipped inventory/city.yml names the lab's secrets
    under ~/.local/state/isolate/lab, so lab up says to use the lab's own inventory."""
    state = tmp_path / "incident"
    env = {**os.environ, "ISOLATE_STATE_DIR": str(state)}
    up = subprocess.run([sys.executable, "-m", "isolate", "lab", "up"], capture_output=True, text=True,
                        timeout=120, cwd=REPO, check=False, env=env)
    try:
        assert up.returncode == 0, up.stderr
        own = state / "lab" / "inventory.yml"
        assert up.stdout.strip() == str(own)
        hint = up.stderr.strip().splitlines()[-1]
        assert hint.startswith(
            f"lab up: inventory/city.yml does not reach this lab (its secrets and known_hosts are in "
            f"{state / 'lab'}, not ~/.local/state/isolate/lab"), hint
        assert hint.endswith(f"): use -i {own} wherever the runbook says -i inventory/city.yml"), hint
        check = subprocess.run([sys.executable, "-m", "isolate", "inventory", "check", "-i", str(own)],
                               capture_output=True, text=True, timeout=120, cwd=REPO, check=False, env=env)
        assert check.returncode == 0, check.stderr
    finally:
        down = subprocess.run([sys.executable, "-m", "isolate", "lab", "down"], capture_output=True,
                              text=True, timeout=120, cwd=REPO, check=False, env=env)
    assert down.returncode == 0 and "stopped" in down.stdout


def test_shipped_inventory_is_the_generated_one(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = isolate_main(capsys, "lab", "inventory", "--topology", "city")
    assert code == 0, err
    shipped = (REPO / "inventory" / "city.yml").read_text()
    assert out == shipped, (
        "inventory/city.yml is stale: regenerate it with "
        "`isolate lab inventory --topology city -o inventory/city.yml`")
    inventory = load_inventory(REPO / "inventory" / "city.yml")
    assert inventory.device("core1").port == 20001


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("version: 1\nname: t\ndevices:\n  - {name: c1, kind: cisco_ios, role: core,\n"
         "     ports: 5000}\n", ":5: devices[0].ports: "),
        ("version: 1\nname: t\nsegments:\n  - {name: s, vlan: 10, subnet: 10.1.0.0/24,\n"
         "     gateway: nowhere}\n", ":5: segments[0].gateway: no device 'nowhere'"),
        ("version: 1\nname: t\nhosts: [{name: h, address: 10.0.0.1, segment: ghost}]\n",
         ":3: hosts[0].segment: no segment 'ghost'"),
        ("version: 1\nname: t\ndevices: [\n", ":4: YAML syntax error"),
    ],
)
def test_bad_topology_is_one_line_with_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, expected: str
) -> None:
    topo = tmp_path / "bad.yml"
    topo.write_text(text)
    code, _, err = isolate_main(capsys, "lab", "up", "--state-dir", str(tmp_path / "s"),
                                "--topology", str(topo))
    assert code == 2
    assert "Traceback" not in err
    first = err.splitlines()[0]
    assert first.startswith(f"error: {topo}") and expected in first, err
    assert not (tmp_path / "s" / "lab.pid").exists()


def test_devices_option_scales_the_access_layer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = isolate_main(capsys, "lab", "inventory", "--topology", str(SMALL),
                                "--devices", "25", "--state-dir", str(tmp_path))
    assert code == 0
    data = yaml.safe_load(out)
    access = [d for d in data["devices"] if d["role"] == "access"]
    assert len(access) == 25
    ports = [d["port"] for d in data["devices"]]
    assert len(set(ports)) == len(ports)
    assert data["credentials"]["lab"]["password"] == f"file:{tmp_path}/secrets.yml#password"
