"""What travels between controller and worker: JSON only (never a pickled object), results and
errors as plain mappings, an error coming back as the same DeviceError child it was."""

from __future__ import annotations

from typing import Any

from isolate.drivers.base import CommandResult
from isolate.errors import (
    AuthError,
    CommandRejected,
    ConnectError,
    DeviceError,
    DeviceTimeout,
    IsolateError,
)

ERRORS: dict[str, type[DeviceError]] = {
    "ConnectError": ConnectError,
    "AuthError": AuthError,
    "DeviceTimeout": DeviceTimeout,
    "CommandRejected": CommandRejected,
    "DeviceError": DeviceError,
}


def result_out(result: CommandResult) -> dict[str, Any]:
    return {
        "device": result.device,
        "command": result.command,
        "output": result.output,
        "started": result.started,
        "duration_s": result.duration_s,
    }


def result_in(data: dict[str, Any]) -> CommandResult:
    return CommandResult(
        device=str(data["device"]),
        command=str(data["command"]),
        output=str(data["output"]),
        started=float(data["started"]),
        duration_s=float(data["duration_s"]),
    )


def error_out(exc: IsolateError, device: str) -> dict[str, Any]:
    kind = next((name for name, cls in ERRORS.items() if type(exc) is cls), None)
    if kind is None:  # not a device error (a refused line, a bad request): the device was not touched
        kind = "CommandRejected" if "refused, not sent" in str(exc) else "DeviceError"
    return {"kind": kind, "message": str(exc), "device": device, "command": getattr(exc, "command", None)}


def error_in(data: dict[str, Any]) -> DeviceError:
    cls = ERRORS.get(str(data.get("kind")), DeviceError)
    command = data.get("command")
    return cls(str(data["message"]), device=str(data["device"]), command=str(command) if command else None)
