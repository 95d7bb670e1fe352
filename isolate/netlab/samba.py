"""Samba file servers in a running network lab, managed through Ansible (root).

``start_file_servers(DIR, hosts)`` turns lab hosts (default: those tagged
``file-server``) into real Linux file servers: the host's service listener is stopped,
and its namespace gets a *holder* with a private mount namespace — a tmpfs ``/run``
(``/run/samba``, ``/run/sshd``, ``/run/lock``), ``/etc/samba``, ``/var/lib/samba``,
``/var/cache/samba``, ``/var/log/samba`` bind-mounted from ``DIR/samba/<host>/`` and a
private ``/var/lib/isolate`` — in which a real sshd and Debian's own ``smbd`` (started
by its SysV init script, as Ansible's ``service`` module will) run; smbd alone listens
on TCP 445 and 139, nmbd is installed but not started. ``DIR/inventory-hosts.yml`` is the
lab inventory plus one ``platform: ansible`` device per file server (same name and
address as its host), with host keys in ``DIR/known_hosts-hosts``.

``stop_file_servers(DIR)`` stops every smbd/nmbd by the pid in its pid file (read
through the holder's ``/proc/PID/root``), then the holders and sshds by pid, and
starts the hosts' listeners again. ``isolate netlab down`` also removes everything.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml

from isolate.errors import LabError
from isolate.netlab import netns, sshd
from isolate.netlab.state import Ledger, Proc, spawn, start_ticks, stop_procs
from isolate.netlab.topology import Host, Topology, load_topology

SMB_PORTS = (445, 139)
DAEMONS = ("smbd", "nmbd")
STATE = "samba.json"
INVENTORY = "inventory-hosts.yml"
KNOWN_HOSTS = "known_hosts-hosts"
MOUNTS = ("etc", "lib", "cache", "log")
_TARGETS = {
    "etc": "/etc/samba",
    "lib": "/var/lib/samba",
    "cache": "/var/cache/samba",
    "log": "/var/log/samba",
}


@dataclass(frozen=True)
class FileServer:
    name: str
    address: str
    ns: str
    holder: Proc
    sshd: Proc


def smb_conf(host: Host, share: Path) -> str:
    return "\n".join(
        [
            "[global]",
            f"   netbios name = {host.name.upper().replace('-', '')[:15]}",
            "   workgroup = NETLAB",
            "   server role = standalone server",
            f"   interfaces = {host.address}/32",
            "   bind interfaces only = yes",
            "   smb ports = 445 139",
            "   map to guest = Bad User",
            "   load printers = no",
            "   printing = bsd",
            "   printcap name = /dev/null",
            "   disable spoolss = yes",
            "   log file = /var/log/samba/log.%m",
            "   max log size = 100",
            "",
            "[public]",
            f"   path = {share}",
            "   guest ok = yes",
            "   read only = yes",
            "",
        ]
    )


def _holder_script(base: Path) -> str:
    binds = " && ".join(f"mount --bind {base / m} {_TARGETS[m]}" for m in MOUNTS)
    return (
        "mount -t tmpfs -o mode=755 netlab-run /run"
        " && mkdir -p /run/sshd /run/samba /run/lock /run/isolate /var/lib/isolate"
        f" && {binds}"
        " && mount -t tmpfs -o mode=700 netlab-state /var/lib/isolate"
        " && mount -t tmpfs -o mode=700 netlab-home ~root"
        " && exec sleep infinity"
    )


def _prepare(directory: Path, host: Host) -> Path:
    base = directory / "samba" / host.name
    for sub in (*MOUNTS, "share"):
        (base / sub).mkdir(parents=True, exist_ok=True, mode=0o755)
    (base / "lib" / "private").mkdir(exist_ok=True, mode=0o700)
    (base / "share" / "README.txt").write_text(f"{host.name}: netlab file share\n")
    (base / "etc" / "smb.conf").write_text(smb_conf(host, base / "share"))
    return base


def _pidfile(holder: Proc, daemon: str) -> Path:
    return Path(f"/proc/{holder.pid}/root/run/samba/{daemon}.pid")


def daemon_pid(holder: Proc, daemon: str) -> int | None:
    """The live pid of ``daemon`` in the holder's mount namespace, or None."""
    try:
        pid = int(_pidfile(holder, daemon).read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if start_ticks(pid) is not None else None


def _wait_port(ns: str, address: str, port: int, *, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            netns.connect_in(ns, address, port, timeout_s=0.5).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise LabError(f"{address}:{port} does not answer in {ns}") from None
            time.sleep(0.05)


def _start_one(ledger: Ledger, topo: Topology, host: Host) -> FileServer:
    ns = f"{ledger.prefix}-{host.name}"
    for proc in ledger.procs:
        if proc.name == f"listen-{host.name}":
            stop_procs([proc])
    base = _prepare(ledger.dir, host)
    argv = ["ip", "netns", "exec", ns, "unshare", "--mount", "--propagation", "private"]
    holder = spawn(ledger, f"holder-smb-{host.name}", ns, [*argv, "sh", "-c", _holder_script(base)])
    sshd.wait_holders([holder])
    server = sshd.start_sshd(ledger, holder, host.name, str(host.address))
    netns.run(sshd.inside(holder, ["/etc/init.d/smbd", "start"]))
    for port in (22, *SMB_PORTS):
        _wait_port(ns, str(host.address), port)
    return FileServer(host.name, str(host.address), ns, holder, server)


def _file_server_hosts(topo: Topology, names: Sequence[str] | None) -> list[Host]:
    chosen = [h for h in topo.hosts if (h.name in names if names else "file-server" in h.tags)]
    unknown = sorted(set(names or ()) - {h.name for h in chosen})
    if unknown:
        raise LabError(f"no lab host named {', '.join(unknown)}")
    return chosen


def start_file_servers(directory: Path, hosts: Sequence[str] | None = None) -> list[FileServer]:
    """Real Samba + sshd on ``hosts`` (default: hosts tagged file-server) of the lab in DIR."""
    directory = directory.resolve()
    ledger = Ledger.load(directory)
    topo = load_topology(Path(ledger.topology))
    servers: list[FileServer] = []
    try:
        for host in _file_server_hosts(topo, hosts):
            servers.append(_start_one(ledger, topo, host))
    finally:
        _save(directory, servers)
    _write_access(ledger, servers)
    return servers


def _save(directory: Path, servers: list[FileServer]) -> None:
    data = [
        {
            "name": s.name,
            "address": s.address,
            "ns": s.ns,
            "holder": asdict(s.holder),
            "sshd": asdict(s.sshd),
        }
        for s in servers
    ]
    (directory / "samba" / STATE).write_text(json.dumps(data, indent=1) + "\n")


def _write_access(ledger: Ledger, servers: list[FileServer]) -> None:
    known = (ledger.dir / "known_hosts").read_text()
    known += "".join(sshd.host_key_line(ledger, s.name, s.address) + "\n" for s in servers)
    (ledger.dir / KNOWN_HOSTS).write_text(known)
    data = yaml.safe_load((ledger.dir / "inventory.yml").read_text())
    data["known_hosts"] = KNOWN_HOSTS
    for server in servers:
        data["devices"].append(
            {
                "name": server.name,
                "host": server.address,
                "port": 22,
                "platform": "ansible",
                "role": "server",
                "address": server.address,
                "credentials": "lab",
                "tags": ["file-server"],
            }
        )
    header = "# Network-lab inventory with Ansible-managed file servers (isolate.netlab.samba).\n"
    (ledger.dir / INVENTORY).write_text(header + yaml.safe_dump(data, sort_keys=False, width=100))


def stop_file_servers(directory: Path) -> list[str]:
    """Stop every daemon ``start_file_servers`` started (by pid) and restart the hosts'
    listeners. Returns problems (empty when all stopped)."""
    directory = directory.resolve()
    path = directory / "samba" / STATE
    if not path.exists():
        return []
    ledger = Ledger.load(directory)
    topo = load_topology(Path(ledger.topology))
    problems: list[str] = []
    for entry in json.loads(path.read_text()):
        holder, server = Proc(**entry["holder"]), Proc(**entry["sshd"])
        daemons = [_daemon_proc(holder, d, entry["ns"]) for d in DAEMONS]
        problems += stop_procs([p for p in daemons if p is not None])
        problems += stop_procs([server, holder])
        host = topo.hosts_by_name[entry["name"]]
        ports = [str(s.port) for s in host.services]
        if ports:
            argv = [
                "ip",
                "netns",
                "exec",
                entry["ns"],
                sys.executable,
                "-m",
                "isolate.netlab.listener",
                *ports,
            ]
            spawn(ledger, f"listen-{host.name}", entry["ns"], argv)
            for port in ports:
                _wait_port(entry["ns"], str(host.address), int(port))
    path.unlink()
    return problems


def _daemon_proc(holder: Proc, daemon: str, ns: str) -> Proc | None:
    pid = daemon_pid(holder, daemon)
    ticks = start_ticks(pid) if pid is not None else None
    if pid is None or ticks is None:
        return None
    return Proc(name=f"{daemon}-{holder.name}", ns=ns, pid=pid, start=ticks)
