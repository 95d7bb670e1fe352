"""FortiGate over its REST API (FortiOS 6.4–7.x), HTTPS with an API token.

Transport: aiohttp, on the one shared event loop of the drivers (``asyncssh_cli.LOOP``); one
HTTP connection pool per device, reused across steps. The token (``Authorization: Bearer``)
comes from the device's credential set by reference (``token: file:…``/``env:…``); the
certificate is always verified: pinned by its SHA-256 fingerprint (``tls: {fingerprint}``, a
self-signed FortiGate certificate) or against a CA file (``tls: {ca_file}``); a device with
neither is refused before anything is sent. Opening a session reads
``/api/v2/monitor/system/status`` (the token is checked there, as FortiOS clients do).

Every failure is one line naming the device and the request, with FortiOS's own error
(``fgt1: POST /api/v2/cmdb/firewall/address: HTTP 500, FortiOS error -5 (a duplicate entry
already exists)``).

``push`` lines (the ``fortios`` grammar of ``isolate.cmdguard``), each one or a few requests:

- ``create TABLE JSON``: ``POST /api/v2/cmdb/TABLE`` with the object;
- ``set TABLE KEY JSON``: ``PUT /api/v2/cmdb/TABLE/KEY`` (the fields given);
- ``delete TABLE KEY``: ``DELETE /api/v2/cmdb/TABLE/KEY``; already absent is not an error (a
  restore run twice); for ``firewall/policy`` KEY is the policy's name, resolved to its id
  from ``GET …/firewall/policy?filter=name==KEY``;
- ``move NAME top`` / ``move NAME after OTHER``: ``PUT /api/v2/cmdb/firewall/policy/ID?
  action=move&before=FIRST`` (the first policy's id, read just before) or ``&after=ID``;
- ``leave-groups USER``: ``PUT /api/v2/cmdb/user/group/G`` with the member list less USER,
  for every group listing USER;
- ``logoff USER``: ``GET /api/v2/monitor/vpn/ssl``, then ``POST /api/v2/monitor/vpn/ssl/delete``
  ``{"type": "websession", "index": N}`` for each of USER's sessions.

Reads (``run``): ``system-status`` (``key: value`` lines of the system status: the identity
probe), ``vpn-sessions`` (one ``USER INDEX REMOTE_HOST TUNNEL_IP`` line per SSL-VPN session),
``cmdb-tables`` (the state, as ``read_state``).
State (``read_state``): ``isolate.drivers.fortios_state``.
"""

from __future__ import annotations

import contextlib
import json
import re
import ssl
import time
from collections.abc import Sequence
from typing import Any, Final
from urllib.parse import quote

import aiohttp

from isolate.drivers.asyncssh_cli import LOOP
from isolate.drivers.base import CommandResult, Target
from isolate.drivers.fortios_state import GROUP, POLICY, TABLES, VPN_SESSIONS, member_names, normalise
from isolate.errors import AuthError, CommandRejected, ConnectError, DeviceError, DeviceTimeout

PLATFORM = "fortios"
SYSTEM_STATUS: Final = "system-status"
CMDB_TABLES: Final = "cmdb-tables"  # the state (the platform record's state command)
READS: Final = (SYSTEM_STATUS, VPN_SESSIONS, CMDB_TABLES)
NAME: Final = r"[A-Za-z0-9][A-Za-z0-9._-]{0,78}"
_LINE = re.compile(
    rf"(?P<verb>create) (?P<table>\S+) (?P<json>\{{.*\}})"
    rf"|(?P<verb2>set) (?P<table2>\S+) (?P<key2>{NAME}) (?P<json2>\{{.*\}})"
    rf"|(?P<verb3>delete) (?P<table3>\S+) (?P<key3>{NAME})"
    rf"|(?P<verb4>move) (?P<key4>{NAME}) (?:top|after (?P<after>{NAME}))"
    rf"|(?P<verb5>leave-groups|logoff) (?P<user>{NAME})"
)
# FortiOS error codes (the CLI's numbers), for messages.
ERRORS: Final[dict[int, str]] = {
    -1: "invalid length of value",
    -3: "entry not found",
    -5: "a duplicate entry already exists",
    -8: "invalid IP address",
    -23: "entry is used by another object",
    -37: "permission denied",
    -651: "input value is invalid",
}


class HttpRefused(CommandRejected):
    """FortiOS answered a request with an error (its HTTP status kept)."""

    def __init__(self, message: str, *, device: str, status: int) -> None:
        super().__init__(message, device=device)
        self.status = status


def _ssl(target: Target) -> ssl.SSLContext | aiohttp.Fingerprint:
    if target.tls_fingerprint:
        return aiohttp.Fingerprint(bytes.fromhex(target.tls_fingerprint.replace(":", "")))
    if target.ca_file is not None:
        if not target.ca_file.is_file():
            raise ConnectError(f"{target.name}: CA file {target.ca_file} not found", device=target.name)
        return ssl.create_default_context(cafile=str(target.ca_file))
    raise ConnectError(
        f"{target.name}: no way to verify its HTTPS certificate: set 'tls: {{fingerprint: …}}' "
        "or 'tls: {ca_file: …}' on the device in the inventory",
        device=target.name,
    )


class FortiosSession:
    """One FortiGate, over HTTPS."""

    def __init__(self, target: Target) -> None:
        self.target = target
        if not target.token:
            raise AuthError(
                f"{target.name}: no API token (credentials 'token: env:…' or 'token: file:…')",
                device=target.name,
            )
        self._ssl = _ssl(target)
        self._base = f"https://{target.host}:{target.port}"
        self._http: aiohttp.ClientSession | None = None
        try:
            self._call("GET", "/api/v2/monitor/system/status")  # the token is checked here
        except DeviceError:
            self.close()
            raise

    # ------------------------------------------------------------------ wire

    async def _open(self) -> aiohttp.ClientSession:
        if self._http is None:
            timeout = aiohttp.ClientTimeout(total=self.target.timeout_s)
            headers = {"Authorization": f"Bearer {self.target.token}", "Accept": "application/json"}
            self._http = aiohttp.ClientSession(timeout=timeout, headers=headers)
        return self._http

    async def _send(self, method: str, path: str, body: Any) -> tuple[int, str]:
        http = await self._open()
        data = None if body is None else json.dumps(body)
        async with http.request(method, self._base + path, data=data, ssl=self._ssl) as response:
            return response.status, await response.text()

    def _call(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        """One request; its decoded JSON answer, or a one-line DeviceError."""
        what = f"{method} {path.split('?')[0]}"
        name = self.target.name
        try:
            status, text = LOOP.run(self._send(method, path, body))
        except aiohttp.ServerFingerprintMismatch:
            raise ConnectError(
                f"{name}: {what}: the HTTPS certificate does not match the pinned fingerprint "
                "(possible impersonation; check the device, then tls.fingerprint)",
                device=name,
            ) from None
        except aiohttp.ClientConnectorCertificateError as exc:
            raise ConnectError(
                f"{name}: {what}: certificate not verified against {self.target.ca_file}: "
                f"{exc.certificate_error}",
                device=name,
            ) from None
        except TimeoutError:
            wait = f"{self.target.timeout_s:g}s"
            raise DeviceTimeout(f"{name}: {what}: no answer in {wait}", device=name) from None
        except (aiohttp.ClientError, OSError) as exc:
            raise ConnectError(f"{name}: {what}: {' '.join(str(exc).split())[:160]}", device=name) from None
        if status == 401:
            raise AuthError(f"{name}: {what}: HTTP 401, the API token was refused", device=name)
        try:
            answer = json.loads(text)
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise DeviceError(f"{name}: {what}: HTTP {status}, not a FortiOS JSON answer", device=name)
        if status != 200 or answer.get("status") not in (None, "success"):
            raise self._refused(what, status, answer)
        return answer

    def _refused(self, what: str, status: int, answer: dict[str, Any]) -> HttpRefused:
        code = answer.get("error")
        why = f"HTTP {status}"
        if isinstance(code, int):
            why += f", FortiOS error {code}" + (f" ({ERRORS[code]})" if code in ERRORS else "")
        return HttpRefused(f"{self.target.name}: {what}: {why}", device=self.target.name, status=status)

    @staticmethod
    def _cmdb(table: str, key: str | int | None = None, query: str = "") -> str:
        path = f"/api/v2/cmdb/{table}"
        if key is not None:
            path += "/" + quote(str(key), safe="")
        return path + (f"?{query}" if query else "")

    # ------------------------------------------------------------------ reads

    def _results(self, path: str) -> list[dict[str, Any]]:
        results = self._call("GET", path).get("results")
        return [r for r in results if isinstance(r, dict)] if isinstance(results, list) else []

    def read_state(self) -> str:
        lines: list[str] = []
        for table in TABLES:
            lines += normalise(table, self._results(self._cmdb(table)))
        return "".join(f"{line}\n" for line in lines)

    def sessions(self) -> list[dict[str, Any]]:
        return self._results("/api/v2/monitor/vpn/ssl")

    def run(self, command: str) -> CommandResult:
        started = time.time()
        if command == SYSTEM_STATUS:
            answer = self._call("GET", "/api/v2/monitor/system/status")
            results = answer.get("results") if isinstance(answer.get("results"), dict) else {}
            fields = {**(results or {}), "version": answer.get("version"), "serial": answer.get("serial")}
            output = "".join(f"{k}: {v}\n" for k, v in fields.items() if v is not None)
        elif command == CMDB_TABLES:
            output = self.read_state()
        elif command == VPN_SESSIONS:
            output = "".join(
                f"{s.get('user_name')} {s.get('index')} {s.get('remote_host')} "
                f"{','.join(str(x.get('aip')) for x in s.get('subsessions', []) if isinstance(x, dict))}\n"
                for s in self.sessions()
            )
        else:
            raise CommandRejected(
                f"{self.target.name}: {command[:80]!r} refused: the reads are {', '.join(READS)}",
                device=self.target.name,
                command=command,
            )
        return CommandResult(self.target.name, command, output, started, time.time() - started)

    # ------------------------------------------------------------------ writes

    def push(self, commands: Sequence[str]) -> list[CommandResult]:
        results = []
        for command in commands:
            started = time.time()
            try:
                output = self._push_one(command)
            except HttpRefused as exc:
                raise CommandRejected(
                    f"{self.target.name}: {command[:120]!r} rejected: {str(exc).split(': ', 1)[-1]}",
                    device=self.target.name,
                    command=command,
                ) from None
            took = time.time() - started
            results.append(CommandResult(self.target.name, command, output, started, took))
        return results

    def _refuse(self, command: str, why: str) -> CommandRejected:
        return CommandRejected(
            f"{self.target.name}: {command[:120]!r} rejected: {why}", device=self.target.name, command=command
        )

    def _parse(self, command: str) -> dict[str, str]:
        match = _LINE.fullmatch(command)
        if match is None:
            raise self._refuse(command, "not create/set/delete/move/leave-groups/logoff")
        found = {k.rstrip("2345"): v for k, v in match.groupdict().items() if v is not None}
        if "table" in found and found["table"] not in TABLES:
            raise self._refuse(command, f"table {found['table']} is not one isolate changes")
        return found

    def _body(self, command: str, text: str) -> dict[str, Any]:
        try:
            body = json.loads(text)
        except ValueError:
            raise self._refuse(command, "the object is not JSON") from None
        if not isinstance(body, dict):
            raise self._refuse(command, "the object is not a JSON object")
        return body

    def _policy_id(self, name: str) -> int | None:
        found = self._results(self._cmdb(POLICY, query=f"filter=name=={quote(name, safe='')}"))
        return int(found[0]["policyid"]) if found else None

    def _push_one(self, command: str) -> str:
        found = self._parse(command)
        verb = found["verb"]
        if verb == "create":
            answer = self._call("POST", self._cmdb(found["table"]), self._body(command, found["json"]))
            return f"created {answer.get('mkey')}"
        if verb == "set":
            self._call("PUT", self._cmdb(found["table"], found["key"]), self._body(command, found["json"]))
            return "updated"
        if verb == "delete":
            return self._delete(found["table"], found["key"])
        if verb == "move":
            return self._move(command, found["key"], found.get("after"))
        if verb == "leave-groups":
            return self._leave_groups(found["user"])
        return self._logoff(found["user"])

    def _delete(self, table: str, key: str) -> str:
        mkey: str | int | None = key
        if table == POLICY:
            mkey = self._policy_id(key)
            if mkey is None:
                return "absent"
        try:
            self._call("DELETE", self._cmdb(table, mkey))
        except HttpRefused as exc:
            if exc.status == 404:
                return "absent"
            raise
        return "deleted"

    def _move(self, command: str, name: str, after: str | None) -> str:
        policy = self._policy_id(name)
        if policy is None:
            raise self._refuse(command, f"no policy named {name}")
        if after is None:
            first = self._results(self._cmdb(POLICY, query="format=policyid"))
            neighbour = int(first[0]["policyid"]) if first else policy
            if neighbour == policy:
                return "already first"
            query = f"action=move&before={neighbour}"
        else:
            other = self._policy_id(after)
            if other is None:
                raise self._refuse(command, f"no policy named {after}")
            query = f"action=move&after={other}"
        self._call("PUT", self._cmdb(POLICY, policy, query))
        return "moved"

    def _leave_groups(self, user: str) -> str:
        left = []
        for group in self._results(self._cmdb(GROUP)):
            members = member_names(group, "member")
            if user in members:
                keep = [{"name": m} for m in members if m != user]
                self._call("PUT", self._cmdb(GROUP, str(group["name"])), {"member": keep})
                left.append(str(group["name"]))
        return f"left {', '.join(left)}" if left else "in no group"

    def _logoff(self, user: str) -> str:
        ended = []
        for session in self.sessions():
            if session.get("user_name") == user and isinstance(session.get("index"), int):
                body = {"type": "websession", "index": session["index"]}
                self._call("POST", "/api/v2/monitor/vpn/ssl/delete", body)
                ended.append(str(session["index"]))
        return f"ended {', '.join(ended)}" if ended else "no session"

    def close(self) -> None:
        if self._http is not None:
            http, self._http = self._http, None
            with contextlib.suppress(aiohttp.ClientError, OSError, RuntimeError):
                LOOP.run(http.close())


def connect(target: Target) -> FortiosSession:
    return FortiosSession(target)
