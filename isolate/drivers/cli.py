"""One CLI session for every CLI platform, over a pluggable channel.

The platform record (``isolate.platforms``) says how the CLI is spoken: prompts, escalation,
configuration mode, paging, refusal and informational markers, the state command, the
commit-confirm strategy. A ``Channel`` (asyncssh or netmiko/paramiko) only sends a line and
reads up to a prompt; everything else (login, escalation, refusals, batches, confirm windows,
error messages) is here, once.

Each configuration line is sent on its own and its answer read up to the next prompt before
the next line goes out, so a refused line stops the batch where it is (a refused
``interface X`` must never let the following lines land on the previous interface).
"""

from __future__ import annotations

import contextlib
import math
import re
import time
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from isolate.drivers.base import Batch, CommandResult, Target, as_batch
from isolate.errors import AuthError, CommandRejected, ConnectError, DeviceError, DeviceTimeout
from isolate.platforms import Dialect, Markers, Platform, RevertOnEnter

FIRST_PROMPT = re.compile(r"(?:^|\n)[^\r\n]*?[>#][ \t]*$")
PASSWORD_PROMPT = re.compile(r"[Pp]assword:\s*$")


class Channel(Protocol):
    """What a transport supplies: send one line, read up to a prompt.

    ``read_to_prompt`` returns everything up to and including the prompt and raises
    ``TimeoutError`` when none comes within the target's timeout, ``ConnectionError`` when
    the connection is lost."""

    def send_line(self, line: str) -> None: ...

    def read_to_prompt(self, prompt: re.Pattern[str]) -> str: ...

    def close(self) -> None: ...


@runtime_checkable
class Exchanging(Protocol):
    """A channel that can send a line and read its answer in one step (asyncssh: one hop to
    its event loop instead of two). Same behaviour as ``send_line`` then ``read_to_prompt``."""

    def exchange(self, line: str, prompt: re.Pattern[str]) -> str: ...


def strip_echo(text: str, command: str) -> str:
    """The answer to ``command``: without its echoed line and the prompt that ends it."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    first, sep, rest = text.partition("\n")
    body = rest if sep and command.strip() and command.strip() in first else text
    lines = body.split("\n")
    return "\n".join(lines[:-1]) if lines else ""


def _last_line(text: str) -> str:
    return text.replace("\r", "\n").rstrip().rsplit("\n", 1)[-1].strip()


def _first_line(text: str, default: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0] if lines else default


class Prompts:
    """The prompt patterns of one device, once its hostname is known."""

    def __init__(self, dialect: Dialect, host: str) -> None:
        start = re.escape(host[: dialect.prompt_host_chars])
        self.start = re.compile(rf"(?:^|\n){start}[^\r\n]*?(?:\([^)\r\n]*\))?[>#]")
        self.any = re.compile(rf"{self.start.pattern}[ \t]*$")
        self.config = re.compile(rf"{dialect.config_prompt}[ \t]*$")
        self.privileged = dialect.privileged_prompt
        self.user = dialect.user_prompt

    def in_config(self, answer: str) -> bool:
        return self.config.search(_last_line(answer)) is not None


class CliSession:
    """One CLI device, in privileged exec, reused across steps (the ``Session`` contract)."""

    def __init__(self, target: Target, platform: Platform, channel: Channel) -> None:
        if platform.dialect is None or platform.markers is None:
            raise ValueError(f"platform {platform.name} has no CLI dialect")
        self.target = target
        self.platform = platform
        self.dialect: Dialect = platform.dialect
        self.markers: Markers = platform.markers
        self.channel = channel
        self.prompts = Prompts(self.dialect, "")
        try:
            self._login()
        except BaseException:
            channel.close()
            raise

    # -- login --------------------------------------------------------------------------
    def _login(self) -> None:
        first = self._guarded("(login)", lambda: self.channel.read_to_prompt(FIRST_PROMPT))
        prompt = _last_line(first)
        self.prompts = Prompts(self.dialect, prompt[:-1])
        if prompt.endswith(self.prompts.user) and self.dialect.escalate:
            self._escalate(self.dialect.escalate)
        if self.dialect.prepare:
            self._prepare(self.dialect.prepare)

    def _prepare(self, lines: Sequence[str]) -> None:
        """Paging off, wide lines: read-only and mode-independent, so sent in one go and the
        answers read up to the last of their prompts (one round trip)."""
        start, last = self.prompts.start.pattern, self.prompts.any.pattern
        all_answers = re.compile(rf"(?:{start}[\s\S]*?){{{len(lines) - 1}}}{last}")

        def send_all() -> str:
            for line in lines:
                self.channel.send_line(line)
            return self.channel.read_to_prompt(all_answers)

        self._guarded(lines[0], send_all)

    def _escalate(self, command: str) -> None:
        t = self.target
        either = re.compile(rf"{PASSWORD_PROMPT.pattern}|{self.prompts.any.pattern}")
        answer = self._exchange(command, either)
        if PASSWORD_PROMPT.search(answer):
            answer = self._exchange(t.secret or "", shown="(enable secret)")
        if not _last_line(answer).endswith(self.prompts.privileged):
            body = strip_echo(answer, "")
            reason = self.markers.config_refusal(body) or _first_line(body, "no privileged prompt")
            raise AuthError(f"{t.name}: could not enter privileged mode: {reason}", device=t.name)

    # -- the wire -----------------------------------------------------------------------
    def _exchange(self, line: str, until: re.Pattern[str] | None = None, *, shown: str | None = None) -> str:
        prompt = until or self.prompts.any
        channel = self.channel

        def send_and_read() -> str:
            if isinstance(channel, Exchanging):
                return channel.exchange(line, prompt)
            channel.send_line(line)
            return channel.read_to_prompt(prompt)

        return self._guarded(shown or line, send_and_read)

    def _guarded(self, command: str, work: _Work) -> str:
        name = self.target.name
        try:
            return work()
        except DeviceError:
            raise
        except TimeoutError as exc:
            raise DeviceTimeout(
                f"{name}: {command!r} got no answer within {self.target.timeout_s:g} s",
                device=name,
                command=command,
            ) from exc
        except (OSError, EOFError) as exc:
            raise ConnectError(
                f"{name}: connection lost during {command!r}: {exc}", device=name, command=command
            ) from exc

    def _rejected(self, command: str, why: str) -> CommandRejected:
        name = self.target.name
        return CommandRejected(f"{name}: {command!r} rejected: {why}", device=name, command=command)

    # -- Session protocol ---------------------------------------------------------------
    def run(self, command: str) -> CommandResult:
        started = time.time()
        output = strip_echo(self._exchange(command), command)
        refusal = self.markers.exec_refusal(output)
        if refusal:
            raise self._rejected(command, refusal)
        return CommandResult(self.target.name, command, output, True, started, time.time() - started)

    def push(self, commands: Batch | Sequence[str]) -> list[CommandResult]:
        return self._push(as_batch(commands), enter=self.dialect.config_enter)

    def read_state(self) -> str:
        state = self.platform.state
        main = self.run(state.command).output
        if not state.also:
            return state.normalise(main)
        also: dict[str, str] = {}
        for command in state.also:
            try:
                also[command] = self.run(command).output
            except CommandRejected as exc:  # a router without the feature: said, not fatal
                also[command] = f"(not available: {exc})"
        return state.combine(main, also)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.channel.close()

    # -- configuration batches ----------------------------------------------------------
    def _push(self, batch: Batch, *, enter: str) -> list[CommandResult]:
        results: list[CommandResult] = []
        if batch.config:
            results.append(self._send_config(batch.config, enter))
        for command in batch.exec_after:
            results.append(self.run(command))
        return results

    def _send_config(self, config: Sequence[str], enter: str) -> CommandResult:
        started = time.time()
        answer = self._exchange(enter)
        outputs = [answer]
        if not self.prompts.in_config(answer):
            body = strip_echo(answer, enter)
            why = self.markers.config_refusal(body) or _first_line(body, "no configuration-mode prompt")
            raise self._rejected(enter, f"did not enter configuration mode: {why}")
        for line in config:
            answer = self._exchange(line)
            outputs.append(answer)
            refusal = self.markers.config_refusal(strip_echo(answer, line))
            if refusal:
                self._leave_config_mode()
                raise self._rejected(line, refusal)
        self._exit_config_mode(outputs)
        output = "".join(outputs).replace("\r\n", "\n")
        took = time.time() - started
        return CommandResult(self.target.name, "\n".join(config), output, True, started, took)

    def _exit_config_mode(self, outputs: list[str]) -> None:
        """Leave configuration mode after an applied batch; if the device stays there, say
        exactly that (the change itself was applied)."""
        exit_line = self.dialect.config_exit
        answer = self._exchange(exit_line)
        outputs.append(answer)
        if self.prompts.in_config(answer):
            body = strip_echo(answer, exit_line)
            why = self.markers.config_refusal(body) or _first_line(body, "still at a configuration prompt")
            name = self.target.name
            raise CommandRejected(
                f"{name}: the batch was applied but {exit_line!r} did not leave configuration mode: {why}",
                device=name,
                command=exit_line,
            )

    def _leave_config_mode(self) -> None:
        with contextlib.suppress(DeviceError):
            self._exchange(self.dialect.config_exit)


class _Work(Protocol):
    def __call__(self) -> str: ...


class RevertOnEnterSession(CliSession):
    """A CLI session whose platform arms a revert when configuration mode is entered (IOS
    ``configure terminal revert timer N``) and keeps the change on ``configure confirm``."""

    def __init__(self, target: Target, platform: Platform, channel: Channel) -> None:
        if not isinstance(platform.confirm, RevertOnEnter):
            raise ValueError(f"platform {platform.name} has no revert-on-enter")
        self.strategy: RevertOnEnter = platform.confirm
        self._pending_confirm = False
        super().__init__(target, platform, channel)

    def confirm_ready(self, state: str) -> str | None:
        """Pre-check of the confirm window's prerequisites against the captured state."""
        if re.search(self.strategy.requires, state):
            return None
        return f"--confirm-window needs {self.strategy.requires_text}, which is not configured"

    def push_confirmed(
        self, commands: Batch | Sequence[str], *, window_s: int, tag: str = ""
    ) -> list[CommandResult]:
        """Apply under the device's revert timer (whole units, at least one), then read back
        that the timer is armed. The timer has no name on the device: ``tag`` is not used
        (the journal's intent names the run)."""
        del tag
        units = max(1, math.ceil(window_s / self.strategy.unit_s))
        enter = self.strategy.enter.format(units=units)
        results = self._push(as_batch(commands), enter=enter)
        self._pending_confirm = True
        self._check_armed(enter)
        return results

    def _check_armed(self, enter: str) -> None:
        """Read back that the device's revert timer really runs (never trust the prompt alone)."""
        armed = self.strategy.armed
        try:
            output = self.run(armed.command).output
        except CommandRejected as exc:
            output = str(exc)
        if not armed.shows(output):
            shown = _first_line(output, "nothing")
            why = f"applied, but '{armed.command}' shows {shown!r}, not that {armed.meaning}"
            raise self._rejected(enter, why)

    def pending_reverts(self) -> list[str]:
        """The device's pending revert (at most one: the rollback timer), as its probe shows it."""
        armed = self.strategy.armed
        try:
            output = self.run(armed.command).output
        except CommandRejected:
            return []
        if not armed.shows(output):
            return []
        detail = "; ".join(
            line.strip()
            for line in output.splitlines()
            if line.strip().startswith(("Timer value", "Time remaining"))
        )
        return [f"rollback timer ({detail or 'armed'})"]

    def cancel_reverts(self, prefix: str) -> list[str]:
        """Cancel the pending rollback timer (``configure confirm``: the running configuration
        stays as it is). The device's one timer carries no owner's name, so ``prefix`` is not
        used; the caller holds the device's lock. Returns what was cancelled."""
        del prefix
        pending = self.pending_reverts()
        if pending:
            self._pending_confirm = True
            self.confirm()
        return pending

    def confirm(self) -> None:
        """Keep the change; an expired window answers with a refusal (CommandRejected). The
        device must be back in privileged exec afterwards."""
        if not self._pending_confirm:
            return
        command = self.strategy.confirm
        answer = self._exchange(command)
        self._pending_confirm = False
        refusal = self.markers.exec_refusal(strip_echo(answer, command))
        if refusal:
            raise self._rejected(command, refusal)
        if self.prompts.in_config(answer):
            self._leave_config_mode()
            raise self._rejected(command, "the device stayed in configuration mode after confirming")
