"""A host's comparable state for host actions, the scripts that read it, and task helpers.

``read_state()`` of the ``ansible`` driver runs ``STATE_SCRIPT`` (``isolate.drivers.host_scripts``)
on the host (one Ansible task) and returns its output, normalised (line endings, trailing
blanks)::

    isolate-host-state 1
    manager sysvinit                      # systemd when /run/systemd/system exists
    service nmbd installed=yes running=no boot=unmanaged
    service smbd installed=yes running=yes boot=unmanaged
    recorded absent                       # or: recorded service smbd … (one line a service)
    nft available
    table inet isolate_host absent        # or: nft -s list table inet isolate_host

``boot`` is ``systemctl is-enabled`` where systemd manages the host, ``unmanaged``
otherwise. ``recorded`` is the file the first ``disable-smb-host`` leaves on the host
(``RECORD_PATH``): the services as they were before it, so that a second disable
cannot make "stopped" the state restore brings back. Pure text; no I/O here.

A command batch for platform ``ansible`` is a list of Ansible tasks, one JSON object a
line (:func:`task_line`); the driver runs them, in order, as one play on the host.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from isolate.actions.nft_text import Table, canonical_rule, parse_ruleset
from isolate.drivers.host_scripts import HOST_TABLE, STATE_HEADER


@dataclass(frozen=True)
class ServiceState:
    name: str
    installed: bool
    running: bool
    boot: str


@dataclass(frozen=True)
class HostState:
    valid: bool
    manager: str
    services: dict[str, ServiceState]
    recorded: dict[str, ServiceState] | None  # None: no record on the host
    nft: bool
    table: Table | None  # isolate's own table, None when absent


def _service(words: list[str]) -> ServiceState:
    fields = dict(w.split("=", 1) for w in words[2:] if "=" in w)
    return ServiceState(
        name=words[1],
        installed=fields.get("installed") == "yes",
        running=fields.get("running") == "yes",
        boot=fields.get("boot", "none"),
    )


def parse_state(text: str) -> HostState:
    lines = text.splitlines()
    services: dict[str, ServiceState] = {}
    recorded: dict[str, ServiceState] | None = None
    manager, nft = "unknown", False
    for line in lines:
        words = line.split()
        if words[:1] == ["manager"] and len(words) == 2:
            manager = words[1]
        elif words[:1] == ["service"] and len(words) >= 2:
            services[words[1]] = _service(words)
        elif words[:2] == ["recorded", "service"] and len(words) >= 3:
            recorded = recorded or {}
            recorded[words[2]] = _service(words[1:])
        elif line == "nft available":
            nft = True
    table = parse_ruleset(text).get(("inet", HOST_TABLE))
    return HostState(bool(lines) and lines[0] == STATE_HEADER, manager, services, recorded, nft, table)


def chain_name(prefix: str, step: str) -> str:
    """A chain a step owns in isolate's host table (``smb_cut_smb``): nft names take no '-'."""
    return f"{prefix}_{step.replace('-', '_')}"


def task_line(task: dict[str, Any]) -> str:
    """One task as one JSON line (sorted keys: deterministic plans)."""
    return json.dumps(task, sort_keys=True, separators=(",", ":"))


def nft_task(name: str, script: list[str]) -> dict[str, Any]:
    """A task applying ``script`` atomically with ``nft -f -`` (argv: no shell)."""
    return {
        "name": name,
        "ansible.builtin.command": {"argv": ["nft", "-f", "-"], "stdin": "\n".join(script) + "\n"},
    }


def remove_chains(state: HostState, chains: list[str]) -> list[str]:
    """nft script undoing a step's chains: the whole table when the captured state had none,
    else only the step's chains that were not there before (idempotent either way)."""
    if state.table is None:
        return [f"add table inet {HOST_TABLE}", f"delete table inet {HOST_TABLE}"]
    script: list[str] = []
    for chain in chains:
        if chain in state.table.chains:
            continue
        script += [
            f"add chain inet {HOST_TABLE} {chain}",
            f"flush chain inet {HOST_TABLE} {chain}",
            f"delete chain inet {HOST_TABLE} {chain}",
        ]
    return script


def state_problems(state: HostState) -> list[str]:
    if not state.valid:
        return ["host state unreadable (no isolate-host-state header)"]
    if not state.nft:
        return ["nft not found on the host (nftables is needed for isolate's host table)"]
    return []


def chain_problems(state: HostState, chain: str, *, hook: str, policy: str, rules: list[str]) -> list[str]:
    """Differences between a chain of isolate's host table and what the step renders."""
    found = state.table.chains.get(chain) if state.table is not None else None
    if found is None:
        return [f"chain {chain} missing in table inet {HOST_TABLE}"]
    spec = " ".join(found.spec)
    problems = []
    if f"hook {hook}" not in spec or f"policy {policy}" not in spec:
        problems.append(f"chain {chain} is not a {hook} chain with policy {policy}")
    if [canonical_rule(r) for r in found.rules] != [canonical_rule(r) for r in rules] or len(
        found.rules
    ) != len(rules):
        problems.append(f"chain {chain}: {len(found.rules)} rule(s) differ from the {len(rules)} expected")
    return problems
