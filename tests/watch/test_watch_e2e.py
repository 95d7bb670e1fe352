"""`isolate watch` as a real process on 127.0.0.1 (an ephemeral port) against the small
embedded lab; alerts posted with urllib; the switches read back with netmiko; `isolate
approve` run as a user would. Nothing here waits on time: the watch answers once an alert is
decided, and its start is awaited by polling its log with a bounded loop."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e import isolate_cmd, kill_when, read_device, records, run_cli
from labkit import SMALL
from watchkit import PLAYBOOK, RULES, TOKEN, Receiver, Watch, start_watch, stop

from isolate.lab.process import LabHandle, start_lab


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabHandle]:
    handle = start_lab(tmp_path_factory.mktemp("lab"), SMALL)
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture(scope="module")
def watch(tmp_path_factory: pytest.TempPathFactory, lab: LabHandle) -> Iterator[Watch]:
    started = start_watch(tmp_path_factory.mktemp("watch"), lab)
    try:
        yield started
    finally:
        stop(started)
        assert TOKEN not in started.log.read_text(), "the token must never be logged"
        assert "Traceback" not in started.log.read_text()


def test_opencanary_status_records_are_ignored(watch: Watch) -> None:
    """OpenCanary posts its own start-up records (no src_host) to the same webhook."""
    record = {"dst_host": "", "dst_port": -1, "logdata": {"msg": {"logdata": "Canary running!!!"}},
              "logtype": 1001, "node_id": "decoy1-canary", "src_host": "", "src_port": -1}
    status, reply = watch.alert(message=json.dumps(record))
    assert (status, reply) == (200, {"state": "ignored", "message": "OpenCanary logtype 1001 from "
                                     "decoy1-canary: no source host (a status record)"})
    assert "record from 127.0.0.1 ignored: OpenCanary logtype 1001" in watch.log.read_text()


def test_refusals_change_nothing(watch: Watch, lab: LabHandle) -> None:
    before = read_device(lab.state_dir, "acc1")
    body = json.dumps({"source": "10.10.100.17", "signature": "smb-scan"}).encode()
    status, reply = watch.post(body, {"Content-Type": "application/json", "Authorization": "Bearer wrong"})
    assert (status, reply) == (401, {"error": "not authenticated: a valid bearer token or "
                                               "X-Isolate-Signature needed"})
    forged = "sha256=" + hmac.new(b"not-the-secret", body, hashlib.sha256).hexdigest()
    status, _ = watch.post(body, {"Content-Type": "application/json", "X-Isolate-Signature": forged})
    assert status == 401
    status, reply = watch.post(b"x" * 5000, {"Content-Type": "application/json",
                                             "Authorization": f"Bearer {TOKEN}"})
    assert (status, reply) == (413, {"error": "body of 5000 bytes; the limit is 4096"})
    status, reply = watch.alert(source="10.10.100", signature="smb-scan")
    assert (status, reply) == (
        400, {"error": "malformed alert: field 'source': not an IP address: '10.10.100'"})
    assert watch.incidents() == []
    assert read_device(lab.state_dir, "acc1") == before
    log = watch.log.read_text()
    assert log.count("refused 401 from 127.0.0.1") == 2
    assert log.count("refused 413 from 127.0.0.1") == 1
    assert log.count("refused 400 from 127.0.0.1") == 1


def test_valid_alert_contains_and_a_second_alert_attaches(watch: Watch, lab: LabHandle) -> None:
    assert "switchport access vlan 999" not in read_device(lab.state_dir, "acc1")
    status, reply = watch.alert(source="10.10.100.17", destination="10.10.10.11", signature="smb-scan",
                                severity=8, sensor="ids-1")
    assert status == 200, reply
    assert reply["state"] == "contained", reply
    config = read_device(lab.state_dir, "acc1")
    assert "switchport access vlan 999" in config
    assert "ip access-group ISOLATE-QUARANTINE-INFECTED in" in config
    run_dir = watch.state / "runs" / reply["run"]
    start = records(run_dir)[0]["data"]
    assert start["incident"] == reply["incident"]
    assert start["reason"] == "watch: rule smb-decoy: smb-scan from 10.10.100.17"
    # OpenCanary's default payload, signed with HMAC: the same host attaches to the open incident.
    record = {"src_host": "10.10.100.17", "dst_host": "10.10.10.50", "logtype": 5001, "node_id": "decoy-1"}
    body = json.dumps({"message": json.dumps(record)}).encode()
    signature = "sha256=" + hmac.new(TOKEN.encode(), body, hashlib.sha256).hexdigest()
    status, again = watch.post(body, {"Content-Type": "application/json", "X-Isolate-Signature": signature})
    assert (status, again) == (200, {"incident": reply["incident"], "state": "contained", "attached": True})
    [listed] = [i for i in watch.incidents() if i["incident"] == reply["incident"]]
    assert (listed["state"], listed["attached"], listed["detail"]) == ("contained", 1, reply["run"])
    assert len(list((watch.state / "runs").iterdir())) == 1, "never the same host twice"


def test_after_restore_the_host_is_contained_again(watch: Watch, lab: LabHandle) -> None:
    [first] = [i for i in watch.incidents() if i["targets"] == ["10.10.100.17"]]
    restored = run_cli("restore", first["detail"], "--yes", state=watch.state)
    assert restored.returncode == 0, restored.stderr
    assert "switchport access vlan 999" not in read_device(lab.state_dir, "acc1")
    [listed] = [i for i in watch.incidents() if i["incident"] == first["incident"]]
    assert listed["state"] == "restored"
    status, reply = watch.alert(source="10.10.100.17", signature="smb-scan")
    assert status == 200
    assert reply["state"] == "contained", reply
    assert reply["incident"] != first["incident"]
    assert "switchport access vlan 999" in read_device(lab.state_dir, "acc1")
    lines = (watch.state / "watch" / "incidents.jsonl").read_text().splitlines()
    events = [json.loads(line) for line in lines]
    assert [e["event"] for e in events if e["incident"] == first["incident"]] == [
        "opened", "applying", "contained", "attached", "restored"]


def test_deny_listed_host_waits_for_approval(watch: Watch, lab: LabHandle) -> None:
    before = read_device(lab.state_dir, "acc2")
    status, reply = watch.alert(source="10.10.10.11", signature="smb-scan")
    assert status == 200
    assert reply["state"] == "pending"
    assert reply["why"] == "auto-mode never touches it: 10.10.10.11 is in the deny-list (10.10.10.0/24)"
    assert read_device(lab.state_dir, "acc2") == before
    approved = run_cli("approve", reply["incident"], state=watch.state)
    assert approved.returncode == 0, approved.stderr
    outcome = json.loads(approved.stdout)
    assert outcome["state"] == "contained"
    assert "switchport access vlan 999" in read_device(lab.state_dir, "acc2")
    start = records(watch.state / "runs" / outcome["run"])[0]["data"]
    assert start["incident"] == reply["incident"]
    assert start["reason"].startswith(f"watch: incident {reply['incident']} approved by ")
    again = run_cli("approve", reply["incident"], state=watch.state)
    assert again.returncode == 2
    assert again.stderr.strip() == (
        f"error: incident {reply['incident']} is contained, not pending: nothing to approve")


def test_guard_refusal_becomes_ask_and_approve_still_refuses(watch: Watch, lab: LabHandle) -> None:
    before = read_device(lab.state_dir, "acc1")
    status, reply = watch.alert(source="10.99.0.10", signature="smb-scan")
    assert status == 200
    assert reply["state"] == "pending"
    assert reply["why"].startswith("the guards refused the plan: step 'quarantine-infected' refused: "
                                   "on acc1 it would cut the management path admin1")
    approved = run_cli("approve", reply["incident"], state=watch.state)
    assert approved.returncode == 6, approved.stderr
    assert "refused" in approved.stderr
    rejected = run_cli("reject", reply["incident"], "--reason", "the admin station", state=watch.state)
    assert rejected.returncode == 0, rejected.stderr
    assert json.loads(rejected.stdout) == {"incident": reply["incident"], "state": "rejected"}
    assert read_device(lab.state_dir, "acc1") == before


def test_hourly_limit_downgrades_auto_to_ask(tmp_path: Path, lab: LabHandle) -> None:
    limited = start_watch(tmp_path, lab, rules=RULES.replace("auto_per_hour: 5", "auto_per_hour: 0"))
    try:
        status, reply = limited.alert(source="10.10.100.17", signature="smb-scan")
        assert status == 200
        assert (reply["state"], reply["why"]) == (
            "pending", "the limit of 0 automatic containments per hour is reached")
        assert not (limited.state / "runs").exists(), "nothing was applied"
        shown = run_cli("status", "--json", state=limited.state)
        assert shown.returncode == 0, shown.stderr
        [waiting] = json.loads(shown.stdout)["incidents"]
        assert (waiting["incident"], waiting["state"]) == (reply["incident"], "pending")
        text = run_cli("status", state=limited.state).stdout
        assert f"watch incident {reply['incident']} pending: the limit of 0 automatic" in text
        assert f"isolate approve {reply['incident']}, or isolate reject {reply['incident']}" in text
    finally:
        stop(limited)


def test_a_busy_port_is_one_line(tmp_path: Path, lab: LabHandle) -> None:
    import socket

    (tmp_path / "quarantine.yml").write_text(PLAYBOOK)
    (tmp_path / "rules.yml").write_text(RULES)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = subprocess.run(
            isolate_cmd("watch", "--rules", str(tmp_path / "rules.yml"), "-i", str(lab.inventory),
                        "--listen", f"127.0.0.1:{port}", "--token-ref", "env:WATCH_TOKEN"),
            capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL, check=False,
            env={**os.environ, "ISOLATE_STATE_DIR": str(tmp_path / "s"), "WATCH_TOKEN": TOKEN})
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip() == f"error: --listen 127.0.0.1:{port}: cannot listen: Address already in use"
    assert "Traceback" not in proc.stderr


def test_a_short_secret_is_refused(tmp_path: Path, lab: LabHandle) -> None:
    (tmp_path / "quarantine.yml").write_text(PLAYBOOK)
    (tmp_path / "rules.yml").write_text(RULES)
    (tmp_path / "token").write_text("hunter2\n")
    proc = run_cli("watch", "--rules", str(tmp_path / "rules.yml"), "-i", str(lab.inventory),
                   "--listen", "127.0.0.1:0", "--token-ref", f"file:{tmp_path / 'token'}",
                   state=tmp_path / "s")
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        f"error: --token-ref file:{tmp_path / 'token'}: the secret must be at least 16 bytes long")
    assert "hunter2" not in proc.stderr


def test_two_secrets_while_rotating(tmp_path: Path, lab: LabHandle) -> None:
    (tmp_path / "new-token").write_text("the-new-secret-of-2026\n")
    rotating = start_watch(tmp_path, lab, "--token-ref", f"file:{tmp_path / 'new-token'}")
    try:
        body = b'{"source": "10.10.100", "signature": "smb-scan"}'  # malformed: a 400 means authenticated
        for key in (TOKEN, "the-new-secret-of-2026"):
            assert rotating.post(body, {"Authorization": f"Bearer {key}"})[0] == 400
            signature = "sha256=" + hmac.new(key.encode(), body, hashlib.sha256).hexdigest()
            assert rotating.post(body, {"X-Isolate-Signature": signature})[0] == 400
        assert rotating.post(body, {"Authorization": "Bearer the-old-secret-of-2025"})[0] == 401
    finally:
        stop(rotating)
    assert "the-new-secret-of-2026" not in rotating.log.read_text()


def test_flood_gets_429(tmp_path: Path, lab: LabHandle) -> None:
    flood = start_watch(tmp_path, lab, "--rate", "3")
    try:
        codes = [flood.post(b"{}", {"Authorization": "Bearer wrong"})[0] for _ in range(4)]
        assert codes == [401, 401, 401, 429]
        status, reply = flood.alert(source="10.10.100.17", signature="smb-scan")
        assert (status, reply) == (429, {"error": "more than 3 requests a minute from 127.0.0.1"})
        assert flood.incidents() == []
    finally:
        stop(flood)


def _self_signed(tmp: Path) -> tuple[Path, Path]:
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "isolate-watch-test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                       critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp / "watch.crt", tmp / "watch.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def test_https_with_tls_cert_and_key(tmp_path: Path, lab: LabHandle) -> None:
    import ssl

    cert, key = _self_signed(tmp_path)
    tls = start_watch(tmp_path, lab, "--tls-cert", str(cert), "--tls-key", str(key))
    try:
        assert tls.url.startswith("https://127.0.0.1:")
        trusted = ssl.create_default_context(cafile=str(cert))
        body = json.dumps({"source": "10.10.100", "signature": "smb-scan"}).encode()
        request = urllib.request.Request(tls.url, data=body, method="POST", headers={
            "Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"})
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(request, timeout=60, context=trusted)
        assert caught.value.code == 400
        assert json.loads(caught.value.read()) == {
            "error": "malformed alert: field 'source': not an IP address: '10.10.100'"}
        with pytest.raises(ConnectionError):  # plain HTTP to the HTTPS port: closed, no alert
            urllib.request.urlopen(tls.url.replace("https:", "http:"), data=body, timeout=60)
    finally:
        stop(tls)
    log = tls.log.read_text()
    assert "refused 400 from 127.0.0.1" in log
    assert "Traceback" not in log, log


def test_plain_http_beyond_loopback_is_refused(tmp_path: Path, lab: LabHandle) -> None:
    (tmp_path / "quarantine.yml").write_text(PLAYBOOK)
    (tmp_path / "rules.yml").write_text(RULES)
    proc = run_cli("watch", "--rules", str(tmp_path / "rules.yml"), "-i", str(lab.inventory),
                   "--listen", "10.0.0.1:8443", "--token-ref", "env:WATCH_TOKEN", state=tmp_path / "state")
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        "error: --listen '10.0.0.1:8443': plain HTTP is for loopback only; "
        "give --tls-cert and --tls-key to listen on 10.0.0.1")


def test_watch_killed_mid_containment_is_settled_at_restart(tmp_path: Path) -> None:
    """SIGKILL the watch after its run journaled an intent; the restarted watch reads the run
    journal, marks the incident failed with the way out, and that way out works."""
    import threading

    own = start_lab(tmp_path / "lab", SMALL)
    try:
        first = start_watch(tmp_path / "w", own)
        posted = threading.Thread(target=_post_ignoring_errors, args=(first,))
        posted.start()
        try:
            kill_when(first.proc, first.state, lambda r: r["kind"] == "intent")  # type: ignore[arg-type]
        finally:
            posted.join(timeout=120)
        [incident] = first.incidents()
        assert incident["state"] == "applying"
        again = start_watch(tmp_path / "w", own)
        try:
            [settled] = again.incidents()
            run = settled["detail"].split("during run ")[1].split(":")[0]
            assert (settled["incident"], settled["state"]) == (incident["incident"], "failed")
            assert settled["detail"] == (
                f"the process applying it died during run {run}: "
                f"isolate apply --resume {run} --yes, or isolate restore {run} --yes")
            assert f"incident {incident['incident']}: the process applying it died" in again.log.read_text()
        finally:
            stop(again)
        resumed = run_cli("apply", "--resume", run, "--yes", state=again.state)
        assert resumed.returncode == 0, resumed.stderr
        assert "switchport access vlan 999" in read_device(own.state_dir, "acc1")
    finally:
        own.stop()


def _post_ignoring_errors(watch: Watch) -> None:
    import contextlib

    with contextlib.suppress(OSError, ValueError):  # the watch was killed before it answered
        watch.alert(source="10.10.100.17", signature="smb-scan")


def test_incident_events_are_notified(
    tmp_path: Path, lab: LabHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every event is posted to the --notify-ref URL (a real HTTP receiver on 127.0.0.1); a dead
    receiver is one log line naming it by position, never by its URL."""
    import socket

    receiver = Receiver()
    with socket.socket() as probe:  # a port nothing listens on once closed
        probe.bind(("127.0.0.1", 0))
        dead = probe.getsockname()[1]
    monkeypatch.setenv("NOTIFY_URL", receiver.url + "?token=s3cr3t")
    monkeypatch.setenv("DEAD_URL", f"http://127.0.0.1:{dead}/hook?token=d3ad")
    notified = start_watch(tmp_path, lab, "--notify-ref", "env:NOTIFY_URL", "--notify-ref", "env:DEAD_URL",
                           rules=RULES.replace("auto_per_hour: 5", "auto_per_hour: 0"))
    try:
        status, reply = notified.alert(source="10.10.100.17", signature="smb-scan")
        assert (status, reply["state"]) == (200, "pending")
        received = receiver.wait_for(2)
        assert [(r["incident"], r["event"]) for r in received] == [
            (reply["incident"], "opened"), (reply["incident"], "pending")]
        assert received[1]["text"] == (f"isolate watch: incident {reply['incident']} pending: "
                                       "the limit of 0 automatic containments per hour is reached")
        deadline = time.monotonic() + 60
        while "notification 2 of incident" not in notified.log.read_text() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert f"notification 2 of incident {reply['incident']} opened failed" in notified.log.read_text()
    finally:
        stop(notified)
        receiver.close()
    assert "s3cr3t" not in notified.log.read_text() and "d3ad" not in notified.log.read_text()


def test_slack_shape_is_text_only() -> None:
    from isolate.watch.notify import Notifier

    record = {"incident": "W1", "event": "contained", "run": "R1", "time": 1.0}
    text = "isolate watch: incident W1 contained: R1"
    assert json.loads(Notifier([], "slack")._body(record)) == {"text": text}
    assert json.loads(Notifier([], "generic")._body(record)) == {**record, "text": text}
