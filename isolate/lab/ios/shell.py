"""One IOS CLI session: modes, prompts, exec commands and the dispatch to config modes."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from isolate.lab.device import Reply, Shell
from isolate.lab.ios import configure, show, show_sys, showcmd
from isolate.lab.ios.cli import CliError, Tokens, error_text, parse_int

if TYPE_CHECKING:
    from isolate.lab.ios.acl import Ace
    from isolate.lab.ios.device import IosDevice

USER_WORDS = ("access-enable", "connect", "disable", "disconnect", "enable", "exit", "help",
              "logout", "ping", "quit", "show", "ssh", "systat", "telnet", "terminal",
              "traceroute")
EXEC_WORDS = (*USER_WORDS, "archive", "clear", "clock", "configure", "copy", "debug", "delete",
              "dir", "erase", "more", "no", "reload", "setup", "undebug", "verify", "write")
PIPE_WORDS = ("append", "begin", "count", "exclude", "include", "redirect", "section", "tee")
UNKNOWN = ('Translating "{0}"\n\n'
           "% Unknown command or computer name, or unable to find computer address\n")
CONFIG_ENTER = "Enter configuration commands, one per line.  End with CNTL/Z.\n"
NO_ROLLBACK = "%No Rollback Confirmed Change pending\n"
NEED_ARCHIVE = "%Turn config archive on before using Rollback Confirmed Change\n"

Handler = Callable[["IosShell", Tokens], str]
SUBMODES: dict[str, Handler] = {
    "config-if": configure.interface_command,
    "config-vlan": configure.vlan_command,
    "config-ext-nacl": configure.acl_command,
    "config-archive": configure.archive_command,
}


class IosShell(Shell):
    def __init__(self, device: IosDevice, username: str, *, privileged: bool = False) -> None:
        self.device = device
        self.username = username
        self.mode = "exec" if privileged else "user"
        self.context: Any = None
        self.pending: str | None = None
        self.banner_text: tuple[str, list[str]] | None = None  # delimiter, lines so far
        # the ACL this shell last added to, the device version then, its (action, body) pairs
        self.ace_index: tuple[list[Ace], int, set[tuple[str, str]]] | None = None

    # ------------------------------------------------------------ Shell contract

    def banner(self) -> str:
        motd = self.device.config.banner_motd
        return "\n" if motd is None else f"\n{motd}\n\n"

    def collect_banner(self, delim: str, first: str) -> None:
        self.banner_text = (delim, [first] if first else [])

    def _banner_line(self, line: str) -> Reply:
        assert self.banner_text is not None
        delim, lines = self.banner_text
        if delim not in line:
            lines.append(line)
            return Reply()
        lines.append(line[: line.index(delim)])
        while lines and not lines[-1]:
            lines.pop()
        self.banner_text = None
        self.device.config.banner_motd = "\n".join(lines)
        self.device.touch()
        return Reply(changed=True)

    def prompt(self) -> str:
        if self.banner_text is not None:
            return ""
        if self.pending == "enable":
            return "Password: "
        if self.pending == "copy":
            return "Destination filename [startup-config]? "
        host = self.device.config.hostname
        if self.mode == "user":
            return f"{host}>"
        if self.mode == "exec":
            return f"{host}#"
        return f"{host[:20]}({self.mode})#"

    def feed(self, line: str) -> Reply:
        before = self.device.version
        prompt_len = len(self.prompt())
        if self.pending is not None:
            return self._answer_pending(line, before)
        if self.banner_text is not None:
            return self._banner_line(line)
        tokens = Tokens(line)
        if self.mode.startswith("config"):
            self.device.edits += 1  # whatever it changes, the rendered config is not reused
        if not tokens.words or (self.mode.startswith("config") and line.lstrip()[:1] == "!"):
            return Reply()
        try:
            output = self._dispatch(tokens)
        except CliError as err:
            output = error_text(err, tokens, prompt_len)
        except _Close:
            return Reply(close=True)
        return Reply(output=output, echo_next=self.pending != "enable",
                     changed=self.device.version != before)

    # ------------------------------------------------------------ internals

    def enter(self, mode: str, context: Any) -> None:
        self.mode, self.context = mode, context

    def _answer_pending(self, line: str, before: int) -> Reply:
        pending, self.pending = self.pending, None
        if pending == "enable":
            secret = self.device.config.enable_secret
            if secret and line == secret:
                self.mode = "exec"
                return Reply()
            return Reply(output="% Access denied\n")
        self.device.save_startup()
        return Reply(output="Building configuration...\n[OK]\n",
                     changed=self.device.version != before)

    def _dispatch(self, t: Tokens) -> str:
        if self.mode in ("user", "exec"):
            return self._exec(t)
        return self._configure(t)

    def _configure(self, t: Tokens) -> str:
        word = t.words[0].lower()
        if word in ("end",) and len(t) == 1:
            self.enter("exec", None)
            return ""
        if word == "exit" and len(t) == 1:
            self.enter("exec" if self.mode == "config" else "config", None)
            return ""
        if word == "do" and len(t) > 1:
            try:
                return self._exec(t.tail(1))
            except CliError as err:
                raise CliError(err.kind, err.index + 1) from None
        if self.mode == "config":
            return configure.global_command(self, t)
        if self.mode == "config-if" and self.context not in self.device.config.interfaces:
            self.enter("config", None)
            return configure.global_command(self, t)
        try:
            return SUBMODES[self.mode](self, t)
        except CliError as err:
            # IOS retries a line the sub-mode refuses in global configuration mode.
            mode, context = self.mode, self.context
            self.enter("config", None)
            try:
                return configure.global_command(self, t)
            except CliError as outer:
                self.enter(mode, context)
                if outer.kind == "invalid" and outer.index == 0:
                    raise err from None
                raise outer from None

    def _exec(self, t: Tokens) -> str:
        words = EXEC_WORDS if self.mode != "user" else USER_WORDS
        try:
            word = t.keyword(0, words)
        except CliError as err:
            if err.kind == "invalid" and len(t) == 1:
                return UNKNOWN.format(t.words[0])
            raise
        return self._exec_word(word, t)

    def _exec_word(self, word: str, t: Tokens) -> str:
        if word in ("exit", "logout", "quit"):
            raise _Close()
        if word == "enable":
            t.done(1)
            if self.mode == "user":
                self.pending = "enable"
            return ""
        if word == "disable":
            self.enter("user", None)
            return ""
        if word == "terminal":
            return _terminal(t)
        if word == "show":
            return self._show(t)
        if word == "configure":
            return self._configure_exec(t)
        if word == "write":
            kind = t.keyword(1, ("erase", "memory", "network", "terminal")) if len(t) > 1 else (
                "memory")
            t.done(2)
            if kind == "terminal":
                return self.device.running_config()
            if kind != "memory":
                raise CliError.invalid(1)
            self.device.save_startup()
            return "Building configuration...\n[OK]\n"
        if word == "copy":
            src = t.keyword(1, ("flash:", "ftp:", "running-config", "scp:", "startup-config",
                                "tftp:"))
            dst = t.keyword(2, ("flash:", "ftp:", "running-config", "scp:", "startup-config",
                                "tftp:"))
            t.done(3)
            if (src, dst) != ("running-config", "startup-config"):
                raise CliError.invalid(1)
            self.pending = "copy"
            return ""
        if word == "dir":
            return self._dir(t)
        if word == "archive":
            t.keyword(1, ("config",))
            t.done(2)
            if not self.device.archive_now():
                return "%Archive feature not enabled\n"
            return ""
        if len(t) == 1:
            raise CliError.incomplete()
        raise CliError.invalid(1)

    def _dir(self, t: Tokens) -> str:
        only = None
        if len(t) > 1:
            target = t.word(1)
            t.done(2)
            fs, sep, rest = target.partition(":")
            if not sep:
                fs, rest = "flash", target
            if fs.lower() != "flash":
                return f"%Error opening {target} (No such device)\n"
            only = rest.lstrip("/") or None
        return show_sys.directory(self.device.flash_files(), only)

    def _configure_exec(self, t: Tokens) -> str:
        how = t.keyword(1, ("confirm", "memory", "network", "overwrite-network", "replace",
                            "revert", "terminal"))
        dev = self.device
        if how == "confirm":
            t.done(2)
            return "" if dev.confirm_revert() else NO_ROLLBACK
        if how == "revert":
            what = t.keyword(2, ("now", "timer"))
            if what == "now":
                t.done(3)
                return "" if dev.revert_now() else NO_ROLLBACK
            minutes = parse_int(t, 3, 1, 120)
            t.done(4)
            return "" if dev.reset_revert_timer(minutes) else NO_ROLLBACK
        if how != "terminal":
            raise CliError.invalid(1)
        if len(t) > 2:
            t.keyword(2, ("revert",))
            t.keyword(3, ("timer",))
            if t.word(4).lower() == "idle":
                minutes = parse_int(t, 5, 1, 120)
                t.done(6)
            else:
                minutes = parse_int(t, 4, 1, 120)
                t.done(5)
            if not (dev.config.archive_enabled and dev.config.archive_path):
                return NEED_ARCHIVE
            dev.start_revert(minutes)
        self.enter("config", None)
        return CONFIG_ENTER

    def _show(self, t: Tokens) -> str:
        pipe = next((i for i, w in enumerate(t.words) if w.startswith("|")), None)
        if pipe is None:
            return self._show_body(t, len(t))
        if t.words[pipe] != "|":
            raise CliError.invalid(pipe)
        how = t.keyword(pipe + 1, PIPE_WORDS)
        if how not in ("begin", "count", "exclude", "include", "section"):
            raise CliError.invalid(pipe + 1)
        pattern = t.rest(pipe + 2)
        if not pattern:
            raise CliError.incomplete()
        return show.apply_filter(self._show_body(t, pipe), how, pattern)

    def _show_body(self, t: Tokens, end: int) -> str:
        return self._show_what(t.tail(0, end))

    def _show_what(self, t: Tokens) -> str:
        return showcmd.run(self, t)


class _Close(Exception):
    pass


def _terminal(t: Tokens) -> str:
    word = t.keyword(1, ("length", "monitor", "no", "width"))
    if word in ("length", "width"):
        parse_int(t, 2, 0, 512)
        t.done(3)
    elif word == "monitor":
        t.done(2)
    else:
        t.keyword(2, ("monitor",))
        t.done(3)
    return ""

