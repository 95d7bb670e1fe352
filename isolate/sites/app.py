"""The Celery application and the Redis client, built the same way on both ends."""

from __future__ import annotations

from typing import Any

import redis
from celery import Celery

from isolate.sites.config import BrokerTarget


def celery_app(broker: BrokerTarget) -> Celery:
    """Dispatch only: JSON messages, no result backend (answers come back on Redis lists, one
    per call), a task taken by one worker at a time, acknowledged when taken (a worker lost
    mid-task loses the task: the controller sees the worker gone, never a late second apply)."""
    app = Celery("isolate", broker=broker.url_with_password(), set_as_current=False)
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        result_serializer="json",
        task_ignore_result=True,
        task_acks_late=False,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=3,
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        task_send_sent_event=False,
        broker_pool_limit=64,
        # what Celery 6 will do by default (it only concerns tasks acknowledged late, which
        # isolate's are not); set, so that a lost broker does not print Celery's deprecation notice
        worker_cancel_long_running_tasks_on_connection_loss=True,
    )
    tls = broker.ssl_options()
    if tls is not None:
        app.conf.broker_use_ssl = tls
        # kombu keeps one pool of connections (and producers) per process for each broker,
        # told apart by URL, user, password and transport options, not by the TLS settings: a
        # second app of the process with another CA or client certificate (``isolate watch``
        # after the inventory's broker was corrected) would get the first one's connections.
        # The settings, as a transport option the Redis transport ignores, tell them apart.
        app.conf.broker_transport_options = {"isolate_tls": repr(sorted(tls.items()))}
    return app


def redis_client(broker: BrokerTarget) -> redis.Redis:
    options: dict[str, Any] = {"socket_timeout": 10.0, "socket_connect_timeout": 5.0, "max_connections": 256}
    tls = broker.ssl_options()
    if tls is not None:  # the same CA and client certificate as Celery's connection (broker_use_ssl)
        options.update(tls, ssl_cert_reqs="required", ssl_check_hostname=True)
    client: redis.Redis = redis.Redis.from_url(broker.url_with_password(), **options)
    return client
