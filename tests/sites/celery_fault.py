"""``python celery_fault.py KIND isolate-args…``: the ``isolate`` command, with Celery's clean-up
after a lost broker connection failing as a library's own bug makes it fail, every time rather
than in a race.

``kombu``: as Celery 5.7.0 with kombu 5.7.0 does when the broker goes away between a call's
delivery and its acknowledgement (about one broker restart in ten on a loaded machine): the
connection is set aside, then closing it raises kombu's AttributeError (a channel restoring an
unacknowledged message through a transport already detached). ``other``: any other error of
Celery's own (a RuntimeError), which is not the broker's doing."""

from __future__ import annotations

import sys
from typing import Any

from celery.worker.consumer import consumer


def _fail_as_kombu(self: Any, exc: BaseException) -> None:
    self.connection = None
    raise AttributeError("'NoneType' object has no attribute 'hostname'")


def _fail_otherwise(self: Any, exc: BaseException) -> None:
    raise RuntimeError("a bug of Celery's own")


if __name__ == "__main__":
    kind = sys.argv.pop(1)
    failing = {"kombu": _fail_as_kombu, "other": _fail_otherwise}[kind]
    consumer.Consumer.on_connection_error_after_connected = failing
    from isolate.cli import entry

    sys.argv[0] = "isolate"
    entry()
