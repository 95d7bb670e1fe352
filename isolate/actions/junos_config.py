"""Junos configuration as isolate reads it: the captured ``show configuration`` text turned
into ``set`` lines (``show configuration | display set``), and the generic inverse.

Junos prints one statement per line (``name {``, ``statement;``, ``members [ a b ];``,
``}``), so the text flattens to set lines without knowing the schema. Every Junos action
sends ``set``/``delete`` lines (``load-configuration action="set"``), and its inverse for
each hierarchy it touches is ``delete PATH`` followed by the lines the captured state had
under ``PATH`` (nothing when it had none): the device comes back to exactly what was read.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Sequence

from isolate.errors import PlanError
from isolate.values import IPNetwork

_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|\[|\]|[{};]|[^\s{};\[\]"]+')


def set_lines(state: str) -> list[str]:
    """The ``set`` lines of a ``show configuration`` text (comment lines dropped)."""
    out: list[str] = []
    stack: list[list[str]] = []
    words: list[str] = []
    bracket: list[str] | None = None
    body = re.sub(r"/\*.*?\*/", "", state, flags=re.S)
    for raw in body.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        for token in _TOKEN.findall(line):
            if bracket is not None:
                if token == "]":
                    out += [_join(stack, [*words, value]) for value in bracket]
                    bracket, words = None, []
                else:
                    bracket.append(token)
            elif token == "[":
                bracket = []
            elif token == "{":
                stack.append(_strip(words))
                words = []
            elif token == ";":
                if words:
                    out.append(_join(stack, words))
                words = []
            elif token == "}":
                if stack:
                    stack.pop()
            else:
                words.append(token)
    return out


def _strip(words: list[str]) -> list[str]:
    return [w for w in words if w not in ("inactive:", "replace:", "protect:")]


def _join(stack: list[list[str]], words: list[str]) -> str:
    return "set " + " ".join([w for part in stack for w in part] + _strip(words))


def under(lines: Iterable[str], path: str) -> list[str]:
    """The set lines at or below ``path`` (``interfaces irb unit 10``), in order."""
    head = f"set {path}"
    return [line for line in lines if line == head or line.startswith(head + " ")]


def values(lines: Iterable[str], path: str) -> list[str]:
    """The values of the leaf or leaf-list at ``path`` (the word after it on each line)."""
    head = f"set {path} "
    return [line[len(head):].split(" ", 1)[0] for line in lines if line.startswith(head)]


def restore(lines: Sequence[str], paths: Iterable[str]) -> list[str]:
    """The inverse for ``paths``: delete each, then set again what the capture had under it."""
    out: list[str] = []
    for path in paths:
        out.append(f"delete {path}")
        out += under(lines, path)
    return out


def vlan_names(lines: Iterable[str]) -> dict[str, int]:
    """``vlans NAME vlan-id N`` → {NAME: N}."""
    found: dict[str, int] = {}
    for line in lines:
        words = line.split()
        if len(words) == 5 and words[1] == "vlans" and words[3] == "vlan-id" and words[4].isdigit():
            found[words[2]] = int(words[4])
    return found


def l3_interface(lines: Sequence[str], vlan: str) -> str | None:
    found = values(lines, f"vlans {vlan} l3-interface")
    return found[0] if found else None


def ipv4(prefix: IPNetwork) -> str:
    if not isinstance(prefix, ipaddress.IPv4Network):
        raise PlanError(f"{prefix}: Junos filter actions support IPv4 subnets only (family inet)")
    return str(prefix)


def filter_path(family: str, name: str) -> str:
    return f"firewall family {family} filter {name}"


def term_names(lines: Iterable[str], path: str) -> list[str]:
    """The terms of a filter, in their order."""
    head = f"set {path} term "
    names: list[str] = []
    for line in lines:
        if line.startswith(head):
            name = line[len(head):].split(" ", 1)[0]
            if name not in names:
                names.append(name)
    return names
