"""Helpers of the watch tests: `isolate watch` as a real process on 127.0.0.1 (an ephemeral
port), its start awaited by polling its log with a bounded loop; alerts posted with urllib;
a local HTTP receiver on 127.0.0.1 for notifications."""

from __future__ import annotations

import http.server
import json
import os
import re
import subprocess
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from e2e import isolate_cmd, run_cli

from isolate.lab.process import LabHandle

TOKEN = "watch-test-token-0f9d"
PLAYBOOK = """\
version: 1
name: quarantine-host
description: Quarantine one infected host.
parameters:
  infected: {type: host, description: The infected host., default: tag:infected}
steps:
  - id: quarantine-infected
    action: quarantine
    targets: {parameters: [infected]}
    params: {vlan: 999}
"""
RULES = """\
version: 1
limits: {auto_per_hour: 5, deny: [10.10.10.0/24]}
rules:
  - name: smb-decoy
    match: {signature: [smb-scan, opencanary logtype 5001]}
    playbook: quarantine.yml
    parameters: {infected: "{source}"}
    mode: auto
"""


@dataclass
class Watch:
    proc: subprocess.Popen[bytes]
    url: str
    log: Path
    state: Path

    def post(self, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
        request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=120) as reply:
                return reply.status, json.loads(reply.read())
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read())

    def alert(self, **fields: Any) -> tuple[int, dict[str, Any]]:
        return self.post(json.dumps(fields).encode(),
                         {"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"})

    def incidents(self) -> list[dict[str, Any]]:
        proc = run_cli("watch", "list", "--json", state=self.state)
        assert proc.returncode == 0, proc.stderr
        return [json.loads(line) for line in proc.stdout.splitlines()]


def start_watch(tmp: Path, lab: LabHandle, *extra: str, rules: str = RULES) -> Watch:
    tmp.mkdir(exist_ok=True)
    (tmp / "quarantine.yml").write_text(PLAYBOOK)
    (tmp / "rules.yml").write_text(rules)
    state, log = tmp / "state", tmp / "watch.log"
    env = {**os.environ, "ISOLATE_STATE_DIR": str(state), "WATCH_TOKEN": TOKEN}
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            isolate_cmd("watch", "--rules", str(tmp / "rules.yml"), "-i", str(lab.inventory),
                        "--listen", "127.0.0.1:0", "--token-ref", "env:WATCH_TOKEN", "--max-body", "4096",
                        *extra),
            stdout=sink, stderr=sink, env=env, stdin=subprocess.DEVNULL,
        )
    # a bound, not a timing: a watch starts in about a second; on a machine at load 17 one
    # took more than 60 s to print its first line (a full-suite run, 2026-12-02)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        found = re.search(r"listening on (https?://127\.0\.0\.1:\d+/alert)", log.read_text())
        if found:
            return Watch(proc, found.group(1), log, state)
        if proc.poll() is not None:
            raise AssertionError(f"watch ended before listening: {log.read_text()}")
        time.sleep(0.01)
    proc.kill()
    raise AssertionError(f"watch never listened: {log.read_text()}")


def stop(watch: Watch) -> None:
    watch.proc.terminate()
    try:
        watch.proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        watch.proc.kill()
        watch.proc.wait()


class Receiver:
    """A webhook receiver on 127.0.0.1 (a real HTTP server): keeps every JSON body posted."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        bodies = self.received

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def wait_for(self, count: int) -> list[dict[str, Any]]:
        deadline = time.monotonic() + 60
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return list(self.received)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
