"""Credential references and the secret scrubber.

Secrets live in the inventory only *by reference*: ``env:VAR``, ``file:PATH`` or
``file:PATH#key`` (a key of a YAML/JSON mapping). ``read_ref`` resolves one; its
errors name the reference, never the value.

A ``Scrubber`` replaces every secret in a text with ``<redacted>``: the known values
of a run (resolved passwords, enable secrets, keys) and the places where device
configurations hold secrets (IOS ``username … secret 5 …``, ``enable secret``, SNMP
communities, TACACS+/RADIUS keys, ASA ``… encrypted``, WireGuard keys, PEM blocks).
Scrubbing is deterministic: two captures of the same configuration scrub to the same
bytes, so digests of scrubbed states can be compared.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from isolate.errors import InventoryError
from isolate.files import MAX_SECRET_BYTES, UnreadableFile, expand_user, read_input

REDACTED = "<redacted>"

# Field names whose value is a secret wherever they appear in structured data.
SECRET_FIELDS = frozenset(
    {
        "password",
        "passwd",
        "secret",
        "enable",
        "enable_secret",
        "passphrase",
        "private_key",
        "privatekey",
        "preshared_key",
        "presharedkey",
        "psk",
        "community",
    }
)


# Every secret value resolved in this process, for scrubbing tracebacks (``scrub_debug``).
_RESOLVED: set[str] = set()


def read_ref(ref: str, base_dir: Path) -> str:
    """Resolve a credential reference. Raises InventoryError naming the reference."""
    if ref.startswith(("env:", "file:")):
        value = _read_env(ref) if ref.startswith("env:") else _read_file(ref, base_dir)
        _RESOLVED.add(value)
        return value
    raise InventoryError(
        f"credential reference {_show(ref)}: must be env:VAR, file:PATH or file:PATH#key "
        "(secrets are never written inline)"
    )


def _show(ref: str) -> str:
    """How a reference is named in a message: a reference is not a secret, but a value
    pasted where a reference belongs may be, so anything that is not a reference is hidden."""
    if ref.startswith(("env:", "file:")):
        return repr(ref)
    return "(an inline value, not shown)"


def _read_env(ref: str) -> str:
    name = ref[len("env:") :]
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise InventoryError(f"credential reference {ref!r}: {name!r} is not an environment name")
    value = os.environ.get(name)
    if value is None:
        raise InventoryError(f"credential reference {ref!r}: environment variable {name} is not set")
    if value == "":
        raise InventoryError(f"credential reference {ref!r}: environment variable {name} is empty")
    return value


def _read_file(ref: str, base_dir: Path) -> str:
    spec = ref[len("file:") :]
    path_text, _, key = spec.partition("#")
    if not path_text:
        raise InventoryError(f"credential reference {ref!r}: no file path")
    try:
        path = expand_user(path_text)
        if not path.is_absolute():
            path = base_dir / path
        if not path.exists() and not path.is_symlink():
            raise InventoryError(f"credential reference {ref!r}: file not found: {path}")
        raw = read_input(path, limit=MAX_SECRET_BYTES).decode("utf-8")
    except UnreadableFile as err:
        raise InventoryError(f"credential reference {ref!r}: cannot read {path_text}: {err}") from None
    except UnicodeDecodeError:
        raise InventoryError(f"credential reference {ref!r}: cannot read {path}: not UTF-8 text") from None
    if not key:
        value = raw.removesuffix("\n").removesuffix("\r")
        if value == "":
            raise InventoryError(f"credential reference {ref!r}: {path} is empty")
        return value
    return _mapping_value(ref, path, raw, key)


def _mapping_value(ref: str, path: Path, raw: str, key: str) -> str:
    try:
        doc: Any = json.loads(raw) if path.suffix == ".json" else yaml.safe_load(raw)
    except (ValueError, yaml.YAMLError):
        # The parser's message may quote the file's content: never repeat it.
        kind = "JSON" if path.suffix == ".json" else "YAML"
        raise InventoryError(f"credential reference {ref!r}: {path} is not valid {kind}") from None
    if not isinstance(doc, Mapping):
        raise InventoryError(f"credential reference {ref!r}: {path} is not a mapping of keys")
    if key not in doc:
        raise InventoryError(f"credential reference {ref!r}: key {key!r} not found in {path}")
    value = doc[key]
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise InventoryError(f"credential reference {ref!r}: key {key!r} in {path} is not a string")
    text = str(value)
    if text == "":
        raise InventoryError(f"credential reference {ref!r}: key {key!r} in {path} is empty")
    return text


# --- the scrubber -------------------------------------------------------------------

_V = r"(?P<v>\S+)"  # the secret value: one token (to the next blank)
_QV = r"(?P<v>[^\s\",]+)"  # a value in key=value or "key": "value" text
_W = r"[ \t]+"  # blanks within one line
_TYPE = r"(?:[ \t]+[0-9])?"  # IOS encryption type digit (0, 5, 7, 8, 9)


def _line(body: str) -> str:
    """A pattern anchored at the start of a configuration line."""
    return r"^[ \t]*" + body


_PATTERNS: tuple[re.Pattern[str], ...] = tuple(
    re.compile(p, re.IGNORECASE | re.MULTILINE)
    for p in (
        # IOS/ASA: username X [privilege N …] password|secret [0-9] VALUE [encrypted]
        _line(r"username" + _W + r"\S+(?:" + _W + r"\S+)*?" + _W + r"(?:password|secret)" + _TYPE + _W + _V),
        # enable secret|password [level N] [0-9] VALUE
        _line(r"enable" + _W + r"(?:secret|password)(?:" + _W + r"level" + _W + r"\d+)?" + _TYPE + _W + _V),
        # ASA: passwd VALUE encrypted
        _line(r"passwd" + _W + _V),
        # snmp-server community X …; SNMPv3 auth/priv keys
        _line(r"snmp-server" + _W + r"community" + _W + _V),
        _line(r"snmp-server" + _W + r"(?:user|host)\b[^\n]*?\b(?:auth|priv)" + _W + r"\S+" + _W + _V),
        # tacacs-server/radius-server/aaa-server … key [0-9] VALUE
        _line(r"(?:tacacs-server|radius-server|aaa-server)\b[^\n]*?\bkey" + _TYPE + _W + _V),
        # key [0-9] VALUE inside server/key-chain blocks
        _line(r"(?:key|key-string|server-key|authentication-key)" + _TYPE + _W + _V),
        r"\b(?:authentication-key|message-digest-key[ \t]+\d+[ \t]+md5)" + _TYPE + _W + _V,
        r"\bneighbor" + _W + r"\S+" + _W + r"password" + _TYPE + _W + _V,
        # password [0-9] VALUE after up to three words (line vty, ppp chap, ip ftp …)
        _line(r"(?:[\w-]+" + _W + r"){0,3}?password" + _TYPE + _W + _V),
        # IKE/IPsec pre-shared keys (IOS crypto isakmp key, ASA tunnel-group, concentrators)
        r"\b(?:pre-shared-key|preshared-key|psk)(?:"
        + _W
        + r"(?:address|hostname)"
        + _W
        + r"\S+)?"
        + _TYPE
        + _W
        + _V,
        _line(r"crypto" + _W + r"isakmp" + _W + r"key" + _TYPE + _W + _V),
        # WireGuard: wg showconf / wg-quick files, wg show, wg set
        r"\b(?:PrivateKey|PresharedKey)[ \t]*=[ \t]*" + _V,
        _line(r"(?:private|preshared)[ \t]key:" + _W + _V),
        r"\b(?:private-key|preshared-key)" + _W + _V,
        # key=value and JSON-like "password": "value"
        r"\b(?:password|passwd|secret|psk|private_key|preshared_key)\"?[ \t]*[=:][ \t]*\"?" + _QV,
    )
)
_PEM = re.compile(
    r"(?P<head>-----BEGIN (?P<label>[A-Z0-9 ]+)-----)(?P<v>.*?)(?P<tail>-----END (?P=label)-----)",
    re.DOTALL,
)
_MIN_SUBSTRING = 4  # shorter known values are only replaced as whole tokens


@dataclass(frozen=True)
class Scrubber:
    """Replaces secrets with ``<redacted>``. Build one per run with ``Scrubber.of(values)``."""

    values: tuple[str, ...] = ()

    @classmethod
    def of(cls, values: Iterable[str | None]) -> Scrubber:
        known = {v for v in values if v and v != REDACTED and v.strip()}
        # Longest first, so a value that contains another is replaced whole.
        return cls(values=tuple(sorted(known, key=lambda v: (-len(v), v))))

    def with_values(self, values: Iterable[str | None]) -> Scrubber:
        return Scrubber.of([*self.values, *values])

    def scrub(self, text: str) -> str:
        """``text`` with every known value and every secret-bearing field redacted."""
        out = self._scrub_values(text)
        out = _PEM.sub(lambda m: f"{m['head']}\n{REDACTED}\n{m['tail']}", out)
        return _scrub_fields(out)

    def scrub_data(self, value: Any) -> Any:
        """A copy of JSON-like ``value`` with every string scrubbed and secret fields redacted."""
        if isinstance(value, str):
            return self.scrub(value)
        if isinstance(value, Mapping):
            return {k: (REDACTED if _is_secret_field(k, v) else self.scrub_data(v)) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.scrub_data(v) for v in value]
        return value

    def _scrub_values(self, text: str) -> str:
        for value in self.values:
            if value not in text:
                continue
            if len(value) >= _MIN_SUBSTRING:
                text = text.replace(value, REDACTED)
            else:
                text = re.sub(rf"(?<![\w]){re.escape(value)}(?![\w])", REDACTED, text)
        return text


def _is_secret_field(key: object, value: object) -> bool:
    return (
        isinstance(key, str)
        and key.lower() in SECRET_FIELDS
        and isinstance(value, str)
        and value not in ("", REDACTED)
    )


# Every match of a field pattern lies on one line and holds one of these words (any case):
# a line without any of them (and ASCII, where IGNORECASE means ASCII case only) is left as it
# is, so a 600-line running-config costs a few pattern runs, not sixteen over all of it.
_TRIGGERS = ("pass", "secret", "community", "auth", "priv", "key", "psk")


def _may_hold_field(line: str) -> bool:
    if not line.isascii():
        return True
    low = line.lower()
    return any(word in low for word in _TRIGGERS)




def _scrub_fields(text: str) -> str:
    """Every secret-bearing field redacted (``_PATTERNS``, in order), line by line where a
    line may hold one; the same result as running each pattern over the whole text."""
    if not _may_hold_field(text):
        return text
    if text.isascii():
        return _scrub_trigger_lines(text)
    lines = text.split("\n")
    for index, line in enumerate(lines):
        if _may_hold_field(line):
            for pattern in _PATTERNS:
                line = pattern.sub(_redact_value, line)
            lines[index] = line
    return "\n".join(lines)


def _scrub_trigger_lines(text: str) -> str:
    """ASCII ``text`` with the field patterns run on each line holding a trigger word (the
    lines ``_may_hold_field`` picks), found by a search per word over the whole text, not a
    test per line."""
    low = text.lower()  # ASCII: the same offsets
    starts: set[int] = set()
    for word in _TRIGGERS:
        at = low.find(word)
        while at >= 0:
            starts.add(low.rfind("\n", 0, at) + 1)
            at = low.find(word, at + 1)
    out: list[str] = []
    done = 0  # text before this offset is in out
    for start in sorted(starts):
        end = text.find("\n", start)
        end = len(text) if end < 0 else end
        line = text[start:end]
        for pattern in _PATTERNS:
            line = pattern.sub(_redact_value, line)
        out += [text[done:start], line]
        done = end
    out.append(text[done:])
    return "".join(out)


def _redact_value(match: re.Match[str]) -> str:
    start, end = match.span("v")
    if match.group("v") == REDACTED:
        return match.group(0)
    base = match.start(0)
    text = match.group(0)
    return text[: start - base] + REDACTED + text[end - base :]


# pydantic puts the refused input in its errors: ``input_value='hunter2'`` (the value may be a
# literal secret pasted where a reference belongs).
_INPUT_VALUE = re.compile(r"input_value=.*?(?=, input_type=|$)", re.MULTILINE)


def scrub_debug(text: str) -> str:
    """A traceback or ``--debug`` text fit to attach to a bug report: every secret resolved
    by this process, every secret-bearing configuration field and every pydantic
    ``input_value`` redacted."""
    out = Scrubber.of(_RESOLVED).scrub(text)
    return _INPUT_VALUE.sub(f"input_value={REDACTED}", out)
