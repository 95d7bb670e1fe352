"""Validated directory values: account and group names (``sAMAccountName``).

They reach an LDAP filter (always escaped again with ``ldap3``'s ``escape_filter_chars``
at the driver boundary) and a journaled command line, so the grammar is strict:

- account: ``[A-Za-z0-9][A-Za-z0-9._-]{0,19}``, not ending with ``.`` — the user
  ``sAMAccountName`` of Active Directory (at most 20 characters; AD forbids
  ``" / \\ [ ] : ; | = , + * ? < > @``; isolate allows a stricter subset);
- group: ``[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}``, not ending with a space or ``.``
  (``Domain Admins``, ``VPN Users``).

So ``*)(uid=*``, ``carol,ou=x``, a newline or a 300-character name are refused with one
line before any plan exists.
"""

from __future__ import annotations

import re
from typing import Annotated, Final

from pydantic import BeforeValidator

from isolate.values import BadValue, _check_alphabet, _dangerous, _pydantic, _text, safe_repr

_ACCOUNT_RE: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,19}")
_GROUP_RE: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}")
_SPECIAL: Final = ("*", "(", ")", "\\", ",", "=", "+", "<", ">", '"', "/", "[", "]", ":", "?", "@")


def _checked(value: object, what: str, regex: re.Pattern[str], shape: str, limit: int) -> str:
    text = _text(value, what)
    bad = _dangerous(text)
    if bad is not None:
        raise BadValue(f"{bad} not allowed in {what}: {safe_repr(text)}")
    for char in _SPECIAL:
        if char in text:
            raise BadValue(f"{char!r} not allowed in {what}: {safe_repr(text)}")
    if len(text) > limit:
        raise BadValue(f"{what} must be at most {limit} characters, got {len(text)}")
    return _check_alphabet(text, what, regex, shape)


def parse_account(value: object) -> str:
    """A directory account name (``sAMAccountName`` of a user)."""
    text = _checked(value, "account name", _ACCOUNT_RE, "[A-Za-z0-9][A-Za-z0-9._-]{0,19}", 20)
    if text.endswith("."):
        raise BadValue(f"account name must not end with '.', got {safe_repr(text)}")
    return text


def parse_group(value: object) -> str:
    """A directory group name (its ``sAMAccountName``, spaces allowed inside)."""
    text = _checked(value, "group name", _GROUP_RE, "[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}", 64)
    if text.endswith((" ", ".")):
        raise BadValue(f"group name must not end with a space or '.', got {safe_repr(text)}")
    return text


AccountName = Annotated[str, BeforeValidator(_pydantic(parse_account))]
GroupName = Annotated[str, BeforeValidator(_pydantic(parse_group))]
