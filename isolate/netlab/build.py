"""``up``, ``down`` and ``status`` of a network lab (root, Linux).

``up`` creates namespaces named ``iso-<lab id>-<node>``, veth pairs created directly
inside them (the root namespace gets no lab interface and no lab route), an Open
vSwitch bridge, nftables rulesets, real sshd on every managed device, WireGuard and
TCP listeners; everything is recorded in ``DIR/netlab.json`` before the next thing
is built. If ``up`` fails, it removes what it created and raises. ``down`` removes
exactly what the ledger names: processes by pid (checked against their start time),
anything else left in a lab namespace by pid, then the namespaces.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import sys
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from isolate.errors import LabError
from isolate.netlab import firewall, netns, ovs, sshd, wireguard
from isolate.netlab.inventory_out import render
from isolate.netlab.state import Ledger, Proc, alive, spawn, stop_procs, stop_stragglers
from isolate.netlab.topology import DEFAULT_TOPOLOGY, Topology, load_topology
from isolate.netlab.wiring import NodeConfig, Wiring, wire

PREFIX = "iso"
_LAB_NS = re.compile(PREFIX + r"-([0-9a-f]{6})-[A-Za-z0-9._-]+")
TOOLS = (
    "ip",
    "nsenter",
    "unshare",
    "sysctl",
    "nft",
    "ethtool",
    "ssh-keygen",
    "ovsdb-tool",
    "ovsdb-server",
    "ovs-vswitchd",
    "ovs-vsctl",
    "wg",
    "wireguard-go",
)
READY_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class UpResult:
    lab_id: str
    dir: Path
    namespaces: int
    processes: int
    duration_s: float
    inventory: Path


@dataclass(frozen=True)
class DownResult:
    lab_id: str
    namespaces_removed: tuple[str, ...]
    processes_stopped: int
    stragglers_killed: int
    problems: tuple[str, ...]
    duration_s: float


@dataclass(frozen=True)
class NodeStatus:
    name: str
    namespace: str
    present: bool


@dataclass(frozen=True)
class ProcStatus:
    name: str
    namespace: str
    pid: int
    alive: bool


@dataclass(frozen=True)
class LabStatus:
    lab_id: str
    status: str
    dir: Path
    namespaces: tuple[NodeStatus, ...]
    processes: tuple[ProcStatus, ...]

    @property
    def healthy(self) -> bool:
        return all(n.present for n in self.namespaces) and all(p.alive for p in self.processes)


def missing_capabilities() -> list[str]:
    """Why a network lab cannot be built here ([] = it can): root, tools, /dev/net/tun."""
    problems: list[str] = []
    if sys.platform != "linux":
        return [f"network lab needs Linux, this is {sys.platform}"]
    if os.geteuid() != 0:
        problems.append("network lab needs root (network namespaces, nftables, Open vSwitch)")
    path = os.environ.get("PATH", "") + ":/usr/sbin:/sbin"
    problems += [
        f"command {tool!r} not found (run scripts/netlab-deps.sh)"
        for tool in TOOLS
        if shutil.which(tool, path=path) is None
    ]
    if not Path(sshd.SSHD).exists():
        problems.append(f"{sshd.SSHD} not found: install openssh-server (scripts/netlab-deps.sh)")
    if not Path("/dev/net/tun").exists():
        problems.append("/dev/net/tun missing (wireguard-go and OVS internal ports need it)")
    if not ovs.SCHEMA.exists():
        problems.append(f"{ovs.SCHEMA} missing: install openvswitch-switch")
    return problems


# ------------------------------------------------------------------------------------ up


def up(directory: Path, topology: Path | None = None) -> UpResult:
    """Build the lab described by ``topology`` (default: the city) in ``directory``."""
    problems = missing_capabilities()
    if problems:
        raise LabError("cannot build the network lab: " + "; ".join(problems))
    topo = load_topology(topology)
    directory = directory.resolve()
    if any(c.isspace() for c in str(directory)):
        raise LabError(f"{directory}: the lab directory must not contain spaces")
    _refuse_running(directory)
    started = time.monotonic()
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    for sub in ("ssh", "run", "logs", "ovs", "wg", "nft"):
        (directory / sub).mkdir(mode=0o700, exist_ok=True)
    lab_id = secrets.token_hex(3)
    ledger = Ledger(
        dir=directory, lab_id=lab_id, prefix=f"{PREFIX}-{lab_id}", topology=str(topology or DEFAULT_TOPOLOGY)
    )
    ledger.save()
    try:
        _build(ledger, topo)
    except BaseException:
        down(directory)
        raise
    ledger.status = "up"
    ledger.info["up_s"] = round(time.monotonic() - started, 3)
    ledger.save()
    return UpResult(
        lab_id,
        directory,
        len(ledger.namespaces),
        len(ledger.procs),
        time.monotonic() - started,
        directory / "inventory.yml",
    )


def _refuse_running(directory: Path) -> None:
    try:
        old = Ledger.load(directory)
    except LabError:
        return
    present = set(netns.namespaces())
    if old.status != "down" and (set(old.namespaces) & present or any(alive(p) for p in old.procs)):
        raise LabError(
            f"{directory}: lab {old.lab_id} is still up; run 'isolate netlab down --dir {directory}'"
        )


def ns_name(ledger: Ledger, node: str) -> str:
    return f"{ledger.prefix}-{node}"


def _parallel(jobs: Iterable[Callable[[], object]]) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        for future in [pool.submit(job) for job in jobs]:
            future.result()


def _build(ledger: Ledger, topo: Topology) -> None:
    wiring = wire(topo)
    names = {node: ns_name(ledger, node) for node in wiring.nodes}
    for name in names.values():
        ledger.add_ns(name)
    netns.ip_batch(None, [f"netns add {n}" for n in names.values()])
    netns.ip_batch(None, [_veth(link.a_if, names[link.a], link.b_if, names[link.b]) for link in wiring.links])
    managed = [topo.switch.name, topo.router.name, topo.edge.name, topo.vpn.name]
    clients = [u.host for u in topo.vpn_users]
    holders = {n: sshd.start_holder(ledger, names[n], n) for n in [*managed, *clients]}
    key_jobs: list[Callable[[], object]] = [
        lambda: sshd.keygen(ledger.dir / "id_ed25519", f"netlab-{ledger.lab_id}"),
        *(
            lambda n=n: sshd.keygen(ledger.dir / "ssh" / f"{n}_host_ed25519_key", f"netlab-{n}")
            for n in managed
        ),
    ]
    config_jobs = [lambda c=c: _configure_node(ledger, topo, names[c.name], c) for c in wiring.nodes.values()]
    _parallel([*key_jobs, *config_jobs])
    sshd.wait_holders(list(holders.values()))
    _start_switch(ledger, topo, wiring, holders[topo.switch.name])
    _start_listeners(ledger, topo, names)
    _start_vpn(ledger, topo, names, holders)
    _write_access_files(ledger, topo, wiring)
    env = {
        topo.switch.name: ovs.env(ledger),
        topo.vpn.name: {"WG_PEER_NAMES": str(ledger.dir / "wg" / "wg0.names")},
    }
    for dev in topo.devices:
        sshd.start_sshd(ledger, holders[dev.name], dev.name, str(dev.address), env=env.get(dev.name))
    _wait_ready(ledger, topo, names)


def _veth(a_if: str, a_ns: str, b_if: str, b_ns: str) -> str:
    """Both ends are created directly inside lab namespaces: never in the root one."""
    return f"link add {a_if} netns {a_ns} type veth peer name {b_if} netns {b_ns}"


def _configure_node(ledger: Ledger, topo: Topology, ns: str, cfg: NodeConfig) -> None:
    """Kernel settings, addresses, routes, offloads and nftables of one namespace, in one
    shell run inside it."""
    lines = [
        f"sysctl -q -w net.ipv4.ip_forward={int(cfg.forward)} net.ipv4.conf.all.rp_filter=0 "
        "net.ipv4.conf.default.rp_filter=0 net.ipv6.conf.all.disable_ipv6=1 "
        "net.ipv6.conf.default.disable_ipv6=1",
        "ip link set lo up",
    ]
    ifaces = sorted({i for i, _ in cfg.addresses} | set(cfg.ovs_facing))
    if cfg.kind == "switch":
        ifaces = []
    lines += [f"ip addr add {cidr} dev {iface}" for iface, cidr in cfg.addresses]
    lines += [f"ip link set {iface} up" for iface in ifaces]
    lines += [f"ip route add {route}" for route in cfg.routes]
    lines += [f"ethtool -K {iface} tx off >/dev/null" for iface in cfg.ovs_facing]
    if cfg.kind in ("router", "edge", "vpn"):
        mgmt_iface = None if cfg.kind == "router" else "mgmt0"
        ssh_iface = f"v{topo.management.vlan}" if cfg.kind == "router" else "mgmt0"
        rules = ledger.dir / "nft" / f"{cfg.name}.nft"
        rules.write_text(firewall.router_rules(topo.ranges, mgmt_iface=mgmt_iface, ssh_iface=ssh_iface))
        lines.append(f"nft -f {rules}")
    netns.run(["sh", "-ec", "\n".join(lines)], ns=ns)


def _start_switch(ledger: Ledger, topo: Topology, wiring: Wiring, holder: Proc) -> None:
    ovs.start(ledger, holder)
    ports = [ovs.AccessPort(name, vlan) for name, vlan in wiring.switch_ports]
    ports.append(ovs.AccessPort(ovs.MGMT_PORT, topo.management.vlan, internal=True))
    ovs.build_bridge(ledger, holder, ports)
    ns = holder.ns
    lines = [f"link set {name} up" for name, _ in wiring.switch_ports]
    mgmt = topo.management
    lines += [
        f"addr add {topo.switch.address}/{mgmt.subnet.prefixlen} dev {ovs.MGMT_PORT}",
        f"link set {ovs.MGMT_PORT} up",
        f"link set {ovs.BRIDGE} up",
    ]
    lines += [f"route add {r} via {mgmt.gateway}" for r in ("10.99.0.0/16", "100.64.0.0/10")]
    netns.ip_batch(ns, lines)


def _start_listeners(ledger: Ledger, topo: Topology, names: dict[str, str]) -> None:
    served = [(h.name, h.services) for h in topo.hosts] + [(o.name, o.services) for o in topo.outside]
    for host, services in served:
        if services:
            ports = [str(s.port) for s in services]
            argv = [
                "ip",
                "netns",
                "exec",
                names[host],
                sys.executable,
                "-m",
                "isolate.netlab.listener",
                *ports,
            ]
            spawn(ledger, f"listen-{host}", names[host], argv)


def _start_vpn(ledger: Ledger, topo: Topology, names: dict[str, str], holders: dict[str, Proc]) -> None:
    gw = topo.vpn
    gw_keys = wireguard.make_keys(ledger, gw.name)
    users = {u.name: wireguard.make_keys(ledger, u.name, psk=True) for u in topo.vpn_users}
    procs = {gw.name: wireguard.start(ledger, holders[gw.name], gw.name)}
    for user in topo.vpn_users:
        procs[user.host] = wireguard.start(ledger, holders[user.host], user.host)
    for node, proc in procs.items():
        wireguard.wait_socket(holders[node], proc)
    peers = [
        wireguard.Peer(users[u.name], f"{u.address}/32", f"{u.public}:{wireguard.LISTEN_PORT}")
        for u in topo.vpn_users
    ]
    wireguard.configure(holders[gw.name], gw_keys, gw.listen_port, peers)
    gw_addr = next(gw.tunnel.hosts())
    netns.ip_batch(names[gw.name], [f"addr add {gw_addr}/{gw.tunnel.prefixlen} dev wg0", "link set wg0 up"])
    gw_public = next(topo.links.edge_vpn.hosts()) + 1
    for user in topo.vpn_users:
        to_gw = wireguard.Keys(private=gw_keys.private, public=gw_keys.public, psk=users[user.name].psk)
        own = users[user.name]
        wireguard.configure(
            holders[user.host],
            own,
            wireguard.LISTEN_PORT,
            [wireguard.Peer(to_gw, "10.99.0.0/16", f"{gw_public}:{gw.listen_port}")],
        )
        netns.ip_batch(
            names[user.host],
            [
                f"addr add {user.address}/32 dev wg0",
                "link set wg0 up",
                "route add 10.99.0.0/16 dev wg0",
            ],
        )
    names_file = ledger.dir / "wg" / "wg0.names"
    names_file.write_text("".join(f"{u.name} {users[u.name].public}\n" for u in topo.vpn_users))


def _write_access_files(ledger: Ledger, topo: Topology, wiring: Wiring) -> None:
    client_pub = (ledger.dir / "id_ed25519.pub").read_text()
    (ledger.dir / "ssh" / "authorized_keys").write_text(client_pub)
    known = "".join(sshd.host_key_line(ledger, d.name, str(d.address)) + "\n" for d in topo.devices)
    (ledger.dir / "known_hosts").write_text(known)
    (ledger.dir / "inventory.yml").write_text(render(topo, wiring, ledger.lab_id))


def _wait_ready(ledger: Ledger, topo: Topology, names: dict[str, str]) -> None:
    """Every sshd answers from the admin station, every listener accepts, every VPN
    client gets an answer through its tunnel. A recorded process that died fails at once."""
    station = names[topo.stations[0]] if topo.stations else names[topo.router.name]
    checks: list[tuple[str, str, int]] = [(station, str(d.address), 22) for d in topo.devices]
    served = [(h.name, h.address, h.services) for h in topo.hosts]
    served += [(o.name, o.address, o.services) for o in topo.outside]
    checks += [(names[n], str(a), s.port) for n, a, services in served for s in services]
    gateway = str(next(topo.vpn.tunnel.hosts()))
    checks += [(names[u.host], gateway, 0) for u in topo.vpn_users]
    deadline = time.monotonic() + READY_TIMEOUT_S
    _parallel([partial(_wait_port, ledger, ns, addr, port, deadline=deadline) for ns, addr, port in checks])


def _wait_port(ledger: Ledger, ns: str, address: str, port: int, *, deadline: float) -> None:
    """Wait until a TCP connect from ``ns`` succeeds. Port 0 means: until the far side
    answers at all (a TCP reset from port 9 proves a VPN tunnel carries traffic)."""
    last = ""
    while time.monotonic() < deadline:
        dead = [p.name for p in ledger.procs if not alive(p)]
        if dead:
            raise LabError(f"{dead[0]} exited during start-up (see {ledger.dir}/logs/{dead[0]}.log)")
        try:
            netns.connect_in(ns, address, port or 9, timeout_s=0.5).close()
            return
        except ConnectionRefusedError:
            if port == 0:
                return  # the far side answered: the path works
            last = "refused"
        except OSError as exc:
            last = str(exc) or type(exc).__name__
        time.sleep(0.05)
    raise LabError(f"{ns}: {address}:{port or 9} not reachable within {READY_TIMEOUT_S:g} s ({last})")


# ---------------------------------------------------------------------------------- down


def down(directory: Path) -> DownResult:
    """Remove exactly what the ledger in ``directory`` names. Idempotent."""
    started = time.monotonic()
    ledger = Ledger.load(directory.resolve())
    failed = stop_procs(list(reversed(ledger.procs)))
    present = set(netns.namespaces())
    mine = [n for n in ledger.namespaces if n in present]
    stragglers = stop_stragglers(mine)
    netns.run(["ip", "-force", "-batch", "-"], stdin="".join(f"netns del {n}\n" for n in mine), check=False)
    left = sorted(set(mine) & set(netns.namespaces()))
    problems = [f"process {n} did not stop" for n in failed]
    problems += [f"namespace {n} still present" for n in left]
    ledger.status = "down" if not problems else "down-incomplete"
    ledger.info["down_s"] = round(time.monotonic() - started, 3)
    ledger.save()
    live = sum(1 for p in ledger.procs if alive(p))
    return DownResult(
        ledger.lab_id,
        tuple(n for n in mine if n not in left),
        len(ledger.procs) - live,
        len(stragglers),
        tuple(problems),
        time.monotonic() - started,
    )


def labs_present() -> dict[str, list[str]]:
    """Lab ids with namespaces on this machine (``iso-<id>-<node>``), whoever started them:
    how leftovers of a killed run are found."""
    found: dict[str, list[str]] = {}
    for name in netns.namespaces():
        match = _LAB_NS.fullmatch(name)
        if match:
            found.setdefault(match.group(1), []).append(name)
    return found


def down_orphan(lab_id: str) -> DownResult:
    """Remove a lab whose directory is lost: every process living in one of its namespaces
    (by pid, from ``ip netns pids``), then the namespaces. Every lab process lives in one."""
    started = time.monotonic()
    mine = labs_present().get(lab_id, [])
    if not mine:
        raise LabError(f"no namespace of lab {lab_id} on this machine (isolate netlab list)")
    killed = stop_stragglers(mine)
    netns.run(["ip", "-force", "-batch", "-"], stdin="".join(f"netns del {n}\n" for n in mine), check=False)
    left = sorted(set(mine) & set(netns.namespaces()))
    problems = tuple(f"namespace {n} still present" for n in left)
    removed = tuple(n for n in mine if n not in left)
    return DownResult(lab_id, removed, 0, len(killed), problems, time.monotonic() - started)


def status(directory: Path) -> LabStatus:
    ledger = Ledger.load(directory.resolve())
    present = set(netns.namespaces())
    return LabStatus(
        ledger.lab_id,
        ledger.status,
        ledger.dir,
        tuple(NodeStatus(n[len(ledger.prefix) + 1 :], n, n in present) for n in ledger.namespaces),
        tuple(ProcStatus(p.name, p.ns, p.pid, alive(p)) for p in ledger.procs),
    )
