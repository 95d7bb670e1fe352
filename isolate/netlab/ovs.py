"""Open vSwitch in the switch namespace, started by hand (the service scripts are not used).

``ovsdb-server`` and ``ovs-vswitchd`` run inside the switch's holder with their
database, sockets, pid files and logs under ``DIR/ovs`` and ``DIR/logs``. The bridge
uses the userspace ``netdev`` datapath (the kernel module is not needed), so VLAN
tags are real 802.1Q tags handled by ovs-vswitchd. ``OVS_RUNDIR`` is set in the
switch's sshd, so ``ovs-vsctl`` works as is in an SSH session.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from isolate.netlab import netns
from isolate.netlab.sshd import inside
from isolate.netlab.state import Ledger, Proc, adopt

SCHEMA = Path("/usr/share/openvswitch/vswitch.ovsschema")
BRIDGE = "br0"
MGMT_PORT = "mgmt0"


@dataclass(frozen=True)
class AccessPort:
    name: str
    vlan: int
    internal: bool = False


def rundir(ledger: Ledger) -> Path:
    return ledger.dir / "ovs"


def env(ledger: Ledger) -> dict[str, str]:
    run = str(rundir(ledger))
    return {"OVS_RUNDIR": run, "OVS_DBDIR": run, "OVS_LOGDIR": str(ledger.dir / "logs")}


def _env_argv(ledger: Ledger, argv: Sequence[str]) -> list[str]:
    return ["env", *(f"{k}={v}" for k, v in env(ledger).items()), *argv]


def vsctl(ledger: Ledger, holder: Proc, args: Sequence[str]) -> str:
    db = f"unix:{rundir(ledger) / 'db.sock'}"
    argv = inside(holder, ["ovs-vsctl", f"--db={db}", "--timeout=10", *args])
    return netns.run(argv).stdout


def start(ledger: Ledger, holder: Proc) -> tuple[Proc, Proc]:
    """Create the database and start ovsdb-server then ovs-vswitchd (both detach)."""
    run = rundir(ledger)
    run.mkdir(exist_ok=True)
    logs = ledger.dir / "logs"
    logs.mkdir(exist_ok=True)
    db = run / "conf.db"
    db.unlink(missing_ok=True)  # a fresh switch every time: no tag left from an earlier lab
    netns.run(["ovsdb-tool", "create", str(db), str(SCHEMA)])
    common = ["--detach", "--no-chdir"]
    server_pid = run / "ovsdb-server.pid"
    netns.run(
        inside(
            holder,
            _env_argv(
                ledger,
                [
                    "ovsdb-server",
                    str(db),
                    f"--remote=punix:{run / 'db.sock'}",
                    f"--pidfile={server_pid}",
                    f"--log-file={logs / 'ovsdb-server.log'}",
                    f"--unixctl={run / 'ovsdb-server.ctl'}",
                    *common,
                ],
            ),
        )
    )
    server = adopt(ledger, "ovsdb-server", holder.ns, server_pid)
    vsctl(ledger, holder, ["--no-wait", "init"])
    switchd_pid = run / "ovs-vswitchd.pid"
    netns.run(
        inside(
            holder,
            _env_argv(
                ledger,
                [
                    "ovs-vswitchd",
                    f"unix:{run / 'db.sock'}",
                    f"--pidfile={switchd_pid}",
                    f"--log-file={logs / 'ovs-vswitchd.log'}",
                    f"--unixctl={run / 'ovs-vswitchd.ctl'}",
                    *common,
                ],
            ),
        )
    )
    switchd = adopt(ledger, "ovs-vswitchd", holder.ns, switchd_pid)
    return server, switchd


def build_bridge(ledger: Ledger, holder: Proc, ports: Sequence[AccessPort]) -> None:
    """One transaction: the netdev bridge and every access port with its tag.
    ovs-vsctl waits until ovs-vswitchd has applied it (internal ports then exist)."""
    args = ["--may-exist", "add-br", BRIDGE, "--", "set", "bridge", BRIDGE, "datapath_type=netdev"]
    for port in ports:
        args += ["--", "--may-exist", "add-port", BRIDGE, port.name, f"tag={port.vlan}"]
        if port.internal:
            args += ["--", "set", "interface", port.name, "type=internal"]
    vsctl(ledger, holder, args)
