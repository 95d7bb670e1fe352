"""A real OpenCanary (PyPI ``opencanary``) on a decoy host of the network lab, alerting by
webhook to ``isolate watch`` (docs/watch.md, "A decoy on the network lab").

OpenCanary runs in its own virtual environment (``.venv-opencanary`` at the repository root,
made by ``scripts/netlab-deps.sh``; or ``$ISOLATE_OPENCANARY_VENV``): it pins Twisted and
friends that isolate's own environment need not share. It is started with ``twistd -noy
opencanary.tac`` inside the decoy's namespace, in a directory of its own holding its
``opencanary.conf`` (OpenCanary reads ``./opencanary.conf`` when neither
``/etc/opencanaryd/opencanary.conf`` nor ``~/.opencanary.conf`` exists; ``HOME`` is that
directory). Its ``tcpbanner`` module listens on the decoy's SMB ports; every connection is
a log record (logtype 18001) that its ``WebhookHandler`` posts, as JSON with the bearer
token, over HTTPS verified against the watch's certificate. It is stopped by its pid.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from isolate.errors import LabError

ROOT = Path(__file__).resolve().parents[2]
VENV_ENV = "ISOLATE_OPENCANARY_VENV"
CONNECTION_MADE = 18001  # OpenCanary's LOG_TCP_BANNER_CONNECTION_MADE


def venv() -> Path:
    return Path(os.environ.get(VENV_ENV) or ROOT / ".venv-opencanary")


def missing() -> str | None:
    """Why OpenCanary cannot run here, or None."""
    if not (venv() / "bin" / "twistd").is_file() or not (venv() / "bin" / "opencanary.tac").is_file():
        return f"OpenCanary is not installed in {venv()} (bash scripts/netlab-deps.sh makes it)"
    return None


@dataclass(frozen=True)
class Canary:
    pid: int
    workdir: Path

    @property
    def log(self) -> Path:
        return self.workdir / "opencanary.log"


def config(*, node_id: str, address: str, ports: list[int], webhook: str, token: str,
           ca_file: Path, log_file: Path) -> dict[str, object]:
    """An ``opencanary.conf``: tcpbanner on ``ports``, records to a file and to the webhook."""
    doc: dict[str, object] = {
        "device.node_id": node_id,
        "device.listen_addr": address,
        "ip.ignorelist": [],
        "tcpbanner.maxnum": len(ports),
        "tcpbanner.enabled": True,
        "logger": {
            "class": "PyLogger",
            "kwargs": {
                "formatters": {"plain": {"format": "%(message)s"}},
                "handlers": {
                    "file": {"class": "logging.FileHandler", "filename": str(log_file)},
                    "webhook": {
                        "class": "opencanary.logger.WebhookHandler",
                        "url": webhook,
                        "method": "POST",
                        "data": {"message": "%(message)s"},
                        "status_code": 200,
                        "headers": {"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
                        "verify": str(ca_file),
                        "timeout": 30,
                    },
                },
            },
        },
    }
    for index, port in enumerate(ports, start=1):
        doc.update({
            f"tcpbanner_{index}.enabled": True,
            f"tcpbanner_{index}.port": port,
            f"tcpbanner_{index}.datareceivedbanner": "",
            f"tcpbanner_{index}.initbanner": "",
            f"tcpbanner_{index}.alertstring.enabled": False,
            f"tcpbanner_{index}.alertstring": "",
            f"tcpbanner_{index}.keep_alive.enabled": False,
            f"tcpbanner_{index}.keep_alive_secret": "",
            f"tcpbanner_{index}.keep_alive_probes": 11,
            f"tcpbanner_{index}.keep_alive_interval": 300,
            f"tcpbanner_{index}.keep_alive_idle": 300,
        })
    return doc


def start(ns: str, workdir: Path, doc: dict[str, object], *, ports: list[int], address: str,
          timeout_s: float = 60.0) -> Canary:
    """Start OpenCanary in namespace ``ns``; returns once every port listens (LabError if not)."""
    problem = missing()
    if problem:
        raise LabError(problem)
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "opencanary.conf").write_text(json.dumps(doc, indent=2), encoding="utf-8")
    env = {**os.environ, "HOME": str(workdir), "PATH": f"{venv() / 'bin'}:{os.environ.get('PATH', '')}"}
    with (workdir / "twistd.out").open("wb") as out:
        proc = subprocess.Popen(
            ["ip", "netns", "exec", ns, str(venv() / "bin" / "twistd"), "-noy",
             str(venv() / "bin" / "opencanary.tac"), "--pidfile", str(workdir / "twistd.pid")],
            cwd=workdir, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
    canary = Canary(proc.pid, workdir)  # `ip netns exec` execs twistd: the same pid
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise LabError(f"OpenCanary ended at start: {(workdir / 'twistd.out').read_text()[-800:]}")
        if _listening(ns, address, ports):
            return canary
        time.sleep(0.05)
    stop(canary)
    raise LabError(f"OpenCanary did not listen on {address} {ports} within {timeout_s:.0f} s")


def _listening(ns: str, address: str, ports: list[int]) -> bool:
    shown = subprocess.run(["ip", "netns", "exec", ns, "ss", "-Hltn"], capture_output=True, text=True,
                           check=False).stdout
    # tcpbanner binds every address of the namespace (it ignores device.listen_addr)
    return all(f"{address}:{port} " in shown or f"0.0.0.0:{port} " in shown or f"*:{port} " in shown
               for port in ports)


def stop(canary: Canary) -> None:
    """SIGTERM, then SIGKILL, by pid."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.kill(canary.pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                done, _ = os.waitpid(canary.pid, os.WNOHANG)
            except ChildProcessError:
                return
            if done:
                return
            time.sleep(0.05)


def records(canary: Canary) -> list[dict[str, object]]:
    """OpenCanary's own log records (one JSON object a line)."""
    if not canary.log.exists():
        return []
    out = []
    for line in canary.log.read_text(encoding="utf-8").splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return out
