"""Import devices from an Ansible inventory: YAML, INI or ``ansible-inventory --list`` JSON.

Each Ansible host becomes a raw device mapping (validated later with the rest of
the inventory, so a bad value is reported at its line in the Ansible file):

- ``ansible_host`` → host (default: the host name), ``ansible_port`` → port;
- ``ansible_network_os`` → platform (``cisco.ios.ios`` → ``cisco_ios``, …), else
  ``isolate_platform``, else ``linux``;
- ``isolate_role`` → role, else a group named like a role, else the platform's
  usual role; ``isolate_tags``, ``isolate_address``, ``isolate_credentials``;
- ``ansible_user`` (+ ``ansible_ssh_private_key_file``) → a credential set
  (``DOMAIN\\user`` and ``user@domain`` accepted);
- ``ansible_connection: winrm`` (or ``psrp``) → a Windows *host*: platform ``ansible``,
  role ``server``, tag ``windows`` (host actions), never a network device;
- ``isolate_ports`` → the switch's access ports: ``"Gi1/0/1=fs1,Gi1/0/2=ws-01"`` (INI),
  a mapping or a list of ``{interface, host}`` (YAML).

Secrets are never stored literally: ``ansible_password`` / ``ansible_become_password``
are accepted only as ``"{{ lookup('env', 'VAR') }}"`` or ``ansible.builtin.env``, quoted
or not (mapped to ``env:VAR``);
``isolate_password`` / ``isolate_enable`` take a reference directly. A literal or
vaulted secret is refused with a message that never repeats it.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from isolate.platforms import PLATFORMS, network_os_map
from isolate.yamlsrc import LineMap, Loc, Problem, display_path, parse_yaml

# Both derive from the one platform table (isolate/platforms/table.py).
NETWORK_OS: Final = network_os_map()
DEFAULT_ROLE: Final = {p.name: p.default_role for p in PLATFORMS.values()}
ROLES: Final = frozenset(
    {"core", "distribution", "access", "firewall", "edge", "vpn", "router", "switch", "server"}
)
_SECRETS: Final = {
    "ansible_password": "password",
    "ansible_ssh_pass": "password",
    "ansible_become_password": "enable",
    "ansible_become_pass": "enable",
    "ansible_enable_pass": "enable",
}
_ENV_LOOKUP: Final = re.compile(
    r"\{\{\s*lookup\(\s*['\"](?:ansible\.builtin\.)?env['\"]\s*,\s*"
    r"['\"]([A-Za-z_][A-Za-z0-9_]*)['\"]\s*\)\s*\}\}"
)
_WINDOWS_CONNECTIONS: Final = frozenset({"winrm", "psrp", "ansible.builtin.winrm", "ansible.builtin.psrp"})
_SPECIAL_GROUPS: Final = frozenset({"all", "ungrouped"})


@dataclass
class _Group:
    line: int
    vars: dict[str, Any] = field(default_factory=dict)
    var_lines: dict[str, int] = field(default_factory=dict)
    hosts: list[str] = field(default_factory=list)
    children: list[str] = field(default_factory=list)


@dataclass
class _Host:
    line: int
    vars: dict[str, Any] = field(default_factory=dict)
    var_lines: dict[str, int] = field(default_factory=dict)


@dataclass
class _Parsed:
    file: str
    groups: dict[str, _Group] = field(default_factory=dict)
    hosts: dict[str, _Host] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def group(self, name: str, line: int) -> _Group:
        return self.groups.setdefault(name, _Group(line))

    def host(self, name: str, line: int) -> _Host:
        return self.hosts.setdefault(name, _Host(line))

    def problem(self, line: int, message: str) -> None:
        self.problems.append(Problem(0, line, self.file, (), message))


@dataclass
class AnsibleImport:
    """Raw device/group/credential mappings, with their lines in the Ansible file."""

    devices: list[dict[str, Any]]
    groups: list[dict[str, Any]]
    credentials: dict[str, dict[str, Any]]
    lines: LineMap
    problems: list[Problem]
    raw: bytes


# ------------------------------------------------------------------ formats


def _parse_ini(text: str, out: _Parsed) -> None:
    section, kind = "ungrouped", "hosts"
    out.group("all", 1).children.append("ungrouped")
    out.group("ungrouped", 1)
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", ";")):
            continue
        if stripped.startswith("[") and stripped.endswith("]"):
            section, _, kind = stripped[1:-1].partition(":")
            kind = kind or "hosts"
            if kind not in ("hosts", "vars", "children"):
                out.problem(number, f"unknown section kind ':{kind}'")
            out.group(section, number)
            continue
        _ini_line(out, section, kind, stripped, number)


def _ini_line(out: _Parsed, section: str, kind: str, line: str, number: int) -> None:
    group = out.groups[section]
    if kind == "children":
        group.children.append(line)
        out.group(line, number)
        return
    if kind == "vars":
        key, sep, value = line.partition("=")
        if not sep:
            out.problem(number, "expected key=value")
            return
        group.vars[key.strip()] = _ini_value(value.strip())
        group.var_lines[key.strip()] = number
        return
    try:
        words = shlex.split(line, comments=True)
    except ValueError as exc:
        out.problem(number, f"cannot parse host line: {exc}")
        return
    name, rest = words[0], words[1:]
    if "[" in name and ":" in name:
        out.problem(number, "host ranges like web[01:10] are not supported; list hosts")
        return
    host = out.host(name, number)
    group.hosts.append(name)
    for word in rest:
        key, sep, value = word.partition("=")
        if not sep:
            out.problem(number, "expected key=value after the host name")
            continue
        host.vars[key] = _ini_value(value)
        host.var_lines[key] = number


def _ini_value(value: str) -> Any:
    """An INI value as Ansible reads it: digits are a number, one pair of matching outer
    quotes is removed (``"{{ lookup('env', 'X') }}"`` is the lookup itself)."""
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return int(value) if re.fullmatch(r"[0-9]{1,10}", value) else value


def _yaml_lines(lines: LineMap, loc: Loc) -> int:
    return lines.locate(loc)[1]


def _walk_yaml_group(out: _Parsed, name: str, body: Any, loc: Loc, lines: LineMap) -> None:
    group = out.group(name, _yaml_lines(lines, loc))
    if body is None:
        return
    if not isinstance(body, dict):
        out.problem(_yaml_lines(lines, loc), f"group '{name}' must be a mapping")
        return
    hosts = body.get("hosts") or {}
    if isinstance(hosts, dict):
        for host_name, host_vars in hosts.items():
            hloc = (*loc, "hosts", host_name)
            host = out.host(str(host_name), _yaml_lines(lines, hloc))
            group.hosts.append(str(host_name))
            _take_vars(host_vars, hloc, lines, host.vars, host.var_lines, out)
    _take_vars(body.get("vars"), (*loc, "vars"), lines, group.vars, group.var_lines, out)
    children = body.get("children") or {}
    if isinstance(children, dict):
        for child, child_body in children.items():
            group.children.append(str(child))
            _walk_yaml_group(out, str(child), child_body, (*loc, "children", child), lines)


def _take_vars(
    src: Any, loc: Loc, lines: LineMap, into: dict[str, Any], at: dict[str, int], out: _Parsed
) -> None:
    if src is None:
        return
    if not isinstance(src, dict):
        out.problem(_yaml_lines(lines, loc), "variables must be a mapping")
        return
    for key, value in src.items():
        into[str(key)] = value
        at[str(key)] = _yaml_lines(lines, (*loc, key))


def _parse_yaml_inv(data: Any, lines: LineMap, out: _Parsed) -> None:
    if not isinstance(data, dict):
        out.problem(1, "an Ansible YAML inventory must be a mapping of groups")
        return
    for name, body in data.items():
        _walk_yaml_group(out, str(name), body, (name,), lines)


def _parse_json_inv(data: Any, lines: LineMap, out: _Parsed) -> None:
    if not isinstance(data, dict):
        out.problem(1, "ansible-inventory JSON must be an object")
        return
    meta = data.get("_meta", {})
    hostvars = meta.get("hostvars", {}) if isinstance(meta, dict) else {}
    for name, body in data.items():
        if name == "_meta" or not isinstance(body, dict):
            continue
        group = out.group(str(name), _yaml_lines(lines, (name,)))
        for i, host_name in enumerate(body.get("hosts") or []):
            out.host(str(host_name), _yaml_lines(lines, (name, "hosts", i)))
            group.hosts.append(str(host_name))
        group.children.extend(str(c) for c in body.get("children") or [])
        _take_vars(body.get("vars"), (name, "vars"), lines, group.vars, group.var_lines, out)
    if isinstance(hostvars, dict):
        for host_name, values in hostvars.items():
            loc: Loc = ("_meta", "hostvars", host_name)
            host = out.host(str(host_name), _yaml_lines(lines, loc))
            _take_vars(values, loc, lines, host.vars, host.var_lines, out)


def _looks_like_ini(path: Path, text: str) -> bool:
    if path.suffix in (".yml", ".yaml", ".json") or text.lstrip().startswith("{"):
        return False
    if path.suffix in (".ini", ".cfg"):
        return True
    lines = [ln.strip() for ln in text.splitlines()]
    return any(ln.startswith("[") and ln.endswith("]") for ln in lines)


def _parse(path: Path, raw: bytes) -> _Parsed:
    file = display_path(path)
    out = _Parsed(file)
    text = raw.decode("utf-8", errors="replace")
    head = text.lstrip()
    if _looks_like_ini(path, text):
        _parse_ini(text, out)
        return out
    data, lines, problems = parse_yaml(raw, file)
    if problems and head.startswith("{"):
        # JSON that YAML cannot read (tabs, some escapes): parse it as JSON, lines unknown.
        try:
            data, problems = json.loads(text), []
        except json.JSONDecodeError as exc:
            problems = [Problem(0, exc.lineno, file, (), f"JSON syntax error: {exc.msg}")]
    out.problems.extend(problems)
    if problems:
        return out
    if head.startswith("{"):
        _parse_json_inv(data, lines, out)
    else:
        _parse_yaml_inv(data, lines, out)
    return out


# ------------------------------------------------------------------ mapping


def _ancestry(parsed: _Parsed) -> dict[str, list[str]]:
    """For every host, its groups from the outermost to the innermost."""
    parents: dict[str, set[str]] = {}
    for name, group in parsed.groups.items():
        for child in group.children:
            parents.setdefault(child, set()).add(name)

    def depth(name: str, seen: frozenset[str] = frozenset()) -> int:
        above = parents.get(name, set()) - seen
        return 0 if not above else 1 + max(depth(p, seen | {name}) for p in above)

    def closure(name: str) -> set[str]:
        found, todo = {name}, [name]
        while todo:
            for parent in parents.get(todo.pop(), set()):
                if parent not in found:
                    found.add(parent)
                    todo.append(parent)
        return found

    result: dict[str, list[str]] = {}
    for host in parsed.hosts:
        direct = {g for g, grp in parsed.groups.items() if host in grp.hosts}
        every = set().union(*(closure(g) for g in direct)) if direct else {"all"}
        every.add("all")
        result[host] = sorted(every, key=lambda g: (depth(g), g))
    return result


def _host_vars(parsed: _Parsed, host: str, groups: list[str]) -> tuple[dict[str, Any], dict[str, int]]:
    values: dict[str, Any] = {}
    lines: dict[str, int] = {}
    for name in groups:
        group = parsed.groups.get(name)
        if group is not None:
            values.update(group.vars)
            lines.update(group.var_lines)
    values.update(parsed.hosts[host].vars)
    lines.update(parsed.hosts[host].var_lines)
    return values, lines


class _Builder:
    def __init__(self, parsed: _Parsed) -> None:
        self.parsed = parsed
        self.lines = LineMap()
        self.index = self.lines.file_index(parsed.file)
        self.devices: list[dict[str, Any]] = []
        self.credentials: dict[str, dict[str, Any]] = {}
        self.groups: set[str] = set()
        self.problems = list(parsed.problems)

    def _line(self, loc: Loc, line: int) -> None:
        self.lines.lines[loc] = (self.index, line)

    def _refuse(self, line: int, host: str, var: str) -> None:
        message = (
            f"host '{host}': {var} is a literal or vaulted secret; use isolate_password /"
            " isolate_enable with env:VAR or file:PATH#key, or \"{{ lookup('env', 'VAR') }}\""
        )
        self.problems.append(Problem(self.index, line, self.parsed.file, (), message))

    def _secret_refs(self, host: str, values: dict[str, Any], at: dict[str, int]) -> dict[str, Any]:
        refs: dict[str, Any] = {}
        for var, slot in _SECRETS.items():
            if values.get(var) is None:
                continue
            value = values[var]
            text = _unquote(value.strip()) if isinstance(value, str) else None
            match = _ENV_LOOKUP.fullmatch(text) if text is not None else None
            if match is None:
                self._refuse(at.get(var, self.parsed.hosts[host].line), host, var)
            else:
                refs[slot] = f"env:{match.group(1)}"
        for slot in ("password", "enable"):
            if f"isolate_{slot}" in values:
                refs[slot] = values[f"isolate_{slot}"]
        return refs

    def _credential_set(self, host: str, values: dict[str, Any], at: dict[str, int]) -> str | None:
        refs = self._secret_refs(host, values, at)
        user = values.get("ansible_user", values.get("ansible_ssh_user"))
        if user is None:
            return None
        entry: dict[str, Any] = {"username": user, **refs}
        key = values.get("ansible_ssh_private_key_file", values.get("ansible_private_key_file"))
        if key is not None:
            entry["key_file"] = key
        if "password" not in entry and key is None:
            entry["agent"] = True
        base = "ansible-" + re.sub(r"[^A-Za-z0-9._-]", "-", str(user))[:40]
        name, n = base, 1
        while name in self.credentials and self.credentials[name] != entry:
            n += 1
            name = f"{base}-{n}"
        if name not in self.credentials:
            self.credentials[name] = entry
            line = at.get("ansible_user", at.get("ansible_ssh_user", self.parsed.hosts[host].line))
            self._line(("credentials", name), line)
            for k in entry:
                self._line(("credentials", name, k), line)
        return name

    def _platform(self, values: dict[str, Any], line: int, host: str) -> Any:
        if "isolate_platform" in values:
            return values["isolate_platform"]
        network_os = values.get("ansible_network_os")
        if network_os is None:
            return "linux"
        if isinstance(network_os, str) and network_os in NETWORK_OS:
            return NETWORK_OS[network_os]
        supported = ", ".join(sorted(NETWORK_OS))
        self.problems.append(
            Problem(
                self.index,
                line,
                self.parsed.file,
                (),
                f"host '{host}': unsupported ansible_network_os (supported: {supported})",
            )
        )
        return "linux"

    def add(self, host: str, groups: list[str]) -> None:
        values, at = _host_vars(self.parsed, host, groups)
        named = [g for g in groups if g not in _SPECIAL_GROUPS]
        home = self.parsed.hosts[host].line
        windows = str(values.get("ansible_connection", "")) in _WINDOWS_CONNECTIONS
        if windows and "isolate_platform" not in values:
            # a Windows host: worked on by Ansible (host actions), never a network device
            platform: Any = "ansible"
            values.setdefault("isolate_role", "server")
            tags = _tags(values.get("isolate_tags")) or []
            values["isolate_tags"] = [*tags, "windows"] if "windows" not in tags else tags
            at.setdefault("isolate_platform", at.get("ansible_connection", home))
        else:
            platform = self._platform(values, at.get("ansible_network_os", home), host)
        role = values.get("isolate_role")
        if role is None:
            role = next((g for g in reversed(named) if g in ROLES), None)
        if role is None:
            role = DEFAULT_ROLE.get(str(platform), "server")
        device: dict[str, Any] = {
            "name": host,
            "host": values.get("ansible_host", host),
            "platform": platform,
            "role": role,
            "groups": named,
        }
        optional = {
            "port": values.get("ansible_port", values.get("ansible_ssh_port")),
            "address": values.get("isolate_address"),
            "tags": _tags(values.get("isolate_tags")),
            "ports": _ports(values.get("isolate_ports")),
            "credentials": values.get("isolate_credentials") or self._credential_set(host, values, at),
        }
        device.update({k: v for k, v in optional.items() if v is not None})
        source = {
            "host": "ansible_host",
            "port": "ansible_port",
            "platform": "ansible_connection" if windows else "ansible_network_os",
            "role": "isolate_role",
            "address": "isolate_address",
            "tags": "isolate_tags",
            "ports": "isolate_ports",
            "credentials": "ansible_user",
        }
        loc: Loc = ("devices", len(self.devices))
        self._line(loc, home)
        for key in device:
            self._line((*loc, key), at.get(source.get(key, ""), home))
        for j in range(len(device.get("ports") or [])):
            for sub in ("", "interface", "host"):
                self._line((*loc, "ports", j, *((sub,) if sub else ())), at.get("isolate_ports", home))
        self.devices.append(device)
        self.groups.update(named)


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1].strip()
    return text


def _ports(value: Any) -> Any:
    """``isolate_ports``: ``"Gi1/0/1=fs1,Gi1/0/2=ws-01"`` (INI), a mapping
    ``{Gi1/0/1: fs1}`` or a list of ``{interface, host}`` (YAML) → ``[{interface, host}]``."""
    if isinstance(value, str):
        pairs = [p.strip().partition("=") for p in value.split(",") if p.strip()]
        return [{"interface": i.strip(), "host": h.strip()} if sep else {"interface": i.strip()}
                for i, sep, h in pairs]
    if isinstance(value, dict):
        return [{"interface": str(k), "host": v} for k, v in value.items()]
    return value


def _tags(value: Any) -> Any:
    if isinstance(value, str):
        return [t.strip() for t in value.split(",") if t.strip()]
    return value


def read_ansible(path: Path, *, declared_groups: frozenset[str] = frozenset()) -> AnsibleImport:
    """Read an Ansible inventory file and map its hosts onto raw device mappings.
    Groups in ``declared_groups`` are already in the inventory and not added again."""
    raw = path.read_bytes()
    parsed = _parse(path, raw)
    builder = _Builder(parsed)
    ancestry = _ancestry(parsed)
    for host in sorted(parsed.hosts, key=lambda h: (parsed.hosts[h].line, h)):
        builder.add(host, ancestry[host])
    new_groups = sorted(builder.groups - declared_groups)
    groups = [{"name": g} for g in new_groups]
    for i, name in enumerate(new_groups):
        builder._line(("groups", i), parsed.groups[name].line)
        builder._line(("groups", i, "name"), parsed.groups[name].line)
    return AnsibleImport(
        devices=builder.devices,
        groups=groups,
        credentials=builder.credentials,
        lines=builder.lines,
        problems=builder.problems,
        raw=raw,
    )
