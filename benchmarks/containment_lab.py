"""The containment benchmark's lab: a generated topology, sharded over lab processes.

N access switches ``sw1..swN`` (IOS), each with ``--ports`` workstations of the infected
``users`` segment, and one L3 core ``core1`` (the gateway of ``servers`` and ``users``,
where the SMB ACL goes). The devices are split over ``shards`` lab processes (each
``isolate.lab.process`` serves its own port range); the shards share one credential set
and one host key, and their inventories are merged into one ``inventory.yml``.
``reset()`` stops every shard, forgets the devices' persisted state and starts again, so
every tool meets the same fresh configuration.

``config="realistic"`` gives every device a running-config of field size (about 380 to 780
lines: 48 described access ports, a trunk uplink, management and user ACLs whose length
varies per switch, static routes, a login banner, NTP); ``latency`` (reply ms, ms per KiB of
output) is the topology's ``latency`` (docs/lab.md, "Latency").

The shards keep device changes in memory (``persist="at-stop"``, docs/lab.md, "Persistence"):
they share the machine's two cores with the tool being measured, and writing a snapshot per
answered packet was about half of their CPU, a cost no real switch charges to its client.
``configs()`` asks each running shard to flush first.
"""

from __future__ import annotations

import os
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from isolate.errors import LabError
from isolate.lab.inventory_out import ensure_secrets
from isolate.lab.ios import IosDevice
from isolate.lab.process import (
    BUILD_AT_START_ENV,
    LabHandle,
    build_hosted,
    ensure_credentials,
    flush_lab,
    load_lab,
    pick_base_port,
    start_lab,
    wire,
)

SEGMENTS = [
    {"name": "management", "vlan": 99, "subnet": "10.99.0.0/16", "gateway": "core1", "zone": "management",
     "criticality": "critical"},
    {"name": "servers", "vlan": 10, "subnet": "10.10.10.0/24", "gateway": "core1", "criticality": "high"},
    {"name": "users", "vlan": 100, "subnet": "10.100.0.0/16", "gateway": "core1", "criticality": "medium"},
]


def _address(base: str, n: int) -> str:
    return f"{base}.{n // 250}.{n % 250 + 2}"


ACCESS_PORTS = 48  # a realistic access switch


def field_config(i: int, ports: int) -> list[str]:
    """Initial configuration lines that make a field-sized running-config for switch ``i``
    (deterministic; the ACL length varies with ``i`` so configs range over ~380-780 lines)."""
    lines = ["ip domain-name city.example", "lldp run"]
    for port in range(1, ports + 1):
        lines += [f"interface GigabitEthernet1/0/{port}", f"description desk-{i}-{port:02d} user access",
                  "switchport access vlan 100", "switchport mode access"]
    lines += ["interface GigabitEthernet1/0/48", "description uplink to core1",
              "switchport mode trunk"] if ports >= 48 else []
    lines.append("ip access-list extended MGMT-IN")
    lines += [f"permit tcp 10.99.{k}.0 0.0.0.255 any eq 22" for k in range(12)]
    lines += ["deny ip any any log"]
    entries = 40 + (i * 37) % 360
    lines.append("ip access-list extended USERS-IN")
    for k in range(entries):
        verb = "deny" if k % 7 == 0 else "permit"
        lines.append(f"{verb} tcp 10.100.{k % 250}.0 0.0.0.255 host 10.10.10.{k % 200 + 10} eq {1024 + k}")
    lines.append("permit ip any any")
    lines += [f"ip route 10.{50 + k}.0.0 255.255.0.0 10.99.0.1" for k in range(8)]
    lines += ["banner motd ^C", "Authorised access only. This device belongs to the city of Caen.",
              "Every session is logged and reviewed. Disconnect now if you are not authorised.",
              "Network operations: +33 2 31 00 00 00 (24/7)", "^C"]
    lines += [f"ntp server 10.99.0.{k}" for k in (5, 6, 7)]
    return lines


def topology(name: str, switches: list[int], ports: int, *, with_core: bool, config: str = "small",
             latency: tuple[float, float] = (0.0, 0.0)) -> dict[str, Any]:
    """One shard's topology: the given switches (and the core, on the first shard)."""
    realistic = config == "realistic"
    devices: list[dict[str, Any]] = []
    hosts: list[dict[str, Any]] = []
    if with_core:
        devices.append({"name": "core1", "kind": "cisco_ios", "role": "core", "address": "10.99.0.2",
                        "groups": ["core"], "tags": ["l3"],
                        "config": field_config(0, 0) if realistic else []})
        hosts += [
            {"name": "admin1", "address": "10.99.0.10", "segment": "management", "switch": "core1",
             "tags": ["admin"]},
            {"name": "fs1", "address": "10.10.10.11", "segment": "servers", "switch": "core1",
             "services": [{"name": "smb", "port": 445}, {"name": "netbios-ssn", "port": 139}]},
        ]
    for i in switches:
        size = ACCESS_PORTS if realistic else max(8, ports + 2)
        devices.append({"name": f"sw{i}", "kind": "cisco_ios", "role": "access",
                        "address": _address("10.99", i + 10), "ports": size, "groups": ["access"],
                        "config": field_config(i, size - 1) if realistic else []})
        for j in range(1, ports + 1):
            n = (i - 1) * ports + j
            hosts.append({"name": f"ws-{i}-{j}", "address": _address("10.100", n), "segment": "users",
                          "switch": f"sw{i}", "tags": ["workstation", "infected"]})
    segments = [s if with_core else {k: v for k, v in s.items() if k != "gateway"} for s in SEGMENTS]
    return {
        "version": 1,
        "name": name,
        "management": {"networks": ["10.99.0.0/16"], "stations": ["admin1"] if with_core else [],
                       "tool_address": "10.99.0.10"},
        "access": {"count": 0},
        "devices": devices,
        "segments": segments,
        "hosts": hosts,
        "protected": {"hosts": ["admin1"], "segments": ["management"]} if with_core else {},
        "latency": {"reply_ms": latency[0], "per_kb_ms": latency[1]},
    }


def split(count: int, shards: int) -> list[list[int]]:
    """Switch numbers 1..count in ``shards`` contiguous, near-equal parts (none empty)."""
    shards = max(1, min(shards, count))
    size, extra = divmod(count, shards)
    parts, start = [], 1
    for k in range(shards):
        n = size + (1 if k < extra else 0)
        parts.append(list(range(start, start + n)))
        start += n
    return parts


@dataclass
class BenchLab:
    """N access switches and a core, served by one or more lab processes under ``root``."""

    root: Path
    devices: int
    ports: int = 2
    shards: int = 1
    config: str = "small"  # or "realistic" (field_config)
    latency: tuple[float, float] = (0.0, 0.0)  # reply ms, ms per KiB of output
    handles: list[LabHandle] = field(default_factory=list)
    base_ports: dict[int, int] = field(default_factory=dict)  # shard -> its first base port
    _topologies: dict[int, Any] = field(default_factory=dict)  # shard -> its parsed topology
    _built: dict[str, str] = field(default_factory=dict)  # device -> its config as the lab built it

    @property
    def inventory(self) -> Path:
        return self.root / "inventory.yml"

    def shard_dirs(self) -> list[Path]:
        return [self.root / f"shard{k}" for k in range(len(split(self.devices, self.shards)))]

    def start(self) -> None:
        """Start every shard at once (each builds its devices' configurations in its own
        process before it says it is ready), all with the first shard's credentials and keys."""
        os.environ[BUILD_AT_START_ENV] = "1"  # configurations built before a tool's clock starts
        parts = split(self.devices, self.shards)
        topos = [self._topology_file(k, switches) for k, switches in enumerate(parts)]
        ensure_credentials(self.root / "shard0")
        if not self.base_ports:  # disjoint port ranges, chosen before the shards start at once
            stride = max(len(p) for p in parts) + 2  # the core rides on shard 0
            base = pick_base_port(stride * len(parts))
            self.base_ports = {k: base + k * stride for k in range(len(parts))}
        for k in range(1, len(parts)):  # one credential set and one host key for every shard
            state = self.root / f"shard{k}"
            for name in ("secrets.yml", "ssh_host_ed25519_key", "lab_key"):
                if not (state / name).exists():
                    shutil.copy2(self.root / "shard0" / name, state / name)
        with ThreadPoolExecutor(max_workers=len(parts)) as pool:
            futures = [pool.submit(self._start_shard, k, self.root / f"shard{k}", topos[k])
                       for k in range(len(parts))]
        self.handles = [f.result() for f in futures if f.exception() is None]
        failed = [f.exception() for f in futures if f.exception() is not None]
        if failed:
            self.stop()  # the shards that did start: no lab left behind
            raise failed[0]  # type: ignore[misc]
        self._merge()

    def _topology_file(self, k: int, switches: list[int]) -> Path:
        """Shard ``k``'s topology file, written once (libyaml's dumper when PyYAML has it: the
        pure-Python one took 18 s for 500 field-sized switches)."""
        state = self.root / f"shard{k}"
        state.mkdir(parents=True, exist_ok=True)
        topo = self.root / f"topology{k}.yml"
        if not topo.exists():
            data = topology(f"bench{k}", switches, self.ports, with_core=k == 0, config=self.config,
                            latency=self.latency)
            topo.write_text(yaml.dump(data, Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper)))
        return topo

    def _start_shard(self, k: int, state: Path, topo: Path) -> LabHandle:
        """Start one shard; after a reset, on the very ports it had (the others' work files
        name them), waiting for the old listeners to be gone."""
        pinned = self.base_ports.get(k)
        for attempt in range(60):
            try:
                handle = start_lab(state, topo, base_port=pinned, timeout_s=600, persist="at-stop")
            except LabError:
                if pinned is None or attempt == 59:
                    raise
                time.sleep(1.0)
                continue
            self.base_ports.setdefault(k, handle.base_port)
            return handle
        raise AssertionError("unreachable")

    def pids(self) -> list[int]:
        return [h.pid for h in self.handles]

    def stop(self) -> None:
        for handle in self.handles:
            handle.stop()
        self.handles = []

    def reset(self) -> None:
        """Every device back to its generated configuration (stop, forget state, start)."""
        self.stop()
        for state in self.shard_dirs():
            shutil.rmtree(state / "devices", ignore_errors=True)
        self.start()

    def _merge(self) -> None:
        merged: dict[str, Any] | None = None
        known: list[str] = []
        for state in self.shard_dirs():
            data = yaml.safe_load((state / "inventory.yml").read_text())
            known.append((state / "known_hosts").read_text())
            if merged is None:
                merged = data
                merged["credentials"]["lab"]["password"] = f"file:{state}/secrets.yml#password"
                merged["credentials"]["lab"]["enable"] = f"file:{state}/secrets.yml#enable"
                continue
            merged["devices"] += data["devices"]
            merged["hosts"] += data.get("hosts", [])
        assert merged is not None
        merged["known_hosts"] = "known_hosts"
        (self.root / "known_hosts").write_text("".join(known))
        self.inventory.write_text(yaml.safe_dump(merged, sort_keys=False))

    def credentials(self) -> dict[str, str]:
        data: dict[str, str] = yaml.safe_load((self.root / "shard0" / "secrets.yml").read_text())
        return data

    def configs(self) -> dict[str, str]:
        """Every device's running-config as the lab persisted it (read from disk, not SSH), followed
        by its VLAN database (vlan.dat: a VTP server keeps its VLANs there, not in the config).
        Each shard's topology is parsed once, and a device the lab never persisted (unchanged
        since the lab built it) is rendered once: at N = 5,000 every check re-read 10 topologies
        and rebuilt every configuration."""
        for handle in self.handles:  # what the running shards changed, written now
            flushed = flush_lab(handle.state_dir)
            if not flushed.get("ok"):
                raise LabError(f"{handle.state_dir}: flush: {flushed.get('error')}")
        out: dict[str, str] = {}
        for k, state in enumerate(self.shard_dirs()):
            if k not in self._topologies:
                self._topologies[k] = load_lab(state)[0]
            lab = self._topologies[k]
            hosted = build_hosted(state, lab, ensure_secrets(state), self.base_ports.get(k, 0))
            wire(state, lab, hosted)
            for entry in hosted:
                device = entry.device
                if not isinstance(device, IosDevice):
                    continue
                persisted = (state / "devices" / f"{entry.name}.json").exists()
                if not persisted and entry.name in self._built:
                    out[entry.name] = self._built[entry.name]
                    continue
                out[entry.name] = str(device.config.render()) + _vlan_database(device)
                if not persisted:
                    self._built[entry.name] = out[entry.name]
        return out


def _vlan_database(device: IosDevice) -> str:
    """The VLAN database as ``vlan N`` / `` name X`` lines (what a pushed ``vlan N`` created)."""
    lines = []
    for vid in sorted(device.config.vlans):
        lines.append(f"vlan {vid}")
        if device.config.vlans[vid] is not None:
            lines.append(f" name {device.config.vlans[vid]}")
    return "\n" + "\n".join(lines) + "\n"


PORT_NAMES = {"netbios-ns": "137", "netbios-dgm": "138", "netbios-ss": "139", "netbios-ssn": "139",
              "www": "80", "domain": "53"}  # how IOS prints some well-known ports


def _norm(line: str) -> str:
    return " ".join(PORT_NAMES.get(word, word) for word in line.split())


def _blocks(config: str) -> dict[str, set[str]]:
    """Top-level line → its children (whitespace-normalised) in an IOS running-config."""
    blocks: dict[str, set[str]] = {}
    current: set[str] | None = None
    for raw in config.splitlines():
        if not raw.strip() or raw.strip() == "!":
            continue
        line = _norm(raw)
        if raw[0] != " ":
            current = blocks.setdefault(line, set())
        elif current is not None:
            current.add(line)
    return blocks


CONTEXTS = ("interface ", "vlan ", "ip access-list ", "router ", "line ", "archive")


def missing_lines(config: str | None, lines: list[str]) -> list[str]:
    """The pushed lines a running-config does not show (each child under its own parent)."""
    if config is None:
        return list(lines)
    blocks = _blocks(config)
    missing: list[str] = []
    parent: str | None = None
    for raw in lines:
        line = _norm(raw)
        if line.startswith(CONTEXTS) or parent is None:
            parent = line if line.startswith(CONTEXTS) else None
            if line not in blocks:
                missing.append(line)
        elif line not in blocks.get(parent, set()):
            missing.append(f"{parent} / {line}")
    return missing
