"""Mutual TLS to the broker, on 127.0.0.1: redis-server with ``tls-auth-clients yes`` (a CA
made here), the controller and ``isolate worker --site north`` each showing a client
certificate from the inventory's ``broker.cert_file``/``key_file`` (relative to the inventory,
as ca_file is). Through the CLI: a site run contains and restores identically."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from brokerkit import Broker, needs_redis, start_broker
from e2e import newest_run, read_all, records
from test_site_workers import PLAYBOOK, SITE, _cli, _client, _inventory

from isolate.lab.process import LabHandle

CLIENT = {"cert_file": "client/controller.pem", "key_file": "client/controller.key"}  # relative


@pytest.fixture(scope="module")
def mutual(lab: LabHandle, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Broker, Path]]:
    """A broker requiring client certificates, the inventory with one, a worker using it."""
    needs_redis()
    where = tmp_path_factory.mktemp("mutual")
    broker = start_broker(where / "broker", mutual=True)
    worker: subprocess.Popen[bytes] | None = None
    try:
        broker.client_cert(where / "client", "controller")
        inventory = _inventory(lab, broker, where, **CLIENT)
        worker = _worker(inventory, where, broker.password)
        client, _ = _client(inventory, broker.password)
        assert client.ping("north", wait_s=60)["devices"] == 2
        yield broker, inventory
    finally:
        if worker is not None and worker.poll() is None:
            worker.terminate()
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
        broker.stop()
        assert broker.proc is not None and broker.proc.poll() is not None
        assert worker is None or worker.poll() is not None


def _worker(inventory: Path, where: Path, password: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "ISOLATE_BROKER_PASSWORD": password}
    with open(where / "worker.log", "wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "isolate", "worker", "--site", "north", "-i", str(inventory),
             "--state-dir", str(where / "worker-state")],
            env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )  # fmt: skip


def test_a_site_run_with_client_certificates(
    lab: LabHandle, mutual: tuple[Broker, Path], tmp_path: Path
) -> None:
    broker, inventory = mutual
    playbook = tmp_path / "playbook.yml"
    playbook.write_text(PLAYBOOK)
    state = tmp_path / "state"
    before = read_all(lab.state_dir, list(SITE))
    applied = _cli(
        "apply", "-i", str(inventory), str(playbook), "--yes", state=state, password=broker.password
    )
    assert applied.returncode == 0, applied.stdout + applied.stderr
    journal = records(newest_run(state))  # type: ignore[arg-type]
    ready = [r["data"]["message"] for r in journal if r["kind"] == "precheck"]
    assert len(ready) == 2 and all(m.startswith("ready (by site north's worker north-") for m in ready), ready
    assert read_all(lab.state_dir, list(SITE)) != before
    restored = _cli("restore", "--yes", state=state, password=broker.password)
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert read_all(lab.state_dir, list(SITE)) == before
    verify = _cli("journal", "verify", "last", state=state, password=broker.password)
    assert verify.returncode == 0, verify.stdout + verify.stderr
