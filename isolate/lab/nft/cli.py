"""The ``nft`` command line: options, input sources, listings and nft-style error text."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from isolate.lab.nft.commands import Command, ListCmd
from isolate.lab.nft.engine import NftExecError, chain_of, execute, set_of, table_of
from isolate.lab.nft.lexer import Token
from isolate.lab.nft.model import Ruleset
from isolate.lab.nft.parser import NftParseError, parse
from isolate.lab.nft.render import RELEASE, VERSION, Style, ruleset_json, ruleset_text, table_text

USAGE = "Usage: nft [ options ] [ cmds... ]\n"


@dataclass(frozen=True)
class NftResult:
    stdout: str
    stderr: str
    exit_status: int
    ruleset: Ruleset  # the ruleset after the command (the same object when nothing changed)


@dataclass(frozen=True)
class _Options:
    style: Style
    json: bool
    check: bool
    file: str | None
    words: list[str]


ReadFile = Callable[[str], str | None]


def run_nft(ruleset: Ruleset, argv: list[str], *, stdin: str = "", read_file: ReadFile) -> NftResult:
    """Run ``nft ARGV`` against ``ruleset``; ``read_file`` returns a file's text or None."""
    try:
        opts = _options(argv)
    except _Usage as usage:
        return NftResult(usage.stdout, usage.stderr, usage.status, ruleset)
    if opts.file is not None:
        if opts.file in ("-", "/dev/stdin"):
            source, label = stdin, "/dev/stdin"
        else:
            text = read_file(opts.file)
            if text is None:
                message = (
                    f'internal:0:0-0: Error: Could not open file "{opts.file}": '
                    "No such file or directory\n\n\n"
                )
                return NftResult("", message, 1, ruleset)
            source, label = text, opts.file
        return _run_text(ruleset, source, label, opts)
    if not opts.words:
        return NftResult("", "nft: no command specified\n", 1, ruleset)
    return _run_text(ruleset, " ".join(opts.words) + "\n", None, opts)


class _Usage(Exception):
    def __init__(self, stdout: str, stderr: str, status: int) -> None:
        super().__init__(stderr)
        self.stdout, self.stderr, self.status = stdout, stderr, status


def _options(argv: list[str]) -> _Options:
    handles = stateless = as_json = check = False
    file: str | None = None
    index = 0
    while index < len(argv) and argv[index].startswith("-") and argv[index] != "-":
        arg = argv[index]
        index += 1
        long = {"--handle": "a", "--stateless": "s", "--json": "j", "--check": "c",
                "--file": "f", "--version": "v", "--numeric": "n"}  # fmt: skip
        letters = long.get(arg) or (arg[1:] if not arg.startswith("--") else None)
        if letters is None:
            raise _Usage("", f"nft: unrecognized option '{arg}'\n{USAGE}", 1)
        for position, letter in enumerate(letters):
            if letter == "a":
                handles = True
            elif letter == "s":
                stateless = True
            elif letter == "j":
                as_json = True
            elif letter == "c":
                check = True
            elif letter in ("n", "N", "S", "y", "t", "T"):
                continue
            elif letter == "v":
                raise _Usage(f"nftables v{VERSION} ({RELEASE})\n", "", 0)
            elif letter == "f":
                rest = letters[position + 1 :]
                if rest:
                    file = rest
                elif index < len(argv):
                    file, index = argv[index], index + 1
                else:
                    raise _Usage("", f"nft: option requires an argument -- 'f'\n{USAGE}", 1)
                break
            else:
                raise _Usage("", f"nft: invalid option -- '{letter}'\n", 1)
    return _Options(Style(handles, stateless), as_json, check, file, argv[index:])


def _run_text(ruleset: Ruleset, source: str, label: str | None, opts: _Options) -> NftResult:
    try:
        commands: list[Command] = parse(source)
        new, listings = execute(ruleset, commands)
        output = "".join(_listing(new, cmd, opts) for cmd in listings)
    except (NftParseError, NftExecError) as err:
        return NftResult("", format_error(source, label, err.message, err.token), 1, ruleset)
    if opts.check:
        return NftResult(output, "", 0, ruleset)
    changed = any(not isinstance(cmd, ListCmd) for cmd in commands)
    return NftResult(output, "", 0, new if changed else ruleset)


def format_error(source: str, label: str | None, message: str, token: Token | None) -> str:
    lines = source.split("\n")
    if token is None:
        return f"Error: {message}\n"
    line_no = min(token.line, len(lines))
    line = lines[line_no - 1] if lines else ""
    if token.kind == "eof" and not line and line_no > 1:
        line_no -= 1
        line = lines[line_no - 1]
    first = min(token.col, len(line) + 1) if token.kind != "eof" else 1
    last = max(first, token.end) if token.kind != "eof" else 1
    prefix = f"{label}:{line_no}:{first}-{last}: " if label is not None else ""
    pad = "".join("\t" if ch == "\t" else " " for ch in line[: first - 1])
    return f"{prefix}Error: {message}\n{line}\n{pad}{'^' * (last - first + 1)}\n"


def _listing(ruleset: Ruleset, cmd: ListCmd, opts: _Options) -> str:
    if cmd.what == "ruleset":
        if opts.json:
            return ruleset_json(ruleset, opts.style, cmd.family)
        return ruleset_text(ruleset, opts.style, cmd.family)
    if cmd.what in ("tables", "chains", "sets"):
        return _summary(ruleset, cmd)
    assert cmd.ref is not None
    table = table_of(ruleset, cmd.ref, suggest=False)
    if cmd.what == "table":
        if opts.json:
            only = Ruleset([table], ruleset.next_table_handle)
            return ruleset_json(only, opts.style)
        return table_text(table, opts.style)
    if cmd.what == "chain":
        chain = chain_of(ruleset, cmd.ref, suggest=False)
        if opts.json:
            return ruleset_json(Ruleset([table]), opts.style, only_chain=chain.name)
        return table_text(table, opts.style, chains=[chain], sets=[], table_handle=False)
    try:
        named = set_of(ruleset, cmd.ref)
    except NftExecError as err:
        raise NftExecError("No such file or directory", err.token) from err
    return table_text(table, opts.style, chains=[], sets=[named], table_handle=False)


def _summary(ruleset: Ruleset, cmd: ListCmd) -> str:
    out: list[str] = []
    for table in ruleset.tables:
        if cmd.family is not None and table.family != cmd.family:
            continue
        if cmd.what == "tables":
            out.append(f"table {table.family} {table.name}\n")
            continue
        out.append(f"table {table.family} {table.name} {{\n")
        if cmd.what == "chains":
            for chain in table.chains.values():
                out.append(f"\tchain {chain.name} {{\n")
                if chain.comment is not None:
                    out.append(f'\t\tcomment "{chain.comment}"\n')
                if chain.base is not None:
                    b = chain.base
                    from isolate.lab.nft.values import priority_text

                    prio = priority_text(table.family, b.hook, b.priority)
                    out.append(f"\t\ttype {b.type} hook {b.hook} priority {prio}; policy {b.policy};\n")
                out.append("\t}\n")
        else:
            for named in table.sets.values():
                out.append(f"\tset {named.name} {{\n\t\ttype {named.type}\n\t}}\n")
        out.append("}\n")
    return "".join(out)
