"""Load an inventory: one YAML file or a directory of them, plus an Ansible include.

``load_inventory(path)`` parses every file (keeping file:line of each field),
merges them (lists concatenated, mappings merged, a scalar given twice with two
values is an error), validates the models, then checks cross-references. Every
problem of every file is reported at once, in file order, as an
:class:`~isolate.errors.InventoryError`.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Final

from pydantic import ValidationError

from isolate.errors import InventoryError
from isolate.files import UnreadableFile, read_input, user_path
from isolate.inventory.ansible import read_ansible
from isolate.inventory.checks import cross_check
from isolate.inventory.models import Inventory
from isolate.yamlsrc import (
    LineMap,
    Loc,
    Problem,
    display_path,
    parse_yaml,
    raise_problems,
    validation_problems,
)

_RESERVED: Final = ("source_path", "sha256")
_SUFFIXES: Final = (".yml", ".yaml")


class _Merged:
    """Data of several files merged into one mapping, with a shared line map."""

    def __init__(self) -> None:
        self.data: dict[Any, Any] = {}
        self.lines = LineMap()
        self.problems: list[Problem] = []
        self.files: list[tuple[str, bytes]] = []
        self._rules: dict[Loc, Loc] = {}

    def add(self, data: dict[Any, Any], lines: LineMap) -> None:
        if not self.data:  # the first file: its data and lines are taken as they are
            self.data = data
            for loc, (index, line) in lines.lines.items():
                self.lines.lines[loc] = (self.lines.file_index(lines.files[index]), line)
            return
        self._rules = {}
        self._merge(self.data, data, (), lines)
        self._apply_rules(lines)

    def _apply_rules(self, other: LineMap) -> None:
        """Copy ``other``'s lines to where their data now lives (one pass, O(depth) each)."""
        for loc, (index, line) in other.lines.items():
            for end in range(len(loc), 0, -1):
                dst = self._rules.get(loc[:end])
                if dst is not None:
                    mine = self.lines.file_index(other.files[index])
                    self.lines.lines[dst + loc[end:]] = (mine, line)
                    break

    def _merge(self, into: dict[Any, Any], new: dict[Any, Any], loc: Loc, other: LineMap) -> None:
        for key, value in new.items():
            here = (*loc, key)
            if key not in into:
                into[key] = value
                self._rules[here] = here
                continue
            old = into[key]
            if isinstance(old, list) and isinstance(value, list):
                for i in range(len(value)):
                    self._rules[(*here, i)] = (*here, len(old) + i)
                into[key] = old + value
            elif isinstance(old, dict) and isinstance(value, dict) and here != ("credentials",):
                self._merge(old, value, here, other)
            elif isinstance(old, dict) and isinstance(value, dict):
                self._merge_unique(old, value, here, other)
            elif old != value:
                self.problems.append(other.problem(here, f"conflicts with {self._where(here)}"))

    def _merge_unique(self, into: dict[Any, Any], new: dict[Any, Any], loc: Loc, other: LineMap) -> None:
        for key, value in new.items():
            here = (*loc, key)
            if key in into:
                self.problems.append(other.problem(here, f"duplicate, first at {self._where(here)}"))
            else:
                into[key] = value
                self._rules[here] = here

    def _where(self, loc: Loc) -> str:
        index, line = self.lines.locate(loc)
        return f"{self.lines.files[index]}:{line}"


def inventory_files(path: Path) -> list[Path]:
    """The YAML files an inventory path stands for, in load order. In a directory,
    ``secrets.yml``/``secrets.yaml`` (credential files) and dotfiles are skipped."""
    if not path.is_dir():
        return [path]
    return sorted(
        p
        for p in path.iterdir()
        if p.suffix in _SUFFIXES and p.is_file() and not p.name.startswith(".") and p.stem != "secrets"
    )


def _read(path: Path, merged: _Merged) -> None:
    file = display_path(path)
    try:
        raw = read_input(path)
    except UnreadableFile as exc:
        raise InventoryError(f"{file}: cannot read: {exc}") from None
    merged.files.append((file, raw))
    data, lines, problems = parse_yaml(raw, file)
    merged.problems.extend(problems)
    if data is None:
        return
    if not isinstance(data, dict):
        merged.problems.append(lines.problem((), "the top level must be a mapping"))
        return
    for key in _RESERVED:
        if key in data:
            merged.problems.append(lines.problem((key,), "unknown key"))
            data.pop(key)
    include = data.get("ansible_inventory")
    merged.add(data, lines)
    if isinstance(include, str) and include:
        _include_ansible(path.parent, include, lines, merged)


def _include_ansible(base: Path, include: str, lines: LineMap, merged: _Merged) -> None:
    target = user_path(include, InventoryError)
    target = target if target.is_absolute() else base / target
    if not target.is_file():
        message = f"no such file: {display_path(target)}"
        merged.problems.append(lines.problem(("ansible_inventory",), message))
        return
    groups = merged.data.get("groups")
    declared = frozenset(
        str(g.get("name")) for g in (groups if isinstance(groups, list) else []) if isinstance(g, dict)
    )
    found = read_ansible(target, declared_groups=declared)
    merged.files.append((display_path(target), found.raw))
    merged.problems.extend(found.problems)
    section = {"devices": found.devices, "groups": found.groups, "credentials": found.credentials}
    merged.add({k: v for k, v in section.items() if v}, found.lines)


def content_sha256(files: list[tuple[str, bytes]]) -> str:
    """One file: the SHA-256 of its bytes. Several: SHA-256 over each file's
    name, length and bytes, in load order."""
    if len(files) == 1:
        return hashlib.sha256(files[0][1]).hexdigest()
    digest = hashlib.sha256()
    for name, raw in files:
        digest.update(f"{Path(name).name}\0{len(raw)}\0".encode())
        digest.update(raw)
    return digest.hexdigest()


def load_inventory(path: str | Path) -> Inventory:
    """Load, merge and validate an inventory file or directory."""
    return load_inventory_with_lines(path)[0]


def load_inventory_with_lines(path: str | Path) -> tuple[Inventory, LineMap]:
    """``load_inventory``, and where each value came from (file and line of every field,
    the Ansible file's for imported devices)."""
    root = user_path(path, InventoryError)
    shown = display_path(path)
    if not root.exists() and not root.is_symlink():  # a symlink loop: the read says so
        raise InventoryError(f"{shown}: no such file or directory")
    files = inventory_files(root)
    if not files:
        raise InventoryError(f"{shown}: no *.yml or *.yaml files")
    merged = _Merged()
    for file in files:
        _read(file, merged)
    order = [name for name, _ in merged.files]
    raise_problems(InventoryError, merged.problems, order)
    if not merged.data:
        raise InventoryError(f"{shown}: the inventory is empty")
    try:
        inventory = Inventory.model_validate(merged.data)
    except ValidationError as exc:
        found = validation_problems(exc, merged.data, merged.lines, Inventory)
        raise_problems(InventoryError, found, order)
        raise AssertionError("unreachable") from exc
    raise_problems(InventoryError, cross_check(inventory, merged.lines), order)
    done = inventory.model_copy(update={"source_path": str(root), "sha256": content_sha256(merged.files)})
    return done, merged.lines


def base_dir(inventory: Inventory) -> Path:
    """The directory relative paths in the inventory are relative to."""
    if inventory.source_path is None:
        return Path.cwd()
    source = Path(inventory.source_path)
    return source if source.is_dir() else source.parent


def lock_dir_path(inventory: Inventory) -> Path | None:
    """The inventory's ``lock_dir`` (the site's shared device locks), resolved like known_hosts."""
    if inventory.lock_dir is None:
        return None
    path = user_path(inventory.lock_dir, InventoryError)
    return path if path.is_absolute() else base_dir(inventory) / path


def known_hosts_path(inventory: Inventory) -> Path | None:
    """The inventory's known_hosts file, resolved (``~`` expanded)."""
    if inventory.known_hosts is None:
        return None
    path = user_path(inventory.known_hosts, InventoryError)
    return path if path.is_absolute() else base_dir(inventory) / path
