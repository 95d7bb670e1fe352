"""Active Directory over LDAP (``ldap3``): LDAPS (port 636) or StartTLS (any other port),
the server certificate always verified against the inventory's CA file (hostname or IP
address checked too); simple bind with the device's credentials (by reference).

State (``read_state``): one JSON object per line, sorted, for the bind account, every user
account and every group under the domain's naming context, with only the attributes
isolate touches — ``userAccountControl`` and direct group memberships (``memberOf``, as
group names); nothing volatile (logon counters, password times) is read::

    {"bind_account":"isolate","naming_context":"DC=lab,DC=example"}
    {"account":"carol","dn":"CN=carol,CN=Users,DC=lab,DC=example","groups":["VPN Users"],"uac":512}
    {"dn":"CN=VPN Users,CN=Users,DC=lab,DC=example","group":"VPN Users","groups":[]}

``push`` accepts only these lines (names validated again here; every filter value goes
through ``escape_filter_chars``; DNs are never built from names, only taken from the
directory's own answers):

    disable ACCOUNT              userAccountControl |= 0x2 (ACCOUNTDISABLE)
    set-uac ACCOUNT N            userAccountControl = N (the inverse: the captured value)
    remove-member ACCOUNT GROUP  the account's DN removed from the group's member (if there)
    add-member ACCOUNT GROUP     the account's DN added to the group's member (if missing)

``run("bind-test")`` tries a simple bind as every account the inventory holds a test
credential for, and answers one line each: ``ACCOUNT accepted`` or ``ACCOUNT refused
RESULT`` (the password never appears).
"""

from __future__ import annotations

import json
import re
import ssl
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any

from ldap3 import (
    BASE,
    MODIFY_ADD,
    MODIFY_DELETE,
    MODIFY_REPLACE,
    NONE,
    SIMPLE,
    SUBTREE,
    Connection,
    Server,
    Tls,
)
from ldap3.core.exceptions import LDAPCertificateError, LDAPException
from ldap3.utils.conv import escape_filter_chars

from isolate.drivers.active_directory_state import ACCOUNTDISABLE, BIND_TEST
from isolate.drivers.base import CommandResult, Target
from isolate.errors import AuthError, CommandRejected, ConnectError, DeviceError
from isolate.values import BadValue
from isolate.values_directory import parse_account, parse_group

LDAPS_PORT = 636
ROOT_DSE = "root-dse"  # read: the RootDSE's identity attributes (the platform's identity check)
_DSE_ATTRIBUTES = ("supportedCapabilities", "domainFunctionality", "dnsHostName")
USER_FILTER = "(&(objectCategory=person)(objectClass=user)(sAMAccountName={}))"
GROUP_FILTER = "(&(objectClass=group)(sAMAccountName={}))"
_COMMAND = re.compile(r"(disable|set-uac|remove-member|add-member) (\S+)(?: (.+))?")
_PAGE = 500


def _tls(target: Target) -> Tls:
    if target.ca_file is None:
        raise ConnectError(
            f"{target.name}: no CA file for the directory (inventory directory.ca_file): "
            "the certificate is always verified",
            device=target.name,
        )
    if not target.ca_file.is_file():
        raise ConnectError(f"{target.name}: CA file {target.ca_file} not found", device=target.name)
    return Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=str(target.ca_file), version=ssl.PROTOCOL_TLS_CLIENT)


def open_connection(target: Target, user: str, password: str) -> Connection:
    """A bound connection to ``target`` as ``user``: LDAPS on 636, else StartTLS first.
    LDAPException propagates (the caller says what it was doing)."""
    tls = _tls(target)
    ldaps = target.port == LDAPS_PORT
    server = Server(
        target.host,
        port=target.port,
        use_ssl=ldaps,
        tls=tls,
        get_info=NONE,
        connect_timeout=int(target.timeout_s),
    )
    conn = Connection(
        server,
        user=user,
        password=password,
        authentication=SIMPLE,
        auto_bind=False,
        receive_timeout=int(target.timeout_s),
        raise_exceptions=False,
    )
    conn.open()
    if not ldaps and not conn.start_tls():
        conn.unbind()
        raise LDAPException(f"StartTLS refused: {conn.result.get('description')}")
    conn.bind()
    return conn


def _why(exc: BaseException, target: Target) -> str:
    """One short line for a failed connection (ldap3 puts whole certificates in messages)."""
    if isinstance(exc, LDAPCertificateError):
        return f"the server certificate does not name {target.host} (TLS, verified against {target.ca_file})"
    text = " ".join(str(exc).split())
    if "CERTIFICATE_VERIFY_FAILED" in text:
        return f"the server certificate is not signed by the CA in {target.ca_file} (TLS verification failed)"
    return text[:200]


def _one(entry: dict[str, Any], name: str) -> str:
    """An attribute's single value as text ('' when absent); without schema, ldap3 gives lists."""
    value = entry.get("attributes", {}).get(name)
    if isinstance(value, list):
        value = value[0] if value else ""
    return str(value) if value is not None else ""


def _many(entry: dict[str, Any], name: str) -> list[str]:
    value = entry.get("attributes", {}).get(name) or []
    return [str(v) for v in (value if isinstance(value, list) else [value])]


def _result(conn: Connection) -> str:
    res = conn.result or {}
    message = str(res.get("message") or "").strip()
    return f"{res.get('description', 'no result')}" + (f" ({message})" if message else "")


class ActiveDirectorySession:
    def __init__(self, target: Target) -> None:
        self.target = target
        if not target.password:
            raise AuthError(
                f"{target.name}: no password for the bind account {target.username}", device=target.name
            )
        try:
            self._conn = open_connection(target, target.username, target.password)
        except (LDAPException, OSError) as exc:
            raise ConnectError(
                f"{target.name}: LDAP connection failed: {_why(exc, target)}", device=target.name
            ) from None
        if not self._conn.bound:
            why = _result(self._conn)
            self._conn.unbind()
            raise AuthError(f"{target.name}: bind as {target.username} refused: {why}", device=target.name)
        self._base = self._naming_context()

    # ------------------------------------------------------------------ reads

    @contextmanager
    def _ldap(self, what: str) -> Iterator[None]:
        try:
            yield
        except LDAPException as exc:
            raise DeviceError(f"{self.target.name}: {what}: {exc}", device=self.target.name) from None

    def _naming_context(self) -> str:
        with self._ldap("reading the RootDSE"):
            self._conn.search("", "(objectClass=*)", BASE, attributes=["defaultNamingContext"])
        entries = self._conn.response or []
        for entry in entries:
            value = _one(entry, "defaultNamingContext")
            if value:
                return value
        raise DeviceError(
            f"{self.target.name}: no defaultNamingContext in the RootDSE", device=self.target.name
        )

    def _search(self, what: str, flt: str, attributes: list[str]) -> list[dict[str, Any]]:
        with self._ldap(what):
            found = self._conn.extend.standard.paged_search(
                self._base, flt, SUBTREE, attributes=attributes, paged_size=_PAGE, generator=False
            )
        return [e for e in (found or []) if e.get("type") == "searchResEntry"]

    def _whoami(self) -> str:
        with self._ldap("who am I"):
            raw = self._conn.extend.standard.who_am_i() or ""
        name = str(raw).removeprefix("u:")
        return name.split("\\", 1)[-1]

    def read_state(self) -> str:
        groups = self._search("reading groups", "(objectClass=group)", ["sAMAccountName", "memberOf"])
        names = {str(g["dn"]).lower(): _one(g, "sAMAccountName") for g in groups}

        def group_names(entry: dict[str, Any]) -> list[str]:
            dns = _many(entry, "memberOf")
            return sorted((names.get(dn.lower(), dn) for dn in dns), key=str.lower)

        users = self._search(
            "reading accounts",
            "(&(objectCategory=person)(objectClass=user))",
            ["sAMAccountName", "userAccountControl", "memberOf"],
        )
        lines = [json.dumps({"bind_account": self._whoami(), "naming_context": self._base}, sort_keys=True)]
        for user in sorted(users, key=lambda e: _one(e, "sAMAccountName").lower()):
            record = {
                "account": _one(user, "sAMAccountName"),
                "dn": str(user["dn"]),
                "groups": group_names(user),
                "uac": int(_one(user, "userAccountControl") or 0),
            }
            lines.append(json.dumps(record, sort_keys=True))
        for group in sorted(groups, key=lambda e: _one(e, "sAMAccountName").lower()):
            record = {"dn": str(group["dn"]), "group": _one(group, "sAMAccountName")}
            record["groups"] = group_names(group)
            lines.append(json.dumps(record, sort_keys=True))
        return "".join(f"{line}\n" for line in lines)

    def _find(self, command: str, flt: str, name: str, attributes: list[str]) -> dict[str, Any]:
        found = self._search(
            f"{command!r}: looking up {name}", flt.format(escape_filter_chars(name)), attributes
        )
        if len(found) != 1:
            why = "not found" if not found else f"{len(found)} entries match"
            raise self._refuse(command, f"{name}: {why}")
        return found[0]

    # ------------------------------------------------------------------ protocol

    def run(self, command: str) -> CommandResult:
        started = time.time()
        if command == ROOT_DSE:
            lines = self._root_dse()
        elif command == BIND_TEST:
            lines = [self._bind_test(user, password) for user, password in self.target.test_credentials]
        else:
            raise CommandRejected(
                f"{self.target.name}: {command[:80]!r} refused: only '{BIND_TEST}' and '{ROOT_DSE}' "
                "are read commands here",
                device=self.target.name,
                command=command,
            )
        output = "".join(f"{line}\n" for line in lines)
        return CommandResult(self.target.name, command, output, started, time.time() - started)

    def _root_dse(self) -> list[str]:
        """``attribute: value`` lines of the RootDSE's identity attributes, as the server answers."""
        with self._ldap("reading the RootDSE"):
            self._conn.search("", "(objectClass=*)", BASE, attributes=list(_DSE_ATTRIBUTES))
        entries = [e for e in (self._conn.response or []) if e.get("type") == "searchResEntry"]
        return [f"{name}: {value}" for e in entries for name in _DSE_ATTRIBUTES for value in _many(e, name)]

    def _bind_test(self, account: str, password: str) -> str:
        entry = self._find(BIND_TEST, USER_FILTER, account, ["sAMAccountName"])
        try:
            conn = open_connection(self.target, str(entry["dn"]), password)
        except LDAPException as exc:
            return f"{account} refused {str(exc)[:80]}"
        try:
            return f"{account} accepted" if conn.bound else f"{account} refused {_result(conn)}"
        finally:
            conn.unbind()

    def push(self, commands: Sequence[str]) -> list[CommandResult]:
        results = []
        for command in commands:
            started = time.time()
            output = self._push_one(command)
            results.append(
                CommandResult(self.target.name, command, output, started, time.time() - started)
            )
        return results

    def close(self) -> None:
        with suppress(LDAPException):
            self._conn.unbind()

    # ------------------------------------------------------------------ writes

    def _refuse(self, command: str, why: str) -> CommandRejected:
        return CommandRejected(
            f"{self.target.name}: {command[:80]!r} refused: {why}", device=self.target.name, command=command
        )

    def _parse(self, command: str) -> tuple[str, str, str | None]:
        match = _COMMAND.fullmatch(command)
        if match is None:
            raise self._refuse(command, "not one of disable / set-uac / remove-member / add-member")
        verb, account, rest = match.group(1), match.group(2), match.group(3)
        try:
            parse_account(account)
            if verb in ("remove-member", "add-member"):
                parse_group(rest)
            elif verb == "set-uac" and not (rest or "").isdigit():
                raise BadValue(f"userAccountControl must be a number, got {rest!r}")
            elif verb == "disable" and rest is not None:
                raise BadValue("disable takes one account")
        except BadValue as exc:
            raise self._refuse(command, str(exc)) from None
        return verb, account, rest

    def _modify(self, command: str, dn: str, changes: dict[str, list[tuple[str, list[Any]]]]) -> str:
        with self._ldap(f"{command!r}"):
            ok = self._conn.modify(dn, changes)
        if not ok:
            raise self._refuse(command, _result(self._conn))
        return _result(self._conn)

    def _push_one(self, command: str) -> str:
        verb, account, rest = self._parse(command)
        user = self._find(command, USER_FILTER, account, ["userAccountControl", "memberOf"])
        user_dn = str(user["dn"])
        if verb in ("disable", "set-uac"):
            current = int(_one(user, "userAccountControl") or 0)
            wanted = current | ACCOUNTDISABLE if verb == "disable" else int(rest or 0)
            if wanted == current:
                return "unchanged"
            return self._modify(command, user_dn, {"userAccountControl": [(MODIFY_REPLACE, [str(wanted)])]})
        assert rest is not None
        group = self._find(command, GROUP_FILTER, rest, ["sAMAccountName"])
        group_dn = str(group["dn"])
        member = group_dn.lower() in {d.lower() for d in _many(user, "memberOf")}
        if (verb == "remove-member") != member:
            return "unchanged"
        op = MODIFY_DELETE if verb == "remove-member" else MODIFY_ADD
        return self._modify(command, group_dn, {"member": [(op, [user_dn])]})


def connect(target: Target) -> ActiveDirectorySession:
    return ActiveDirectorySession(target)
