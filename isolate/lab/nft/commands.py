"""Parsed nft commands: what the parser produces and the engine executes."""

from __future__ import annotations

from dataclasses import dataclass

from isolate.lab.nft.lexer import Token
from isolate.lab.nft.model import BaseSpec, Statement


@dataclass(frozen=True)
class Ref:
    """A family and names as written, with the tokens errors point at."""

    family: str
    table: str
    table_tok: Token
    name: str = ""
    name_tok: Token | None = None


@dataclass(frozen=True)
class AddTable:
    ref: Ref
    create: bool = False
    comment: str | None = None


@dataclass(frozen=True)
class AddChain:
    ref: Ref
    base: BaseSpec | None = None
    comment: str | None = None
    create: bool = False


@dataclass(frozen=True)
class AddRule:
    ref: Ref
    statements: tuple[Statement, ...]
    comment: str | None
    insert: bool = False
    position: int | None = None
    position_tok: Token | None = None
    jump_toks: tuple[tuple[str, Token], ...] = ()
    setref_toks: tuple[tuple[str, Token], ...] = ()


@dataclass(frozen=True)
class ReplaceRule:
    ref: Ref
    handle: int
    handle_tok: Token
    statements: tuple[Statement, ...]
    comment: str | None


@dataclass(frozen=True)
class DeleteRule:
    ref: Ref
    handle: int
    handle_tok: Token


@dataclass(frozen=True)
class AddSet:
    ref: Ref
    type: str
    type_tok: Token
    flags: tuple[str, ...]
    words: tuple[tuple[str, Token], ...]
    comment: str | None = None
    create: bool = False


@dataclass(frozen=True)
class Elements:
    ref: Ref
    words: tuple[tuple[str, Token], ...]
    delete: bool = False


@dataclass(frozen=True)
class Delete:
    """``delete|destroy table|chain|set``."""

    what: str
    ref: Ref
    destroy: bool = False


@dataclass(frozen=True)
class Flush:
    what: str  # ruleset | table | chain | set
    ref: Ref | None = None
    family: str | None = None


@dataclass(frozen=True)
class ListCmd:
    what: str  # ruleset | table | chain | set | tables | chains | sets
    ref: Ref | None = None
    family: str | None = None


Command = (
    AddTable | AddChain | AddRule | ReplaceRule | DeleteRule | AddSet | Elements | Delete
    | Flush | ListCmd
)  # fmt: skip
