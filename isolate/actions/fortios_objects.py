"""Shared FortiGate logic: the objects a step owns, rendered, inverted and verified.

A filter step on a FortiGate creates its own objects, all named after the step
(``isolate-STEP…``): address objects (one per prefix), an address group, custom services and
deny policies; then moves its policies to the top of the policy list, in order (``move
isolate-STEP top``, then ``move … after …``), so they sit above every existing allow policy
(FortiOS evaluates policies top-down, first match). Verify reads the state back: each object
with the fields sent, each policy enabled, and every policy of the step above every accept
policy that is not the step's. The inverse deletes the step's objects that were not in the
captured state, policies first (FortiOS refuses to delete an object a policy uses), the rest
of the list keeping its order and ids. Only IPv4 prefixes (``firewall/address``).
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from isolate.drivers.fortios_state import ADDRESS, ADDRGRP, POLICY, SERVICE, by_name, table_in
from isolate.errors import PlanError
from isolate.values import IPNetwork

DELETE_ORDER = (POLICY, ADDRGRP, SERVICE, ADDRESS)
ANY = [{"name": "any"}]


POLICY_NAME_MAX = 35  # FortiOS: a policy name is at most 35 characters (addresses, groups, services: 79)


def owned(step: str, suffix: str = "") -> str:
    return f"isolate-{step}" + (f"-{suffix}" if suffix else "")


def policy_name(name: str) -> str:
    """``name`` if it fits FortiOS's 35 characters, else its first characters and a digest
    of the whole (``isolate-a-long-step-i-3f9c2a``): deterministic, distinct per step."""
    if len(name) <= POLICY_NAME_MAX:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:6]
    return f"{name[: POLICY_NAME_MAX - 7].rstrip('-.')}-{digest}"


def address_name(step: str, prefix: IPNetwork) -> str:
    if not isinstance(prefix, ipaddress.IPv4Network):
        raise PlanError(f"fortios: IPv6 prefix {prefix} needs firewall/address6, not supported")
    return owned(step, f"{prefix.network_address}-{prefix.prefixlen}")


def _members(names: Sequence[str]) -> list[dict[str, str]]:
    return [{"name": n} for n in names]


@dataclass
class Objects:
    """What one step creates on one FortiGate, in creation order."""

    step: str
    made: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)  # table, name, body

    def address(self, prefix: IPNetwork) -> str:
        name = address_name(self.step, prefix)
        if not any(n == name for _, n, _ in self.made):
            self.made.append((ADDRESS, name, {"name": name, "subnet": str(prefix),
                                              "comment": f"isolate step {self.step}"}))
        return name

    def group(self, name: str, prefixes: Sequence[IPNetwork], *,
              exclude: Sequence[IPNetwork] = ()) -> str:
        """An address group of ``prefixes``; with ``exclude``, less those (FortiOS 6.4+
        ``exclude enable`` and ``exclude-member``)."""
        members = [self.address(p) for p in prefixes]
        body: dict[str, Any] = {"name": name, "member": _members(members),
                                "comment": f"isolate step {self.step}"}
        if exclude:
            body["exclude"] = "enable"
            body["exclude-member"] = _members([self.address(p) for p in exclude])
        self.made.append((ADDRGRP, name, body))
        return name

    def service(self, name: str, *, tcp: str = "", udp: str = "") -> str:
        body: dict[str, Any] = {"name": name, "protocol": "TCP/UDP/SCTP",
                                "comment": f"isolate step {self.step}"}
        if tcp:
            body["tcp-portrange"] = tcp
        if udp:
            body["udp-portrange"] = udp
        self.made.append((SERVICE, name, body))
        return name

    def policy(self, name: str, *, src: str, dst: str, service: str | Sequence[str],
               negate_service: bool = False) -> str:
        """A deny policy; ``negate_service``: every service but those (``service-negate``).
        Its name is shortened to FortiOS's limit (``policy_name``); the name used is returned."""
        name = policy_name(name)
        services = [service] if isinstance(service, str) else list(service)
        body: dict[str, Any] = {
            "name": name, "srcintf": ANY, "dstintf": ANY, "srcaddr": _members([src]),
            "dstaddr": _members([dst]), "service": _members(services), "action": "deny",
            "schedule": "always", "logtraffic": "all", "comments": f"isolate step {self.step}"}
        if negate_service:
            body["service-negate"] = "enable"
        self.made.append((POLICY, name, body))
        return name

    def policies(self) -> list[str]:
        return [name for table, name, _ in self.made if table == POLICY]

    # -- the contract ----------------------------------------------------------------------
    def render(self) -> list[str]:
        lines = [f"create {table} {json.dumps(body, separators=(',', ':'))}" for table, _, body in self.made]
        previous = None
        for name in self.policies():
            lines.append(f"move {name} top" if previous is None else f"move {name} after {previous}")
            previous = name
        return lines

    def precheck(self, state: str) -> list[str]:
        return [f"{table} {name} already exists (left by another run?)"
                for table, name, _ in self.made if name in by_name(state, table)]

    def inverse(self, state: str) -> list[str]:
        lines = []
        for table in DELETE_ORDER:
            existing = by_name(state, table)
            for made_table, name, _ in reversed(self.made):
                if made_table == table and name not in existing:
                    lines.append(f"delete {table} {name}")
        return lines

    def verify(self, state: str) -> list[str]:
        problems = []
        for table, name, body in self.made:
            found = by_name(state, table).get(name)
            if found is None:
                problems.append(f"{table} {name} missing")
                continue
            for key, value in body.items():
                if key in ("name", "subnet") or _same(found.get(key), value):
                    continue
                problems.append(f"{table} {name}: {key} is {found.get(key)!r}, not {value!r}")
            if table == ADDRESS and not _same_subnet(found.get("subnet"), body["subnet"]):
                problems.append(f"{table} {name}: subnet is {found.get('subnet')!r}")
        return problems + self._order(state)

    def _order(self, state: str) -> list[str]:
        policies = table_in(state, POLICY)
        seq = {str(p.get("name")): int(p.get("seq", 0)) for p in policies}
        ours = self.policies()
        problems = []
        for name in ours:
            found = next((p for p in policies if p.get("name") == name), None)
            if found is not None and found.get("status") != "enable":
                problems.append(f"policy {name} is not enabled")
        if not all(n in seq for n in ours):
            return problems
        mine = [seq[n] for n in ours]
        if mine != sorted(mine):
            problems.append(f"policies {', '.join(ours)} are not in order")
        lowest_allow = min((int(p.get("seq", 0)) for p in policies
                            if p.get("action") == "accept" and p.get("name") not in ours), default=None)
        for name in ours:
            if lowest_allow is not None and seq[name] > lowest_allow:
                problems.append(f"policy {name} is at position {seq[name]}, below an allow policy "
                                f"at position {lowest_allow}")
        return problems


def _same(found: Any, sent: Any) -> bool:
    if isinstance(sent, list):
        names = [m.get("name") for m in found] if isinstance(found, list) else None
        return names == [m["name"] for m in sent]
    return bool(found == sent)


def _same_subnet(found: Any, sent: str) -> bool:
    if not isinstance(found, str) or len(found.split()) != 2:
        return False
    addr, mask = found.split()
    return ipaddress.ip_network(f"{addr}/{mask}", strict=False) == ipaddress.ip_network(sent)
