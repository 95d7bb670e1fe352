"""Options shared by several commands (plan, apply, drill, playbook check)."""

from __future__ import annotations

from typing import Annotated

import typer

SetOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        metavar="NAME=VALUE",
        help="An incident parameter of the playbook (repeatable; NAME=a,b gives two values), "
        "e.g. --set infected=10.10.100.17 --set attacker=203.0.113.0/24.",
    ),
]


def one_line(flag: str, value: str | None) -> str:
    """A free-text option (``--incident``, ``--reason``): one line, no control, line-separator
    or bidi character (it is journaled and shown by ``journal show``); else exit 2."""
    from isolate.errors import InputError
    from isolate.values import BadValue, parse_text

    try:
        return parse_text(value or "", flag)
    except BadValue as exc:
        raise InputError(str(exc)) from None


def parameter_values(items: list[str] | None) -> dict[str, list[str]]:
    """``--set`` options as {name: [values]}; a malformed one is a one-line error (exit 2)."""
    from isolate.playbook.params import parse_sets

    return parse_sets(items or [])

ExcludeOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--exclude",
        metavar="DEVICE",
        help="Leave this device out (repeatable): the plan, guards and blast radius are computed "
        "without it, and the plan says what stays open.",
    ),
]
LimitOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--limit",
        metavar="SELECTOR",
        help="Only these devices: names, group:NAME, role:NAME, tag:NAME (comma-separated, repeatable).",
    ),
]
