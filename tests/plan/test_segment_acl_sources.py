"""segment-acl filters by source too (issue 15): full isolation with ``allow_from:
[management]`` keeps the admins reaching every segment while the segments lose the
management hosts' SSH — on the embedded lab's real configurations, then restored
byte-identical. Through the CLI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from isolate.lab.process import stop_lab
from isolate.lab.topology import TOPOLOGIES_DIR

ADMIN = "  - {name: admin1, address: 10.99.0.10, segment: management, tags: [admin]}\n"
PLAYBOOK = """\
version: 1
name: isolate-all
steps:
  - id: cut-all
    action: segment-acl
    targets: {segments: ["*"], except: {zones: [vpn, outside]}}
    params: {allow_from: [management]}
"""


def run_cli(*args: str, state: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ISOLATE_STATE_DIR": str(state)}
    return subprocess.run([sys.executable, "-m", "isolate", *args], capture_output=True, text=True,
                          env=env, timeout=300, stdin=subprocess.DEVNULL, check=False)


def test_full_isolation_cuts_the_segments_from_management_but_not_the_admins() -> None:
    root = Path(tempfile.mkdtemp(prefix="isos-"))
    lab_dir = root / "lab"
    text = (TOPOLOGIES_DIR / "city.yml").read_text(encoding="utf-8")
    assert ADMIN in text
    topology = root / "admin-ssh.yml"
    with_ssh = ADMIN.replace("tags: [admin]}", 'tags: [admin], services: ["ssh:22"]}')
    topology.write_text(text.replace(ADMIN, with_ssh), encoding="utf-8")
    book = root / "isolate-all.yml"
    book.write_text(PLAYBOOK, encoding="utf-8")
    try:
        up = run_cli("lab", "up", "--topology", str(topology), "--state-dir", str(lab_dir), state=root)
        assert up.returncode == 0, up.stderr
        inventory = str(lab_dir / "inventory.yml")
        refused = run_cli("plan", "-i", inventory, str(book), state=root)
        assert refused.returncode == 6
        assert "it would cut protected host admin1 (ssh) (10.99.0.10:22/tcp) from " in refused.stderr
        forced = ("--override", "cut-all", "--reason", "INC-5 drill")
        plan = run_cli("plan", "-i", inventory, str(book), "--detail", *forced, state=root)
        assert "    permit ip 10.99.0.0 0.0.0.255 any" in plan.stdout.splitlines()
        assert "    permit tcp any 10.99.0.0 0.0.0.255 established" in plan.stdout.splitlines()
        applied = run_cli("apply", "-i", inventory, str(book), *forced, "--yes", state=root)
        assert applied.returncode == 0, applied.stdout + applied.stderr
        flows = json.loads(run_cli("lab", "flows", "--state-dir", str(lab_dir), "--json", state=root).stdout)
        verdict = {(f["src"], f["dst"], f["port"]): f["allowed"] for f in flows["flows"]}
        assert verdict[("admin1", "fs1", 445)] and verdict[("admin1", "ec1", 443)]  # the admins keep working
        assert not verdict[("fs1", "admin1", 22)] and not verdict[("ws-01", "admin1", 22)]
        assert not verdict[("ws-01", "fs1", 445)]
        restored = run_cli("restore", "-i", inventory, "--yes", state=root)
        assert restored.returncode == 0, restored.stdout + restored.stderr
        assert "identical to pre-state: core1, core2, fw-int" in restored.stdout + restored.stderr
    finally:
        stop_lab(lab_dir)
        shutil.rmtree(root, ignore_errors=True)
