"""Site workers: devices reachable only from a site are driven by ``isolate worker --site NAME``
running there, over a Celery queue on a Redis broker; the controller keeps the one journal
(docs/scale.md).

The controller's executor is unchanged: a device with a ``site`` gets a *remote session*
(``client.py``) whose every call (read, push, read-back, confirm window) is one Celery task on
the site's queue, answered on a Redis list. The intent is journaled before the push task is
sent, exactly as before a local push; the answers and the read-back state come back and are
journaled by the controller. The worker (``worker.py``) runs isolate's own drivers, checks every
line against the platform grammar again, serves only its site's devices, and takes each push
once (an idempotency key per push in Redis), so a redelivered task cannot apply twice.
"""
