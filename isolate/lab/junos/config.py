"""The simulated Junos configuration: one tree, read and written in Junos's three formats.

A ``Node`` is one statement: a container (``interfaces``, ``unit 0``, ``family inet``), a
leaf (``vlan-id 10;``), a leaf-list (``members [ v10 v20 ];``) or a flag (``discard;``).
The formats clients use all build the same tree:

- text (curly braces, ``show configuration``), parsed line by line as Junos prints it;
- set commands (``set …`` / ``delete …``, ``show configuration | display set``);
- XML (``<configuration>``, ``<get-configuration/>``; ``delete="delete"`` removes).

Junos knows its schema; the lab knows the part of it isolate and the judges use, as a
few keyword tables (``NAMED``: the next word names an entry, ``unit 0``; ``LISTS``: a
container whose children are entries named by one word, ``interfaces { ge-0/0/1 {…} }``;
``LEAF_LISTS``; ``CONTAINERS``) and falls back to the shape of the statement elsewhere:
a last word is a flag, ``keyword value`` a leaf, a longer statement a container.

Containers created only as the path of another statement are not shown once empty
(Junos drops them); one set or loaded on its own (``family ethernet-switching;``) is.
Children keep their order of creation, so a statement deleted and set again in place
(``vlan members``) keeps its position.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from lxml import etree

Kind = Literal["container", "leaf", "leaflist", "flag"]

# keyword -> XML element name of its entries (None: each entry is a <keyword><name>… element)
LISTS: dict[str, str | None] = {
    "interfaces": "interface",
    "vlans": "vlan",
    "source-address": None,
    "destination-address": None,
}
NAMED = frozenset({"unit", "term", "route", "family", "user", "policy-statement", "interface-range"})
LEAF_LISTS = frozenset({"members", "destination-port", "source-port", "port", "protocol", "next-hop"})
CONTAINERS = frozenset({
    "system", "services", "ssh", "netconf", "login", "then", "from", "vlan", "firewall",
    "routing-options", "static", "protocols", "filter", "root-authentication", "syslog",
    "ethernet-switching-options", "lldp", "rstp",
})
ONE_LINE = frozenset({"route"})  # entries Junos prints on one line: route 10.0.0.0/8 discard;
# leaves whose XML wraps the value in one more element: filter { input F; } is
# <filter><input><filter-name>F</filter-name></input></filter>
WRAPPED = {("filter", "input"): "filter-name", ("filter", "output"): "filter-name"}


class ConfigSyntaxError(Exception):
    """A statement the lab cannot place (Junos: ``syntax error``)."""

    def __init__(self, message: str, statement: str = "") -> None:
        super().__init__(message)
        self.statement = statement


@dataclass
class Node:
    key: str
    kind: Kind = "container"
    values: list[str] = field(default_factory=list)
    children: dict[str, Node] = field(default_factory=dict)
    presence: bool = False

    @property
    def word(self) -> str:
        return self.key.split(" ", 1)[0]

    def visible(self) -> bool:
        if self.kind != "container":
            return True
        return self.presence or any(c.visible() for c in self.children.values())

    def child(self, key: str, kind: Kind = "container") -> Node:
        found = self.children.get(key)
        if found is None or found.kind != kind:
            found = Node(key, kind)
            self.children[key] = found
        return found

    def find(self, *keys: str) -> Node | None:
        node: Node | None = self
        for key in keys:
            node = node.children.get(key) if node is not None else None
        return node

    def copy(self) -> Node:
        return Node(self.key, self.kind, list(self.values),
                    {k: c.copy() for k, c in self.children.items()}, self.presence)

    def to_json(self) -> dict[str, Any]:
        return {"k": self.key, "t": self.kind, "v": self.values, "p": self.presence,
                "c": [c.to_json() for c in self.children.values()]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Node:
        node = cls(str(data["k"]), data["t"], [str(v) for v in data["v"]], {}, bool(data["p"]))
        for child in data["c"]:
            made = cls.from_json(child)
            node.children[made.key] = made
        return node


def empty() -> Node:
    return Node("configuration", presence=True)


# ------------------------------------------------------------------ placing statements


def _named(word: str, parent: Node, path: tuple[str, ...]) -> bool:
    """Whether ``word`` is followed by the name of an entry (``unit 0``, ``filter F``)."""
    if word in NAMED:
        return True
    if word == "address":
        return parent.key != "from"
    return word == "filter" and parent.word == "family" and path[:1] == ("firewall",)


def _step(parent: Node, path: tuple[str, ...], words: list[str], i: int, *, opening: bool
          ) -> tuple[Node, int]:
    """Place the statement at ``words[i]`` under ``parent`` (reached by ``path``); return
    the node it lands on and the next index."""
    word = words[i]
    rest = len(words) - i - 1
    if parent.key in LISTS:
        return parent.child(word), i + 1
    if _named(word, parent, path):
        if rest < 1:
            raise ConfigSyntaxError(f"missing name after '{word}'", " ".join(words))
        return parent.child(f"{word} {words[i + 1]}"), i + 2
    if word in LEAF_LISTS and rest >= 1 and not opening:
        node = parent.child(word, "leaflist")
        for value in words[i + 1:]:
            if value not in node.values:
                node.values.append(value)
        return node, len(words)
    if rest == 0:
        existing = parent.children.get(word)
        if opening or word in CONTAINERS or word in LISTS or (
                existing is not None and existing.kind == "container"):
            return parent.child(word), i + 1
        return parent.child(word, "flag"), i + 1
    if rest == 1 and not opening and word not in CONTAINERS and word not in LISTS:
        node = parent.child(word, "leaf")
        node.values = [words[i + 1]]
        return node, len(words)
    return parent.child(word), i + 1


def place(root: Node, words: list[str], *, opening: bool = False,
          at: tuple[str, ...] = ()) -> Node:
    """Create the statement ``words`` under ``root`` (``set``); return its last node.
    ``opening``: the statement opens a block (``… {``), so its last word is a container.
    ``at``: the keys from the configuration's top to ``root`` (the schema is contextual)."""
    return place_at(root, words, opening=opening, at=at)[0]


def place_at(root: Node, words: list[str], *, opening: bool = False,
             at: tuple[str, ...] = ()) -> tuple[Node, tuple[str, ...]]:
    """``place``, also returning the keys from the top to the node placed."""
    if not words:
        raise ConfigSyntaxError("empty statement")
    node, i, path = root, 0, at
    while i < len(words):
        node, i = _step(node, path, words, i, opening=opening)
        path = (*path, node.key)
    if not opening:
        node.presence = True
    return node, path


def locate(root: Node, words: list[str]) -> tuple[Node, Node] | None:
    """The (parent, node) a statement path names, or None when it is not configured."""
    parent, node = root, root
    i = 0
    while i < len(words):
        key = _key_at(node, words, i)
        if key is None:
            return None
        nxt = node.children.get(key)
        if nxt is None:
            leaf = node.children.get(words[i])
            if leaf is not None and leaf.kind in ("leaf", "leaflist") and i + 1 < len(words):
                return (node, leaf) if words[i + 1] in leaf.values else None
            return None
        parent, node = node, nxt
        i += len(key.split(" "))
    return parent, node


def _key_at(node: Node, words: list[str], i: int) -> str | None:
    word = words[i]
    if node.key in LISTS:
        return word
    if f"{word} {words[i + 1]}" in node.children if i + 1 < len(words) else False:
        return f"{word} {words[i + 1]}"
    return word


def delete(root: Node, words: list[str]) -> bool:
    """``delete`` a statement (or one value of a leaf-list); False when it was not there."""
    found = locate(root, words)
    if found is None:
        return False
    parent, node = found
    if node.kind == "leaflist" and words[-1] in node.values and words[-1] != node.key:
        node.values.remove(words[-1])
        if not node.values:
            del parent.children[node.key]
        return True
    del parent.children[node.key]
    return True


# ------------------------------------------------------------------ set commands


def split_words(line: str) -> list[str]:
    try:
        return shlex.split(line)
    except ValueError as err:
        raise ConfigSyntaxError(f"syntax error: {err}", line) from None


def apply_set(root: Node, text: str) -> list[str]:
    """Apply ``set``/``delete`` lines; returns warnings (``statement not found``)."""
    warnings: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        words = split_words(line)
        verb, path = words[0], words[1:]
        if verb == "set" and path:
            place(root, path)
        elif verb == "delete" and path:
            if not delete(root, path):
                warnings.append(f"statement not found: {' '.join(path)}")
        elif verb == "delete":
            root.children.clear()
        else:
            raise ConfigSyntaxError("syntax error", line)
    return warnings


def set_lines(root: Node) -> list[str]:
    """``show configuration | display set``."""
    out: list[str] = []
    _set_lines(root, [], out)
    return out


def _set_lines(node: Node, path: list[str], out: list[str]) -> None:
    for child in node.children.values():
        words = [*path, *_quoted(child.key.split(" "))]
        if child.kind == "leaf":
            out.append("set " + " ".join([*words, *_quoted(child.values)]))
        elif child.kind == "leaflist":
            out += ["set " + " ".join([*words, *_quoted([v])]) for v in child.values]
        elif child.kind == "flag":
            out.append("set " + " ".join(words))
        elif child.visible():
            if child.presence and not any(c.visible() for c in child.children.values()):
                out.append("set " + " ".join(words))
            _set_lines(child, words, out)


# ------------------------------------------------------------------ text


def _quoted(values: list[str]) -> list[str]:
    return [f'"{v}"' if (not v or re.search(r"[\s;{}\[\]#\"]", v)) else v for v in values]


def render_text(root: Node) -> str:
    out: list[str] = []
    _render(root, 0, out)
    return "\n".join(out) + ("\n" if out else "")


def _render(node: Node, depth: int, out: list[str]) -> None:
    pad = "    " * depth
    for child in node.children.values():
        key = " ".join(_quoted(child.key.split(" ")))
        if child.kind == "leaf":
            out.append(f"{pad}{key} {_quoted(child.values)[0]};")
        elif child.kind == "leaflist":
            values = _quoted(child.values)
            out.append(f"{pad}{key} {values[0]};" if len(values) == 1
                       else f"{pad}{key} [ {' '.join(values)} ];")
        elif child.kind == "flag":
            out.append(f"{pad}{key};")
        elif child.visible():
            shown = [c for c in child.children.values() if c.visible()]
            if not shown:
                out.append(f"{pad}{key};")
            elif child.word in ONE_LINE and len(shown) == 1 and shown[0].kind != "container":
                inner: list[str] = []
                _render(Node("x", children={shown[0].key: shown[0]}), 0, inner)
                out.append(f"{pad}{key} {inner[0]}")
            else:
                out.append(f"{pad}{key} {{")
                _render(child, depth + 1, out)
                out.append(f"{pad}}}")


_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|\[|\]|[{};]|[^\s{};\[\]"]+')


def parse_text(text: str, root: Node | None = None) -> Node:
    """Load curly-brace configuration text (merged into ``root``)."""
    root = root if root is not None else empty()
    stack: list[tuple[Node, tuple[str, ...]]] = [(root, ())]
    words: list[str] = []
    bracket: list[str] | None = None
    body = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    for raw in body.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        for token in _TOKEN.findall(line):
            if bracket is not None:
                if token == "]":
                    words += bracket
                    bracket = None
                else:
                    bracket.append(_unquote(token))
            elif token == "[":
                bracket = []
            elif token == "{":
                if not words:
                    raise ConfigSyntaxError("syntax error: '{' without a statement", line)
                node, at = stack[-1]
                stack.append(place_at(node, _strip_tags(words), opening=True, at=at))
                words = []
            elif token == ";":
                if words:
                    place(stack[-1][0], _strip_tags(words), at=stack[-1][1])
                words = []
            elif token == "}":
                if words or len(stack) == 1:
                    raise ConfigSyntaxError("syntax error: unbalanced '}'", line)
                stack.pop()
            else:
                words.append(_unquote(token))
    if words or len(stack) != 1 or bracket is not None:
        raise ConfigSyntaxError("syntax error: statement not terminated")
    return root


def _strip_tags(words: list[str]) -> list[str]:
    return [w for w in words if w not in ("replace:", "inactive:", "protect:")]


def _unquote(token: str) -> str:
    return token[1:-1].replace('\\"', '"') if token.startswith('"') else token


# ------------------------------------------------------------------ XML


def to_xml(root: Node) -> etree._Element:
    elem = etree.Element("configuration")
    _to_xml(root, elem)
    return elem


def _to_xml(node: Node, elem: etree._Element) -> None:
    families: etree._Element | None = None
    for child in node.children.values():
        if not child.visible():
            continue
        if node.key in LISTS:
            entry = etree.SubElement(elem, LISTS[node.key] or node.key)
            etree.SubElement(entry, "name").text = child.key
            _to_xml(child, entry)
        elif child.word == "family" and " " in child.key:
            if families is None:
                families = etree.SubElement(elem, "family")
            _to_xml(child, etree.SubElement(families, child.key.split(" ", 1)[1]))
        elif child.key in LISTS and LISTS[child.key] is None:
            for entry_node in child.children.values():
                entry = etree.SubElement(elem, child.key)
                etree.SubElement(entry, "name").text = entry_node.key
                _to_xml(entry_node, entry)
        elif " " in child.key:
            word, name = child.key.split(" ", 1)
            entry = etree.SubElement(elem, word)
            etree.SubElement(entry, "name").text = name
            _to_xml(child, entry)
        elif child.kind == "leaf" and (node.key, child.key) in WRAPPED:
            wrapper = etree.SubElement(elem, child.key)
            etree.SubElement(wrapper, WRAPPED[(node.key, child.key)]).text = child.values[0]
        elif child.kind == "leaf":
            etree.SubElement(elem, child.key).text = child.values[0]
        elif child.kind == "leaflist":
            for value in child.values:
                etree.SubElement(elem, child.key).text = value
        else:
            _to_xml(child, etree.SubElement(elem, child.key))


def merge_xml(root: Node, elem: etree._Element) -> None:
    """Load ``<configuration>`` XML into ``root`` (merge; ``delete="delete"`` removes)."""
    _merge_xml(root, elem, [])


def _local(tag: Any) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _merge_xml(root: Node, elem: etree._Element, path: list[str]) -> None:
    for sub in elem:
        tag = _local(sub.tag)
        if not tag:
            continue
        name = sub.findtext("{*}name") if sub.find("{*}name") is not None else sub.findtext("name")
        if tag == "family" and name is None:
            for fam in sub:
                if _local(fam.tag):
                    _merge_entry(root, fam, [*path, "family", _local(fam.tag)])
            continue
        if name is not None:
            parent_list = path[-1] if path else ""
            words = [*path, name] if parent_list in LISTS and LISTS[parent_list] == tag else \
                [*path, tag, name]
            _merge_entry(root, sub, words)
            continue
        has_children = any(_local(c.tag) for c in sub)
        text = (sub.text or "").strip()
        wrapped = WRAPPED.get((path[-1] if path else "", tag))
        if wrapped is not None and not _deleted(sub):
            value = sub.find(f"{{*}}{wrapped}")
            value = value if value is not None else sub.find(wrapped)
            if value is not None and (value.text or "").strip():
                place(root, [*path, tag, (value.text or "").strip()])
                continue
        if has_children:
            _merge_entry(root, sub, [*path, tag])
        elif _deleted(sub):
            delete(root, [*path, tag])
        elif text:
            place(root, [*path, tag, text])
        else:
            place(root, [*path, tag])


def _merge_entry(root: Node, sub: etree._Element, words: list[str]) -> None:
    if _deleted(sub):
        delete(root, words)
        return
    if sub.get("replace") == "replace":
        delete(root, words)
    kids = [c for c in sub if _local(c.tag) and _local(c.tag) != "name"]
    place(root, words, opening=bool(kids))
    holder = etree.Element("x")
    holder.extend(kids)
    _merge_xml(root, holder, words)


def _deleted(elem: etree._Element) -> bool:
    return bool(elem.get("delete") == "delete" or elem.get("operation") == "delete")


def iter_nodes(node: Node, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Node]]:
    for child in node.children.values():
        here = (*path, child.key)
        yield here, child
        yield from iter_nodes(child, here)


def filtered(root: Node, filt: etree._Element | None) -> Node:
    """The subtree a ``<configuration>`` filter of top-level (and second-level) elements names."""
    if filt is None or not len(filt):
        return root
    out = empty()
    for top in filt:
        tag = _local(top.tag)
        node = root.children.get(tag)
        if node is None:
            continue
        wanted = [_local(c.tag) for c in top if _local(c.tag)]
        if not wanted:
            out.children[tag] = node.copy()
            continue
        keep = Node(node.key, node.kind, list(node.values), {}, node.presence)
        for key, child in node.children.items():
            if child.word in wanted:
                keep.children[key] = child.copy()
        out.children[tag] = keep
    return out
