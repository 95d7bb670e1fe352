"""Shared nftables logic: each step owns one table ``inet isolate_<step>`` with one
``forward`` base chain, so every step's inverse is independent of the others.

Forward script: ``add table`` / ``add chain … { type filter hook forward priority -10;
policy accept; }`` / ``add rule …`` lines, applied atomically with ``nft -f -``.
Inverse: ``add table`` + ``delete table`` (idempotent: succeeds whether or not the table
is there), then, only if the table existed in the captured state, that table exactly
as nft listed it (nft reads its own listing back).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from isolate.actions.base import table_name
from isolate.actions.nft_text import parse_ruleset, rule_problems
from isolate.values import IPNetwork

CHAIN = "forward"
CHAIN_SPEC = "{ type filter hook forward priority -10; policy accept; }"


def family_sets(prefixes: Sequence[IPNetwork]) -> list[tuple[str, str]]:
    """``[("ip", "{ a, b }"), ("ip6", "{ c }")]`` for the families present, sorted."""
    v4 = sorted(p for p in prefixes if isinstance(p, ipaddress.IPv4Network))
    v6 = sorted(p for p in prefixes if isinstance(p, ipaddress.IPv6Network))
    out: list[tuple[str, str]] = []
    for family, group in (("ip", v4), ("ip6", v6)):
        if group:
            out.append((family, "{ " + ", ".join(str(p) for p in group) + " }"))
    return out


def render_table(step: str, rules: Sequence[str]) -> list[str]:
    table = table_name(step)
    return [
        f"add table inet {table}",
        f"add chain inet {table} {CHAIN} {CHAIN_SPEC}",
        *(f"add rule inet {table} {CHAIN} {rule}" for rule in rules),
    ]


def precheck_table(step: str, state: str) -> list[str]:
    table = table_name(step)
    if ("inet", table) in parse_ruleset(state):
        return [f"nft table inet {table} already exists (left by another run?)"]
    return []


def inverse_table(step: str, state: str) -> list[str]:
    table = table_name(step)
    commands = [f"add table inet {table}", f"delete table inet {table}"]
    previous = parse_ruleset(state).get(("inet", table))
    if previous is not None:
        commands += previous.lines
    return commands


def verify_table(step: str, rules: Sequence[str], state: str) -> list[str]:
    table = parse_ruleset(state).get(("inet", table_name(step)))
    if table is None:
        return [f"nft table inet {table_name(step)} missing"]
    return rule_problems(table, CHAIN, list(rules))
