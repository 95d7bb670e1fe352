"""First malicious packet -> contained, on the network lab, with a real sensor (not asserted).

The city-decoy topology (isolate/netlab/topologies/city-decoy.yml) is built in network
namespaces; ``isolate watch`` listens with TLS in the admin station's namespace; a real
OpenCanary (isolate/netlab/canary.py) listens on TCP 445/139 on decoy1; from the infected
workstation's namespace (ws-17) ``nmap -sT`` scans SMB on the servers segment. The decoy's
webhook reaches watch, whose rule quarantines the source (playbooks/watch/quarantine-host.yml,
auto). Each run measures, from the moment nmap is started (its first SYN follows within
milliseconds):

- ``alert``: watch logged the alert (OpenCanary -> webhook -> watch);
- ``contained``: the incident's ``contained`` event (apply verified);
- ``cut``: when the first real connect from ws-17 to fs1:445 (another segment) that fails
  was started (a thread connects back to back, 0.3 s timeout, from the scan on).

Then it checks the flows that must stay open (ws-01 -> fs1:445, admin1 -> every device's
SSH) and restores the run, so that the next run starts from the baseline.

    ip netns ...  (root)   .venv/bin/python benchmarks/decoy_contain.py --runs 5 --json out.json
"""

from __future__ import annotations

import argparse
import datetime
import ipaddress
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from isolate.netlab.canary import Canary

ROOT = Path(__file__).resolve().parents[1]
TOPOLOGY = ROOT / "isolate" / "netlab" / "topologies" / "city-decoy.yml"
TOKEN = "decoy-webhook-secret-0123456789"
WATCH_ADDRESS, WATCH_PORT = "10.99.99.10", 8443
DECOY, DECOY_ADDRESS, INFECTED, INFECTED_ADDRESS = "decoy1", "10.99.10.66", "ws-17", "10.99.100.17"
RULES = """\
version: 1
limits: {auto_per_hour: 100}
rules:
  - name: smb-decoy
    match: {signature: "opencanary logtype 18001", shape: opencanary}
    playbook: quarantine-host.yml
    parameters: {infected: "{source}"}
    mode: auto
"""


@dataclass
class Run:
    alert_s: float
    contained_s: float
    cut_s: float
    run: str
    kept_open: bool


def certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for the watch's lab address (cryptography)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "isolate-watch-netlab")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(WATCH_ADDRESS))]),
                       critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "watch.crt", directory / "watch.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


class Scenario:
    """One lab (its directory and namespaces), one watch, one OpenCanary; stop() ends them."""

    def __init__(self, work: Path, *, rules: str = RULES) -> None:
        from isolate.netlab import build

        self.work = work
        self.rules = rules
        self.lab_dir = work / "lab"
        self.state = work / "state"
        self.watch: subprocess.Popen[bytes] | None = None
        self.canary: Canary | None = None
        build.up(self.lab_dir, TOPOLOGY)
        self.prefix = json.loads((self.lab_dir / "netlab.json").read_text())["prefix"]

    def ns(self, node: str) -> str:
        return f"{self.prefix}-{node}"

    def isolate(self, *args: str) -> subprocess.CompletedProcess[str]:
        argv = ["ip", "netns", "exec", self.ns("admin1"), sys.executable, "-m", "isolate", *args]
        env = {**os.environ, "ISOLATE_STATE_DIR": str(self.state)}
        return subprocess.run(argv, capture_output=True, text=True, timeout=300, env=env, check=False)

    def start(self, *watch_args: str, env: dict[str, str] | None = None) -> None:
        from isolate.netlab import canary

        shutil.copy(ROOT / "playbooks" / "watch" / "quarantine-host.yml", self.work / "quarantine-host.yml")
        (self.work / "rules.yml").write_text(self.rules)
        cert, key = certificate(self.work)
        log = self.work / "watch.log"
        env = {**os.environ, "ISOLATE_STATE_DIR": str(self.state), "DECOY_TOKEN": TOKEN, **(env or {})}
        with log.open("wb") as sink:
            self.watch = subprocess.Popen(
                ["ip", "netns", "exec", self.ns("admin1"), sys.executable, "-m", "isolate", "watch",
                 "--rules", str(self.work / "rules.yml"), "-i", str(self.lab_dir / "inventory.yml"),
                 "--listen", f"{WATCH_ADDRESS}:{WATCH_PORT}", "--tls-cert", str(cert), "--tls-key", str(key),
                 "--token-ref", "env:DECOY_TOKEN", *watch_args],
                stdout=sink, stderr=sink, env=env, stdin=subprocess.DEVNULL)
        self.wait_log("listening on https://", 120)
        doc = canary.config(node_id="decoy1-canary", address=DECOY_ADDRESS, ports=[445, 139],
                            webhook=f"https://{WATCH_ADDRESS}:{WATCH_PORT}/alert", token=TOKEN, ca_file=cert,
                            log_file=self.work / "canary" / "opencanary.log")
        self.canary = canary.start(self.ns(DECOY), self.work / "canary", doc, ports=[445, 139],
                                   address=DECOY_ADDRESS)

    def wait_log(self, text: str, timeout_s: float, *, count: int = 1) -> float:
        log = self.work / "watch.log"
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if log.exists() and log.read_text().count(text) >= count:
                return time.monotonic()
            if self.watch is not None and self.watch.poll() is not None:
                raise RuntimeError(f"watch ended: {log.read_text()[-1500:]}")
            time.sleep(0.005)
        raise TimeoutError(f"{text!r} not in the watch log within {timeout_s} s: {log.read_text()[-1500:]}")

    def connects(self, src: str, address: str, port: int) -> bool:
        from isolate.netlab import netns

        try:
            netns.connect_in(self.ns(src), address, port, timeout_s=0.3).close()
            return True
        except OSError:
            return False

    def once(self, index: int, *, restore: bool = True) -> Run:
        """Scan, wait for containment, measure, check what stays open, restore (unless told not)."""
        if not self.connects(INFECTED, "10.99.10.11", 445):
            raise RuntimeError("fs1:445 must answer ws-17 before the scan")
        alerts_before = (self.work / "watch.log").read_text().count("alert from sensor decoy1-canary")
        contained_before = (self.work / "watch.log").read_text().count(": contained by run ")
        cut: list[float] = []
        prober = threading.Thread(target=self._first_failing_connect, args=(cut,), daemon=True)
        started = time.monotonic()
        prober.start()
        scan = ["nmap", "-sT", "-Pn", "-n", "-p", "139,445", "--max-retries", "0", "10.99.10.11,12,66"]
        subprocess.run(["ip", "netns", "exec", self.ns(INFECTED), *scan], capture_output=True, check=False,
                       stdin=subprocess.DEVNULL)
        alert = self.wait_log("alert from sensor decoy1-canary", 120, count=alerts_before + 1) - started
        contained = self.wait_log(": contained by run ", 300, count=contained_before + 1) - started
        prober.join(timeout=60)
        if not cut:
            raise RuntimeError("ws-17 -> fs1:445 still connects a minute after the scan")
        runs = re.findall(r": contained by run (\S+)", (self.work / "watch.log").read_text())
        kept = self.connects("ws-01", "10.99.10.11", 445) and all(
            self.connects("admin1", address, 22) for address in ("10.99.99.1", "10.99.99.2", "10.99.99.3"))
        restored = self.isolate("restore", runs[-1], "--yes", "--reason", f"decoy benchmark run {index}") \
            if restore else subprocess.CompletedProcess([], 0)
        if restored.returncode != 0:
            raise RuntimeError(f"restore failed: {restored.stderr[-800:]}")
        return Run(round(alert, 3), round(contained, 3), round(cut[0] - started, 3), runs[-1], kept)

    def _first_failing_connect(self, out: list[float]) -> None:
        """Connect ws-17 -> fs1:445 back to back; append when the first failing one began."""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            tried = time.monotonic()
            if not self.connects(INFECTED, "10.99.10.11", 445):
                out.append(tried)
                return

    def stop(self) -> None:
        from isolate.netlab import build, canary

        if self.canary is not None:
            canary.stop(self.canary)
        if self.watch is not None and self.watch.poll() is None:
            self.watch.terminate()
            try:
                self.watch.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.watch.kill()
                self.watch.wait()
        if (self.lab_dir / "netlab.json").exists():
            build.down(self.lab_dir)


def table(runs: list[Run]) -> str:
    lines = ["run  alert (s)  contained (s)  cut (s)  kept open",
             "---  ---------  -------------  -------  ---------"]
    lines += [f"{i:>3}  {r.alert_s:>9.3f}  {r.contained_s:>13.3f}  {r.cut_s:>7.3f}  {r.kept_open}"
              for i, r in enumerate(runs, start=1)]
    med = [statistics.median(getattr(r, k) for r in runs) for k in ("alert_s", "contained_s", "cut_s")]
    lines.append(f"med  {med[0]:>9.3f}  {med[1]:>13.3f}  {med[2]:>7.3f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", type=Path, help="write the figures here as JSON")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="isolate-decoy-"))
    scenario = Scenario(work)
    try:
        scenario.start()
        runs = [scenario.once(i) for i in range(1, args.runs + 1)]
    finally:
        scenario.stop()
    print(table(runs))
    data = {"scenario": "opencanary decoy -> isolate watch -> quarantine (network lab)",
            "runs": [asdict(r) for r in runs],
            "median": {k: statistics.median(getattr(r, k) for r in runs)
                       for k in ("alert_s", "contained_s", "cut_s")}}
    if args.json:
        args.json.write_text(json.dumps(data, indent=2) + "\n")
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
