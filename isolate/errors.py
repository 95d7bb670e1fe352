"""One exception root, children named after the stage that failed.

Every error's ``str()`` is the one line a user sees: it names the file, line and
field, or the device and the command. ``exit_code`` is what the CLI returns
(see docs/exit-codes.md); the values are stable.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    PARTIAL = 1  # some devices/steps failed, the rest done; or a drill check failed
    BAD_INPUT = 2  # inventory, playbook, plan file, topology or option is invalid
    PRECHECK_FAILED = 3  # nothing was changed
    VERIFY_FAILED = 4  # a read-back did not show what it must (apply verify, restore gate)
    LOCKED = 5  # another run holds a device
    REFUSED = 6  # a safety guard refused the plan (management path, protected asset)
    JOURNAL_INVALID = 7  # journal verification failed (tampered, torn, incomplete)
    CANCELLED = 8  # the operator answered no at a confirmation prompt; nothing was sent
    INTERNAL = 70  # a bug: a traceback was printed with --debug


class IsolateError(Exception):
    """Root of every error isolate reports to a user."""

    exit_code: ExitCode = ExitCode.PARTIAL

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class InputError(IsolateError):
    """Bad input: a file, a field, an option. Carries every problem found (capped)."""

    exit_code = ExitCode.BAD_INPUT

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems: list[str] = problems if problems is not None else [message]


class InventoryError(InputError):
    pass


class PlaybookError(InputError):
    pass


class TopologyError(InputError):
    pass


class PlanError(InputError):
    """The plan cannot be built (unsupported action × platform, empty selector, stale plan file)."""


class PlanRefused(IsolateError):
    """A safety guard refused a step (management path, protected asset)."""

    exit_code = ExitCode.REFUSED


class DeviceError(IsolateError):
    """Something went wrong talking to one device. The message names device and command.
    ``sent``: during a push, how many of the batch's lines had been written when it went wrong
    (the line in flight and any typed ahead of it included), when the driver knows; a line
    that appears twice in a batch is then told apart (``execute.inflight.may_have_run``)."""

    def __init__(self, message: str, *, device: str, command: str | None = None,
                 sent: int | None = None) -> None:
        super().__init__(message)
        self.device = device
        self.command = command
        self.sent = sent


class ConnectError(DeviceError):
    pass


class AuthError(DeviceError):
    pass


class DeviceTimeout(DeviceError):
    pass


class CommandRejected(DeviceError):
    pass


class PrecheckFailed(IsolateError):
    exit_code = ExitCode.PRECHECK_FAILED


class RestoreError(IsolateError):
    exit_code = ExitCode.VERIFY_FAILED


class LockHeld(IsolateError):
    exit_code = ExitCode.LOCKED


class JournalError(IsolateError):
    exit_code = ExitCode.JOURNAL_INVALID


class LabError(IsolateError):
    pass
