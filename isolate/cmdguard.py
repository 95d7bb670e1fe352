"""The last guard before a device: every command line must fit its platform's grammar.

Values are validated where they enter (``isolate.values``); this is the second, independent
line of defence (safety invariant 6). ``check_lines(platform, lines)`` refuses, with
:class:`CommandRefused`, any line holding a character outside a conservative alphabet for
that platform, so that a value that slipped past its type (an IPv6 zone ID, a bidi
control, a ``#`` that comments out the rest of an nft rule) never reaches a device:

- ``cisco_ios``/``cisco_asa``: ``[A-Za-z0-9 ._:/,=+@()*-]`` only (no ``?`` help, no ``%``,
  no ``#``, ``!`` or ``|``), the same for exec-mode lines (``mode="exec"``, a batch's
  ``exec_after``); a line spelled ``@exec LINE`` (how earlier versions marked an exec-mode
  line inside a command list) is refused: exec-mode lines travel apart, typed.
- ``linux`` (an nft script): printable ASCII; outside double quotes no ``#`` (comment),
  ``$``, ``%``, ``\\``, backtick, ``'`` or ``?``; ``;`` only inside ``{ }``; braces balance
  over the batch. Inside quotes: printable text without line or bidi controls.
- ``openvswitch``: ``ovs-vsctl`` then ``[A-Za-z0-9 ._:/=@,-]``; ``wireguard``: ``wg`` then
  ``[A-Za-z0-9 ._:/,=+@[]-]`` (base64 keys, ``[v6]:port`` endpoints).
- ``active_directory``: ``disable A``, ``set-uac A N``, ``add-member A G``,
  ``remove-member A G`` (account and group grammars of ``isolate.values_directory``);
  read: ``bind-test``, ``root-dse``. ``openvpn`` (management interface): ``kill USER``; read:
  ``status 3``, ``version``.
- ``fortios`` (REST requests, ``isolate/drivers/fortios.py``): ``create TABLE {JSON}``,
  ``set TABLE NAME {JSON}``, ``delete TABLE NAME`` (TABLE one of the six isolate changes),
  ``move NAME top|after NAME``, ``leave-groups USER``, ``logoff USER``; names
  ``[A-Za-z0-9][A-Za-z0-9._-]{0,78}``; every JSON string printable ASCII; read:
  ``system-status``, ``vpn-sessions``, ``cmdb-tables``.
- ``junos`` (``load-configuration action="set"``, isolate/drivers/junos.py): ``set WORD…`` or
  ``delete WORD…``, words of ``[A-Za-z0-9._:/-]`` (no quotes, no ``;``, braces, brackets,
  ``#`` or ``|``); read: ``show`` then the same words (a CLI command through ``<command>``).
- ``ansible``: each line one JSON object of printable ASCII whose strings hold no
  control character but newline and tab, and no bidi or line-separator character; an
  ``nft -f -`` task's script is checked as ``linux``.

``mode="exec"`` is for the exec-mode lines of a change: only grammars with an exec mode
(``ios``) take them; every other platform refuses them.
``mode="read"`` is for read-only commands (``run``): on IOS/ASA the same alphabet; on the
platforms where a read is a shell line (``linux``, ``openvswitch``, ``wireguard``,
``ansible``) only ``[A-Za-z0-9 ._:/=,@+-]`` — no quoting, pipes, redirections or
expansions. Pure functions; nothing here does I/O.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any, Final, Literal, Protocol

from isolate.errors import IsolateError
from isolate.platforms import PLATFORMS
from isolate.values import safe_repr

Mode = Literal["config", "read", "exec"]
LEGACY_EXEC_PREFIX: Final = "@exec "  # earlier versions' spelling of an exec-mode line
EXEC_GRAMMARS: Final = frozenset({"ios"})  # grammars whose platforms run exec-mode lines

_IOS_LINE: Final = re.compile(r"[A-Za-z0-9 ._:/,=+@()*-]+", re.ASCII)
_OVS_LINE: Final = re.compile(r"ovs-vsctl( [A-Za-z0-9._:/=@,-]+)+", re.ASCII)
_WG_LINE: Final = re.compile(r"wg( [A-Za-z0-9._:/,=+@\[\]-]+)+", re.ASCII)
_AD_ACCOUNT: Final = r"[A-Za-z0-9][A-Za-z0-9._-]{0,19}"
_AD_LINE: Final = re.compile(
    rf"(?:disable {_AD_ACCOUNT}|set-uac {_AD_ACCOUNT} [0-9]{{1,10}}"
    rf"|(?:add|remove)-member {_AD_ACCOUNT} [A-Za-z0-9][A-Za-z0-9 ._-]{{0,63}})",
    re.ASCII,
)
_AD_READ: Final = re.compile(r"bind-test|root-dse", re.ASCII)
_OPENVPN_LINE: Final = re.compile(r"kill [A-Za-z0-9._@-]{1,64}", re.ASCII)
_OPENVPN_READ: Final = re.compile(r"status 3|version", re.ASCII)
_FORTIOS_NAME: Final = r"[A-Za-z0-9][A-Za-z0-9._-]{0,78}"
_FORTIOS_TABLE: Final = (
    r"(?:firewall/address|firewall/addrgrp|firewall\.service/custom|firewall/policy|user/local|user/group)"
)
_FORTIOS_LINE: Final = re.compile(
    rf"create {_FORTIOS_TABLE} (?P<json>\{{.*\}})|set {_FORTIOS_TABLE} {_FORTIOS_NAME} (?P<json2>\{{.*\}})"
    rf"|delete {_FORTIOS_TABLE} {_FORTIOS_NAME}|move {_FORTIOS_NAME} (?:top|after {_FORTIOS_NAME})"
    rf"|(?:leave-groups|logoff) {_FORTIOS_NAME}",
    re.ASCII,
)
_FORTIOS_READ: Final = re.compile(r"system-status|vpn-sessions|cmdb-tables", re.ASCII)
_JUNOS_LINE: Final = re.compile(r"(?:set|delete)( [A-Za-z0-9._:/-]+)+", re.ASCII)
_JUNOS_READ: Final = re.compile(r"show( [A-Za-z0-9._:/-]+)+", re.ASCII)
_PRINTABLE_ASCII: Final = re.compile(r"[\x20-\x7e]+")
_SHELL_READ: Final = re.compile(r"[A-Za-z0-9 ._:/=,@+-]+", re.ASCII)
_NFT_UNQUOTED_BAD: Final = frozenset("#$%\\`'?")
# Line and paragraph separators, NEL, bidi embeddings/overrides/isolates, marks.
_INVISIBLE: Final = frozenset("\u0085\u2028\u2029\u200e\u200f\u061c") | frozenset(
    chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))
)
MAX_LINE: Final = 1_000_000


class CommandRefused(IsolateError):
    """A command line does not fit its platform's grammar; nothing was sent."""

    def __init__(self, message: str, *, platform: str, line: str) -> None:
        super().__init__(message)
        self.platform = platform
        self.line = line


def _refuse(platform: str, line: str, why: str) -> CommandRefused:
    return CommandRefused(
        f"command refused, not sent: outside the {platform} command grammar ({why}): {safe_repr(line, 80)}",
        platform=platform,
        line=line,
    )


def _char_name(char: str) -> str:
    return f"U+{ord(char):04X} {unicodedata.name(char, 'control character')}"


def _first_bad(line: str, allowed: re.Pattern[str]) -> str | None:
    for char in line:
        if not allowed.fullmatch(char):
            return char
    return None


def _check_alphabet(platform: str, line: str, pattern: re.Pattern[str], shape: str) -> None:
    if pattern.fullmatch(line):
        return
    bad = _first_bad(line, _PRINTABLE_ASCII)
    if bad is not None:
        raise _refuse(platform, line, f"character {_char_name(bad)}")
    raise _refuse(platform, line, f"not of the form {shape}")


def _ios(platform: str, line: str) -> None:
    if line.startswith(LEGACY_EXEC_PREFIX):
        raise _refuse(platform, line, "an '@exec ' line: exec-mode lines travel apart, as exec_after")
    body = line
    for char in body:
        if not _IOS_LINE.fullmatch(char):
            what = repr(char) if _PRINTABLE_ASCII.fullmatch(char) else _char_name(char)
            raise _refuse(platform, line, f"character {what} outside the CLI alphabet")
    if not body.strip():
        raise _refuse(platform, line, "empty line")


def _quoted_text_ok(text: str) -> str | None:
    for char in text:
        if char in _INVISIBLE or not char.isprintable():
            return char
    return None


def _nft(platform: str, lines: Sequence[str]) -> None:
    depth = 0
    for line in lines:
        depth = _nft_line(platform, line, depth)
    if depth != 0:
        raise _refuse(platform, lines[-1] if lines else "", "unbalanced braces in the nft script")


def _nft_line(platform: str, line: str, depth: int) -> int:
    parts = line.split('"')
    if len(parts) % 2 == 0:
        raise _refuse(platform, line, "unterminated quoted string")
    for index, part in enumerate(parts):
        if index % 2 == 1:
            bad = _quoted_text_ok(part)
            if bad is not None:
                raise _refuse(platform, line, f"character {_char_name(bad)} in quoted text")
            continue
        depth = _nft_unquoted(platform, line, part, depth)
    return depth


def _nft_unquoted(platform: str, line: str, part: str, depth: int) -> int:
    for char in part:
        if not ("\x20" <= char <= "\x7e"):
            raise _refuse(platform, line, f"character {_char_name(char)}")
        if char in _NFT_UNQUOTED_BAD:
            raise _refuse(platform, line, f"character {char!r} outside quotes")
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth < 0:
                raise _refuse(platform, line, "'}' closes nothing")
        elif char == ";" and depth == 0:
            raise _refuse(platform, line, "';' outside braces would start another nft command")
    return depth


def _strings(node: Any) -> Iterable[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield str(key)
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)


def _nft_stdin(task: dict[str, Any]) -> str | None:
    for value in task.values():
        if isinstance(value, dict) and value.get("argv", [None])[:1] == ["nft"]:
            stdin = value.get("stdin")
            return stdin if isinstance(stdin, str) else None
    return None


def _ansible(platform: str, line: str) -> None:
    bad = _first_bad(line, _PRINTABLE_ASCII)
    if bad is not None:
        raise _refuse(platform, line, f"character {_char_name(bad)}")
    try:
        task = json.loads(line)
    except ValueError:
        raise _refuse(platform, line, "not one JSON task") from None
    if not isinstance(task, dict):
        raise _refuse(platform, line, "not one JSON task")
    for text in _strings(task):
        for char in text:
            if char in _INVISIBLE or (not char.isprintable() and char not in "\n\t"):
                raise _refuse(platform, line, f"character {_char_name(char)} in a task value")
    script = _nft_stdin(task)
    if script is not None:
        _nft(platform, script.removesuffix("\n").split("\n"))


def _ios_lines(platform: str, lines: Sequence[str], mode: Mode) -> None:
    for line in lines:
        _ios(platform, line)


def _alphabet(pattern: re.Pattern[str], shape: str) -> _Checker:
    def check(platform: str, lines: Sequence[str], mode: Mode) -> None:
        for line in lines:
            _check_alphabet(platform, line, pattern, shape)

    return check


def _shell(config: _Checker) -> _Checker:
    """A platform whose read is a shell line: reads get the plain read alphabet."""

    def check(platform: str, lines: Sequence[str], mode: Mode) -> None:
        if mode == "read":
            _alphabet(_SHELL_READ, "a plain read command [A-Za-z0-9 ._:/=,@+-]")(platform, lines, mode)
        else:
            config(platform, lines, mode)

    return check


def _nft_lines(platform: str, lines: Sequence[str], mode: Mode) -> None:
    _nft(platform, lines)


def _ansible_lines(platform: str, lines: Sequence[str], mode: Mode) -> None:
    for line in lines:
        _ansible(platform, line)


def _openvpn_lines(platform: str, lines: Sequence[str], mode: Mode) -> None:
    pattern = _OPENVPN_READ if mode == "read" else _OPENVPN_LINE
    for line in lines:
        _check_alphabet(platform, line, pattern, "status 3 / version" if mode == "read" else "kill USER")


def _ldap_lines(platform: str, lines: Sequence[str], mode: Mode) -> None:
    read = mode == "read"
    pattern, shape = (_AD_READ, "bind-test / root-dse") if read else (_AD_LINE, "disable/set-uac/…-member")
    for line in lines:
        if not pattern.fullmatch(line):
            raise _refuse(platform, line, f"not {shape} with a valid account or group name")


def _fortios_lines(platform: str, lines: Sequence[str], mode: Mode) -> None:
    for line in lines:
        if mode == "read":
            _check_alphabet(platform, line, _FORTIOS_READ, "system-status / vpn-sessions / cmdb-tables")
            continue
        bad = _first_bad(line, _PRINTABLE_ASCII)
        if bad is not None:
            raise _refuse(platform, line, f"character {_char_name(bad)}")
        match = _FORTIOS_LINE.fullmatch(line)
        if match is None:
            raise _refuse(platform, line, "not create/set/delete TABLE …, move, leave-groups or logoff")
        body = match.group("json") or match.group("json2")
        if body is not None:
            try:
                data = json.loads(body)
            except ValueError:
                raise _refuse(platform, line, "the object is not JSON") from None
            if not isinstance(data, dict):
                raise _refuse(platform, line, "the object is not a JSON object")
            for text in _strings(data):
                if not _PRINTABLE_ASCII.fullmatch(text or " "):
                    raise _refuse(platform, line, "a value holds a character outside printable ASCII")


def _junos_lines(platform: str, lines: Sequence[str], mode: Mode) -> None:
    pattern, shape = (_JUNOS_READ, "show WORD…") if mode == "read" else (_JUNOS_LINE, "set/delete WORD…")
    for line in lines:
        _check_alphabet(platform, line, pattern, f"{shape} of [A-Za-z0-9._:/-]")


class _Checker(Protocol):
    def __call__(self, platform: str, lines: Sequence[str], mode: Mode) -> None: ...


# One checker per grammar; a platform names its grammar in its record (isolate/platforms).
GRAMMARS: Final[dict[str, _Checker]] = {
    "ios": _ios_lines,
    "nft": _shell(_nft_lines),
    "ovs": _shell(_alphabet(_OVS_LINE, "ovs-vsctl ARG…")),
    "wg": _shell(_alphabet(_WG_LINE, "wg ARG…")),
    "ansible": _shell(_ansible_lines),
    "openvpn": _openvpn_lines,
    "ldap": _ldap_lines,
    "fortios": _fortios_lines,
    "junos": _junos_lines,
}


def check_lines(platform: str, lines: Sequence[str], *, mode: Mode = "config") -> None:
    """Refuse the batch (CommandRefused) unless every line fits ``platform``'s grammar."""
    for line in lines:
        if len(line) > MAX_LINE:
            raise _refuse(platform, line, f"line longer than {MAX_LINE} characters")
    record = PLATFORMS.get(platform)
    checker = GRAMMARS.get(record.grammar) if record is not None else None
    if checker is None:
        raise _refuse(platform, lines[0] if lines else "", "no command grammar for this platform")
    if mode == "exec" and lines and record is not None and record.grammar not in EXEC_GRAMMARS:
        raise _refuse(platform, lines[0], "an exec-mode line on a platform without exec-mode lines")
    checker(platform, lines, mode)


def check_line(platform: str, line: str, *, mode: Mode = "config") -> None:
    """``check_lines`` for one line."""
    check_lines(platform, [line], mode=mode)
