"""The HTTP intake of ``isolate watch`` on aiohttp (a maintained asyncio HTTP server with
TLS through the standard ``ssl`` module and a request body cap).

``POST /alert``: authenticated by ``Authorization: Bearer TOKEN`` or by
``X-Isolate-Signature: sha256=HEX`` (HMAC-SHA256 of the raw body with the same secret);
bounded in size (413) and in requests per source address per minute (429). Every refusal is
a JSON ``{"error": ...}`` reply and one log line; the secret never appears in either.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import socket
import ssl
import time
from collections import deque
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from isolate.errors import InputError, IsolateError
from isolate.watch.alerts import BadAlert, NotAnAlert, parse_alert
from isolate.watch.service import Watcher

log = logging.getLogger("isolate.watch")
MAX_PEERS = 4096


@dataclass
class Gate:
    secrets: list[bytes]  # more than one while a secret is being rotated
    max_body: int
    per_minute: int
    seen: dict[str, deque[float]]

    def over_rate(self, peer: str, now: float) -> bool:
        if len(self.seen) > MAX_PEERS:  # bounded memory: forget addresses idle for a minute
            self.seen = {p: w for p, w in self.seen.items() if w and now - w[-1] < 60}
        window = self.seen.setdefault(peer, deque())
        while window and now - window[0] >= 60:
            window.popleft()
        if len(window) >= self.per_minute:
            return True
        window.append(now)
        return False

    def authentic(self, request: web.Request, body: bytes) -> bool:
        bearer = request.headers.get("Authorization", "")
        signature = request.headers.get("X-Isolate-Signature", "")
        if bearer.startswith("Bearer "):
            given = bearer[len("Bearer "):].encode()
            return any([hmac.compare_digest(given, secret) for secret in self.secrets])
        if signature.startswith("sha256="):
            given = signature[len("sha256="):].encode()
            expected = [hmac.new(key, body, hashlib.sha256).hexdigest().encode() for key in self.secrets]
            return any([hmac.compare_digest(given, e) for e in expected])
        return False


WATCHER = web.AppKey("watcher", Watcher)
GATE = web.AppKey("gate", Gate)
POOL = web.AppKey("pool", ThreadPoolExecutor)


def _refuse(status: int, peer: str, message: str) -> web.Response:
    log.warning("refused %d from %s: %s", status, peer, message)
    return web.json_response({"error": message}, status=status)


async def alert(request: web.Request) -> web.Response:
    gate: Gate = request.app[GATE]
    peer = request.remote or "?"
    if gate.over_rate(peer, time.monotonic()):
        return _refuse(429, peer, f"more than {gate.per_minute} requests a minute from {peer}")
    if request.content_length is not None and request.content_length > gate.max_body:
        return _refuse(413, peer, f"body of {request.content_length} bytes; the limit is {gate.max_body}")
    try:
        body = await request.read()
    except web.HTTPRequestEntityTooLarge:
        return _refuse(413, peer, f"body larger than the limit of {gate.max_body} bytes")
    if not gate.authentic(request, body):
        return _refuse(401, peer, "not authenticated: a valid bearer token or X-Isolate-Signature needed")
    try:
        parsed = parse_alert(body, request.content_type)
    except NotAnAlert as exc:
        log.info("record from %s ignored: %s", peer, exc)
        return web.json_response({"state": "ignored", "message": str(exc)}, status=200)
    except BadAlert as exc:
        return _refuse(400, peer, f"malformed alert: {exc}")
    log.info("%s alert from sensor %s via %s: %s %s -> %s", parsed.action, parsed.sensor or "-", peer,
             parsed.signature, parsed.source, parsed.destination or "-")
    loop = asyncio.get_running_loop()
    try:
        outcome = await loop.run_in_executor(request.app[POOL], request.app[WATCHER].handle, parsed)
    except IsolateError as exc:
        log.error("alert from %s: %s", parsed.source, exc)
        return web.json_response({"error": str(exc)}, status=500)
    return web.json_response(outcome, status=200)


@web.middleware
async def _no_traceback(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Any error a handler did not expect becomes a JSON 500 and one log line, never a traceback."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        return _refuse(exc.status, request.remote or "?", exc.reason)
    except Exception as exc:
        log.error("internal error on %s %s: %s", request.method, request.path, type(exc).__name__)
        return web.json_response({"error": "internal error (see the watch log)"}, status=500)


def make_app(
    watcher: Watcher, *, secrets: list[bytes], max_body: int, per_minute: int
) -> web.Application:
    app = web.Application(client_max_size=max_body, middlewares=[_no_traceback])
    app[WATCHER] = watcher
    app[GATE] = Gate(secrets, max_body, per_minute, {})
    app[POOL] = ThreadPoolExecutor(max_workers=1, thread_name_prefix="watch")
    app.router.add_post("/alert", alert)
    app.router.add_get("/health", _health)
    return app


async def _health(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


def tls_context(cert: str, key: str) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    return context


async def _every(app: web.Application, seconds: float, tick: Callable[[], list[str]]) -> None:
    """``tick`` (the expiry sweep) every ``seconds``, on the alerts' one worker: it never runs
    beside an alert's decision; a failure is one log line, and the next tick comes."""
    loop = asyncio.get_running_loop()
    while True:
        await asyncio.sleep(seconds)
        try:
            for line in await loop.run_in_executor(app[POOL], tick):
                log.warning("%s", line)
        except IsolateError as exc:
            log.error("expiry sweep: %s", exc)


def serve(app: web.Application, host: str, port: int, *, tls: ssl.SSLContext | None,
          ready: Callable[[str, int], Any],
          tick: tuple[float, Callable[[], list[str]]] | None = None) -> None:
    """Run until SIGINT/SIGTERM; ``ready(host, port)`` once listening (port 0: the one bound);
    ``tick`` = (seconds, callable) runs in the background while listening."""

    async def main() -> None:
        runner = web.AppRunner(app, access_log=None, handle_signals=True)
        await runner.setup()
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        listener = socket.socket(family, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            listener.bind((host, port))
        except OSError as exc:
            listener.close()
            raise InputError(f"--listen {host}:{port}: cannot listen: {exc.strerror}") from None
        await web.SockSite(runner, listener, ssl_context=tls).start()
        ready(host, int(listener.getsockname()[1]))
        ticking = asyncio.create_task(_every(app, *tick)) if tick else None
        try:
            await asyncio.Event().wait()
        finally:
            if ticking is not None:
                ticking.cancel()
            await runner.cleanup()

    with contextlib.suppress(KeyboardInterrupt, web.GracefulExit):
        asyncio.run(main())
