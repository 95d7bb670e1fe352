"""Incident parameters: what is known only at incident time (the infected host, the
attacker's prefixes, compromised VPN users, a quarantine VLAN).

A playbook declares them (``parameters:``, typed, with a default and a description);
the operator gives values with ``--set NAME=VALUE`` (repeatable; ``a,b`` gives two).
A step uses them in its targets (``targets: {parameters: [infected]}``) or as a whole
param value (``params: {vlan: $quarantine_vlan}``). :func:`bind` is pure: it checks every
value against its type and the inventory and returns the playbook with the values in
place; a step whose parameters are all empty (and that selects nothing else) is left
out of the plan, with a note saying how to set them.

Value forms, per type:
- ``host``: an inventory host name, an IP address of an inventory host, or ``tag:NAME``;
- ``address``/``prefix``: an IP address (a prefix for ``prefix``), a host name (its
  address) or ``tag:NAME`` (the addresses of the hosts with the tag); a ``prefix`` also
  takes the name of an inventory source (``attacker-range``: its prefix);
- ``user``: a VPN user name of the inventory or ``group:NAME`` (its users);
- ``vlan``: one VLAN id 1..4094;
- ``account``: a directory account name (``sAMAccountName``), taken as given (the
  directory, not the inventory, knows it); a param value only (``users: $accounts``).
A ``tag:``/``group:`` that the inventory does not have selects nothing when it comes from
a default; given with ``--set`` it is an error (a typo must not contain nothing).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from isolate.errors import PlanError
from isolate.inventory.models import Inventory
from isolate.playbook.models import Playbook, Step
from isolate.values import BadValue, parse_ip, parse_name, parse_prefix, parse_user, parse_vlan, safe_repr
from isolate.values_directory import parse_account

ParamType = Literal["host", "address", "prefix", "user", "vlan", "account"]
PARAM_TYPES: tuple[str, ...] = get_args(ParamType)
PARAM_NAME_RE = re.compile(r"[a-z][a-z0-9_]{0,39}")
_SET_RE = re.compile(r"([^=\s]+)=(.*)", re.S)
_TARGETABLE = {"host": "hosts", "user": "users", "address": "prefixes", "prefix": "prefixes"}


def parse_param_name(value: object) -> str:
    if not isinstance(value, str) or not PARAM_NAME_RE.fullmatch(value):
        raise BadValue(f"must match [a-z][a-z0-9_]{{0,39}}, got {safe_repr(value)}")
    return value


def parse_param_value(kind: str, value: object) -> str | int:
    """One value checked against its type, without the inventory. Returns it normalised."""
    if kind == "vlan":
        return parse_vlan(value)
    text = value if isinstance(value, str) else str(value)
    if kind == "account":  # a directory account: its own value (isolate.values_directory)
        return parse_account(text)
    if kind == "user":
        if text.startswith("group:"):
            return "group:" + parse_name(text[6:], "VPN group")
        return parse_user(text)
    if text.startswith("tag:"):
        return "tag:" + parse_name(text[4:], "tag")
    if kind == "prefix" and "/" in text:
        return str(parse_prefix(text))
    try:
        return str(parse_ip(text))
    except BadValue:
        if any(c in text for c in ":/") or text.replace(".", "").isdigit():
            raise BadValue(_shape(kind, text)) from None
    try:
        return parse_name(text, "host name")
    except BadValue as exc:
        if "not allowed" in str(exc):
            raise
        raise BadValue(_shape(kind, text)) from None


def _shape(kind: str, text: str) -> str:
    shapes = {
        "host": "a host name, an IP address or tag:NAME",
        "address": "an IP address, a host name or tag:NAME",
        "prefix": "an IP prefix or address, a source or host name, or tag:NAME",
    }
    return f"must be {shapes[kind]}, got {safe_repr(text)}"


def parse_sets(items: Sequence[str]) -> dict[str, list[str]]:
    """``--set NAME=VALUE`` options (repeatable; ``NAME=a,b`` gives two values), in order."""
    values: dict[str, list[str]] = {}
    for item in items:
        match = _SET_RE.fullmatch(item)
        if match is None:
            raise PlanError(f"--set {safe_repr(item)}: expected NAME=VALUE")
        name, raw = match.group(1), match.group(2)
        try:
            parse_param_name(name)
        except BadValue as exc:
            raise PlanError(f"--set {safe_repr(item)}: parameter name {exc}") from None
        parts = [p.strip() for p in raw.split(",")]
        if not any(parts):
            raise PlanError(f"--set {name}=: needs a value")
        values.setdefault(name, []).extend(p for p in parts if p)
    return values


@dataclass(frozen=True)
class BoundParameter:
    """One parameter's values as given (``source`` = ``--set`` or ``default``) and what
    they resolved to in the inventory (host names, prefixes, user names, a VLAN)."""

    name: str
    type: str
    given: tuple[str, ...]
    resolved: tuple[str, ...]
    source: str


@dataclass
class Bound:
    playbook: Playbook
    parameters: tuple[BoundParameter, ...] = ()
    skipped: tuple[str, ...] = ()
    notes: dict[str, list[str]] = field(default_factory=dict)


def _resolve_value(kind: str, value: str | int, inv: Inventory, strict: bool) -> list[str]:
    """What one checked value stands for in the inventory (raises BadValue)."""
    if kind == "vlan":
        return [str(value)]
    text = str(value)
    if kind == "account":
        return [text]
    if kind == "user":
        if text.startswith("group:"):
            group = text[6:]
            if group not in {g.name for g in inv.vpn.groups}:
                if strict:
                    raise BadValue(f"no VPN group '{group}' in the inventory")
                return []
            return [u.name for u in inv.vpn_users_in(group)]
        if text not in {u.name for u in inv.vpn.users}:
            raise BadValue(f"no VPN user '{text}' in the inventory (vpn.users)")
        return [text]
    if text.startswith("tag:"):
        hosts = inv.hosts_with_tag(text[4:])
        if not hosts and strict:
            raise BadValue(f"no host with tag '{text[4:]}' in the inventory")
        return [h.name if kind == "host" else _net(str(h.address)) for h in hosts]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        address = None
    if address is None and "/" not in text:
        if kind == "prefix" and inv.has_source(text):  # an inventory source: its prefix
            return [str(inv.source(text).prefix)]
        if not inv.has_host(text):
            what = "host or source" if kind == "prefix" else "host"
            raise BadValue(f"no {what} '{text}' in the inventory")
        return [text if kind == "host" else _net(str(inv.host(text).address))]
    if kind != "host":
        return [_net(text)]
    found = [h.name for h in inv.hosts if h.address == address]
    if not found:
        raise BadValue(f"no inventory host has address {text} (the inventory does not map it to a port)")
    return found


def _net(text: str) -> str:
    return str(ipaddress.ip_network(text, strict=False))


def _given(playbook: Playbook, values: Mapping[str, Sequence[str]]) -> dict[str, tuple[list[Any], str]]:
    """Per declared parameter: its raw values and where they came from."""
    unknown = [n for n in values if n not in playbook.parameters]
    if unknown:
        known = ", ".join(playbook.parameters) or "none"
        name = unknown[0]
        raise PlanError(f"--set {name}: no parameter '{name}' in playbook {playbook.name} (known: {known})")
    out: dict[str, tuple[list[Any], str]] = {}
    for name, param in playbook.parameters.items():
        if name in values:
            out[name] = (list(values[name]), "--set")
        else:
            out[name] = (list(param.defaults()), "default")
    return out


def _bind_one(name: str, kind: str, raw: list[Any], source: str, inv: Inventory) -> BoundParameter:
    given: list[str] = []
    resolved: list[str] = []
    if kind == "vlan" and len(raw) > 1:
        raise PlanError(f"--set {name}: a vlan parameter takes one value, got {len(raw)}")
    for value in raw:
        text = str(value)
        if not text.isprintable() or len(text) > 60:  # the error stays one short line
            text = safe_repr(text)
        shown = f"--set {name}={text}" if source == "--set" else f"parameter {name} (default {text})"
        try:
            checked = parse_param_value(kind, value)
            found = _resolve_value(kind, checked, inv, strict=source == "--set")
        except BadValue as exc:
            raise PlanError(f"{shown}: {exc}") from None
        given.append(str(checked))
        resolved += [r for r in found if r not in resolved]
    return BoundParameter(name, kind, tuple(given), tuple(resolved), source)


def _substitute(value: Any, bound: Mapping[str, BoundParameter]) -> Any:
    if isinstance(value, str) and value.startswith("$") and value[1:] in bound:
        param = bound[value[1:]]
        if param.type == "vlan":
            return int(param.resolved[0]) if param.resolved else None
        return list(param.resolved)
    if isinstance(value, list):
        out: list[Any] = []
        for item in value:
            sub = _substitute(item, bound)
            out += sub if isinstance(sub, list) and isinstance(item, str) and item.startswith("$") else [sub]
        return out
    return value


def _bind_step(step: Step, bound: Mapping[str, BoundParameter]) -> tuple[Step, bool]:
    """The step with its parameters in place, and whether it still has something to do."""
    used = list(step.targets.parameters) + [v[1:] for v in _dollar_refs(step.params)]
    params = {k: _substitute(v, bound) for k, v in step.params.items()}
    params = {k: v for k, v in params.items() if v is not None}
    update: dict[str, list[str]] = {}
    for name in step.targets.parameters:
        param = bound[name]
        key = _TARGETABLE[param.type]
        update.setdefault(key, []).extend(param.resolved)
    prefixes = update.pop("prefixes", [])
    if prefixes:
        params["prefixes"] = [*params.get("prefixes", []), *prefixes]
    targets = step.targets.model_copy(
        update={
            "parameters": (),
            **{k: tuple(dict.fromkeys([*getattr(step.targets, k), *v])) for k, v in update.items()},
        }
    )
    new = step.model_copy(update={"targets": targets, "params": params})
    new._source = step.source
    listed = [n for n in used if bound[n].type != "vlan"]
    if not listed:
        return new, True
    empty = all(not bound[n].resolved for n in listed)
    has_more = not targets.is_empty() or bool(params.get("prefixes"))
    return new, not empty or has_more


def without_refs(step: Step) -> Step:
    """The step with its ``$parameter`` param values left out (to check the rest unbound)."""
    refs = set(_dollar_refs(step.params))
    params = {k: v for k, v in step.params.items() if not (isinstance(v, str) and v in refs)}
    new = step.model_copy(update={"params": params})
    new._source = step.source
    return new


def _dollar_refs(params: Mapping[str, Any]) -> list[str]:
    refs: list[str] = []
    for value in params.values():
        items = value if isinstance(value, list) else [value]
        refs += [v for v in items if isinstance(v, str) and v.startswith("$")]
    return refs


def bind(
    playbook: Playbook, inventory: Inventory, values: Mapping[str, Sequence[str]] | None = None
) -> Bound:
    """The playbook with every parameter's value in place (pure). Raises PlanError naming
    the parameter (``--set attacker=1.2.3: must be …``)."""
    if not playbook.parameters:
        if values:
            name = next(iter(values))
            raise PlanError(f"--set {name}: playbook {playbook.name} declares no parameters")
        return Bound(playbook)
    given = _given(playbook, values or {})
    bound = {
        name: _bind_one(name, playbook.parameters[name].type, raw, source, inventory)
        for name, (raw, source) in given.items()
    }
    steps: list[Step] = []
    skipped: list[str] = []
    for step in playbook.steps:
        new, keep = _bind_step(step, bound)
        if keep:
            steps.append(new)
            continue
        names = list(dict.fromkeys([*step.targets.parameters, *(r[1:] for r in _dollar_refs(step.params))]))
        names = [n for n in names if bound[n].type != "vlan"]
        hint = " ".join(f"--set {n}={_example(bound[n].type)}" for n in names)
        skipped.append(f"step {step.id} left out: parameter {', '.join(names)} is empty ({hint})")
    if not steps:
        raise PlanError(f"playbook {playbook.name}: every step was left out: {skipped[0]}")
    kept = playbook.model_copy(update={"steps": tuple(steps)})
    return Bound(kept, tuple(bound.values()), tuple(skipped))


def _example(kind: str) -> str:
    examples = {"host": "HOST", "address": "ADDRESS", "prefix": "PREFIX", "user": "USER", "vlan": "VLAN"}
    return examples.get(kind, kind.upper())


def check_references(playbook: Playbook) -> list[str]:
    """Load-time problems: a step naming a parameter the playbook does not declare, or one
    whose type cannot be a target (``file:line: steps[i].targets.parameters[0]: …``)."""
    problems: list[str] = []
    declared = playbook.parameters
    for step in playbook.steps:
        for i, name in enumerate(step.targets.parameters):
            param = declared.get(name)
            if param is None:
                problems.append(f"{step.where('targets', 'parameters', i)}: no parameter '{name}' declared")
            elif param.type in ("vlan", "account"):
                problems.append(
                    f"{step.where('targets', 'parameters', i)}: a {param.type} parameter is not a target "
                    "(use it as a param value: $NAME)"
                )
            elif _TARGETABLE[param.type] == "prefixes" and step.action != "edge-block":
                problems.append(
                    f"{step.where('targets', 'parameters', i)}: an {param.type} parameter targets "
                    "edge-block steps only"
                )
        for key, value in step.params.items():
            for ref in _dollar_refs({key: value}):
                if ref[1:] not in declared:
                    problems.append(f"{step.where('params', key)}: no parameter '{ref[1:]}' declared")
    return problems


__all__ = [
    "PARAM_TYPES",
    "Bound",
    "BoundParameter",
    "ParamType",
    "bind",
    "check_references",
    "parse_param_name",
    "parse_param_value",
    "parse_sets",
    "without_refs",
]

