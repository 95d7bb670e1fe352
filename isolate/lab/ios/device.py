"""The simulated IOS switch/router: lazy state, startup config, the revert timer."""

from __future__ import annotations

import ipaddress
import json
import os
import time
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from isolate.errors import LabError
from isolate.lab.device import ExecResult, Shell, SimDevice
from isolate.lab.fabric import Fabric, base_mac, dotted
from isolate.lab.ios import show, show_sys
from isolate.lab.ios.config import Interface, IosConfig, Route

if TYPE_CHECKING:
    from isolate.lab.ios.show_net import Where

NTP_ADJUST_S = 300.0
TIME_SCALE_ENV = "ISOLATE_LAB_TIME_SCALE"


def time_scale() -> float:
    """Lab-wide clock speed-up for revert timers: 60 makes one IOS minute last one second."""
    try:
        value = float(os.environ.get(TIME_SCALE_ENV, "1"))
    except ValueError:
        return 1.0
    return value if value > 0 else 1.0


@dataclass(frozen=True)
class IosSpec:
    """How the topology builds a fresh device (the snapshot keeps it, to rebuild later)."""

    hostname: str
    enable_secret: str = ""
    model: str = "WS-C2960X-48FPD-L"
    serial: str = "FOC0000X000"
    ports: tuple[str, ...] = ()  # physical interfaces, e.g. GigabitEthernet1/0/1..48
    connected: tuple[str, ...] = ()  # ports with a link plugged in
    lines: tuple[str, ...] = ()  # initial configuration commands (as typed in config mode)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> IosSpec:
        values: dict[str, Any] = {
            k: tuple(v) if isinstance(v, list) else v for k, v in data.items()
        }
        return cls(**values)


@dataclass
class Revert:
    deadline: float
    minutes: int
    saved: dict[str, Any] = field(default_factory=dict)


class IosDevice(SimDevice):
    """A Cisco IOS switch/router. State is built on first use (cheap for 1,000 idle devices)."""

    kind = "cisco_ios"

    def __init__(self, name: str, spec: IosSpec | None = None,
                 state: dict[str, Any] | None = None) -> None:
        super().__init__(name)
        self.spec = spec or IosSpec(hostname=name)
        self._state = state
        self._config: IosConfig | None = None
        self.startup: IosConfig | None = None
        self.revert: Revert | None = None
        self.version = 0  # bumped by every change (touch): persistence and caches key on it
        self.edits = 0  # lines typed in a configuration mode (the rendered config's key too)
        self.booted = time.time()
        self.fabric: Fabric | None = None  # the lab's wiring (set by the lab process)
        self.ntp_next: float | None = None  # when the clock period is adjusted next
        self.archives: list[str] = list((state or {}).get("archives", []))
        # Encoded once and reused while the object is the same (neither is changed in place:
        # a new startup or a new revert replaces the old one).
        self._spec_json: str | None = None
        self._startup_json: tuple[IosConfig | None, str] = (None, "null")
        self._saved_json: tuple[dict[str, Any] | None, str] = (None, "null")
        self._running_text: tuple[IosConfig | None, tuple[int, int], str] = (None, (-1, -1), "")

    # ------------------------------------------------------------ state

    @property
    def config(self) -> IosConfig:
        if self._config is None:
            self._config = self._build()
        return self._config

    def _build(self) -> IosConfig:
        state, self._state = self._state, None
        if state is not None:
            startup = state.get("startup")
            self.startup = IosConfig.from_json(startup) if startup else None
            revert = state.get("revert")
            if revert:
                self.revert = Revert(float(revert["deadline"]), int(revert["minutes"]),
                                     revert["saved"])
            return IosConfig.from_json(state["running"])
        return self._fresh()

    def _fresh(self) -> IosConfig:
        from isolate.lab.ios.shell import IosShell

        spec = self.spec
        config = IosConfig(spec.hostname, spec.enable_secret)
        for port in spec.ports:
            config.interfaces[port] = Interface(port, connected=port in spec.connected)
        config.interfaces["Vlan1"] = Interface("Vlan1", shutdown=True, switchport=False)
        self._config = config
        shell = IosShell(self, "topology", privileged=True)
        shell.enter("config", None)
        for line in spec.lines:
            reply = shell.feed(line)
            if reply.output.strip().startswith(("%", "^")) or "\n%" in reply.output:
                raise LabError(f"{self.name}: initial config line {line!r} rejected: "
                               f"{reply.output.strip().splitlines()[-1]}")
        self.startup = config.copy()
        return config

    def touch(self) -> None:
        self.version += 1

    def running_config(self) -> str:
        """``show running-config``, rendered again only after a change: a new config object
        (a revert, a restart), a ``touch`` or any line typed in a configuration mode."""
        config, key = self.config, (self.version, self.edits)
        cached, cached_key, text = self._running_text
        if cached is not config or cached_key != key:
            text = show.running_config(config)
            self._running_text = (config, key, text)
        return text

    def save_startup(self) -> None:
        self.startup = self.config.copy()
        self.touch()

    # ------------------------------------------------------------ revert timer

    def archive_now(self) -> bool:
        """``archive config``: save the running config to the next archive file."""
        config = self.config
        if not config.archive_enabled or config.archive_path is None:
            return False
        self.archives.append(f"{config.archive_path}-{len(self.archives) + 1}")
        self.touch()
        return True

    def flash_files(self) -> list[tuple[str, int, bool]]:
        image = f"{show.family(self.spec.model).lower()}-universalk9-mz.152-7.E8.bin"
        startup = len(self.startup.render()) if self.startup is not None else None
        return show_sys.flash_files(image, startup, self.archives)

    def base_mac_dotted(self) -> str:
        return dotted(base_mac(self.name))

    def where(self) -> Where:
        from isolate.lab.ios.show_net import Where

        return Where(self.name, self.fabric)

    def start_revert(self, minutes: int) -> None:
        self.archive_now()
        deadline = time.time() + minutes * 60 / time_scale()
        if self.revert is None:
            self.revert = Revert(deadline, minutes, self.config.to_json())
        else:
            self.revert.deadline, self.revert.minutes = deadline, minutes
        self.touch()

    def confirm_revert(self) -> bool:
        if self.revert is None:
            return False
        self.revert = None
        self.touch()
        return True

    def reset_revert_timer(self, minutes: int) -> bool:
        if self.revert is None:
            return False
        self.revert.deadline = time.time() + minutes * 60 / time_scale()
        self.revert.minutes = minutes
        self.touch()
        return True

    def revert_now(self) -> bool:
        if self.revert is None:
            return False
        self._config = IosConfig.from_json(self.revert.saved)
        self.revert = None
        self.touch()
        return True

    def revert_status(self) -> str:
        if self.revert is None:
            return "%No Rollback Confirmed Change pending\n"
        left = max(0, int((self.revert.deadline - time.time()) * time_scale()))
        return ("Timer type: absolute\n"
                f"Timer value: {self.revert.minutes} min\n"
                f"Time remaining: {left // 60:02d}:{left % 60:02d}\n")

    def tick(self, now: float) -> bool:
        if self._config is None and self._state is None:
            return False
        if self._config is None:
            _ = self.config
        if self.revert is not None and now >= self.revert.deadline:
            return self.revert_now()
        return self._ntp_tick(now)

    def _ntp_tick(self, now: float) -> bool:
        """Once NTP runs, IOS rewrites ``ntp clock-period`` as it disciplines the clock: the
        lab changes it every NTP_ADJUST_S of its clock (``isolate lab advance`` moves it)."""
        config = self.config
        if not config.ntp_servers or config.ntp_period is None:
            self.ntp_next = None
            return False
        if self.ntp_next is None:
            self.ntp_next = now + NTP_ADJUST_S
            return False
        if now < self.ntp_next:
            return False
        steps = int((now - self.ntp_next) // NTP_ADJUST_S) + 1
        # From the real clock: a lab clock advance is "as if that much later", once.
        self.ntp_next = time.time() + NTP_ADJUST_S
        config.ntp_period += 7 * steps if config.ntp_period % 2 else -5 * steps
        self.touch()
        return True

    # ------------------------------------------------------------ SimDevice

    def open_shell(self, username: str) -> Shell:
        from isolate.lab.ios.shell import IosShell

        return IosShell(self, username)

    def exec(self, username: str, command: str, stdin: str) -> ExecResult | None:
        """IOS runs one command per exec channel, at the user's privilege (15 in the lab)."""
        from isolate.lab.ios.shell import IosShell

        del stdin
        shell = IosShell(self, username, privileged=True)
        before = self.version
        reply = shell.feed(command)
        return ExecResult(stdout=reply.output, changed=self.version != before)

    def show_version(self) -> str:
        mac = self.base_mac_dotted().replace(".", "")
        return show.version(self.config, model=self.spec.model, serial=self.spec.serial,
                            uptime_s=time.time() - self.booted, ports=len(self.spec.ports),
                            mac=":".join(mac[i : i + 2] for i in range(0, 12, 2)).upper())

    def snapshot_json(self) -> bytes:
        """``json.dumps(self.snapshot(), sort_keys=True)``, byte for byte, re-encoding only the
        running config (and the revert timer's figures): the spec, the startup config and the
        revert's saved config are encoded once per object."""
        if self._config is None and self._state is not None:
            return json.dumps(self._state, sort_keys=True).encode()
        config = self.config
        if self._spec_json is None:
            self._spec_json = json.dumps(asdict(self.spec), sort_keys=True)
        if self._startup_json[0] is not self.startup:
            startup = self.startup
            self._startup_json = (startup, json.dumps(
                startup.to_json() if startup else None, sort_keys=True))
        revert = "null"
        if self.revert is not None:
            if self._saved_json[0] is not self.revert.saved:
                self._saved_json = (self.revert.saved,
                                    json.dumps(self.revert.saved, sort_keys=True))
            revert = (f'{{"deadline": {json.dumps(self.revert.deadline)}, '
                      f'"minutes": {json.dumps(self.revert.minutes)}, '
                      f'"saved": {self._saved_json[1]}}}')
        return (f'{{"archives": {json.dumps(self.archives)}, "kind": {json.dumps(self.kind)}, '
                f'"revert": {revert}, '
                f'"running": {json.dumps(config.to_json(), sort_keys=True)}, '
                f'"spec": {self._spec_json}, "startup": {self._startup_json[1]}}}').encode()

    def snapshot(self) -> dict[str, Any]:
        if self._config is None and self._state is not None:
            return self._state
        config = self.config
        return {
            "kind": self.kind,
            "spec": asdict(self.spec),
            "running": config.to_json(),
            "startup": self.startup.to_json() if self.startup else None,
            "archives": list(self.archives),
            "revert": None if self.revert is None else {
                "deadline": self.revert.deadline, "minutes": self.revert.minutes,
                "saved": self.revert.saved},
        }

    @classmethod
    def from_snapshot(cls, name: str, data: dict[str, Any]) -> IosDevice:
        return cls(name, IosSpec.from_json(data.get("spec", {"hostname": name})), state=data)

    # ------------------------------------------------------------ model API for flows

    def interface(self, name: str) -> Interface | None:
        return self.config.interfaces.get(name)

    def svi(self, vlan: int) -> Interface | None:
        """The routed ``interface VlanN`` if it exists, has an address and is not shut."""
        iface = self.config.interfaces.get(f"Vlan{vlan}")
        if iface is None or iface.shutdown or iface.ip_address is None:
            return None
        return iface

    def null_routes(self) -> list[ipaddress.IPv4Network]:
        return [r.network() for r in self.config.routes if r.target == "Null0"]

    def routes(self) -> list[Route]:
        return list(self.config.routes)

    def drops_to(self, address: str) -> bool:
        """True when a static Null0 route covers ``address``."""
        ip = ipaddress.IPv4Address(address)
        return any(ip in net for net in self.null_routes())

    def acl_permits(self, name: str, proto: str, src_ip: str, dst_ip: str,
                    dport: int | None) -> bool:
        """IOS semantics: first match wins, implicit deny at the end, a missing ACL permits."""
        aces = self.config.acls.get(name)
        if aces is None:
            return True
        for ace in aces:
            if ace.matches(proto, src_ip, dst_ip, dport):
                return ace.action == "permit"
        return False
