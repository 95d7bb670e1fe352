"""The controller's side: a remote session per site device, each call one Celery task.

``with_sites(connect, broker)`` wraps the executor's connector: a target with a ``site`` is
opened by a worker of that site (the ``open`` task goes to the site's queue; the worker that
takes it answers with its own queue), every later call of that session goes to that worker,
so a confirm window, a revert job and a connection stay on one machine. Each call's answer
comes back on its own Redis list; while waiting, the worker's heartbeat key is watched: a worker
that is gone (killed, partitioned) or a broker that is gone is a ConnectError, i.e. a dropped
session — during a push, an outcome the executor journals as unknown and restore reads back.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import redis
from kombu.exceptions import KombuError, OperationalError

from isolate.drivers.base import Batch, CommandResult, Session, Target
from isolate.errors import ConnectError, DeviceTimeout
from isolate.sites.app import celery_app, redis_client
from isolate.sites.config import ALIVE_KEY, CALL_TASK, REPLY_KEY, SITE_QUEUE, BrokerTarget
from isolate.sites.reasons import unreachable
from isolate.sites.wire import error_in, result_in

OPEN_WAIT_S = 30.0  # a site with no live worker: said after this long


class SiteClient:
    """One broker connection (Celery producer + Redis client) shared by every remote session."""

    def __init__(self, broker: BrokerTarget) -> None:
        self.broker = broker
        self.app = celery_app(broker)
        self.redis = redis_client(broker)

    def call(
        self,
        target: Target,
        queue: str,
        op: str,
        sid: str,
        args: dict[str, Any],
        *,
        worker: str | None,
        wait_s: float,
    ) -> Any:
        """Send one call and wait for its answer; the device's error comes back as raised."""
        call_id = uuid.uuid4().hex
        try:
            self.app.send_task(
                CALL_TASK, args=[op, target.name, sid, args, call_id], queue=queue, expires=wait_s
            )
        except (KombuError, OperationalError, redis.RedisError, OSError) as exc:
            raise ConnectError(
                f"{target.name}: broker {self.broker.where} unreachable: {unreachable(self.broker, exc)}",
                device=target.name,
            ) from exc
        reply = self._wait(target, call_id, worker=worker, wait_s=wait_s)
        if "error" in reply:
            raise error_in(reply["error"])
        return reply["ok"]

    def _wait(self, target: Target, call_id: str, *, worker: str | None, wait_s: float) -> dict[str, Any]:
        deadline = time.monotonic() + wait_s
        key = REPLY_KEY.format(call=call_id)
        site = target.site
        try:
            while True:
                got = self.redis.blpop([key], timeout=1)
                if got is not None:
                    reply: dict[str, Any] = json.loads(got[1])
                    return reply
                if worker is not None and not self.redis.exists(ALIVE_KEY.format(worker=worker)):
                    raise ConnectError(
                        f"{target.name}: site worker {worker} (site {site}) lost; the outcome is unknown",
                        device=target.name,
                    )
                if time.monotonic() > deadline:
                    if worker is None:
                        raise ConnectError(
                            f"{target.name}: no worker of site {site} answered within {wait_s:g} s "
                            f"(is 'isolate worker --site {site}' running?)",
                            device=target.name,
                        )
                    raise DeviceTimeout(
                        f"{target.name}: site worker {worker} gave no answer within {wait_s:g} s",
                        device=target.name,
                    )
        except redis.RedisError as exc:
            raise ConnectError(
                f"{target.name}: broker {self.broker.where} lost while waiting for site {site}: "
                f"{unreachable(self.broker, exc)}",
                device=target.name,
            ) from exc

    def ping(self, site: str, *, wait_s: float = OPEN_WAIT_S) -> dict[str, Any]:
        """One round trip to a worker of ``site`` that touches no device (health, latency)."""
        probe = Target(name=f"site-{site}", host="", port=0, platform="", username="", site=site)
        answer: dict[str, Any] = self.call(probe, SITE_QUEUE.format(site=site), "ping", "", {}, worker=None,
                                           wait_s=wait_s)  # fmt: skip
        return answer

    def open(self, target: Target) -> Session:
        sid = uuid.uuid4().hex
        queue = SITE_QUEUE.format(site=target.site)
        opened = self.call(
            target,
            queue,
            "open",
            sid,
            {"timeout_s": target.timeout_s},
            worker=None,
            wait_s=max(OPEN_WAIT_S, target.timeout_s),
        )
        session = RemoteSession(self, target, sid, str(opened["queue"]), str(opened["worker"]))
        if opened.get("confirm") and opened.get("prereq"):
            return RemoteConfirmPrereqSession(session)
        if opened.get("confirm"):
            return RemoteConfirmSession(session)
        return session


class RemoteSession:
    """A session opened by a site worker (the ``Session`` contract, over the broker)."""

    def __init__(self, client: SiteClient, target: Target, sid: str, queue: str, worker: str) -> None:
        self.client = client
        self.target = target
        self.sid = sid
        self.queue = queue
        self.worker = worker

    def _call(self, op: str, wait_s: float | None = None, **args: Any) -> Any:
        wait = wait_s if wait_s is not None else max(60.0, self.target.timeout_s * 4)
        return self.client.call(self.target, self.queue, op, self.sid, args, worker=self.worker, wait_s=wait)

    def run(self, command: str) -> CommandResult:
        return result_in(self._call("run", command=command))

    def push(self, commands: Sequence[str]) -> list[CommandResult]:
        answers = self._call(
            "push", commands=list(commands), key=uuid.uuid4().hex, wait_s=self._push_wait(commands)
        )
        return [result_in(a) for a in answers]

    def push_batch(self, batch: Batch, *, window_s: int | None = None, tag: str = "") -> list[CommandResult]:
        """A change with exec-mode lines, typed over the wire (configuration lines and
        ``exec_after`` apart); the worker's session refuses it where the platform has none."""
        answers = self._call(
            "push_batch",
            commands=list(batch.config),
            exec_after=list(batch.exec_after),
            window_s=window_s,
            tag=tag,
            key=uuid.uuid4().hex,
            wait_s=self._push_wait(batch.lines),
        )
        return [result_in(a) for a in answers]

    def _push_wait(self, commands: Sequence[str]) -> float:
        return max(120.0, self.target.timeout_s * (4 + len(commands)))

    def read_state(self) -> str:
        return str(self._call("read_state"))

    def close(self) -> None:
        """Tell the worker to close (not waited for: a lost worker has nothing to close)."""
        with contextlib.suppress(KombuError, OperationalError, redis.RedisError, OSError):
            self.client.app.send_task(
                CALL_TASK,
                args=["close", self.target.name, self.sid, {}, uuid.uuid4().hex],
                queue=self.queue,
                expires=60,
            )


class RemoteConfirmSession(RemoteSession):
    """A remote session whose device can revert by itself (``ConfirmCapable``)."""

    def __init__(self, base: RemoteSession) -> None:
        super().__init__(base.client, base.target, base.sid, base.queue, base.worker)

    def push_confirmed(self, commands: Sequence[str], *, window_s: int, tag: str = "") -> list[CommandResult]:
        answers = self._call(
            "push_confirmed",
            commands=list(commands),
            window_s=window_s,
            tag=tag,
            key=uuid.uuid4().hex,
            wait_s=self._push_wait(commands),
        )
        return [result_in(a) for a in answers]

    def confirm(self) -> None:
        self._call("confirm")

    def pending_reverts(self) -> list[str]:
        return [str(x) for x in self._call("pending_reverts")]

    def cancel_reverts(self, prefix: str) -> list[str]:
        return [str(x) for x in self._call("cancel_reverts", prefix=prefix)]


class RemoteConfirmPrereqSession(RemoteConfirmSession):
    """… whose revert needs device features configured first (``ConfirmPrerequisites``)."""

    def confirm_ready(self, state: str) -> str | None:
        missing = self._call("confirm_ready", state=state)
        return None if missing is None else str(missing)


def with_sites(
    connect: Callable[[Target], Session], broker: BrokerTarget | None
) -> Callable[[Target], Session]:
    """``connect``, except that a target with a site is opened through that site's worker."""
    if broker is None:
        return connect
    lock = threading.Lock()
    clients: list[SiteClient] = []

    def client() -> SiteClient:
        with lock:
            if not clients:
                clients.append(SiteClient(broker))
            return clients[0]

    return lambda target: client().open(target) if target.site else connect(target)
