"""A simulated nftables: ruleset model, nft command line, printer and packet evaluator.

Public API::

    run_nft(ruleset, argv, stdin=..., read_file=...) -> NftResult   # ``nft ARGV``
    evaluate(ruleset, hook, packet) -> Decision                     # what a packet meets
    ruleset_text(ruleset) / ruleset_json(ruleset)                   # ``nft list ruleset``
    load_ruleset(text) -> Ruleset                                   # ``nft -f`` on empty
    ruleset_to_dict(ruleset) / ruleset_from_dict(data)              # persistence

Fidelity target: nftables 1.0.6 (Debian 12), checked byte for byte against real nft by
``tests/lab/test_nft_fidelity.py`` (root). Known differences:

- an input with several errors: real nft reports each, the simulator the first only;
- table handles: the kernel's counter is per network namespace and survives
  ``flush ruleset``; the simulator's starts at 1 for each fresh device and a failed
  transaction allocates nothing;
- the "did you mean table …?" hint may name another candidate than nft when several
  names are equally close;
- supported statements: ``ip|ip6 saddr|daddr|protocol|nexthdr``, ``tcp|udp|th
  sport|dport``, ``meta l4proto|iifname|oifname``, ``iifname``/``oifname``, ``ct state``,
  ``counter``, ``log [prefix]``, ``accept|drop|reject [with …]|jump|goto|return|continue``,
  ``comment``; named sets of ``ipv4_addr``, ``ipv6_addr``, ``inet_service``,
  ``inet_proto``, ``ifname``. Anything else is a syntax error.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from isolate.errors import LabError
from isolate.lab.nft.cli import NftResult, run_nft
from isolate.lab.nft.evaluate import Decision, Packet, evaluate
from isolate.lab.nft.model import Ruleset
from isolate.lab.nft.render import Style, ruleset_json, ruleset_text

__all__ = [
    "Decision",
    "NftResult",
    "Packet",
    "Ruleset",
    "Style",
    "evaluate",
    "load_ruleset",
    "ruleset_from_dict",
    "ruleset_json",
    "ruleset_text",
    "ruleset_to_dict",
    "run_nft",
]


def load_ruleset(text: str, *, origin: str = "ruleset") -> Ruleset:
    """Parse an nft script into a fresh ruleset; LabError with nft's first error line."""
    result = run_nft(Ruleset(), ["-f", "-"], stdin=text, read_file=lambda _: None)
    if result.exit_status != 0:
        first = result.stderr.splitlines()[0] if result.stderr else "error"
        raise LabError(f"{origin}: {first}")
    return result.ruleset


def ruleset_to_dict(ruleset: Ruleset) -> dict[str, Any]:
    handles = [
        {
            "handle": t.handle,
            "next": t.next_handle,
            "chains": {c.name: [c.handle, [r.handle for r in c.rules]] for c in t.chains.values()},
            "sets": {s.name: s.handle for s in t.sets.values()},
        }
        for t in ruleset.tables
    ]
    return {"text": ruleset_text(ruleset), "handles": handles, "next_table": ruleset.next_table_handle}


def ruleset_from_dict(data: dict[str, Any]) -> Ruleset:
    ruleset = load_ruleset(str(data.get("text", "")), origin="snapshot")
    for table, saved in zip(ruleset.tables, data.get("handles", []), strict=False):
        table.handle, table.next_handle = int(saved["handle"]), int(saved["next"])
        for chain in table.chains.values():
            chain_handle, rule_handles = saved["chains"].get(chain.name, [chain.handle, []])
            chain.handle = int(chain_handle)
            chain.rules = [
                replace(rule, handle=int(h)) for rule, h in zip(chain.rules, rule_handles, strict=False)
            ]
        for named in table.sets.values():
            named.handle = int(saved["sets"].get(named.name, named.handle))
    ruleset.next_table_handle = int(data.get("next_table", len(ruleset.tables) + 1))
    return ruleset
