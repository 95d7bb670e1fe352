"""Simulated Debian 12 firewall/router with nftables (netmiko ``linux``, paramiko exec).

A login shell (``admin@fw-edge:~$``; ``sudo -s``/``sudo su``/``sudo -i`` give the root
``#`` prompt netmiko's ``linux`` type looks for) and exec channels share one small
command set: ``nft`` (the simulator in :mod:`isolate.lab.nft`), ``ip [-j] addr|route``,
``ip [-4|-6] [-j] neigh show [[to] PREFIX] [dev IFACE] [nud STATE]`` (the lab's wiring: the
hosts and gateways of its subnets, as iproute2 6.1 prints them),
``hostname``, ``id``, ``whoami``, ``uname``, ``echo``, ``cat``, ``tee``, ``rm``,
``mkdir -p``, ``ls``, ``pwd``, ``kill``, ``true``/``false``, ``sudo [-n]``, pipes, ``;``/``&&``/``||``
and ``>``/``>>``/``2>/dev/null`` redirections.
Files live in memory and may be written only under ``/tmp`` and ``/var/lib/isolate``.

The device-owned revert job used by isolate's linux driver is understood exactly as
``[sudo -n ]nohup sh -c 'sleep N && nft -f FILE' >/dev/null 2>&1 & echo $!``: it
prints a pid and applies FILE N seconds later (divided by ``ISOLATE_LAB_TIME_SCALE``)
unless ``kill PID`` comes first; ``tick(now)`` fires it.
"""

from __future__ import annotations

import ipaddress
import json
import re
import shlex
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from isolate.lab.device import ExecResult, Reply, Shell, SimDevice
from isolate.lab.fabric import Fabric, Neighbour
from isolate.lab.ios import time_scale
from isolate.lab.nft import Ruleset, load_ruleset, ruleset_from_dict, ruleset_to_dict, run_nft

KERNEL = "6.1.0-18-amd64"
UNAME = f"Linux {{host}} {KERNEL} #1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01) x86_64 GNU/Linux"
WRITABLE = ("/tmp/", "/var/lib/isolate/")
BASE_DIRS = ("/", "/tmp", "/var", "/var/lib", "/etc", "/home", "/root")
_REVERT_JOB = re.compile(
    r"^\s*(?P<sudo>sudo\s+(?:-n\s+)?)?nohup\s+sh\s+-c\s+'sleep\s+(?P<secs>\d+)\s+&&\s+nft\s+-f\s+"
    r"(?P<file>[^\s']+)'\s*(?:>\s*/dev/null\s*)?(?:2>&1\s*)?&\s*echo\s+\$!\s*$"
)
_NOT_ROOT_LIST = (
    "Operation not permitted (you must be root)\n"
    "netlink: Error: cache initialization failed: Operation not permitted\n"
)


@dataclass(frozen=True)
class LinuxSpec:
    """How the topology builds a fresh firewall: interfaces, routes, initial ruleset."""

    hostname: str
    interfaces: tuple[tuple[str, str], ...] = ()  # (name, "10.0.0.2/24")
    routes: tuple[tuple[str, str, str], ...] = ()  # (dst | "default", gateway or "", dev)
    ruleset: str = ""

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LinuxSpec:
        return cls(
            hostname=str(data["hostname"]),
            interfaces=tuple((str(i[0]), str(i[1])) for i in data.get("interfaces", [])),
            routes=tuple((str(r[0]), str(r[1]), str(r[2])) for r in data.get("routes", [])),
            ruleset=str(data.get("ruleset", "")),
        )


@dataclass
class Job:
    pid: int
    due: float
    path: str
    root: bool


@dataclass
class _Ctx:
    user: str
    root: bool
    interactive: bool
    cwd: str = "~"


@dataclass
class _Out:
    stdout: str = ""
    stderr: str = ""
    status: int = 0
    changed: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


DEBIAN_DEFAULT_RULESET = """table inet filter {
	chain input {
		type filter hook input priority filter; policy accept;
	}

	chain forward {
		type filter hook forward priority filter; policy accept;
	}

	chain output {
		type filter hook output priority filter; policy accept;
	}
}
"""


class LinuxDevice(SimDevice):
    kind = "linux"

    def __init__(self, name: str, spec: LinuxSpec | None = None) -> None:
        super().__init__(name)
        self.spec = spec or LinuxSpec(hostname=name)
        self.ruleset: Ruleset = load_ruleset(self.spec.ruleset, origin=f"{name}: initial ruleset")
        self.files: dict[str, str] = {"/etc/hostname": self.spec.hostname + "\n"}
        self.dirs: set[str] = set(BASE_DIRS)
        self.jobs: dict[int, Job] = {}
        self.next_pid = 4100
        self.fabric: Fabric | None = None  # the lab's wiring (set by the lab process): ip neigh

    @classmethod
    def from_lab(cls, device: Any, lab: Any, creds: Any) -> LinuxDevice:
        """Build from the lab topology: eth0 on the management network, one interface per
        segment it firewalls (and per outside segment for an edge firewall), Debian's
        default ruleset unless ``options.ruleset`` gives another."""
        topo = lab.topology
        address = ipaddress.ip_address(device.address)
        net = next((n for n in topo.management.networks if address in n), None)
        prefix = net.prefixlen if net is not None else 24
        interfaces = [("eth0", f"{address}/{prefix}")]
        edge = device.name in topo.edge.devices
        for segment in topo.segments:
            if segment.firewall == device.name or (edge and segment.zone == "outside"):
                subnet = ipaddress.ip_network(str(segment.subnet))
                interfaces.append(
                    (f"eth{len(interfaces)}", f"{subnet.broadcast_address - 1}/{subnet.prefixlen}")
                )
        routes = []
        if net is not None:
            routes.append(("default", str(net.network_address + 1), "eth0"))
        ruleset = str(device.options.get("ruleset", DEBIAN_DEFAULT_RULESET))
        return cls(device.name, LinuxSpec(device.name, tuple(interfaces), tuple(routes), ruleset))

    # -- SimDevice ----------------------------------------------------------------------
    def open_shell(self, username: str) -> Shell:
        return LinuxShell(self, username)

    def exec(self, username: str, command: str, stdin: str) -> ExecResult:
        out = self.run_line(_Ctx(username, username == "root", False), command, stdin)
        return ExecResult(out.stdout, out.stderr, out.status, out.changed)

    def exec_reads_stdin(self, command: str) -> bool:
        """Whether an exec command reads stdin (the server then waits for EOF)."""
        if re.search(r"\bnft\b.*\s-f\s*(-|/dev/stdin)(\s|$)", command):
            return True
        return bool(re.search(r"(^|[|;&]\s*)(sudo\s+(-n\s+)?)?(tee\b|cat\s*$)", command.strip()))

    def tick(self, now: float) -> bool:
        changed = False
        for job in sorted(self.jobs.values(), key=lambda j: j.pid):
            if job.due <= now:
                del self.jobs[job.pid]
                text = self.files.get(job.path)
                if job.root and text is not None:
                    result = run_nft(self.ruleset, ["-f", job.path], read_file=self.files.get)
                    if result.exit_status == 0:
                        self.ruleset = result.ruleset
                changed = True
        return changed

    def snapshot(self) -> dict[str, Any]:
        return {
            "spec": asdict(self.spec),
            "ruleset": ruleset_to_dict(self.ruleset),
            "files": dict(sorted(self.files.items())),
            "dirs": sorted(self.dirs),
            "jobs": [asdict(job) for job in sorted(self.jobs.values(), key=lambda j: j.pid)],
            "next_pid": self.next_pid,
        }

    @classmethod
    def from_snapshot(cls, name: str, data: dict[str, Any]) -> LinuxDevice:
        device = cls(name, LinuxSpec.from_json(data["spec"]))
        device.ruleset = ruleset_from_dict(data["ruleset"])
        device.files = {str(k): str(v) for k, v in data.get("files", {}).items()}
        device.dirs = set(data.get("dirs", BASE_DIRS))
        device.jobs = {int(j["pid"]): Job(int(j["pid"]), float(j["due"]), str(j["path"]), bool(j["root"]))
                       for j in data.get("jobs", [])}  # fmt: skip
        device.next_pid = int(data.get("next_pid", 4100))
        return device

    # -- the command line ---------------------------------------------------------------
    def run_line(self, ctx: _Ctx, line: str, stdin: str) -> _Out:
        job = _REVERT_JOB.match(line)
        if job:
            return self._schedule(ctx, job, root=ctx.root or bool(job.group("sudo")))
        try:
            words = _split(line)
        except ValueError:
            return _Out(stderr=self._shell_error(ctx, "syntax error: unterminated quoted string"), status=2)
        return self._run_list(ctx, words, stdin)

    def _shell_error(self, ctx: _Ctx, message: str) -> str:
        return f"-bash: {message}\n" if ctx.interactive else f"bash: line 1: {message}\n"

    def _run_list(self, ctx: _Ctx, words: list[str], stdin: str) -> _Out:
        total = _Out()
        op = ";"
        segment: list[str] = []
        for word in [*words, ";"]:
            if word not in (";", "&&", "||"):
                segment.append(word)
                continue
            run = op == ";" or (op == "&&" and total.status == 0) or (op == "||" and total.status != 0)
            if segment and run:
                out = self._run_pipeline(ctx, segment, stdin)
                total = _Out(total.stdout + out.stdout, total.stderr + out.stderr, out.status,
                             total.changed or out.changed, out.extra or total.extra)  # fmt: skip
            segment, op = [], word
        return total

    def _run_pipeline(self, ctx: _Ctx, words: list[str], stdin: str) -> _Out:
        stages: list[list[str]] = [[]]
        for word in words:
            if word == "|":
                stages.append([])
            else:
                stages[-1].append(word)
        data, errors, changed = stdin, "", False
        out = _Out()
        for stage in stages:
            out = self._run_redirected(ctx, stage, data)
            data, errors, changed = out.stdout, errors + out.stderr, changed or out.changed
        return _Out(data, errors, out.status, changed, out.extra)

    def _run_redirected(self, ctx: _Ctx, words: list[str], stdin: str) -> _Out:
        target: str | None = None
        append = quiet = False
        kept: list[str] = []
        index = 0
        while index < len(words):
            word = words[index]
            if word in (">", ">>") and index + 1 < len(words):
                target, append, index = words[index + 1], word == ">>", index + 2
                continue
            if word == "2>&1":
                index += 1
                continue
            if word in ("2>", "2>>"):  # stderr to a file: only /dev/null is kept apart
                quiet, index = quiet or words[index + 1 : index + 2] == ["/dev/null"], index + 2
                continue
            kept.append(word)
            index += 1
        out = self.run_command(ctx, kept, stdin)
        if quiet:
            out = _Out(out.stdout, "", out.status, out.changed, out.extra)
        if target is None or target == "/dev/null":
            return out if target is None else _Out("", out.stderr, out.status, out.changed, out.extra)
        problem = self._write(ctx, target, out.stdout, append=append)
        if problem:
            return _Out("", out.stderr + self._shell_error(ctx, f"{target}: {problem}"), 1, out.changed)
        return _Out("", out.stderr, out.status, True, out.extra)

    def run_command(self, ctx: _Ctx, argv: list[str], stdin: str) -> _Out:
        if not argv:
            return _Out()
        name, args = argv[0], argv[1:]
        handler = _COMMANDS.get(name)
        if handler is None:
            return _Out(stderr=self._shell_error(ctx, f"{name}: command not found"), status=127)
        return handler(self, ctx, args, stdin)

    # -- helpers used by the commands ---------------------------------------------------
    def _schedule(self, ctx: _Ctx, match: re.Match[str], *, root: bool) -> _Out:
        pid = self.next_pid
        self.next_pid += 1
        due = time.time() + int(match.group("secs")) / time_scale()
        self.jobs[pid] = Job(pid, due, match.group("file"), root)
        return _Out(stdout=f"{pid}\n", changed=True)

    def _write(self, ctx: _Ctx, path: str, text: str, *, append: bool) -> str | None:
        parent = path.rsplit("/", 1)[0] or "/"
        if parent not in self.dirs:
            return "No such file or directory"
        if not path.startswith(WRITABLE) or (path.startswith("/var/lib/isolate/") and not ctx.root):
            return "Permission denied"
        self.files[path] = (self.files.get(path, "") if append else "") + text
        return None

    def hostname(self) -> str:
        return self.spec.hostname


def _split(line: str) -> list[str]:
    lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|<>")
    lexer.whitespace_split = True
    lexer.commenters = ""
    words = list(lexer)
    merged: list[str] = []
    for word in words:  # shlex splits "2>&1" into "2", ">&", "1" and "2>f" into "2", ">", "f"
        if merged[-2:] == ["2", ">&"] and word == "1":
            merged[-2:] = ["2>&1"]
        elif merged[-1:] == ["2"] and word in (">", ">>"):
            merged[-1:] = ["2" + word]
        else:
            merged.append(word)
    return merged


# -- commands -----------------------------------------------------------------------------

Handler = Callable[["LinuxDevice", _Ctx, list[str], str], _Out]


def _nft(dev: LinuxDevice, ctx: _Ctx, args: list[str], stdin: str) -> _Out:
    if not ctx.root:
        if any(a in ("list", "-v", "--version") for a in args) or not args:
            if "-v" in args or "--version" in args:
                return _nft_root(dev, args, stdin)
            return _Out(stderr=_NOT_ROOT_LIST, status=1)
        text = " ".join(a for a in args if not a.startswith("-"))
        return _Out(stderr=f"Error: Could not process rule: Operation not permitted\n{text}\n"
                    f"{'^' * len(text)}\n", status=1)  # fmt: skip
    return _nft_root(dev, args, stdin)


def _nft_root(dev: LinuxDevice, args: list[str], stdin: str) -> _Out:
    before = dev.ruleset
    result = run_nft(dev.ruleset, args, stdin=stdin, read_file=dev.files.get)
    dev.ruleset = result.ruleset
    return _Out(result.stdout, result.stderr, result.exit_status, result.ruleset is not before)


def _sudo(dev: LinuxDevice, ctx: _Ctx, args: list[str], stdin: str) -> _Out:
    while args and args[0] in ("-n", "-E", "-H"):
        args = args[1:]
    root = _Ctx(ctx.user, True, ctx.interactive, ctx.cwd)
    if not args or args[0] in ("-s", "-i") or args[:1] == ["su"]:
        if not ctx.interactive:
            return _Out()
        home = args[:1] == ["-i"] or args[1:2] == ["-"]
        return _Out(extra={"become_root": "~" if home else f"/home/{ctx.user}"})
    if args[0].startswith("-"):
        return _Out(stderr=f"sudo: invalid option -- '{args[0].lstrip('-')[:1]}'\n", status=1)
    return dev.run_command(root, args, stdin)


def _ip(dev: LinuxDevice, ctx: _Ctx, args: list[str], stdin: str) -> _Out:
    as_json, family = False, 0
    while args and args[0].startswith("-"):
        as_json = as_json or args[0] in ("-j", "-json")
        family = {"-4": 4, "-6": 6}.get(args[0], family)
        args = args[1:]
    obj = args[0] if args else ""
    if obj and ("neighbour".startswith(obj) or "neighbor".startswith(obj)):
        return _neigh(dev, args[1:], as_json=as_json, family=family)
    if "address".startswith(obj) and obj:
        return _Out(_addr_json(dev) if as_json else _addr_text(dev))
    if "route".startswith(obj) and obj:
        return _Out(_route_json(dev) if as_json else _route_text(dev))
    if "link".startswith(obj) and obj:
        return _Out(_addr_text(dev, links_only=True))
    return _Out(stderr=f'Object "{obj}" is unknown, try "ip help".\n', status=1)


def _neigh(dev: LinuxDevice, args: list[str], *, as_json: bool, family: int) -> _Out:
    """``ip neigh [show|list] [[to] PREFIX] [dev IFACE] [nud STATE] [proxy]``, as iproute2 6.1."""
    if args and args[0] not in ("show", "list", "lst", "ls"):
        return _Out(stderr=f'Command "{args[0]}" is unknown, try "ip neigh help".\n', status=255)
    prefix: ipaddress.IPv4Network | ipaddress.IPv6Network | None = None
    device, nud, words = None, None, list(args[1:])
    while words:
        word = words.pop(0)
        if word in ("dev", "nud") and words:
            device, nud = (words.pop(0), nud) if word == "dev" else (device, words.pop(0).upper())
            continue
        if word == "proxy":
            return _Out()
        if word == "to" and words:
            word = words.pop(0)
        try:
            prefix = ipaddress.ip_network(word, strict=False)
        except ValueError:
            return _Out(stderr=f'Error: any valid prefix is expected rather than "{word}".\n', status=1)
    names = [name for _, name, _ in _interfaces(dev)]
    if device is not None and device not in names:
        return _Out(stderr=f'Cannot find device "{device}"\n', status=1)
    rows = [n for n in _neighbours(dev)
            if (device is None or n.dev == device) and (nud is None or nud in (n.state, "ALL"))
            and (prefix is None or ipaddress.ip_address(n.address) in prefix)
            and family in (0, ipaddress.ip_address(n.address).version)]
    if as_json:
        return _Out(json.dumps([{"dst": n.address, **({} if device else {"dev": n.dev}), "lladdr": n.lladdr,
                                 "state": [n.state]} for n in rows], separators=(",", ":")) + "\n")
    return _Out("".join(f"{n.address}{'' if device else f' dev {n.dev}'} lladdr {n.lladdr} {n.state} \n"
                        for n in rows))


def _neighbours(dev: LinuxDevice) -> list[Neighbour]:
    if dev.fabric is None:
        return []
    mine = [(name, addr) for _, name, addr in _interfaces(dev) if addr and name != "lo"]
    return dev.fabric.neighbour_table(mine)


def _interfaces(dev: LinuxDevice) -> list[tuple[int, str, str | None]]:
    rows: list[tuple[int, str, str | None]] = [(1, "lo", "127.0.0.1/8")]
    for index, (name, address) in enumerate(dev.spec.interfaces, start=2):
        rows.append((index, name, address))
    return rows


def _mac(index: int) -> str:
    return "00:00:00:00:00:00" if index == 1 else f"52:54:00:00:00:{index:02x}"


def _addr_json(dev: LinuxDevice) -> str:
    items: list[dict[str, Any]] = []
    for index, name, address in _interfaces(dev):
        lo = name == "lo"
        info: list[dict[str, Any]] = []
        if address:
            iface = ipaddress.ip_interface(address)
            entry: dict[str, Any] = {
                "family": "inet",
                "local": str(iface.ip),
                "prefixlen": iface.network.prefixlen,
            }
            if not lo:
                entry["broadcast"] = str(iface.network.broadcast_address)
            entry.update(scope="host" if lo else "global", label=name,
                         valid_life_time=4294967295, preferred_life_time=4294967295)  # fmt: skip
            info.append(entry)
        items.append({
            "ifindex": index, "ifname": name,
            "flags": ["LOOPBACK", "UP", "LOWER_UP"] if lo else ["BROADCAST", "MULTICAST", "UP", "LOWER_UP"],
            "mtu": 65536 if lo else 1500, "qdisc": "noqueue" if lo else "pfifo_fast",
            "operstate": "UNKNOWN" if lo else "UP", "group": "default", "txqlen": 1000,
            "link_type": "loopback" if lo else "ether", "address": _mac(index),
            "broadcast": "00:00:00:00:00:00" if lo else "ff:ff:ff:ff:ff:ff", "addr_info": info,
        })  # fmt: skip
    return json.dumps(items, separators=(",", ":")) + "\n"


def _addr_text(dev: LinuxDevice, *, links_only: bool = False) -> str:
    lines: list[str] = []
    for index, name, address in _interfaces(dev):
        lo = name == "lo"
        flags = "LOOPBACK,UP,LOWER_UP" if lo else "BROADCAST,MULTICAST,UP,LOWER_UP"
        state = "UNKNOWN" if lo else "UP"
        lines.append(
            f"{index}: {name}: <{flags}> mtu {65536 if lo else 1500} qdisc "
            f"{'noqueue' if lo else 'pfifo_fast'} state {state} group default qlen 1000"
        )
        kind = "loopback" if lo else "ether"
        brd = "00:00:00:00:00:00" if lo else "ff:ff:ff:ff:ff:ff"
        lines.append(f"    link/{kind} {_mac(index)} brd {brd}")
        if address and not links_only:
            iface = ipaddress.ip_interface(address)
            if lo:
                lines.append(f"    inet {address} scope host lo")
            else:
                lines.append(f"    inet {address} brd {iface.network.broadcast_address} scope global {name}")
            lines.append("       valid_lft forever preferred_lft forever")
    return "\n".join(lines) + "\n"


def _connected(dev: LinuxDevice) -> list[dict[str, Any]]:
    routes: list[dict[str, Any]] = []
    for name, address in dev.spec.interfaces:
        iface = ipaddress.ip_interface(address)
        routes.append({"dst": str(iface.network), "dev": name, "protocol": "kernel", "scope": "link",
                       "prefsrc": str(iface.ip), "flags": []})  # fmt: skip
    return routes


def _static(dev: LinuxDevice) -> list[dict[str, Any]]:
    routes: list[dict[str, Any]] = []
    for dst, gateway, dev_name in dev.spec.routes:
        entry: dict[str, Any] = {"dst": dst}
        if gateway:
            entry["gateway"] = gateway
        entry.update(dev=dev_name, flags=[])
        routes.append(entry)
    return routes


def _route_json(dev: LinuxDevice) -> str:
    return json.dumps(_static(dev) + _connected(dev), separators=(",", ":")) + "\n"


def _route_text(dev: LinuxDevice) -> str:
    lines = []
    for route in _static(dev):
        via = f" via {route['gateway']}" if "gateway" in route else ""
        lines.append(f"{route['dst']}{via} dev {route['dev']}")
    for route in _connected(dev):
        lines.append(f"{route['dst']} dev {route['dev']} proto kernel scope link src {route['prefsrc']}")
    return "".join(line + "\n" for line in lines)


def _simple(dev: LinuxDevice, ctx: _Ctx, args: list[str], stdin: str, name: str) -> _Out:
    user = "root" if ctx.root else ctx.user
    uid = 0 if ctx.root else 1000
    if name == "hostname":
        return _Out(dev.hostname() + "\n")
    if name == "whoami":
        return _Out(user + "\n")
    if name == "id":
        if args[:1] == ["-u"]:
            return _Out(f"{uid}\n")
        if args[:1] == ["-un"]:
            return _Out(user + "\n")
        groups = "0(root)" if ctx.root else f"1000({user}),27(sudo)"
        return _Out(f"uid={uid}({user}) gid={uid}({'root' if ctx.root else user}) groups={groups}\n")
    if name == "uname":
        if "-a" in args:
            return _Out(UNAME.format(host=dev.hostname()) + "\n")
        return _Out(("Linux" if not args or "-s" in args else KERNEL) + "\n")
    if name == "echo":
        return _Out(" ".join(args) + "\n")
    if name == "true":
        return _Out()
    return _Out(status=1)  # false


def _cat(dev: LinuxDevice, ctx: _Ctx, args: list[str], stdin: str) -> _Out:
    if not args:
        return _Out(stdin)
    out, err, status = "", "", 0
    for path in args:
        text = dev.files.get(path)
        if text is None:
            err += f"cat: {path}: No such file or directory\n"
            status = 1
        elif path.startswith("/var/lib/isolate/") and not ctx.root:
            err += f"cat: {path}: Permission denied\n"
            status = 1
        else:
            out += text
    return _Out(out, err, status)


def _tee(dev: LinuxDevice, ctx: _Ctx, args: list[str], stdin: str) -> _Out:
    append = "-a" in args
    err, status, changed = "", 0, False
    for path in [a for a in args if not a.startswith("-")]:
        problem = dev._write(ctx, path, stdin, append=append)
        if problem:
            err += f"tee: {path}: {problem}\n"
            status = 1
        else:
            changed = True
    return _Out(stdin, err, status, changed)


def _rm(dev: LinuxDevice, ctx: _Ctx, args: list[str], stdin: str) -> _Out:
    force = any(a.startswith("-") and "f" in a for a in args)
    err, status = "", 0
    for path in [a for a in args if not a.startswith("-")]:
        if path not in dev.files:
            if not force:
                err += f"rm: cannot remove '{path}': No such file or directory\n"
                status = 1
            continue
        if not path.startswith(WRITABLE) or (path.startswith("/var/lib/isolate/") and not ctx.root):
            err += f"rm: cannot remove '{path}': Permission denied\n"
            status = 1
            continue
        del dev.files[path]
    return _Out("", err, status, status == 0)


def _mkdir(dev: LinuxDevice, ctx: _Ctx, args: list[str], stdin: str) -> _Out:
    parents = "-p" in args
    err, status = "", 0
    for path in [a.rstrip("/") or "/" for a in args if not a.startswith("-")]:
        if path in dev.dirs:
            if not parents:
                err += f"mkdir: cannot create directory ‘{path}’: File exists\n"
                status = 1
            continue
        if not (path + "/").startswith(WRITABLE) or (path.startswith("/var/lib/isolate") and not ctx.root):
            err += f"mkdir: cannot create directory ‘{path}’: Permission denied\n"
            status = 1
            continue
        dev.dirs.add(path)
    return _Out("", err, status, status == 0)


def _kill(dev: LinuxDevice, ctx: _Ctx, args: list[str], stdin: str) -> _Out:
    err, status, changed = "", 0, False
    for arg in [a for a in args if not a.startswith("-")]:
        job = dev.jobs.get(int(arg)) if arg.isdigit() else None
        if job is None:
            err += dev._shell_error(ctx, f"kill: ({arg}) - No such process")
            status = 1
        elif job.root and not ctx.root:
            err += dev._shell_error(ctx, f"kill: ({arg}) - Operation not permitted")
            status = 1
        else:
            del dev.jobs[job.pid]
            changed = True
    return _Out("", err, status, changed)


def _ls(dev: LinuxDevice, ctx: _Ctx, args: list[str], stdin: str) -> _Out:
    home = "/root" if ctx.root else f"/home/{ctx.user}"
    paths = [a for a in args if not a.startswith("-")] or [home]
    out, err, status = "", "", 0
    for path in paths:
        path = path.rstrip("/") or "/"
        if path in dev.files:
            out += path + "\n"
            continue
        if path not in dev.dirs and path != home:
            err += f"ls: cannot access '{path}': No such file or directory\n"
            status = 2
            continue
        prefix = path.rstrip("/") + "/"
        names = {p[len(prefix) :].split("/")[0] for p in [*dev.files, *dev.dirs] if p.startswith(prefix)}
        out += "".join(f"{name}\n" for name in sorted(n for n in names if n))
    return _Out(out, err, status)


def _pwd(dev: LinuxDevice, ctx: _Ctx, args: list[str], stdin: str) -> _Out:
    return _Out("/root\n" if ctx.root and ctx.user == "root" else f"/home/{ctx.user}\n")


def _exit(dev: LinuxDevice, ctx: _Ctx, args: list[str], stdin: str) -> _Out:
    return _Out(status=int(args[0]) if args and args[0].isdigit() else 0, extra={"exit": True})


def _simple_of(name: str) -> Handler:
    def run(dev: LinuxDevice, ctx: _Ctx, args: list[str], stdin: str) -> _Out:
        return _simple(dev, ctx, args, stdin, name)

    return run


_COMMANDS: dict[str, Handler] = {
    "nft": _nft, "/usr/sbin/nft": _nft, "sudo": _sudo, "ip": _ip, "/usr/sbin/ip": _ip,
    "cat": _cat, "tee": _tee, "rm": _rm, "mkdir": _mkdir, "kill": _kill, "exit": _exit,
    "ls": _ls, "pwd": _pwd,
    "logout": _exit,
    **{n: _simple_of(n) for n in ("hostname", "whoami", "id", "uname", "echo", "true", "false")},
}  # fmt: skip


LinuxFirewall = LinuxDevice  # the name this module used first


class LinuxShell(Shell):
    def __init__(self, device: LinuxDevice, username: str) -> None:
        self.device = device
        self.user = username
        self.root_cwd: list[str] = []  # a stack: sudo -s inside sudo -s

    def banner(self) -> str:
        return (
            UNAME.format(host=self.device.hostname()).removesuffix(" GNU/Linux") + "\n\n"
            "The programs included with the Debian GNU/Linux system are free software;\n"
            "the exact distribution terms for each program are described in the\n"
            "individual files in /usr/share/doc/*/copyright.\n\n"
            "Debian GNU/Linux comes with ABSOLUTELY NO WARRANTY, to the extent\n"
            "permitted by applicable law.\n"
        )

    def _root(self) -> bool:
        return self.user == "root" or bool(self.root_cwd)

    def prompt(self) -> str:
        host = self.device.hostname()
        if self.root_cwd:
            return f"root@{host}:{self.root_cwd[-1]}# "
        if self.user == "root":
            return f"root@{host}:~# "
        return f"{self.user}@{host}:~$ "

    def feed(self, line: str) -> Reply:
        ctx = _Ctx(self.user, self._root(), True)
        out = self.device.run_line(ctx, line, "")
        if out.extra.get("exit"):
            if self.root_cwd:
                self.root_cwd.pop()
                return Reply("exit\n", changed=out.changed)
            return Reply("logout\n", close=True, changed=out.changed)
        if "become_root" in out.extra:
            self.root_cwd.append(str(out.extra["become_root"]))
        return Reply(out.stdout + out.stderr, changed=out.changed)
