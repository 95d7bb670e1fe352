"""``isolate worker --site NAME``: isolate's own drivers, run near the devices of one site.

The worker consumes two queues: the site's (``open`` calls, taken by any worker of the site)
and its own (every later call of a session it opened). It serves only the devices of its site
(credentials read here, from the site's copy of the inventory), checks every line against the
platform's grammar before its driver sees it (a broker is not trusted to speak for the
controller's guards), scrubs its secrets from every answer, and takes each push once: the
push's key is claimed in Redis (SET NX) before anything is sent, so a redelivered task answers
"already taken" instead of applying twice. A heartbeat key says it is alive.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import sys
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis
from celery import signals
from celery.exceptions import SecurityWarning
from celery.worker.consumer import Consumer
from kombu.exceptions import KombuError

from isolate.drivers.base import Batch, ConfirmCapable, ConfirmPrerequisites, Session
from isolate.drivers.registry import connector
from isolate.errors import CommandRejected, ConnectError, ExitCode, InputError, IsolateError, PrecheckFailed
from isolate.execute.sessions import guarded
from isolate.execute.targets import resolve_targets
from isolate.inventory.models import Inventory
from isolate.secrets import Scrubber
from isolate.sites.app import celery_app, redis_client
from isolate.sites.config import ALIVE_KEY, CALL_TASK, REPLY_KEY, SITE_QUEUE, TAKEN_KEY, BrokerTarget
from isolate.sites.reasons import refused, unreachable
from isolate.sites.resolve import broker_of
from isolate.sites.wire import error_out, result_out

log = logging.getLogger("isolate.sites.worker")
HEARTBEAT_S = 1.0
ALIVE_TTL_S = 4
REPLY_TTL_S = 3600
TAKEN_TTL_S = 7 * 24 * 3600
IDLE_CLOSE_S = 900.0  # a session no call used for this long is closed (its controller is gone)
# reconnections to a broker lost while serving, 2, 4, 6 … 20 s apart (kombu's schedule): about
# two minutes for a broker restarted or a link back, before the worker stops with exit 1
BROKER_RETRIES = 10


class BrokerLost(IsolateError):
    """The broker went away while the worker served and did not come back within its
    reconnection attempts: the worker stopped (exit 1) so that its supervisor sees it."""


class _OneLine(logging.Formatter):
    """The worker's log: one line per record (time, level, logger, message), the error's type
    and text after it; the traceback only with ``--debug``. Celery's and kombu's records
    included: a broker that goes away makes them log tracebacks (an ack that could not be sent,
    a reconnection) that no admin needs unless asked."""

    def __init__(self, debug: bool) -> None:
        super().__init__()
        self.debug = debug

    def format(self, record: logging.LogRecord) -> str:
        text = f"{self.formatTime(record)} {record.levelname} {record.name}: {record.getMessage()}"
        error = record.exc_info[1] if record.exc_info else None
        if error is not None:
            text += f" ({type(error).__name__}: {error})"
        text = " ".join(part.strip() for part in text.splitlines() if part.strip())
        if self.debug and record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


def _own_logging(debug: bool) -> None:
    """The root logger writes ``_OneLine`` records to stderr, warnings and above (everything
    with ``debug``); Celery, told by its ``setup_logging`` signal that logging is taken care
    of, configures none of its own."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_OneLine(debug))
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(logging.DEBUG if debug else logging.WARNING)
    signals.setup_logging.connect(_logging_is_ours, weak=False)


def _logging_is_ours(**_: Any) -> None:
    """A receiver of Celery's ``setup_logging``: its presence is what keeps Celery's hands off."""


class CeleryFailed(IsolateError):
    """Celery's worker stopped on an error of its own, not the broker's (a bug: exit 70)."""

    exit_code = ExitCode.INTERNAL


class _Consumer(Consumer):  # type: ignore[misc]
    """Celery's consumer, whose clean-up after a lost broker cannot stop the worker.

    Celery 5.7.0 closes the lost connection after ``collect()`` has detached it from its
    transport. A channel that still holds a delivered, unacknowledged call (the broker went away
    between a call's delivery and its acknowledgement) then needs the transport to put the call
    back, and kombu fails with an AttributeError that Celery takes for an unrecoverable error:
    the worker stopped instead of reconnecting. Here that failure ends the clean-up and the
    reconnection goes on; the call is lost with the connection (its controller sees the broker
    lost while waiting for it, a dropped session)."""

    def on_connection_error_after_connected(self, exc: BaseException) -> None:
        try:
            super().on_connection_error_after_connected(exc)
        except AttributeError as error:
            self.connection = None
            log.warning("broker connection lost; its clean-up failed in kombu (%s); reconnecting", error)


class _GaveUp(logging.Filter):
    """Celery's worker logs ``Unrecoverable error`` with a traceback when its consumer gives up
    on the broker, then returns as from a clean stop (exit 0). This keeps that error, for the
    one line the worker ends with, instead of the traceback."""

    def __init__(self) -> None:
        super().__init__()
        self.error: BaseException | None = None

    def filter(self, record: logging.LogRecord) -> bool:
        if str(record.msg).startswith("Unrecoverable error") and record.exc_info:
            self.error = record.exc_info[1]
            return False
        return True


class SiteWorker:
    def __init__(
        self,
        inventory: Inventory,
        site: str,
        broker: BrokerTarget,
        *,
        transport: str | None = None,
        work_dir: Path | None = None,
        timeout_s: float = 30.0,
        idle_close_s: float = IDLE_CLOSE_S,
    ) -> None:
        self.inventory = inventory
        self.site = site
        self.devices = tuple(d.name for d in inventory.devices if d.site == site)
        if not self.devices:
            raise InputError(f"site '{site}': no device of the inventory has 'site: {site}'")
        resolved = resolve_targets(
            inventory, self.devices, timeout_s=timeout_s, work_dir=work_dir, serving_site=site
        )
        self.targets = resolved.targets
        self.scrubber = Scrubber.of([*resolved.secrets, broker.password])
        self.connect = connector(transport)
        self.broker = broker
        self.redis = redis_client(broker)
        self.name = f"{site}-{socket.gethostname()}-{os.getpid()}"
        self.queue = f"isolate.worker.{site}.{self.name}"
        self.sessions: dict[str, Session] = {}
        self.used: dict[str, float] = {}  # sid -> when a call last used it (time.monotonic)
        self.idle_close_s = idle_close_s
        self.lock = threading.Lock()
        self.stopping = threading.Event()

    # -- one call -------------------------------------------------------------------------------
    def call(self, op: str, device: str, sid: str, args: dict[str, Any], call_id: str) -> None:
        try:
            reply: dict[str, Any] = {"ok": self._do(op, device, sid, args)}
        except IsolateError as exc:
            reply = {"error": error_out(exc, device)}
        except Exception as exc:  # a bug or a library error the driver did not wrap: outcome unknown
            log.exception("site worker call %s on %s", op, device)
            reply = {
                "error": {
                    "kind": "ConnectError",
                    "device": device,
                    "command": None,
                    "message": f"{device}: site worker {self.name}: {type(exc).__name__}: {exc}",
                }
            }
        if op == "close":
            return
        key = REPLY_KEY.format(call=call_id)
        pipe = self.redis.pipeline()
        pipe.rpush(key, json.dumps(self.scrubber.scrub_data(reply)))
        pipe.expire(key, REPLY_TTL_S)
        pipe.execute()

    def _do(self, op: str, device: str, sid: str, args: dict[str, Any]) -> Any:
        if op == "ping":  # no device touched: the site's worker is there and the broker carries
            return {"worker": self.name, "site": self.site, "devices": len(self.devices)}
        if device not in self.targets:
            raise CommandRejected(
                f"{device}: not a device of site {self.site}; refused by worker {self.name}", device=device
            )
        if op == "open":
            return self._open(device, sid, args)
        session = self._session(device, sid)
        handler = self._ops().get(op)
        if handler is None:
            raise CommandRejected(
                f"{device}: unknown call {op!r}; refused by worker {self.name}", device=device
            )
        return handler(session, args)

    def _ops(self) -> dict[str, Callable[[Any, dict[str, Any]], Any]]:
        return {
            "run": lambda s, a: result_out(s.run(str(a["command"]))),
            "read_state": lambda s, a: s.read_state(),
            "push": lambda s, a: self._push(s, a, confirmed=False),
            "push_confirmed": lambda s, a: self._push(s, a, confirmed=True),
            "push_batch": lambda s, a: self._push(s, a, confirmed=False),
            "confirm": lambda s, a: s.confirm(),
            "pending_reverts": lambda s, a: list(s.pending_reverts()),
            "cancel_reverts": lambda s, a: list(s.cancel_reverts(str(a["prefix"]))),
            "confirm_ready": lambda s, a: s.confirm_ready(str(a["state"])),
            "close": lambda s, a: self._close(a, s),
        }

    def _open(self, device: str, sid: str, args: dict[str, Any]) -> dict[str, Any]:
        target = self.targets[device]
        session = guarded(self.connect(target))
        with self.lock:
            self.sessions[sid] = session
            self.used[sid] = time.monotonic()
        return {
            "queue": self.queue,
            "worker": self.name,
            "confirm": isinstance(session, ConfirmCapable),
            "prereq": isinstance(session, ConfirmPrerequisites),
        }

    def _session(self, device: str, sid: str) -> Any:
        with self.lock:
            session = self.sessions.get(sid)
            if session is not None:
                self.used[sid] = time.monotonic()
        if session is None or session.target.name != device:
            raise ConnectError(
                f"{device}: no open session on site worker {self.name} (restarted?)", device=device
            )
        return session

    def _push(self, session: Any, args: dict[str, Any], *, confirmed: bool) -> list[dict[str, Any]]:
        device = session.target.name
        taken = self.redis.set(TAKEN_KEY.format(key=str(args["key"])), self.name, nx=True, ex=TAKEN_TTL_S)
        if not taken:  # a redelivered push: never sent twice
            raise ConnectError(
                f"{device}: push already taken by a delivery before this one (not sent again); "
                "the outcome is unknown",
                device=device,
            )
        commands = [str(c) for c in args["commands"]]
        if "exec_after" in args:  # a typed batch: configuration lines, then exec-mode lines
            batch = Batch(tuple(commands), tuple(str(c) for c in args["exec_after"]))
            window = args.get("window_s")
            window_s = None if window is None else int(window)
            answers = session.push_batch(batch, window_s=window_s, tag=str(args.get("tag", "")))
        elif confirmed:
            answers = session.push_confirmed(commands, window_s=int(args["window_s"]), tag=str(args["tag"]))
        else:
            answers = session.push(commands)
        return [result_out(a) for a in answers]

    def _close(self, args: dict[str, Any], session: Any) -> None:
        with self.lock:
            for sid, open_session in list(self.sessions.items()):
                if open_session is session:
                    del self.sessions[sid]
                    self.used.pop(sid, None)
        session.close()

    def reap(self, now: float | None = None) -> list[str]:
        """Close the sessions no call used for ``idle_close_s`` (a controller killed mid-run
        never sends its closes); returns the devices whose session was closed."""
        now = time.monotonic() if now is None else now
        with self.lock:
            idle = [sid for sid, used in self.used.items() if now - used > self.idle_close_s]
            closing = [(sid, self.sessions.pop(sid)) for sid in idle if sid in self.sessions]
            for sid in idle:
                self.used.pop(sid, None)
        for sid, session in closing:
            name = session.target.name
            log.warning("closing %s's session %s: idle over %g s", name, sid, self.idle_close_s)
            session.close()
        return [session.target.name for _, session in closing]

    # -- life -----------------------------------------------------------------------------------
    def heartbeat(self) -> None:
        key = ALIVE_KEY.format(worker=self.name)
        failing_since: float | None = None  # one line when the broker goes, then every 30 s
        told = 0.0
        while not self.stopping.is_set():
            try:
                self.redis.set(key, self.site, ex=ALIVE_TTL_S)
                if failing_since is not None:
                    log.warning("heartbeat to broker back after %.0f s", time.monotonic() - failing_since)
                failing_since = None
            except Exception as exc:  # the broker is away: keep trying, the controller sees us gone
                now = time.monotonic()
                if failing_since is None or now - told >= 30.0:
                    since = "" if failing_since is None else f" (for {now - failing_since:.0f} s)"
                    log.warning("heartbeat to broker failed%s: %s", since, exc)
                    told = now
                failing_since = now if failing_since is None else failing_since
            self.reap()
            self.stopping.wait(HEARTBEAT_S)

    def close_all(self) -> None:
        self.stopping.set()
        with self.lock:
            sessions, self.sessions, self.used = list(self.sessions.values()), {}, {}
        for session in sessions:
            session.close()


def check_broker(worker: SiteWorker) -> None:
    """One PING before serving. A broker that refuses this end (its TLS certificate, the
    password) will not change its mind: PrecheckFailed in one line, rather than Celery's
    retries ending in a traceback. Any other failure is left to Celery's connection retries."""
    try:
        worker.redis.ping()
    except redis.RedisError as exc:
        if refused(worker.broker, exc):
            why = f"broker {worker.broker.where} unreachable: {unreachable(worker.broker, exc)}"
            raise PrecheckFailed(f"site {worker.site}: {why}") from None
        log.warning("broker %s not reachable yet: %s", worker.broker.where, exc)


def run_worker(
    inventory: Inventory,
    site: str,
    *,
    concurrency: int = 32,
    transport: str | None = None,
    work_dir: Path | None = None,
    timeout_s: float = 30.0,
    idle_close_s: float = IDLE_CLOSE_S,
    broker_retries: int = BROKER_RETRIES,
    ready: Callable[[SiteWorker], None] | None = None,
    debug: bool = False,
) -> None:
    """Serve ``site`` until stopped (SIGTERM/SIGINT: Celery's warm shutdown). A broker lost
    while serving is tried again ``broker_retries`` times (2, 4, 6 … 30 s apart); after that,
    BrokerLost: the one line that names the broker and why."""
    broker = broker_of(inventory)
    if broker is None:
        raise InputError("the inventory has no 'broker': site workers need one (docs/scale.md)")
    worker = SiteWorker(
        inventory, site, broker, transport=transport, work_dir=work_dir, timeout_s=timeout_s,
        idle_close_s=idle_close_s,
    )  # fmt: skip
    _own_logging(debug)
    check_broker(worker)
    app = celery_app(broker)
    app.conf.broker_connection_max_retries = broker_retries

    @app.task(name=CALL_TASK, ignore_result=True)  # type: ignore[untyped-decorator]
    def call(op: str, device: str, sid: str, args: dict[str, Any], call_id: str) -> None:
        worker.call(op, device, sid, args, call_id)

    beat = threading.Thread(target=worker.heartbeat, name="isolate-worker-heartbeat", daemon=True)
    beat.start()
    if ready is not None:
        ready(worker)
    if os.geteuid() == 0:  # Celery's own notice names a --uid option this command does not have
        warnings.filterwarnings("ignore", category=SecurityWarning)
        log.warning("the worker runs as root: run it as a user of its own (docs/scale.md)")
    served = threading.Event()  # Celery's worker_ready: its consumer took the queues once

    def _ready(**_: Any) -> None:
        served.set()

    signals.worker_ready.connect(_ready, weak=False)
    asked: list[str] = []  # the signals that asked the worker to stop (SIGTERM, Ctrl-C)

    def _asked(sig: str = "", **_: Any) -> None:
        asked.append(sig)

    signals.worker_shutting_down.connect(_asked, weak=False)
    gave_up = _GaveUp()
    celery_log = logging.getLogger("celery.worker")  # celery.utils.log.worker_logger
    celery_log.addFilter(gave_up)
    try:
        controller = app.Worker(
            hostname=f"{worker.name}@{socket.gethostname()}",
            queues=[SITE_QUEUE.format(site=site), worker.queue],
            pool="threads",
            concurrency=concurrency,
            loglevel="WARNING",
            without_gossip=True,
            without_mingle=True,
            without_heartbeat=True,
            quiet=True,
            consumer_cls=_Consumer,
            redirect_stdouts=False,  # this worker's own lines stay lines on stderr, not log records
        )
        controller.start()
    finally:
        celery_log.removeFilter(gave_up)
        signals.worker_ready.disconnect(_ready)
        signals.worker_shutting_down.disconnect(_asked)
        worker.close_all()
        with contextlib.suppress(Exception):
            worker.redis.delete(ALIVE_KEY.format(worker=worker.name))
    if gave_up.error is not None and not isinstance(gave_up.error, (redis.RedisError, KombuError, OSError)):
        error = gave_up.error
        raise CeleryFailed(
            f"site {site}: worker {worker.name} stopped: Celery failed: {type(error).__name__}: {error} "
            "(run it with --debug for the traceback); start the worker again"
        ) from error
    if gave_up.error is not None:
        why = unreachable(broker, gave_up.error)
        if not served.is_set():  # Celery's consumer never came up: nothing was lost
            raise BrokerLost(
                f"site {site}: worker {worker.name} stopped: broker {broker.where} unreachable: {why} "
                f"(no answer in {broker_retries} more attempt(s)); start the worker again once the "
                "broker answers"
            ) from gave_up.error
        raise BrokerLost(
            f"site {site}: worker {worker.name} stopped: broker {broker.where} lost: {why} "
            f"(not back after {broker_retries} reconnection attempt(s)); its sessions were closed, "
            "start the worker again once the broker answers"
        ) from gave_up.error
    if controller.exitcode not in (None, 0) and not asked:  # Celery exits 1 on a Ctrl-C: asked for
        code = controller.exitcode
        raise IsolateError(f"site {site}: worker {worker.name} stopped by Celery (exit code {code})")
