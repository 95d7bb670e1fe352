"""Validated, CLI-safe value types.

Every value that may reach a device CLI goes through one of the ``parse_*``
functions here, either directly (CLI options, action params) or as a pydantic
field type (the ``Annotated`` aliases at the end). A parser returns the
normalised value or raises :class:`BadValue` with one short line, e.g.
``must be 1..4094, got 4095``. Anything with a newline, carriage return, ``;``,
``|``, ``&``, a backtick, ``$(`` or a character outside the type's alphabet is
refused, so nothing a user or an inventory supplies can inject a command.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from typing import Annotated, Any, Final, TypeVar

from pydantic import BeforeValidator
from pydantic_core import PydanticCustomError

from isolate.platforms import PLATFORMS, InterfaceGrammar
from isolate.platforms.table import IOS_INTERFACES

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_T = TypeVar("_T")


class BadValue(ValueError):
    """A value refused by its type. ``str()`` is the one-line reason."""


# Checked first, in this order, so the message names the dangerous part.
_DANGEROUS: Final = (
    ("\n", "newline"),
    ("\r", "carriage return"),
    ("\x00", "NUL"),
    (";", "';'"),
    ("|", "'|'"),
    ("&", "'&'"),
    ("`", "backtick"),
    ("$(", "'$('"),
)

_NAME_RE: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}")
_ACL_RE: Final = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")
_USER_RE: Final = re.compile(r"[A-Za-z0-9._@-]{1,64}")
_STEP_RE: Final = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")
_SERVICE_RE: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}")
_LINUX_IF_RE: Final = re.compile(r"[A-Za-z0-9_.-]{1,15}")
_DNS_LABEL_RE: Final = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_ENV_RE: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
_YAML_KEY_RE: Final = re.compile(r"[A-Za-z0-9_.-]{1,128}")
# Characters that break or disguise one line of text: C0 and C1 controls (NEL U+0085), DEL,
# line/paragraph separators (U+2028/9), bidi marks, embeddings, overrides and isolates
# (U+200E/F, U+061C, U+202A-E, U+2066-9), zero-width characters and the BOM.
_TEXT_BAD: Final = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")
_DECIMAL: Final = re.compile(r"-?(?:0|[1-9][0-9]*)", re.ASCII)
MAX_DIGITS: Final = 30
# What a device CLI takes as an address: IPv4 dotted quad or IPv6 text, ASCII only.
_ADDRESS_RE: Final = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}|[0-9A-Fa-f:.]{2,45}", re.ASCII)
_PREFIX_LEN_RE: Final = re.compile(r"0|[1-9][0-9]{0,2}", re.ASCII)

# Alphabets, used by the property tests and by messages.
NAME_ALPHABET: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")
USER_ALPHABET: Final = NAME_ALPHABET | {"@"}
INTERFACE_ALPHABET: Final = NAME_ALPHABET | {"/"}

# Interface grammars are platform data (isolate/platforms/table.py).
IOS_INTERFACE_TYPES: Final = IOS_INTERFACES.types
_IOS_IF_RE: Final = re.compile(r"([A-Za-z][A-Za-z-]*?)\s?(\d+(?:/\d+){0,3}(?:\.\d+)?)")


def safe_repr(value: object, limit: int = 40) -> str:
    """A short, single-line, escaped rendering of a refused value for messages."""
    if isinstance(value, int) and value.bit_length() > 100:  # repr of a huge int may fail
        return f"a {digits(value)}-digit number"
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def digits(value: int) -> int:
    """How many decimal digits ``value`` has, without converting it to text (Python
    refuses to print integers of more than 4300 digits)."""
    bits = abs(value).bit_length()
    if bits <= 3000:
        return len(str(abs(value)))
    return int(bits * 0.30102999566398120) + 1


def escape_line(text: str) -> str:
    """``text`` as one displayable line: control, separator and bidi characters escaped
    (``\\n``, ``\\u202e``), so a stored value cannot forge or disguise a line of output."""
    return _TEXT_BAD.sub(lambda m: m.group(0).encode("unicode_escape").decode("ascii"), text)


def _type_name(value: object) -> str:
    names = {bool: "boolean", int: "integer", float: "number", list: "list", dict: "mapping"}
    return names.get(type(value), type(value).__name__)


def _text(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise BadValue(f"{what} must be text, got {_type_name(value)} {safe_repr(value)}")
    return value


def _dangerous(value: str) -> str | None:
    for needle, label in _DANGEROUS:
        if needle in value:
            return label
    found = _TEXT_BAD.search(value)
    if found is not None:
        code = ord(found.group(0))
        kind = "control character" if code < 0xA0 else "invisible, line-separator or bidi character"
        return f"{kind} U+{code:04X}"
    return None


def _check_alphabet(value: str, what: str, regex: re.Pattern[str], shape: str) -> str:
    bad = _dangerous(value)
    if bad is not None:
        raise BadValue(f"{bad} not allowed in {what}: {safe_repr(value)}")
    if regex.fullmatch(value):
        return value
    if value == "":
        raise BadValue(f"{what} must not be empty")
    raise BadValue(f"{what} must match {shape}, got {safe_repr(value)}")


def _int_in(value: object, lo: int, hi: int, what: str) -> int:
    """A whole number in ``lo..hi``: an int, or its plain decimal text (no blanks, sign
    ``+``, leading zeros, ``0x``, ``_`` or ``:``); huge numbers are named by their length."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise BadValue(f"{what} must be an integer, got {_type_name(value)} {safe_repr(value)}")
    if isinstance(value, str):
        if not _DECIMAL.fullmatch(value):
            raise BadValue(f"{what} must be a decimal integer, got {safe_repr(value)}")
        if len(value.lstrip("-")) > MAX_DIGITS:
            raise BadValue(f"must be {lo}..{hi}, got a {len(value.lstrip('-'))}-digit number")
        value = int(value)
    if not lo <= value <= hi:
        raise BadValue(f"must be {lo}..{hi}, got {safe_repr(value)}")
    return value


def parse_vlan(value: object) -> int:
    return _int_in(value, 1, 4094, "VLAN id")


def parse_port(value: object) -> int:
    return _int_in(value, 1, 65535, "port")


def parse_timeout(value: object) -> int:
    return _int_in(value, 1, 3600, "timeout")


def parse_stage(value: object) -> int:
    return _int_in(value, 1, 1000, "restore stage")


def _has_scope(value: IPAddress | IPNetwork) -> bool:
    address = value.network_address if isinstance(value, ipaddress.IPv6Network) else value
    return isinstance(address, ipaddress.IPv6Address) and address.scope_id is not None


def _address_text(text: str, what: str, whole: str | None = None) -> None:
    """Refuse anything a device CLI would not take as an address: zone IDs (``%eth0``),
    blanks, non-ASCII digits — only ``[0-9.]`` (IPv4) or ``[0-9A-Fa-f:.]`` (IPv6)."""
    shown = safe_repr(text if whole is None else whole)
    bad = _dangerous(text if whole is None else whole)
    if bad is not None:
        raise BadValue(f"{bad} not allowed in {what}: {shown}")
    if "%" in text:
        raise BadValue(f"zone ID ('%...') not allowed in {what}: {shown}")
    if not _ADDRESS_RE.fullmatch(text):
        raise BadValue(f"not an IP {what}: {shown}")


def parse_ip(value: object) -> IPAddress:
    """An IPv4 (strict dotted quad) or IPv6 address; zone IDs refused. Rendered by its
    canonical ``str()``, never as the user wrote it."""
    if isinstance(value, ipaddress.IPv4Address | ipaddress.IPv6Address):
        if _has_scope(value):
            raise BadValue(f"zone ID ('%...') not allowed in address: {safe_repr(str(value))}")
        return value
    text = _text(value, "address")
    _address_text(text, "address")
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        raise BadValue(f"not an IP address: {safe_repr(text)}") from None


def network_key(net: IPNetwork) -> tuple[int, int, int]:
    """Sort key for prefixes of both families (``sorted`` alone fails on mixed versions)."""
    return net.version, int(net.network_address), net.prefixlen


def parse_ipv4(value: object) -> ipaddress.IPv4Address:
    addr = parse_ip(value)
    if not isinstance(addr, ipaddress.IPv4Address):
        raise BadValue(f"not an IPv4 address: {safe_repr(str(addr))}")
    return addr


def parse_ipv6(value: object) -> ipaddress.IPv6Address:
    addr = parse_ip(value)
    if not isinstance(addr, ipaddress.IPv6Address):
        raise BadValue(f"not an IPv6 address: {safe_repr(str(addr))}")
    return addr


def parse_prefix(value: object) -> IPNetwork:
    """A network in CIDR form ``ADDRESS[/LEN]`` (no netmask form, no zone ID, no leading
    zeros in the length); host bits must be zero (``10.0.0.1/24`` is refused). Rendered by
    its canonical ``str()``, never as the user wrote it."""
    if isinstance(value, ipaddress.IPv4Network | ipaddress.IPv6Network):
        if _has_scope(value):
            raise BadValue(f"zone ID ('%...') not allowed in prefix: {safe_repr(str(value))}")
        return value
    text = _text(value, "prefix")
    address, slash, length = text.partition("/")
    _address_text(address, "prefix", text)
    if slash and not _PREFIX_LEN_RE.fullmatch(length):
        raise BadValue(f"prefix length must be a number 0..128 without leading zeros, got {safe_repr(text)}")
    try:
        return ipaddress.ip_network(text, strict=True)
    except ValueError as exc:
        if "host bits set" in str(exc):
            raise BadValue(f"host bits set in prefix {safe_repr(text)}") from None
        raise BadValue(f"not an IP prefix: {safe_repr(text)}") from None


def parse_name(value: object, what: str = "name") -> str:
    """Device, host, segment, group, tag and credential-set names."""
    return _check_alphabet(_text(value, what), what, _NAME_RE, "[A-Za-z0-9][A-Za-z0-9._-]{0,62}")


def parse_acl_name(value: object) -> str:
    text = _text(value, "ACL/table name")
    return _check_alphabet(text, "ACL/table name", _ACL_RE, "[A-Za-z][A-Za-z0-9_-]{0,63}")


def parse_user(value: object) -> str:
    text = _text(value, "user name")
    return _check_alphabet(text, "user name", _USER_RE, "[A-Za-z0-9._@-]{1,64}")


def parse_step_id(value: object) -> str:
    text = _text(value, "step id")
    return _check_alphabet(text, "step id", _STEP_RE, "[a-z0-9][a-z0-9-]{0,39}")


def parse_service(value: object) -> str:
    text = _text(value, "service name")
    return _check_alphabet(text, "service name", _SERVICE_RE, "[A-Za-z0-9][A-Za-z0-9._-]{0,62}")


def parse_hostname(value: object) -> str:
    """A DNS name or an IP address (where to connect)."""
    text = _text(value, "host")
    bad = _dangerous(text)
    if bad is not None:
        raise BadValue(f"{bad} not allowed in host: {safe_repr(text)}")
    if "%" in text:
        raise BadValue(f"zone ID ('%...') not allowed in host: {safe_repr(text)}")
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        pass
    labels = text.removesuffix(".").split(".")
    if len(text) <= 253 and all(_DNS_LABEL_RE.fullmatch(label) for label in labels):
        return text
    raise BadValue(f"not a DNS name or IP address: {safe_repr(text)}")


def _ios_type(word: str, types: tuple[str, ...]) -> str | None:
    low = word.lower()
    exact = [t for t in types if t.lower() == low]
    if exact:
        return exact[0]
    if len(low) < 2:
        return None
    found = [t for t in types if t.lower().startswith(low)]
    return found[0] if len(found) == 1 else None


def parse_ios_interface(value: object, grammar: InterfaceGrammar = IOS_INTERFACES) -> str:
    """An IOS-style interface name, abbreviations expanded: ``Gi1/0/5`` → ``GigabitEthernet1/0/5``."""
    text = _text(value, "interface name")
    bad = _dangerous(text)
    if bad is not None:
        raise BadValue(f"{bad} not allowed in interface name: {safe_repr(text)}")
    match = _IOS_IF_RE.fullmatch(text)
    kind = _ios_type(match.group(1), grammar.types) if match else None
    if match is None or kind is None:
        raise BadValue(f"not an IOS interface name: {safe_repr(text)}")
    number = match.group(2)
    if kind in grammar.logical and not number.isdigit():
        raise BadValue(f"not an IOS interface name: {safe_repr(text)}")
    if kind == "Vlan":
        parse_vlan(number)
    return kind + number


def parse_linux_interface(value: object) -> str:
    text = _text(value, "interface name")
    return _check_alphabet(text, "interface name", _LINUX_IF_RE, "[A-Za-z0-9_.-]{1,15}")


def parse_interface(value: object, platform: str | None = None) -> str:
    """An interface name for ``platform`` (IOS forms expanded); without a platform,
    either an IOS name (kept as written) or a Linux/OVS name."""
    record = PLATFORMS.get(platform) if platform is not None else None
    if record is not None and record.interfaces.style == "typed":
        return parse_ios_interface(value, record.interfaces)
    if record is not None and record.interfaces.style == "pattern":
        text = _text(value, "interface name")
        return _check_alphabet(text, "interface name", re.compile(record.interfaces.pattern, re.ASCII),
                               f"a {record.title} interface name")
    if platform is not None:
        return parse_linux_interface(value)
    text = _text(value, "interface name")
    try:
        parse_ios_interface(text)
        return text
    except BadValue:
        pass
    for other in PLATFORMS.values():  # a name of a platform with a pattern grammar (Junos)
        if other.interfaces.style == "pattern" and re.fullmatch(other.interfaces.pattern, text, re.ASCII):
            return _check_alphabet(text, "interface name", re.compile(other.interfaces.pattern, re.ASCII),
                                   other.title)
    return parse_linux_interface(text)


def parse_path(value: object) -> str:
    """A local file path (never sent to a device): none of the refused characters."""
    text = _text(value, "path")
    bad = _dangerous(text)
    if bad is not None:
        raise BadValue(f"{bad} not allowed in path: {safe_repr(text)}")
    if text == "" or len(text) > 4096:
        raise BadValue(f"not a usable path: {safe_repr(text)}")
    return text


def parse_text(value: object, what: str = "text") -> str:
    """Free text (descriptions, --incident, --reason): one line, at most 500 characters;
    no control, line-separator or bidi character, none of the refused characters. Free
    text never reaches a device CLI."""
    text = _text(value, what)
    bad = _dangerous(text)
    if bad is not None:
        raise BadValue(f"{bad} not allowed in {what}")
    if len(text) > 500:
        raise BadValue(f"{what} too long (max 500 characters)")
    return text


_REF_HELP: Final = "use env:VAR, file:PATH or file:PATH#key"


def parse_credential_ref(value: object) -> str:
    """``env:VAR``, ``file:PATH`` or ``file:PATH#key``. A literal secret is refused.

    Messages never repeat the value: it may be a secret.
    """
    if not isinstance(value, str) or not value.startswith(("env:", "file:")):
        raise BadValue(f"literal secret not allowed: {_REF_HELP}")
    if value.startswith("env:"):
        if not _ENV_RE.fullmatch(value[4:]):
            raise BadValue("env: reference needs a variable name [A-Za-z_][A-Za-z0-9_]*")
        return value
    bad = _dangerous(value)
    if bad is not None:
        raise BadValue(f"{bad} not allowed in a credential reference")
    path, _, key = value[5:].partition("#")
    if path == "" or len(path) > 4096:
        raise BadValue("file: reference needs a usable path")
    if "#" in value[5:] and not _YAML_KEY_RE.fullmatch(key):
        raise BadValue("file:PATH#key needs a key [A-Za-z0-9_.-]+")
    return value


def _pydantic(parser: Callable[[Any], _T]) -> Callable[[Any], _T]:
    """Turn a parser's BadValue into a pydantic error whose message is exactly ours."""

    def validate(value: Any) -> _T:
        try:
            return parser(value)
        except BadValue as exc:
            raise PydanticCustomError("isolate_value", "{reason}", {"reason": str(exc)}) from None

    validate.__name__ = parser.__name__
    return validate


def _selector_name(value: object) -> str:
    if value == "*":
        return "*"
    return parse_name(value)


def _selector_user(value: object) -> str:
    if value == "*":
        return "*"
    return parse_user(value)


VlanId = Annotated[int, BeforeValidator(_pydantic(parse_vlan))]
Port = Annotated[int, BeforeValidator(_pydantic(parse_port))]
TimeoutS = Annotated[int, BeforeValidator(_pydantic(parse_timeout))]
RestoreStage = Annotated[int, BeforeValidator(_pydantic(parse_stage))]
IPv4Addr = Annotated[ipaddress.IPv4Address, BeforeValidator(_pydantic(parse_ipv4))]
IPv6Addr = Annotated[ipaddress.IPv6Address, BeforeValidator(_pydantic(parse_ipv6))]
Address = Annotated[IPAddress, BeforeValidator(_pydantic(parse_ip))]
Prefix = Annotated[IPNetwork, BeforeValidator(_pydantic(parse_prefix))]
InterfaceName = Annotated[str, BeforeValidator(_pydantic(parse_interface))]
DeviceName = Annotated[str, BeforeValidator(_pydantic(lambda v: parse_name(v, "device name")))]
Name = Annotated[str, BeforeValidator(_pydantic(parse_name))]
AclName = Annotated[str, BeforeValidator(_pydantic(parse_acl_name))]
TableName = AclName
UserName = Annotated[str, BeforeValidator(_pydantic(parse_user))]
StepId = Annotated[str, BeforeValidator(_pydantic(parse_step_id))]
ServiceName = Annotated[str, BeforeValidator(_pydantic(parse_service))]
Hostname = Annotated[str, BeforeValidator(_pydantic(parse_hostname))]
CredentialRef = Annotated[str, BeforeValidator(_pydantic(parse_credential_ref))]
FilePath = Annotated[str, BeforeValidator(_pydantic(parse_path))]
Text = Annotated[str, BeforeValidator(_pydantic(parse_text))]
SelectorName = Annotated[str, BeforeValidator(_pydantic(_selector_name))]
SelectorUser = Annotated[str, BeforeValidator(_pydantic(_selector_user))]
