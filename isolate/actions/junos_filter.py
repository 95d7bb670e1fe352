"""Shared Junos logic for actions that own one ``family inet`` firewall filter bound to the
segments' IRB units (``interfaces irb unit N family inet filter input|output NAME``).

block-smb binds its filter ``input`` on each selected segment's IRB (what the segment's
hosts send into the router), segment-acl binds its own ``output`` (what the router sends
into the segment): one input and one output filter per unit, so the two coexist, as the IOS
ACLs do on an SVI. isolate binds ``irb.N`` for VLAN N: the pre-check refuses a VLAN whose
``l3-interface`` is another unit.
"""

from __future__ import annotations

from collections.abc import Sequence

from isolate.actions.base import Svi
from isolate.actions.junos_config import (
    filter_path,
    l3_interface,
    restore,
    set_lines,
    term_names,
    under,
    values,
    vlan_names,
)

Term = tuple[str, list[str]]  # (term name, its lines below the term: "from protocol tcp", "then discard")


def binding(svi: Svi, direction: str) -> str:
    return f"interfaces irb unit {svi.vlan} family inet filter {direction}"


def render_filter(name: str, terms: Sequence[Term], svis: Sequence[Svi], direction: str) -> list[str]:
    path = filter_path("inet", name)
    lines = [f"set {path} term {term} {body}" for term, bodies in terms for body in bodies]
    lines += [f"set {binding(svi, direction)} {name}" for svi in svis]
    return lines


def precheck_filter(name: str, svis: Sequence[Svi], direction: str, state: str) -> list[str]:
    lines = set_lines(state)
    problems: list[str] = []
    if under(lines, filter_path("inet", name)):
        problems.append(f"firewall filter {name} already exists (left by another run?)")
    by_id = {vlan_id: vlan for vlan, vlan_id in vlan_names(lines).items()}
    for svi in svis:
        vlan = by_id.get(svi.vlan)
        if vlan is None:
            problems.append(f"VLAN {svi.vlan} (segment {svi.segment}) not found under vlans: inventory drift")
            continue
        l3 = l3_interface(lines, vlan)
        if l3 != f"irb.{svi.vlan}":
            shown = f"l3-interface {l3}" if l3 else "no l3-interface"
            problems.append(f"VLAN {svi.vlan} ({vlan}) has {shown}; isolate binds irb.{svi.vlan} "
                            "(unit = VLAN id)")
            continue
        if not under(lines, f"interfaces irb unit {svi.vlan} family inet"):
            problems.append(f"irb.{svi.vlan} (segment {svi.segment}) has no family inet: not routed here")
            continue
        bound = values(lines, binding(svi, direction))
        if bound and bound != [name]:
            problems.append(f"irb.{svi.vlan} already has 'filter {direction} {bound[0]}'; "
                            "binding ours would replace it")
    return problems


def inverse_filter(name: str, svis: Sequence[Svi], direction: str, state: str) -> list[str]:
    """Each binding and the filter back to what the capture had (absent: deleted)."""
    lines = set_lines(state)
    return restore(lines, [*(binding(svi, direction) for svi in svis), filter_path("inet", name)])


def verify_filter(name: str, terms: Sequence[Term], svis: Sequence[Svi], direction: str,
                  state: str) -> list[str]:
    lines = set_lines(state)
    path = filter_path("inet", name)
    problems: list[str] = []
    wanted = [line for line in render_filter(name, terms, (), direction)]
    found = under(lines, path)
    if not found:
        problems.append(f"firewall filter {name} missing")
    elif sorted(found) != sorted(wanted) or term_names(found, path) != [t for t, _ in terms]:
        problems.append(f"firewall filter {name} differs from the {len(terms)} terms pushed")
    for svi in svis:
        if values(lines, binding(svi, direction)) != [name]:
            problems.append(f"irb.{svi.vlan} lacks 'family inet filter {direction} {name}'")
    return problems
