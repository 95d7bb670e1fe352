"""A real partition for the site-worker tests (imported as ``siteskit``).

Around a network lab whose management segment holds two extra hosts, ``site-a`` and ``site-b``
(one per site worker), the test builds:

- a ``broker`` namespace running redis-server (password required), linked by one veth each
  to a ``ctl`` namespace (the controller: that link is all it has, so it reaches only the
  broker) and to the ``site-a`` and ``site-b`` lab namespaces (no forwarding in the broker
  namespace: nothing crosses it);
- in each site namespace, an nftables output filter: the worker there may open connections
  only to the broker and to its own site's devices (SSH), nothing else.

Everything is torn down by pid and by name (``Partition.down``), also when a test fails.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from isolate.netlab import netns

REDIS = shutil.which("redis-server") or "/usr/bin/redis-server"
BROKER_PORT = 6379
LINKS = {"ctl": "10.250.1", "site-a": "10.250.2", "site-b": "10.250.3"}  # /30: broker .1, peer .2


@dataclass
class Partition:
    prefix: str  # isosite-<hex>
    lab_prefix: str  # iso-<hex> of the network lab
    dir: Path
    password: str = field(repr=False, default="")
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def ns(self, name: str) -> str:
        """The namespace of ``ctl``/``broker`` (ours) or of a lab node (``site-a``…)."""
        return f"{self.prefix}-{name}" if name in ("ctl", "broker") else f"{self.lab_prefix}-{name}"

    def broker_url(self, seen_from: str) -> str:
        return f"redis://{LINKS[seen_from]}.1:{BROKER_PORT}/0"

    # -- processes ------------------------------------------------------------------------------
    def start(self, name: str, ns: str, argv: list[str], env: dict[str, str] | None = None) -> int:
        log = open(self.dir / f"{name}.log", "ab")  # noqa: SIM115 (the child keeps it)
        proc = subprocess.Popen(
            ["ip", "netns", "exec", ns, *argv],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})},
        )
        log.close()
        self.procs[name] = proc
        return proc.pid

    def kill(self, name: str) -> None:
        proc = self.procs.pop(name, None)
        if proc is not None and proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)  # `ip netns exec` exec'd the program: same pid
        if proc is not None:
            proc.wait(timeout=30)

    def stop(self, name: str) -> None:
        proc = self.procs.get(name)
        if proc is not None and proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=15)
        self.kill(name)

    def start_worker(self, site: str, inventory: Path) -> int:
        return self.start(f"worker-{site}", self.ns(f"site-{site}"),
                          [sys.executable, "-m", "isolate", "worker", "--site", site, "-i", str(inventory),
                           "--state-dir", str(self.dir / f"worker-{site}")],
                          env={"ISOLATE_BROKER_PASSWORD": self.password})  # fmt: skip

    def log(self, name: str) -> str:
        path = self.dir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    # -- teardown -------------------------------------------------------------------------------
    def down(self) -> list[str]:
        """Stop every process we started (by pid), remove our links' far ends and our namespaces;
        returns what is still alive (nothing, or the test fails)."""
        for name in list(self.procs):
            self.kill(name)
        for name in ("ctl", "broker"):
            ns = self.ns(name)
            for pid in _ns_pids(ns):
                _kill_pid(pid)
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, check=False)
        for site in ("site-a", "site-b"):  # the lab keeps its namespaces: drop our filter and link
            subprocess.run(["ip", "netns", "exec", self.ns(site), "nft", "delete", "table", "inet",
                            "isolate_site_partition"], capture_output=True, check=False)  # fmt: skip
        left = [f"{n}:{p.pid}" for n, p in self.procs.items() if p.poll() is None]
        left += [ns for ns in netns.namespaces() if ns.startswith(self.prefix + "-")]
        return left


def _ns_pids(ns: str) -> list[int]:
    found = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True, check=False)
    return [int(p) for p in found.stdout.split()]


def _kill_pid(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


def build(lab_prefix: str, where: Path, site_devices: dict[str, list[str]]) -> Partition:
    """Namespaces, links, filters and the broker. ``site_devices``: site host → device
    management addresses its worker may reach (e.g. ``{"site-a": ["10.99.99.1"]}``)."""
    part = Partition(f"isosite-{secrets.token_hex(3)}", lab_prefix, where, password=secrets.token_urlsafe(18))
    where.mkdir(parents=True, exist_ok=True)
    try:
        for name in ("ctl", "broker"):
            _ip("netns", "add", part.ns(name))
            _ip("-n", part.ns(name), "link", "set", "lo", "up")
        for peer, net in LINKS.items():
            near, far = f"b-{peer}"[:15], f"brk-{part.prefix[-6:]}"[:15]
            _ip("link", "add", near, "netns", part.ns("broker"), "type", "veth", "peer", "name", far,
                "netns", part.ns(peer))  # fmt: skip
            _ip("-n", part.ns("broker"), "addr", "add", f"{net}.1/30", "dev", near)
            _ip("-n", part.ns("broker"), "link", "set", near, "up")
            _ip("-n", part.ns(peer), "addr", "add", f"{net}.2/30", "dev", far)
            _ip("-n", part.ns(peer), "link", "set", far, "up")
        for site, addresses in site_devices.items():
            _filter(part, site, addresses)
        _start_broker(part)
    except BaseException:
        part.down()
        raise
    return part


def _filter(part: Partition, site: str, addresses: list[str]) -> None:
    broker = f"{LINKS[site]}.1"
    rules = f"""table inet isolate_site_partition {{
  chain out {{
    type filter hook output priority 0; policy drop;
    oif "lo" accept
    ct state established,related accept
    ip daddr {broker} tcp dport {BROKER_PORT} accept
    ip daddr {{ {", ".join(addresses)} }} tcp dport 22 accept
  }}
}}
"""
    subprocess.run(["ip", "netns", "exec", part.ns(site), "nft", "-f", "-"], input=rules.encode(),
                   check=True, capture_output=True)  # fmt: skip


def _start_broker(part: Partition) -> None:
    conf = part.dir / "redis.conf"
    binds = " ".join(f"{net}.1" for net in LINKS.values())
    conf.write_text(
        f"bind {binds}\nport {BROKER_PORT}\nprotected-mode yes\nrequirepass {part.password}\n"
        f'save ""\nappendonly no\ndaemonize no\ndir {part.dir}\nlogfile ""\n'
    )
    conf.chmod(0o600)
    part.start("broker", part.ns("broker"), [REDIS, str(conf)])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            netns.connect_in(part.ns("ctl"), f"{LINKS['ctl']}.1", BROKER_PORT, timeout_s=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"redis never listened: {part.log('broker')}")
