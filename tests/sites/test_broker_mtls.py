"""Mutual TLS to the broker, on 127.0.0.1: redis-server with ``tls-auth-clients yes`` (a CA
made here), the controller and ``isolate worker --site north`` each showing a client
certificate from the inventory's ``broker.cert_file``/``key_file`` (relative to the inventory,
as ca_file is). Through the CLI: a site run contains and restores identically; without a client
certificate, or with one from another CA, apply stops at the pre-checks (exit 3) with one line
saying which inventory fields to check, and so does a worker (exit 3, before serving)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from brokerkit import Broker, issue_cert, make_ca, needs_redis, start_broker, stop_worker_and_broker
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
        stop_worker_and_broker(worker, broker)


def _worker(inventory: Path, where: Path, password: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "ISOLATE_BROKER_PASSWORD": password}
    with open(where / "worker.log", "wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "isolate", "worker", "--site", "north", "-i", str(inventory),
             "--state-dir", str(where / "worker-state")],
            env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )  # fmt: skip


def _one_line(said: str, start: str) -> str:
    """The one output line that starts with ``start`` (after any ``error:`` prefix)."""
    hits = [line for line in said.splitlines() if start in line]
    assert len(hits) == 1, said
    return hits[0][hits[0].index(start) :]


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


def _refused_apply(broker: Broker, inventory: Path, tmp_path: Path) -> str:
    """apply with ``inventory`` against the broker that refuses it: exit 3 (pre-checks failed,
    nothing changed), no traceback, no password; the one line naming the broker's refusal."""
    playbook = tmp_path / "playbook.yml"
    playbook.write_text(PLAYBOOK)
    applied = _cli("apply", "-i", str(inventory), str(playbook), "--yes", state=tmp_path / "s",
                   password=broker.password)  # fmt: skip
    said = applied.stdout + applied.stderr
    assert applied.returncode == 3, said
    assert "Traceback" not in said and broker.password not in said
    return _one_line(said, f"core2: broker {broker.url} unreachable: TLS: ")


def test_no_client_certificate_says_what_to_set(
    lab: LabHandle, mutual: tuple[Broker, Path], tmp_path: Path
) -> None:
    broker, _ = mutual
    inventory = _inventory(lab, broker, tmp_path)  # ca_file only, as before mutual TLS
    line = _refused_apply(broker, inventory, tmp_path)
    assert line.endswith(
        ": the broker requires a client certificate (tls-auth-clients) and the inventory's broker "
        "has none: set broker.cert_file and broker.key_file"
    ), line


def test_a_client_certificate_from_another_ca_is_refused_in_one_line(
    lab: LabHandle, mutual: tuple[Broker, Path], tmp_path: Path
) -> None:
    broker, _ = mutual
    other_key, other, _ = make_ca(tmp_path, "other")
    cert, _ = issue_cert(tmp_path / "client", other_key, other, "controller", client=True)
    inventory = _inventory(lab, broker, tmp_path, **CLIENT)
    line = _refused_apply(broker, inventory, tmp_path)
    assert line.endswith(
        f": the broker refused the client certificate {cert}: check broker.cert_file and "
        "broker.key_file (signed by the CA the broker trusts, its tls-ca-cert-file, and valid now)"
    ), line


def test_a_worker_without_a_client_certificate_stops_in_one_line(
    lab: LabHandle, mutual: tuple[Broker, Path], tmp_path: Path
) -> None:
    broker, _ = mutual
    inventory = _inventory(lab, broker, tmp_path)
    worker = _worker(inventory, tmp_path, broker.password)
    try:
        code = worker.wait(timeout=120)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    said = (tmp_path / "worker.log").read_text()
    assert code == 3, said  # its pre-check of the broker failed: nothing served
    line = _one_line(said, f"site north: broker {broker.url} unreachable: TLS: ")
    assert line.endswith("set broker.cert_file and broker.key_file"), line
    assert "Traceback" not in said and broker.password not in said
