"""One CLI session for every CLI platform, over a pluggable channel.

The platform record (``isolate.platforms``) says how the CLI is spoken: prompts, escalation,
configuration mode, paging, refusal and informational markers, the state command, the
commit-confirm strategy. A ``Channel`` (asyncssh or netmiko/paramiko) only sends a line and
reads up to a prompt; everything else (login, escalation, refusals, batches, confirm windows,
error messages) is here, once.

Fewer round trips, every answer still attributed to its line (docs/benchmarks.md,
"Round trips"): read-only commands are sent in one write and their answers split at the
prompts the device prints before echoing the next command (``_pipelined``); configuration
lines are sent in one write up to the next mode boundary (a line entering a sub-mode, from the
platform's ``Dialect.contexts``, is the last of its write, and its answer is read before its
children go out), so a refused ``interface X`` never lets the following lines land on the
previous interface. A refused line is named; the lines sent after it in the same write (up to
and including the next context line, never beyond) ran on the device and are named in the error
too; the lines after that write were never sent.
"""

from __future__ import annotations

import contextlib
import functools
import math
import re
import time
from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar, runtime_checkable

from isolate.drivers.base import Batch, CommandResult, Target
from isolate.errors import AuthError, CommandRejected, ConnectError, DeviceError, DeviceTimeout
from isolate.platforms import Dialect, Markers, Platform, RevertOnEnter

T = TypeVar("T")

FIRST_PROMPT = re.compile(r"(?:^|\n)[^\r\n]*?[>#][ \t]*$")
PASSWORD_PROMPT = re.compile(r"[Pp]assword:\s*$")


# A prompt after the device's hostname (the hostname itself is matched as literal text, where
# it starts a line): compiled once per process, for every device.
_START_TAIL = r"[^\r\n]*?(?:\([^)\r\n]*\))?[>#]"
_STARTED = re.compile(_START_TAIL)
_ENDS_TEXT = re.compile(rf"{_START_TAIL}[ \t]*$")
_ECHOED = re.compile(rf"{_START_TAIL}(?=[ \t]*(?P<echo>[^\r\n]*?)[ \t]*\r?\n)")


class Found(Protocol):
    """Where a prompt was found (what a compiled pattern's match gives)."""

    def start(self) -> int: ...

    def end(self) -> int: ...

    def span(self) -> tuple[int, int]: ...


class Until(Protocol):
    """Where an answer ends: a compiled pattern, or anything that searches like one
    (``pattern`` is its regular expression, for a transport that wants the text)."""

    @property
    def pattern(self) -> str: ...

    def search(self, string: str, pos: int = 0) -> Found | None: ...


class _Found:
    """A prompt found from the start of its line (``AtLineStart``); groups from its tail."""

    __slots__ = ("_end", "_start", "_tail")

    def __init__(self, start: int, end: int, tail: re.Match[str] | None = None) -> None:
        self._start, self._end, self._tail = start, end, tail

    def start(self) -> int:
        return self._start

    def end(self) -> int:
        return self._end

    def span(self) -> tuple[int, int]:
        return self._start, self._end

    def group(self, name: str) -> str | None:
        return None if self._tail is None else self._tail.group(name)


class Channel(Protocol):
    """What a transport supplies: send one line, read up to a prompt.

    ``read_to_prompt`` returns everything up to and including the prompt and raises
    ``TimeoutError`` when none comes within the target's timeout, ``ConnectionError`` when
    the connection is lost."""

    def send_line(self, line: str) -> None: ...

    def read_to_prompt(self, prompt: Until) -> str: ...

    def close(self) -> None: ...


@runtime_checkable
class Exchanging(Protocol):
    """A channel that can send and read in one step (asyncssh: one hop to its event loop
    instead of one per answer). ``exchange`` is ``send_line`` then ``read_to_prompt``;
    ``exchange_all`` writes ``text`` (lines joined by newlines) and reads one answer per
    prompt in turn, appending each to ``answers`` as it is read (so a timeout or a lost
    connection leaves there the answers that came)."""

    def exchange(self, line: str, prompt: Until) -> str: ...

    def exchange_all(self, text: str, prompts: Sequence[Until], answers: list[str]) -> None: ...


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
    """The prompt patterns of one device, once its hostname is known. Nothing is compiled per
    device: the hostname is found as text where it starts a line and the rest of the prompt
    matched there by a pattern compiled once (a compile costs ~0.5 ms, three per device)."""

    def __init__(self, dialect: Dialect, host: str) -> None:
        head = host[: dialect.prompt_host_chars]
        # the prompt's start, as regex text (a transport that wants the text: netmiko)
        self.start = rf"(?:^|\n){re.escape(head)}{_START_TAIL}"
        self.started = AtLineStart(_STARTED, head)
        self.any = AtLineStart(_ENDS_TEXT, head)
        self.config = _config_prompt(dialect.config_prompt)
        self.privileged = dialect.privileged_prompt
        self.user = dialect.user_prompt
        # a prompt, then any echoed line: what ``before`` looks for first
        self.echoed = AtLineStart(_ECHOED, head)

    def in_config(self, answer: str) -> bool:
        return self.config.search(_last_line(answer)) is not None

    def before(self, line: str) -> Until:
        """The prompt that ends one answer when ``line`` was typed ahead: the device prints
        its prompt, then echoes the next line it reads (matched without consuming the echo)."""
        return EchoAfterPrompt(self, line.strip())


@functools.cache
def _config_prompt(config_prompt: str) -> re.Pattern[str]:
    """A dialect's configuration-mode prompt at the end of a line, compiled once per process."""
    return re.compile(rf"{config_prompt}[ \t]*$")


@functools.cache
def _unnamed_prompts(dialect: Dialect) -> Prompts:
    """A dialect's prompts before its hostname is known (the same for every device)."""
    return Prompts(dialect, "")


class FirstOf:
    """``first`` or ``second``, searched like the compiled alternation ``first|second`` (the
    leftmost match; at the same offset, ``first``'s) without compiling a pattern per device."""

    def __init__(self, first: Until, second: Until) -> None:
        self.first = first
        self.second = second
        self.pattern = f"{first.pattern}|{second.pattern}"

    def search(self, string: str, pos: int = 0) -> Found | None:
        one = self.first.search(string, pos)
        two = self.second.search(string, pos)
        if one is None or (two is not None and two.start() < one.start()):
            return two
        return one


class AtLineStart:
    """The pattern ``(?:^|\n)HEAD<tail>``, HEAD literal: searched by finding HEAD where it
    starts the text or a line (``str.find``, not a try at every offset of a 20 KB
    running-config) and matching ``tail`` right after it. The same matches as the whole
    pattern compiled (``pattern``), without compiling it for each device's HEAD."""

    def __init__(self, tail: re.Pattern[str], head: str) -> None:
        self.tail = tail
        self.head = head
        self.line_head = "\n" + head
        self.pattern = rf"(?:^|\n){re.escape(head)}{tail.pattern}"

    def search(self, string: str, pos: int = 0) -> _Found | None:
        at_start = pos == 0 and string.startswith(self.head)  # ``^``: only at the very start
        if at_start and (tail := self.tail.match(string, len(self.head))) is not None:
            return _Found(0, tail.end(), tail)
        skip = len(self.line_head)
        at = string.find(self.line_head, pos)
        while at >= 0:
            if (tail := self.tail.match(string, at + skip)) is not None:
                return _Found(at, tail.end(), tail)
            at = string.find(self.line_head, at + 1)
        return None


class EchoAfterPrompt:
    """The prompt followed by the echo of ``line`` (``Prompts.before``), found without
    compiling a pattern per line: a prompt followed by any echoed line is searched with the
    device's one compiled pattern and its echo compared; only when a prompt is followed by
    another line is the exact pattern compiled and searched (the same matches, always)."""

    def __init__(self, prompts: Prompts, line: str) -> None:
        self.prompts = prompts
        self.line = line
        self.pattern = rf"{prompts.start}(?=[ \t]*{re.escape(line)}[ \t]*\r?\n)"

    def search(self, string: str, pos: int = 0) -> Found | None:
        found = self.prompts.echoed.search(string, pos)
        if found is None or found.group("echo") == self.line:
            return found  # none: the exact pattern finds none either (its matches are among these)
        return re.compile(self.pattern).search(string, pos)


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
        # a runtime protocol check costs microseconds: once per session, not once per exchange
        self.exchanging: Exchanging | None = channel if isinstance(channel, Exchanging) else None
        self.prompts = _unnamed_prompts(self.dialect)
        self._ahead: dict[str, str] = {}  # answers read ahead (read_ahead), each handed out once
        self._lost: DeviceTimeout | ConnectError | None = None  # a read after a push went unanswered
        self._prepare: tuple[str, ...] = ()  # the dialect's session preparation, not yet sent
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
        self._prepare = tuple(self.dialect.prepare)  # sent ahead of the session's first write

    def _escalate(self, command: str) -> None:
        t = self.target
        either = FirstOf(PASSWORD_PROMPT, self.prompts.any)
        answer = self._exchange(command, either)
        if PASSWORD_PROMPT.search(answer):
            answer = self._exchange(t.secret or "", shown="(enable secret)")
        if not _last_line(answer).endswith(self.prompts.privileged):
            body = strip_echo(answer, "")
            reason = self.markers.config_refusal(body) or _first_line(body, "no privileged prompt")
            raise AuthError(f"{t.name}: could not enter privileged mode: {reason}", device=t.name)

    # -- the wire -----------------------------------------------------------------------
    def _exchange(self, line: str, until: Until | None = None, *, shown: str | None = None) -> str:
        if self._prepare and until is None:
            return self._pipelined([line])[0]
        prompt = until or self.prompts.any
        channel, exchanging = self.channel, self.exchanging

        def send_and_read() -> str:
            if exchanging is not None:
                return exchanging.exchange(line, prompt)
            channel.send_line(line)
            return channel.read_to_prompt(prompt)

        return self._guarded(shown or line, send_and_read)

    def _guarded(self, command: str, work: Callable[[], T], *, sent: str | None = None, note: str = "") -> T:
        """``work`` with its transport errors as one-line DeviceErrors naming ``command``;
        ``sent`` is the last line written with it (what may have run: ``inflight``)."""
        name = self.target.name
        last = sent or command
        if self._lost is not None:  # a late answer may still come: nothing more is read here
            raise type(self._lost)(str(self._lost), device=name, command=last)
        try:
            return work()
        except DeviceError:
            raise
        except TimeoutError as exc:
            raise DeviceTimeout(
                f"{name}: {command!r} got no answer within {self.target.timeout_s:g} s{note}",
                device=name,
                command=last,
            ) from exc
        except (OSError, EOFError) as exc:
            raise ConnectError(
                f"{name}: connection lost during {command!r}{note}: {exc}", device=name, command=last
            ) from exc

    def _pipelined(self, lines: Sequence[str], answers: list[str] | None = None) -> list[str]:
        """Send ``lines`` in one write and read one answer per line, attributed to it: each ends
        at the prompt the device printed before echoing the next line, the last at the final
        prompt. A missing answer names the first line without one. ``answers`` (if given) is
        filled as the answers come, so a caller sees those read before an error.

        The session's first write carries the dialect's preparation (paging off, wide lines:
        read-only exec commands the device runs before the lines after them) ahead of
        ``lines``; their answers are not handed out."""
        if answers is None:
            answers = []
        if self._prepare:
            prepare, self._prepare = self._prepare, ()
            got: list[str] = []
            try:
                self._pipelined([*prepare, *lines], got)
            finally:
                answers += got[len(prepare) :]
            return answers
        if len(lines) == 1:
            answers.append(self._exchange(lines[0]))
            return answers
        channel, exchanging = self.channel, self.exchanging

        ends: list[Until] = [self.prompts.before(line) for line in lines[1:]]
        ends.append(self.prompts.any)

        def send_and_read() -> list[str]:
            if exchanging is not None:
                exchanging.exchange_all("\n".join(lines), ends, answers)
                return answers
            channel.send_line("\n".join(lines))
            for until in ends:
                answers.append(channel.read_to_prompt(until))
            return answers

        try:
            return self._guarded(lines[0], send_and_read, sent=lines[-1])
        except (DeviceTimeout, ConnectError) as exc:
            if not answers:
                raise
            waiting = lines[len(answers)]
            note = f" (sent in one write with {len(lines) - 1} other line(s), up to {lines[-1]!r})"
            what = f"{waiting!r} got no answer within {self.target.timeout_s:g} s"
            if isinstance(exc, ConnectError):
                what = f"connection lost during {waiting!r}"
            error = type(exc)(f"{self.target.name}: {what}{note}", device=self.target.name, command=lines[-1])
            raise error from exc

    def _rejected(self, command: str, why: str) -> CommandRejected:
        name = self.target.name
        return CommandRejected(f"{name}: {command!r} rejected: {why}", device=name, command=command)

    # -- Session protocol ---------------------------------------------------------------
    def run(self, command: str) -> CommandResult:
        started = time.time()
        ahead = self._ahead.pop(command, None)
        output = ahead if ahead is not None else strip_echo(self._exchange(command), command)
        refusal = self.markers.exec_refusal(output)
        if refusal:
            raise self._rejected(command, refusal)
        return CommandResult(self.target.name, command, output, started, time.time() - started)

    def push(self, commands: Sequence[str]) -> list[CommandResult]:
        return self._push(Batch(tuple(commands)), enter=self.dialect.config_enter)

    def push_batch(self, batch: Batch, *, window_s: int | None = None, tag: str = "") -> list[CommandResult]:
        if window_s is not None:
            raise ValueError(f"{self.target.name}: platform {self.platform.name} has no device-owned revert")
        return self._push(batch, enter=self.dialect.config_enter)

    def push_then_read(self, commands: Sequence[str], reads: Sequence[str]) -> list[CommandResult]:
        """``push(commands)`` with ``reads`` (read-only) typed in its last write, after the
        configuration exit line: the verification's read rides on the push's last round trip.
        The reads run whatever the lines before them answered (read-only: harmless), and their
        answers are kept only when the push succeeded (the ``ReadsAfterPush`` contract)."""
        return self._push(Batch(tuple(commands)), enter=self.dialect.config_enter, reads=reads)

    def read_ahead(self, commands: Sequence[str]) -> None:
        """Read these read-only commands now, in one write; each answer is handed to the next
        ``run`` of the same command, once. Nothing is kept across a configuration change."""
        todo = [c for c in dict.fromkeys(commands) if c not in self._ahead]
        if todo:
            answers = self._pipelined(todo)
            self._ahead.update((c, strip_echo(a, c)) for c, a in zip(todo, answers, strict=True))

    def read_state(self) -> str:
        """The state, its commands read in one write (``state.command`` and ``state.also``)."""
        state = self.platform.state
        if state.also:
            self.read_ahead((state.command, *state.also))
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
    def _push(self, batch: Batch, *, enter: str, reads: Sequence[str] = ()) -> list[CommandResult]:
        """``reads``: read-only commands typed after the last configuration write (only for a
        batch without exec-mode lines, which must run before anything is read)."""
        self._ahead.clear()  # answers read before a change describe the device before it
        results: list[CommandResult] = []
        if batch.config:
            after = reads if not batch.exec_after else ()
            results.append(self._send_config(batch.config, enter, after))
        for index, command in enumerate(batch.exec_after, len(batch.config) + 1):
            try:
                results.append(self.run(command))
            except (DeviceTimeout, ConnectError) as exc:
                exc.sent = index  # the configuration lines and the exec-mode lines up to this one
                raise
        return results

    def writes(self, config: Sequence[str]) -> list[list[str]]:
        """``config`` cut at its mode boundaries (``Dialect.writes``)."""
        return self.dialect.writes(config)

    def _send_config(self, config: Sequence[str], enter: str, reads: Sequence[str] = ()) -> CommandResult:
        """The configuration lines in writes cut at mode boundaries. A timeout or a lost
        connection says how many of ``config`` had been written (``DeviceError.sent``): the
        writes before, and the whole write in flight (typed ahead, its lines may all run)."""
        started = time.time()
        try:
            answer = self._exchange(enter)
        except (DeviceTimeout, ConnectError) as exc:
            exc.sent = 0
            raise
        outputs = [answer]
        if not self.prompts.in_config(answer):
            body = strip_echo(answer, enter)
            why = self.markers.config_refusal(body) or _first_line(body, "no configuration-mode prompt")
            raise self._rejected(enter, f"did not enter configuration mode: {why}")
        groups = self.writes(config)
        wanted = list(dict.fromkeys(reads))
        read_answers: list[str] = []
        sent = 0
        for index, group in enumerate(groups):
            last = index == len(groups) - 1
            sent += len(group) - 1 if last else len(group)  # the last write's exit line is not config
            try:
                if last and wanted:
                    answers, read_answers = self._last_write(group, wanted)
                else:
                    answers = self._pipelined(group)
            except (DeviceTimeout, ConnectError) as exc:
                exc.sent = sent
                raise
            outputs += answers
            self._check_group(group, answers)
        self._check_left_config(outputs[-1])
        if read_answers:  # kept only now: the push stands
            self._ahead.update((c, strip_echo(a, c)) for c, a in zip(wanted, read_answers, strict=True))
        output = "".join(outputs).replace("\r\n", "\n")
        took = time.time() - started
        return CommandResult(self.target.name, "\n".join(config), output, started, took)

    def _last_write(self, group: Sequence[str], reads: Sequence[str]) -> tuple[list[str], list[str]]:
        """The push's last write with ``reads`` typed after it: (the group's answers, the
        reads' answers). When every line of the group was answered but a read was not, the
        push's outcome is known and stands: the reads' answers are empty and the error is kept
        for the session's next read (the channel may still deliver the late answer, which
        must never be taken for another command's)."""
        answers: list[str] = []
        try:
            self._pipelined([*group, *reads], answers)
        except (DeviceTimeout, ConnectError) as exc:
            if len(answers) < len(group):
                raise
            self._lost = exc
            return answers[: len(group)], []
        return answers[: len(group)], answers[len(group) :]

    def _check_group(self, group: Sequence[str], answers: Sequence[str]) -> None:
        """Raise for the first refused line of one write, naming the lines written after it
        (they ran: the device reads typed-ahead lines whatever it answered before)."""
        left = group[-1] == self.dialect.config_exit  # this write ended configuration mode
        lines = group[:-1] if left else group
        refused = self.markers.config_refusal
        refusals = [refused(strip_echo(a, line)) for line, a in zip(lines, answers, strict=False)]
        first = next((k for k, why in enumerate(refusals) if why), None)
        if first is None:
            return
        if not left:
            self._leave_config_mode()
        after = [
            f"{line!r} ({'refused: ' + why if why else 'accepted'})"
            for line, why in zip(lines[first + 1 :], refusals[first + 1 :], strict=True)
        ]
        ran = f"; sent in the same write after it, and run: {', '.join(after)}" if after else ""
        raise self._rejected(lines[first], f"{refusals[first]}{ran}")

    def _check_left_config(self, answer: str) -> None:
        """After an applied batch the device must be back in exec mode; if it stays in
        configuration mode, say exactly that (the change itself was applied)."""
        exit_line = self.dialect.config_exit
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
        self, commands: Sequence[str], *, window_s: int, tag: str = ""
    ) -> list[CommandResult]:
        return self._push_confirmed(Batch(tuple(commands)), window_s=window_s, tag=tag)

    def push_batch(self, batch: Batch, *, window_s: int | None = None, tag: str = "") -> list[CommandResult]:
        if window_s is None:
            return self._push(batch, enter=self.dialect.config_enter)
        return self._push_confirmed(batch, window_s=window_s, tag=tag)

    def _push_confirmed(self, batch: Batch, *, window_s: int, tag: str) -> list[CommandResult]:
        """Apply under the device's revert timer (whole units, at least one), then read back
        that the timer is armed. The timer has no name on the device: ``tag`` is not used
        (the journal's intent names the run)."""
        del tag
        units = max(1, math.ceil(window_s / self.strategy.unit_s))
        enter = self.strategy.enter.format(units=units)
        results = self._push(batch, enter=enter)
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
        self._ahead.clear()
        answer = self._exchange(command)
        self._pending_confirm = False
        refusal = self.markers.exec_refusal(strip_echo(answer, command))
        if refusal:
            raise self._rejected(command, refusal)
        if self.prompts.in_config(answer):
            self._leave_config_mode()
            raise self._rejected(command, "the device stayed in configuration mode after confirming")
