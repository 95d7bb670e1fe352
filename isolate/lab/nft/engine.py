"""Executing parsed commands against a ruleset, as the kernel's nf_tables would.

``execute`` works on a copy and returns it only when every command succeeded:
``nft -f`` is one transaction. Handles are allocated like the kernel does: one
counter for tables, one per table shared by its chains, sets, anonymous sets and rules.
"""

from __future__ import annotations

from isolate.lab.nft.commands import (
    AddChain,
    AddRule,
    AddSet,
    AddTable,
    Command,
    Delete,
    DeleteRule,
    Elements,
    Flush,
    ListCmd,
    Ref,
    ReplaceRule,
)
from isolate.lab.nft.lexer import Token
from isolate.lab.nft.model import (
    Addr,
    AddrRange,
    Chain,
    Element,
    Match,
    NamedSet,
    NumRange,
    Rule,
    Ruleset,
    SetLit,
    Statement,
    Table,
    Verdict,
)
from isolate.lab.nft.values import SET_TYPES, ValueError_, parse_element

NOENT = "No such file or directory"
PROCESS = "Could not process rule: "


class NftExecError(Exception):
    def __init__(self, message: str, token: Token | None) -> None:
        super().__init__(message)
        self.message = message
        self.token = token


def execute(ruleset: Ruleset, commands: list[Command]) -> tuple[Ruleset, list[ListCmd]]:
    """Apply every non-list command to a copy; return it and the list commands, in order."""
    changes = any(not isinstance(command, ListCmd) for command in commands)
    work = ruleset.clone() if changes else ruleset
    listings: list[ListCmd] = []
    for command in commands:
        if isinstance(command, ListCmd):
            listings.append(command)
        else:
            _apply(work, command)
    return work, listings


def _apply(rs: Ruleset, cmd: Command) -> None:
    if isinstance(cmd, AddTable):
        _add_table(rs, cmd)
    elif isinstance(cmd, AddChain):
        _add_chain(rs, cmd)
    elif isinstance(cmd, AddRule):
        _add_rule(rs, cmd)
    elif isinstance(cmd, ReplaceRule):
        _replace_rule(rs, cmd)
    elif isinstance(cmd, DeleteRule):
        chain = chain_of(rs, cmd.ref)
        index = _rule_index(chain, cmd.handle, cmd.handle_tok)
        del chain.rules[index]
    elif isinstance(cmd, AddSet):
        _add_set(rs, cmd)
    elif isinstance(cmd, Elements):
        _elements(rs, cmd)
    elif isinstance(cmd, Delete):
        _delete(rs, cmd)
    elif isinstance(cmd, Flush):
        _flush(rs, cmd)


# -- lookups ------------------------------------------------------------------------------


def _distance(a: str, b: str) -> int:
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ca != cb))
    return row[len(b)]


def _close(wanted: str, candidates: list[str]) -> str | None:
    best: tuple[int, str] | None = None
    for name in candidates:
        limit = max(2, max(len(name), len(wanted)) // 3)
        dist = _distance(wanted, name)
        if dist <= limit and (best is None or dist < best[0]):
            best = (dist, name)
    return best[1] if best else None


def _close_table(rs: Ruleset, ref: Ref) -> Table | None:
    """nft's fuzzy lookup: a same-named table in another family, else the closest name."""
    same = [t for t in rs.tables if t.name == ref.table]
    if same:
        return same[0]
    ordered = sorted(rs.tables, key=lambda t: t.family != ref.family)
    near = _close(ref.table, [t.name for t in ordered])
    return next((t for t in ordered if t.name == near), None)


def table_of(rs: Ruleset, ref: Ref, *, suggest: bool = True) -> Table:
    table = rs.find(ref.family, ref.table)
    if table is not None:
        return table
    message = NOENT
    if suggest:
        hit = _close_table(rs, ref)
        if hit is not None:
            message += f"; did you mean table ‘{hit.name}’ in family {hit.family}?"
    raise NftExecError(message, ref.table_tok)


def chain_of(rs: Ruleset, ref: Ref, *, suggest: bool = True) -> Chain:
    table = table_of(rs, ref, suggest=suggest)
    chain = table.chains.get(ref.name)
    if chain is not None:
        return chain
    near = _close(ref.name, list(table.chains)) if suggest else None
    if near is not None:
        message = f"{NOENT}; did you mean chain ‘{near}’ in table {table.family} ‘{table.name}’?"
        raise NftExecError(message, ref.name_tok)
    raise NftExecError(PROCESS + NOENT if suggest else NOENT, ref.name_tok)


def set_of(rs: Ruleset, ref: Ref) -> NamedSet:
    table = table_of(rs, ref)
    named = table.sets.get(ref.name)
    if named is None:
        raise NftExecError(PROCESS + NOENT, ref.name_tok)
    return named


def _rule_index(chain: Chain, handle: int, tok: Token | None) -> int:
    for index, rule in enumerate(chain.rules):
        if rule.handle == handle:
            return index
    raise NftExecError(PROCESS + NOENT, tok)


# -- tables and chains --------------------------------------------------------------------


def _add_table(rs: Ruleset, cmd: AddTable) -> None:
    existing = rs.find(cmd.ref.family, cmd.ref.table)
    if existing is not None:
        if cmd.create:
            raise NftExecError(PROCESS + "File exists", cmd.ref.table_tok)
        if cmd.comment is not None:
            existing.comment = cmd.comment
        return
    rs.tables.append(Table(cmd.ref.family, cmd.ref.table, rs.next_table_handle, comment=cmd.comment))
    rs.next_table_handle += 1


def _add_chain(rs: Ruleset, cmd: AddChain) -> None:
    table = table_of(rs, cmd.ref)
    existing = table.chains.get(cmd.ref.name)
    if existing is not None:
        if cmd.create:
            raise NftExecError(PROCESS + "File exists", cmd.ref.name_tok)
        if cmd.base is not None:
            if existing.base is None or (existing.base.hook, existing.base.type) != (
                cmd.base.hook,
                cmd.base.type,
            ):
                raise NftExecError(PROCESS + "Device or resource busy", cmd.ref.name_tok)
            existing.base = cmd.base
        return
    table.chains[cmd.ref.name] = Chain(cmd.ref.name, table.allocate(), cmd.base, cmd.comment)


def _check_rule(table: Table, cmd: AddRule | ReplaceRule) -> None:
    jumps = cmd.jump_toks if isinstance(cmd, AddRule) else ()
    for target, tok in jumps:
        chain = table.chains.get(target)
        if chain is None:
            raise NftExecError(PROCESS + NOENT, tok)
        if chain.base is not None:
            raise NftExecError(PROCESS + "Operation not supported", tok)
    setrefs = cmd.setref_toks if isinstance(cmd, AddRule) else ()
    for name, tok in setrefs:
        if name not in table.sets:
            raise NftExecError(f"{NOENT}; set ‘{name}’ does not exist", tok)


def _new_rule(table: Table, statements: tuple[Statement, ...], comment: str | None) -> Rule:
    for statement in statements:
        braced = isinstance(statement, Match) and getattr(statement.value, "braced", False)
        if braced or (isinstance(statement, Match) and isinstance(statement.value, SetLit)):
            table.allocate()  # each anonymous set takes a handle, before its rule
    return Rule(table.allocate(), statements, comment)


def _add_rule(rs: Ruleset, cmd: AddRule) -> None:
    table = table_of(rs, cmd.ref)
    chain = chain_of(rs, cmd.ref)
    _check_rule(table, cmd)
    if cmd.position is not None:
        anchor = _rule_index(chain, cmd.position, cmd.position_tok)
        rule = _new_rule(table, cmd.statements, cmd.comment)
        chain.rules.insert(anchor if cmd.insert else anchor + 1, rule)
        return
    rule = _new_rule(table, cmd.statements, cmd.comment)
    if cmd.insert:
        chain.rules.insert(0, rule)
    else:
        chain.rules.append(rule)


def _replace_rule(rs: Ruleset, cmd: ReplaceRule) -> None:
    table = table_of(rs, cmd.ref)
    chain = chain_of(rs, cmd.ref)
    index = _rule_index(chain, cmd.handle, cmd.handle_tok)
    _check_rule(table, cmd)
    chain.rules[index] = _new_rule(table, cmd.statements, cmd.comment)


# -- sets ---------------------------------------------------------------------------------


def _parse_words(named: NamedSet, words: tuple[tuple[str, Token], ...]) -> list[Element]:
    elements: list[Element] = []
    for text, tok in words:
        try:
            element = parse_element(text, named.type)
        except ValueError_ as err:
            raise NftExecError(err.message, tok) from err
        if _is_interval(element) and "interval" not in named.flags:
            raise NftExecError(
                "You must add 'flags interval' to your set declaration if you want to add prefix elements",
                tok,
            )
        elements.append(element)
    return elements


def _is_interval(element: Element) -> bool:
    if isinstance(element, Addr):
        return element.length < element.width
    return isinstance(element, AddrRange | NumRange)


def _add_set(rs: Ruleset, cmd: AddSet) -> None:
    table = table_of(rs, cmd.ref)
    if cmd.type not in SET_TYPES:
        raise NftExecError(f"unknown datatype {cmd.type}", cmd.type_tok)
    existing = table.sets.get(cmd.ref.name)
    if existing is not None:
        if cmd.create:
            raise NftExecError(PROCESS + "File exists", cmd.ref.name_tok)
        _merge(existing, _parse_words(existing, cmd.words))
        return
    named = NamedSet(cmd.ref.name, table.allocate(), cmd.type, cmd.flags, comment=cmd.comment)
    _merge(named, _parse_words(named, cmd.words))
    table.sets[cmd.ref.name] = named


def _merge(named: NamedSet, elements: list[Element]) -> None:
    for element in elements:
        if element not in named.elements:
            named.elements.append(element)


def _elements(rs: Ruleset, cmd: Elements) -> None:
    named = set_of(rs, cmd.ref)
    elements = _parse_words(named, cmd.words)
    if not cmd.delete:
        _merge(named, elements)
        return
    for element, (_, tok) in zip(elements, cmd.words, strict=True):
        if element not in named.elements:
            raise NftExecError(PROCESS + NOENT, tok)
        named.elements.remove(element)


# -- delete and flush ---------------------------------------------------------------------


def _references(table: Table, chain_name: str) -> bool:
    for chain in table.chains.values():
        for rule in chain.rules:
            for statement in rule.statements:
                if isinstance(statement, Verdict) and statement.target == chain_name:
                    return True
    return False


def _delete(rs: Ruleset, cmd: Delete) -> None:
    if cmd.what == "table":
        if cmd.destroy and rs.find(cmd.ref.family, cmd.ref.table) is None:
            return
        table = table_of(rs, cmd.ref)
        rs.tables.remove(table)
        return
    if cmd.destroy and rs.find(cmd.ref.family, cmd.ref.table) is None:
        return
    table = table_of(rs, cmd.ref)
    if cmd.what == "chain":
        chain = table.chains.get(cmd.ref.name)
        if chain is None:
            if cmd.destroy:
                return
            raise NftExecError(PROCESS + NOENT, cmd.ref.name_tok)
        if chain.rules or _references(table, chain.name):
            raise NftExecError(PROCESS + "Device or resource busy", cmd.ref.name_tok)
        del table.chains[chain.name]
        return
    if cmd.ref.name not in table.sets:
        if cmd.destroy:
            return
        raise NftExecError(PROCESS + NOENT, cmd.ref.name_tok)
    del table.sets[cmd.ref.name]


def _flush(rs: Ruleset, cmd: Flush) -> None:
    if cmd.what == "ruleset":
        rs.tables = [t for t in rs.tables if cmd.family is not None and t.family != cmd.family]
        return
    assert cmd.ref is not None
    if cmd.what == "table":
        for chain in table_of(rs, cmd.ref).chains.values():
            chain.rules.clear()
        return
    if cmd.what == "chain":
        chain_of(rs, cmd.ref).rules.clear()
        return
    set_of(rs, cmd.ref).elements.clear()
