"""Unknown outcomes: a push whose device stopped answering or dropped the connection.

Such a change is neither applied nor failed: part of the batch may be on the device, and a
line sent may still be executed. It is journaled as a ``failed`` record with phase
``in-flight``, ``outcome: "unknown"`` and ``may_have_run`` (the commands that may have run),
and shown as ``in flight (unknown)`` by status, reports and ``journal show``. A device that
did not answer is not asked again for its state (one timeout, not two): restore reads it
back at its gate. A refused command is not an unknown outcome (the device answered).
"""

from __future__ import annotations

from collections.abc import Sequence

from isolate.errors import ConnectError, DeviceError, DeviceTimeout, IsolateError

LABEL = "in flight (unknown)"
PHASE = "in-flight"


def unknown_outcome(exc: IsolateError) -> bool:
    """The device stopped answering or the connection dropped while a push was under way."""
    return isinstance(exc, DeviceTimeout | ConnectError)


def answered(exc: IsolateError) -> bool:
    """False when the device did not answer at all (read it back later, not now)."""
    return not isinstance(exc, DeviceTimeout)


def may_have_run(commands: Sequence[str], exc: IsolateError) -> list[str]:
    """The batch's commands up to the one in flight: as many as the driver says it had written
    (``DeviceError.sent``), else up to the first line equal to the one named, else all of them
    (an atomic nft script: all or none)."""
    lines = list(commands)
    if isinstance(exc, DeviceError) and exc.sent is not None:
        return lines[: exc.sent]
    command = exc.command if isinstance(exc, DeviceError) else None
    if command is not None and command in lines:
        return lines[: lines.index(command) + 1]
    return lines


def message(device: str, exc: IsolateError, ran: Sequence[str], total: int) -> str:
    """``DEVICE: in flight (unknown): <what happened>; may have run N of M command(s) (last: '…')``."""
    last = f" (last: {ran[-1]!r})" if ran else ""
    what = str(exc).removeprefix(f"{device}: ")
    return f"{device}: {LABEL}: {what}; may have run {len(ran)} of {total} command(s){last}"
