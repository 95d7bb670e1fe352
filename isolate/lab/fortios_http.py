"""The lab FortiGate's REST API over HTTPS (aiohttp), in the embedded lab's process.

Served on 127.0.0.1 with a self-signed certificate (``fortios_cert.pem``/``fortios_key.pem``
in the lab's state dir; its SHA-256 fingerprint goes into the generated inventory). Every
request carries the lab's API token (``Authorization: Bearer TOKEN``, or ``access_token=`` in
the query as older clients send it); anything else is HTTP 401, as FortiOS answers.

Endpoints and answers follow FortiOS 7.2's JSON envelope (``http_method``, ``results``,
``vdom``, ``path``, ``name``, ``status``, ``http_status``, ``serial``, ``version``,
``build``; writes add ``revision``, ``revision_changed``, ``old_revision``, ``mkey``; errors
``"status": "error"`` with FortiOS's ``error`` code):

- ``GET /api/v2/monitor/system/status``;
- ``GET|POST /api/v2/cmdb/PATH/NAME``, ``GET|PUT|DELETE /api/v2/cmdb/PATH/NAME/MKEY``, with
  ``vdom``, ``filter`` (``KEY==V``, ``!=``, ``=@``, ``!@``; repeated filters AND, a comma
  ORs), ``format=a|b``, ``start``/``count``; ``PUT …/policy/ID?action=move&before=ID``
  (or ``after=``);
- ``GET /api/v2/monitor/vpn/ssl``, ``POST /api/v2/monitor/vpn/ssl/delete``
  (``{"type": "websession"|"subsession", "index": N}``);
- ``GET /api/v2/monitor/user/banned``, ``POST /api/v2/monitor/user/banned/add_users``
  (``{"ip_addresses": [...], "expiry": S}``), ``…/clear_users``, ``…/clear_all``;
- ``GET|POST /logincheck`` (token clients call it; a password login is refused: the lab
  speaks token authentication only).

The lab's faults apply per request (``METHOD /path?query`` is the "command"): ``auth-fail``
(HTTP 401), ``slow``, ``hang-*`` (no answer), ``drop-*`` (connection closed), ``reject``
(HTTP 500, error -651), ``authz-fail`` (HTTP 403, error -37).
"""

from __future__ import annotations

import asyncio
import datetime
import hashlib
import hmac
import ipaddress
import json
import ssl
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from isolate.lab.faults import DeviceFaults
from isolate.lab.fortios import (
    BUILD,
    TABLES,
    VDOM,
    VERSION,
    CmdbError,
    FortiGateDevice,
)
from isolate.lab.server import write_atomic

CERT_FILE = "fortios_cert.pem"
KEY_FILE = "fortios_key.pem"
Persist = Callable[[], None]


# ---------------------------------------------------------------- certificate


def ensure_certificate(state_dir: Path) -> tuple[Path, Path, str]:
    """The lab's HTTPS certificate and key (created once per state dir) and the
    certificate's SHA-256 fingerprint (``AA:BB:…``)."""
    cert_path, key_path = state_dir / CERT_FILE, state_dir / KEY_FILE
    if not (cert_path.exists() and key_path.exists()):
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "FortiGate lab"),
                          x509.NameAttribute(NameOID.ORGANIZATION_NAME, "isolate lab")])
        now = datetime.datetime.now(datetime.UTC)
        cert = (
            x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=3650))
            .add_extension(x509.SubjectAlternativeName([
                x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256())
        )
        write_atomic(key_path, key.private_bytes(serialization.Encoding.PEM,
                                                 serialization.PrivateFormat.PKCS8,
                                                 serialization.NoEncryption()))
        write_atomic(cert_path, cert.public_bytes(serialization.Encoding.PEM), mode=0o644)
    return cert_path, key_path, fingerprint(cert_path)


def fingerprint(cert_path: Path) -> str:
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    digest = cert.fingerprint(hashes.SHA256())
    return ":".join(f"{b:02X}" for b in digest)


def server_context(cert_path: Path, key_path: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(cert_path), str(key_path))
    return context


# ---------------------------------------------------------------- envelopes


class FortiApi:
    """The request handlers of one lab FortiGate."""

    def __init__(self, device: FortiGateDevice, token: str, persist: Persist,
                 faults: DeviceFaults | None = None) -> None:
        self.device = device
        self.token = token
        self.persist = persist
        self.faults = faults or DeviceFaults()

    def _base(self, request: web.Request, path: str, name: str) -> dict[str, Any]:
        return {"http_method": request.method, "vdom": VDOM, "path": path, "name": name,
                "action": request.query.get("action", ""),
                "serial": self.device.state.serial, "version": VERSION, "build": BUILD}

    def _revision(self, value: int | None = None) -> str:
        number = self.device.state.revision if value is None else value
        return hashlib.md5(f"{self.device.state.serial}:{number}".encode()).hexdigest()

    def _reply(self, body: dict[str, Any], status: int = 200) -> web.Response:
        body.setdefault("status", "success" if status == 200 else "error")
        body["http_status"] = status
        return web.Response(status=status, text=json.dumps(body, indent=2),
                            content_type="application/json")

    def _error(self, request: web.Request, path: str, name: str, err: CmdbError,
               mkey: str | None = None) -> web.Response:
        body = self._base(request, path, name)
        if request.method != "GET":
            body["revision"] = self._revision()
        body["status"] = "error"
        if mkey is not None:
            body["mkey"] = mkey
        if err.http_status != 404 or request.method != "GET":
            body["error"] = err.code
        if err.code == -651 or err.http_status == 400:
            body["cli_error"] = str(err)
        return self._reply(body, err.http_status)

    # ------------------------------------------------------------ auth

    def authorised(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        given = header[len("Bearer "):] if header.startswith("Bearer ") else request.query.get(
            "access_token", "")
        return bool(given) and hmac.compare_digest(given.encode(), self.token.encode())

    @web.middleware
    async def middleware(self, request: web.Request,
                         handler: Callable[[web.Request], Any]) -> web.StreamResponse:
        if request.path == "/logincheck":
            return await self.logincheck(request)
        if self.faults.delay():
            await asyncio.sleep(self.faults.delay())
        if self.faults.auth_fails() or not self.authorised(request):
            return web.Response(status=401, text="<html><body>401 Unauthorized</body></html>",
                                content_type="text/html")
        faulted = await self._fault(request)
        if faulted is not None:
            return faulted
        vdom = request.query.get("vdom", VDOM)
        if vdom != VDOM and "global" not in request.query:
            return self._reply({"http_method": request.method, "status": "error",
                                "vdom": vdom, "error": -3}, 404)
        response: web.StreamResponse = await handler(request)
        return response

    async def _fault(self, request: web.Request) -> web.StreamResponse | None:
        """The lab's faults (isolate/lab/faults.py), per request ``METHOD /path?query``:
        hang (no answer, ever), drop (connection closed, no answer), reject (HTTP 500,
        FortiOS error -651), deny (HTTP 403, error -37: the admin profile lacks the right)."""
        what = self.faults.on_command(f"{request.method} {request.path_qs}")
        if what in ("hang", "stuck"):
            await asyncio.Event().wait()  # until the lab stops (the request is cancelled)
        if what == "drop":
            if request.transport is not None:
                request.transport.close()
            raise asyncio.CancelledError
        if what in ("reject", "deny"):
            body = self._base(request, *_path_name(request.path))
            body.update({"status": "error", "error": -651 if what == "reject" else -37})
            return self._reply(body, 500 if what == "reject" else 403)
        return None

    async def logincheck(self, request: web.Request) -> web.Response:
        # A token client only pings it; a password login fails (body "0"), as FortiOS
        # answers wrong credentials: the lab accepts API tokens only.
        return web.Response(status=200, text="0" if request.method == "POST" else "",
                            content_type="text/html")

    # ------------------------------------------------------------ monitor

    async def system_status(self, request: web.Request) -> web.Response:
        body = self._base(request, "system", "status")
        body["results"] = {"model_name": "FortiGate", "model_number": "VM64", "model": "FGVMK6",
                           "hostname": self.device.state.hostname, "log_disk_status": "available"}
        return self._reply(body)

    async def vpn_ssl(self, request: web.Request) -> web.Response:
        body = self._base(request, "vpn", "ssl")
        body["results"] = self.device.sessions_json(time.time())
        return self._reply(body)

    async def vpn_ssl_delete(self, request: web.Request) -> web.Response:
        body = self._base(request, "vpn", "ssl")
        body["action"] = "delete"
        data = await self._json(request)
        try:
            if not isinstance(data, dict) or not isinstance(data.get("index"), int):
                raise CmdbError(-651, 400, "index is required")
            self.device.end_session(str(data.get("type", "")), data["index"], time.time())
        except CmdbError as err:
            return self._error(request, "vpn", "ssl", err)
        self.persist()
        body["results"] = {}
        return self._reply(body)

    async def banned(self, request: web.Request) -> web.Response:
        body = self._base(request, "user", "banned")
        body["results"] = self.device.banned_json(time.time())
        return self._reply(body)

    async def banned_action(self, request: web.Request) -> web.Response:
        action = request.match_info["action"]
        body = self._base(request, "user", "banned")
        body["action"] = action
        data = await self._json(request)
        data = data if isinstance(data, dict) else {}
        try:
            addresses = data.get("ip_addresses", [])
            if action != "clear_all" and (not isinstance(addresses, list) or not addresses):
                raise CmdbError(-651, 400, "ip_addresses is required")
            if action == "add_users":
                expiry = data.get("expiry", 0)
                if not isinstance(expiry, int) or expiry < 0:
                    raise CmdbError(-651, 400, "expiry must be a number of seconds")
                self.device.ban([str(a) for a in addresses], expiry, time.time())
            elif action == "clear_users":
                self.device.unban([str(a) for a in addresses])
            else:
                self.device.unban(list(self.device.state.banned))
        except (CmdbError, ValueError) as err:
            error = err if isinstance(err, CmdbError) else CmdbError(-8, 400, str(err))
            return self._error(request, "user", "banned", error)
        self.persist()
        body["results"] = {}
        return self._reply(body)

    # ------------------------------------------------------------ cmdb

    @staticmethod
    async def _json(request: web.Request) -> Any:
        raw = await request.read()
        if not raw.strip():
            return {}
        try:
            return json.loads(raw)
        except ValueError:
            return None

    def _table(self, request: web.Request) -> tuple[str, str, str, str | None]:
        path, name = request.match_info["path"], request.match_info["name"]
        mkey = request.match_info.get("mkey")
        return path, name, f"{path}/{name}", mkey

    async def cmdb(self, request: web.Request) -> web.Response:
        path, name, table, mkey = self._table(request)
        if table not in TABLES:
            return self._reply({**self._base(request, path, name), "status": "error"}, 404)
        try:
            if request.method == "GET":
                return self._get(request, path, name, table, mkey)
            return await self._write(request, path, name, table, mkey)
        except CmdbError as err:
            return self._error(request, path, name, err, mkey)

    def _get(self, request: web.Request, path: str, name: str, table: str,
             mkey: str | None) -> web.Response:
        device = self.device
        if mkey is not None:
            row = device.find(table, mkey)
            if row is None:
                raise CmdbError(-3, 404)
            rows = [row]
        else:
            rows = list(device.rows(table))
        filters = request.query.getall("filter", [])
        rows = [r for r in rows if all(_matches(r, f) for f in filters)]
        total = len(rows)
        start = int(request.query.get("start", "0") or 0)
        count = request.query.get("count")
        rows = rows[start:start + int(count)] if count else rows[start:]
        wanted = request.query.get("format")
        if wanted:
            keep = set(wanted.split("|")) | {device.mkey_of(table), "q_origin_key"}
            rows = [{k: v for k, v in r.items() if k in keep} for r in rows]
        body = self._base(request, path, name)
        body.update({"size": len(rows), "matched_count": total, "next_idx": start + len(rows) - 1,
                     "revision": self._revision(), "results": rows})
        if mkey is not None:
            body["mkey"] = mkey
        return self._reply(body)

    async def _write(self, request: web.Request, path: str, name: str, table: str,
                     mkey: str | None) -> web.Response:
        device = self.device
        old = device.state.revision
        data = await self._json(request)
        if request.method == "POST" and mkey is None:
            if not isinstance(data, dict):
                raise CmdbError(-651, 500, "the body must be one JSON object")
            row = device.create(table, data)
            key: Any = row[device.mkey_of(table)]
        elif mkey is None:
            return self._reply({**self._base(request, path, name), "status": "error"}, 405)
        elif request.method == "PUT" and request.query.get("action") == "move":
            where = "before" if "before" in request.query else "after"
            neighbour = request.query.get(where)
            if not neighbour:
                raise CmdbError(-651, 500, "move needs before= or after=")
            if table != "firewall/policy":
                raise CmdbError(-651, 500, "move is for policies")
            device.move(mkey, where, neighbour)
            key = int(mkey) if mkey.isdigit() else mkey
        elif request.method == "PUT":
            if not isinstance(data, dict):
                raise CmdbError(-651, 500, "the body must be one JSON object")
            device.update(table, mkey, data)
            key = int(mkey) if table == "firewall/policy" and mkey.isdigit() else mkey
        elif request.method == "DELETE":
            device.delete(table, mkey)
            key = int(mkey) if table == "firewall/policy" and mkey.isdigit() else mkey
        else:
            return self._reply({**self._base(request, path, name), "status": "error"}, 405)
        self.persist()
        body = self._base(request, path, name)
        body.update({"revision": self._revision(), "revision_changed": device.state.revision != old,
                     "old_revision": self._revision(old), "mkey": key})
        return self._reply(body)


def _path_name(path: str) -> tuple[str, str]:
    """``/api/v2/cmdb/firewall/policy/5`` → ``("firewall", "policy")``."""
    parts = path.strip("/").split("/")
    return (parts[3], parts[4]) if len(parts) > 4 else ("", "")


def _field_text(row: dict[str, Any], key: str) -> list[str]:
    value = row.get(key)
    if isinstance(value, list):
        return [str(m.get("name", "")) if isinstance(m, dict) else str(m) for m in value]
    return [] if value is None else [str(value)]


def _matches(row: dict[str, Any], expression: str) -> bool:
    """One ``filter=`` parameter: comma-separated conditions, any of which may match."""
    for condition in expression.split(","):
        for op in ("==", "!=", "=@", "!@"):
            key, found, value = condition.partition(op)
            if not found:
                continue
            values = _field_text(row, key)
            hit = {
                "==": value in values,
                "!=": value not in values,
                "=@": any(value in v for v in values),
                "!@": not any(value in v for v in values),
            }[op]
            if hit:
                return True
            break
    return False


def make_app(device: FortiGateDevice, token: str, persist: Persist,
             faults: DeviceFaults | None = None) -> web.Application:
    api = FortiApi(device, token, persist, faults)
    app = web.Application(middlewares=[api.middleware])
    app.router.add_route("*", "/logincheck", api.logincheck)
    app.router.add_get("/api/v2/monitor/system/status", api.system_status)
    app.router.add_get("/api/v2/monitor/vpn/ssl", api.vpn_ssl)
    app.router.add_post("/api/v2/monitor/vpn/ssl/delete", api.vpn_ssl_delete)
    app.router.add_get("/api/v2/monitor/user/banned", api.banned)
    app.router.add_post(r"/api/v2/monitor/user/banned/{action:add_users|clear_users|clear_all}",
                        api.banned_action)
    app.router.add_route("*", "/api/v2/cmdb/{path}/{name}", api.cmdb)
    app.router.add_route("*", "/api/v2/cmdb/{path}/{name}/{mkey}", api.cmdb)
    return app


class HttpsDevices:
    """Every HTTPS device of the lab: one aiohttp site per device port."""

    def __init__(self) -> None:
        self._runners: list[web.AppRunner] = []

    async def add(self, device: FortiGateDevice, port: int, token: str, context: ssl.SSLContext,
                  persist: Persist, faults: DeviceFaults | None = None) -> None:
        runner = web.AppRunner(make_app(device, token, persist, faults), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", port, ssl_context=context, reuse_address=True)
        await site.start()
        self._runners.append(runner)

    async def stop(self) -> None:
        for runner in self._runners:
            await runner.cleanup()
