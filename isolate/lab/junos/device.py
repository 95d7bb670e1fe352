"""Simulated Juniper EX switch (ELS) running Junos, spoken to over NETCONF.

Datastores: ``running`` (the committed configuration, with its rollback history) and one
shared ``candidate``. ``<lock>``/``<lock-configuration/>`` give one session the candidate;
another session's load or commit is then refused (``lock-denied``, ``configuration
database locked by: …``), and a session that holds the lock and goes away leaves its
uncommitted changes discarded. ``commit confirmed N`` (``<commit-configuration><confirmed/>
<confirm-timeout>N</confirm-timeout>``, minutes; or RFC 6241 ``<commit><confirmed/>`` in
seconds) arms a rollback that ``tick`` fires when the lab clock passes it (``advance``
control op; ``ISOLATE_LAB_TIME_SCALE`` as for IOS): the previous configuration comes back
by itself, as on Junos. A plain commit inside the window confirms it.

RPCs (``rpcs.py``): configuration (get-configuration text/xml/set and ``compare``,
get-config, load-configuration text/set/xml and rollback, edit-config, commit, discard,
lock), facts (software, route engine, chassis, uptime, interfaces, commit history) and a
few CLI ``<command>``s. Anything else answers ``syntax error`` as Junos does.
"""

from __future__ import annotations

import itertools
import time
import zlib
from dataclasses import dataclass, field
from typing import Any, ClassVar

from isolate.lab.device import Shell, SimDevice
from isolate.lab.fabric import Fabric
from isolate.lab.ios import time_scale
from isolate.lab.junos import config as cfg
from isolate.lab.junos import model

JUNOS_VERSION = "18.4R2.7"
MODEL = "ex4300-48p"
_SESSION_IDS = itertools.count(24000)


@dataclass
class Commit:
    user: str
    at: float
    client: str
    log: str = ""  # the committer's <log>
    comment: str = ""  # what Junos notes itself: "commit confirmed, rollback in 2mins"


@dataclass
class Pending:
    """A ``commit confirmed`` not yet confirmed: ``rollback`` comes back at ``deadline``."""

    deadline: float
    minutes: int
    rollback: cfg.Node


@dataclass
class LockHolder:
    session_id: int
    user: str
    since: float


@dataclass
class JunosState:
    hostname: str
    serial: str
    model: str = MODEL
    ports: tuple[str, ...] = ()
    connected: tuple[str, ...] = ()
    running: cfg.Node = field(default_factory=cfg.empty)
    candidate: cfg.Node = field(default_factory=cfg.empty)
    history: list[cfg.Node] = field(default_factory=list)  # rollback 1, 2, … (newest first)
    commits: list[Commit] = field(default_factory=list)  # newest first
    pending: Pending | None = None
    lock: LockHolder | None = None
    booted: float = field(default_factory=time.time)

    def candidate_changed(self) -> bool:
        return cfg.set_lines(self.candidate) != cfg.set_lines(self.running)


class JunosDevice(SimDevice):
    kind: ClassVar[str] = "junos"

    def __init__(self, name: str, state: JunosState, *, offer_11: bool = False) -> None:
        super().__init__(name)
        self.state = state
        self.offer_11 = offer_11
        self.fabric: Fabric | None = None  # the lab's wiring (ARP learned on its IRBs)

    # ------------------------------------------------------------ building

    @classmethod
    def build(cls, name: str, lines: list[str], *, ports: tuple[str, ...],
              connected: tuple[str, ...], model: str = MODEL, offer_11: bool = False
              ) -> JunosDevice:
        serial = f"PE37{zlib.crc32(name.encode()) % 10**8:08d}"
        state = JunosState(hostname=name, serial=serial, model=model, ports=ports,
                           connected=connected)
        cfg.apply_set(state.running, "\n".join(lines))
        state.candidate = state.running.copy()
        state.commits.append(Commit("root", time.time(), "other", ""))
        return cls(name, state, offer_11=offer_11)

    @classmethod
    def from_lab(cls, device: Any, lab: Any, creds: Any) -> JunosDevice:
        """Build from the lab topology (``isolate.lab.topology`` LabDevice/Lab/LabCredentials)."""
        return cls.build(device.name, list(device.config), ports=tuple(device.ports),
                         connected=tuple(device.connected), model=device.model or MODEL,
                         offer_11=bool(device.options.get("netconf_1_1", False)))

    # ------------------------------------------------------------ SimDevice

    def open_shell(self, username: str) -> Shell:
        raise NotImplementedError("this Junos switch is driven over NETCONF only")

    def open_netconf(self, username: str) -> Any:
        from isolate.lab.junos.rpcs import NetconfSession

        return NetconfSession(self, username, next(_SESSION_IDS))

    def tick(self, now: float) -> bool:
        pending = self.state.pending
        if pending is None or now < pending.deadline:
            return False
        self.state.pending = None
        self.install(pending.rollback, user="root", client="other",
                     comment="automatic rollback of an unconfirmed commit confirmed")
        self.state.candidate = self.state.running.copy()
        return True

    # ------------------------------------------------------------ datastores

    def install(self, new: cfg.Node, *, user: str, client: str, log: str = "",
                comment: str = "") -> None:
        """Make ``new`` the running configuration (a commit), keeping the rollback history."""
        self.state.history.insert(0, self.state.running)
        del self.state.history[49:]
        self.state.running = new.copy()
        self.state.commits.insert(0, Commit(user, time.time(), client, log, comment))
        del self.state.commits[50:]

    def rollback(self, number: int) -> cfg.Node | None:
        if number == 0:
            return self.state.running.copy()
        if 1 <= number <= len(self.state.history):
            return self.state.history[number - 1].copy()
        return None

    def arm(self, minutes: int, previous: cfg.Node) -> None:
        keep = self.state.pending.rollback if self.state.pending is not None else previous
        deadline = time.time() + minutes * 60 / time_scale()
        self.state.pending = Pending(deadline, minutes, keep)

    @property
    def uptime_s(self) -> int:
        return max(1, int(time.time() - self.state.booted))

    def touch(self) -> None:
        """Nothing cached to invalidate (the traffic model reads the tree directly)."""

    # ------------------------------------------------------------ traffic model (flows)

    def interface(self, name: str) -> model.JunosPort | None:
        return model.port(self.state.running, name, name in self.state.connected)

    def svi(self, vlan: int) -> model.JunosPort | None:
        return model.irb(self.state.running, vlan)

    def acl_permits(self, name: str, proto: str, src_ip: str, dst_ip: str,
                    dport: int | None) -> bool:
        return model.filter_permits(self.state.running, name, proto, src_ip, dst_ip, dport)

    def drops_to(self, address: str) -> bool:
        return model.drops_to(self.state.running, address)

    # ------------------------------------------------------------ persistence

    def snapshot(self) -> dict[str, Any]:
        s = self.state
        return {
            "hostname": s.hostname, "serial": s.serial, "model": s.model,
            "ports": list(s.ports), "connected": list(s.connected),
            "running": s.running.to_json(), "candidate": s.candidate.to_json(),
            "history": [h.to_json() for h in s.history[:5]],
            "commits": [c.__dict__ for c in s.commits[:10]],
            "pending": None if s.pending is None else {
                "deadline": s.pending.deadline, "minutes": s.pending.minutes,
                "rollback": s.pending.rollback.to_json()},
            "booted": s.booted, "offer_11": self.offer_11,
        }

    @classmethod
    def from_snapshot(cls, name: str, data: dict[str, Any]) -> JunosDevice:
        pending = data.get("pending")
        state = JunosState(
            hostname=str(data["hostname"]), serial=str(data["serial"]),
            model=str(data.get("model", MODEL)),
            ports=tuple(str(p) for p in data.get("ports", [])),
            connected=tuple(str(p) for p in data.get("connected", [])),
            running=cfg.Node.from_json(data["running"]),
            candidate=cfg.Node.from_json(data.get("candidate", data["running"])),
            history=[cfg.Node.from_json(h) for h in data.get("history", [])],
            commits=[Commit(**c) for c in data.get("commits", [])],
            pending=None if pending is None else Pending(
                float(pending["deadline"]), int(pending["minutes"]),
                cfg.Node.from_json(pending["rollback"])),
            booted=float(data.get("booted", time.time())),
        )
        return cls(name, state, offer_11=bool(data.get("offer_11", False)))
