"""A recursive-descent parser for the subset of the nft language the lab speaks.

It follows nft's grammar where it matters for fidelity: items of chain and table blocks
end with a newline or ``;``, keywords cannot be names, and errors point at the token
with nft's wording (``syntax error, unexpected drop, expecting string``).
"""

from __future__ import annotations

import re

from isolate.lab.nft.commands import (
    AddChain,
    AddRule,
    AddSet,
    AddTable,
    Command,
    Delete,
    DeleteRule,
    Elements,
    Flush,
    ListCmd,
    Ref,
    ReplaceRule,
)
from isolate.lab.nft.lexer import KEYWORDS, Token, tokenize
from isolate.lab.nft.model import (
    FAMILIES,
    HOOKS,
    BaseSpec,
    Counter,
    CtState,
    Log,
    Match,
    Num,
    Reject,
    SetLit,
    SetRef,
    Statement,
    Value,
    Verdict,
)
from isolate.lab.nft.values import (
    KEY_TYPES,
    ValueError_,
    parse_ct_states,
    parse_element,
    priority_compatible,
    priority_value,
    sort_elements,
)

_FIELDS = {
    "ip": ("saddr", "daddr", "protocol"),
    "ip6": ("saddr", "daddr", "nexthdr"),
    "tcp": ("sport", "dport"),
    "udp": ("sport", "dport"),
    "th": ("sport", "dport"),
    "meta": ("l4proto", "iifname", "oifname"),
    "ct": ("state",),
}
_TERMINATORS = ("newline", ";", "eof")
_Toks = tuple[tuple[str, Token], ...]


class NftParseError(Exception):
    """An error at one token; ``message`` is nft's text after ``Error: ``."""

    def __init__(self, message: str, token: Token | None) -> None:
        super().__init__(message)
        self.message = message
        self.token = token


def parse(text: str) -> list[Command]:
    return _Parser(tokenize(text)).parse_input()


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.toks = tokens
        self.pos = 0
        self.deferred: NftParseError | None = None  # an evaluation error, after syntax
        self.family_of_rule = "inet"

    # -- token helpers ----------------------------------------------------------------
    def peek(self, ahead: int = 0) -> Token:
        return self.toks[min(self.pos + ahead, len(self.toks) - 1)]

    def next(self) -> Token:
        tok = self.peek()
        self.pos = min(self.pos + 1, len(self.toks) - 1)
        if tok.kind == "badstring":
            raise NftParseError("unterminated string", tok)
        return tok

    def fail(self, tok: Token, expecting: str | None = None) -> NftParseError:
        if tok.kind == "badstring":
            return NftParseError("unterminated string", tok)
        suffix = f", expecting {expecting}" if expecting else ""
        return NftParseError(f"syntax error, unexpected {tok.describe()}{suffix}", tok)

    def word(self, *choices: str) -> Token:
        tok = self.next()
        if tok.kind != "word" or (choices and tok.text not in choices):
            raise self.fail(tok)
        return tok

    def is_word(self, *choices: str) -> bool:
        tok = self.peek()
        return tok.kind == "word" and (not choices or tok.text in choices)

    def name(self) -> Token:
        tok = self.next()
        if tok.kind == "string" or (tok.kind == "word" and tok.text not in KEYWORDS):
            return tok
        raise self.fail(tok, "string")

    def expect(self, kind: str) -> Token:
        tok = self.next()
        if tok.kind != kind:
            raise self.fail(tok)
        return tok

    def skip_separators(self) -> None:
        while self.peek().kind in ("newline", ";"):
            self.next()

    def end_item(self) -> None:
        """A block item ends with a newline or a semicolon (``}`` alone is not enough)."""
        tok = self.peek()
        if tok.kind not in ("newline", ";"):
            raise self.fail(tok, "newline or semicolon")
        self.next()

    def family(self) -> str:
        if self.is_word(*FAMILIES):
            return self.next().text
        return "ip"

    # -- top level --------------------------------------------------------------------
    def parse_input(self) -> list[Command]:
        commands: list[Command] = []
        while True:
            self.skip_separators()
            if self.peek().kind == "eof":
                if self.deferred is not None:
                    raise self.deferred
                return commands
            commands.extend(self.top())
            tok = self.peek()
            if tok.kind not in _TERMINATORS:
                raise self.fail(tok, "newline or semicolon")

    def top(self) -> list[Command]:
        tok = self.peek()
        if tok.kind != "word":
            raise self.fail(tok)
        if tok.text == "table":
            self.next()
            return self.table_cmd(create=False)
        verb = self.word("add", "create", "insert", "replace", "delete", "destroy", "flush", "list")
        if verb.text in ("add", "create"):
            return self.add(create=verb.text == "create")
        if verb.text in ("insert", "replace"):
            self.word("rule")
            return [self.rule_cmd(insert=True)] if verb.text == "insert" else [self.replace()]
        if verb.text in ("delete", "destroy"):
            return [self.delete(destroy=verb.text == "destroy")]
        if verb.text == "flush":
            return [self.flush()]
        return [self.list_cmd()]

    def add(self, *, create: bool) -> list[Command]:
        what = self.word("table", "chain", "rule", "set", "element")
        if what.text == "table":
            return self.table_cmd(create=create)
        if what.text == "chain":
            return [self.chain_cmd(create=create)]
        if what.text == "rule":
            return [self.rule_cmd(insert=False)]
        if what.text == "set":
            return [self.set_cmd(create=create)]
        ref = self.ref(named=True)
        return [Elements(ref, self.element_words())]

    def ref(self, *, named: bool) -> Ref:
        family = self.family()
        self.family_of_rule = family
        table = self.name()
        if not named:
            return Ref(family, table.text, table)
        name = self.name()
        return Ref(family, table.text, table, name.text, name)

    # -- tables -----------------------------------------------------------------------
    def table_cmd(self, *, create: bool) -> list[Command]:
        ref = self.ref(named=False)
        if self.peek().kind != "{":
            return [AddTable(ref, create=create)]
        self.next()
        chains: list[AddChain] = []
        sets: list[AddSet] = []
        rules: list[AddRule] = []
        comment: str | None = None
        while True:
            self.skip_separators()
            tok = self.peek()
            if tok.kind == "}":
                self.next()
                break
            if self.is_word("chain"):
                self.next()
                name = self.name()
                cref = Ref(ref.family, ref.table, ref.table_tok, name.text, name)
                chain, chain_rules = self.chain_block(cref)
                chains.append(chain)
                rules.extend(chain_rules)
            elif self.is_word("set"):
                self.next()
                name = self.name()
                sets.append(self.set_block(Ref(ref.family, ref.table, ref.table_tok, name.text, name)))
            elif self.is_word("comment"):
                self.next()
                comment = self.expect("string").text
            else:
                raise self.fail(tok)
            self.end_item()
        return [AddTable(ref, create=create, comment=comment), *chains, *sets, *rules]

    # -- chains -----------------------------------------------------------------------
    def chain_cmd(self, *, create: bool) -> AddChain:
        ref = self.ref(named=True)
        if self.peek().kind != "{":
            return AddChain(ref, create=create)
        chain, rules = self.chain_block(ref, create=create)
        if rules:
            raise self.fail(self.peek())
        return chain

    def chain_block(self, ref: Ref, *, create: bool = False) -> tuple[AddChain, list[AddRule]]:
        self.expect("{")
        hook: tuple[str, str, int, Token] | None = None
        policy = "accept"
        comment: str | None = None
        rules: list[AddRule] = []
        while True:
            self.skip_separators()
            tok = self.peek()
            if tok.kind == "}":
                self.next()
                break
            if self.is_word("type"):
                hook = self.hook_spec(ref.family)
            elif self.is_word("policy"):
                self.next()
                policy = self.word("accept", "drop").text
            elif self.is_word("comment"):
                self.next()
                comment = self.expect("string").text
            else:
                statements, rule_comment, jumps, setrefs = self.rule_body()
                rules.append(AddRule(ref, statements, rule_comment, jump_toks=jumps, setref_toks=setrefs))
            self.end_item()
        base = None
        if hook is not None:
            base = BaseSpec(hook[0], hook[1], hook[2], policy)
        return AddChain(ref, base=base, comment=comment, create=create), rules

    def hook_spec(self, family: str) -> tuple[str, str, int, Token]:
        self.word("type")
        ctype = self.name()
        self.word("hook")
        hook = self.name()
        if hook.text not in HOOKS:
            raise NftParseError(f"unknown chain hook {hook.text}", hook)
        prio_tok = self.word("priority")
        return ctype.text, hook.text, self.priority(family, hook.text, prio_tok), hook

    def priority(self, family: str, hook: str, start: Token) -> int:
        tok = self.next()
        if re.fullmatch(r"-?\d+", tok.text) and tok.kind in ("word", "number"):
            return int(tok.text)
        if tok.kind != "word":
            raise self.fail(tok)
        base = priority_value(family, tok.text)
        if base is None or not priority_compatible(tok.text, family, hook):
            span = Token("word", tok.text, start.line, start.col, tok.end)
            raise NftParseError("invalid priority expression value in this context.", span)
        if self.is_word("+", "-"):
            sign = self.next().text
            offset = self.expect("number")
            return base + int(offset.text) * (1 if sign == "+" else -1)
        return base

    # -- rules ------------------------------------------------------------------------
    def rule_cmd(self, *, insert: bool) -> AddRule:
        ref = self.ref(named=True)
        position: int | None = None
        position_tok: Token | None = None
        if self.is_word("position", "handle"):
            position_tok = self.next()
            number = self.expect("number")
            position = int(number.text)
            position_tok = Token("word", "", position_tok.line, position_tok.col, number.end)
        statements, comment, jumps, setrefs = self.rule_body()
        return AddRule(
            ref, statements, comment, insert=insert, position=position,
            position_tok=position_tok, jump_toks=jumps, setref_toks=setrefs,
        )  # fmt: skip

    def replace(self) -> ReplaceRule:
        ref = self.ref(named=True)
        self.word("handle")
        handle = self.expect("number")
        statements, comment, _, _ = self.rule_body()
        return ReplaceRule(ref, int(handle.text), handle, statements, comment)

    def rule_body(self) -> tuple[tuple[Statement, ...], str | None, _Toks, _Toks]:
        statements: list[Statement] = []
        comment: str | None = None
        jumps: list[tuple[str, Token]] = []
        setrefs: list[tuple[str, Token]] = []
        symbolic = False
        while self.peek().kind not in (*_TERMINATORS, "}"):
            tok = self.peek()
            if self.is_symbol(tok):
                self.symbols()
                symbolic = True
                continue
            if tok.kind != "word":
                raise self.fail(tok)
            if tok.text == "comment":
                self.next()
                comment = self.expect("string").text
                continue
            statement = self.statement(jumps, setrefs)
            statements.append(statement)
        if not statements and comment is None and not symbolic:
            raise self.fail(self.peek())
        return normalise(statements, self.family_of_rule), comment, tuple(jumps), tuple(setrefs)

    @staticmethod
    def is_symbol(tok: Token) -> bool:
        return tok.kind in ("number", "string") or (tok.kind == "word" and tok.text not in KEYWORDS)

    def symbols(self) -> None:
        """Words nft reads as symbol expressions: ``a b`` is a match it cannot type (an
        evaluation error, reported after every syntax error); a lone ``a`` is a syntax
        error at the token after it."""
        first = self.next()
        if not self.is_symbol(self.peek()):
            raise self.fail(self.peek())
        self.next()
        if self.deferred is None:
            self.deferred = NftParseError("No symbol type information", first)

    def statement(self, jumps: list[tuple[str, Token]], setrefs: list[tuple[str, Token]]) -> Statement:
        tok = self.next()
        text = tok.text
        if text in ("accept", "drop", "return", "continue"):
            return Verdict(text)
        if text in ("jump", "goto"):
            target = self.name()
            jumps.append((target.text, target))
            return Verdict(text, target.text)
        if text == "counter":
            if self.is_word("packets"):
                self.next()
                packets = int(self.expect("number").text)
                self.word("bytes")
                return Counter(packets, int(self.expect("number").text))
            return Counter()
        if text == "log":
            if self.is_word("prefix"):
                self.next()
                return Log(self.expect("string").text)
            return Log()
        if text == "reject":
            return self.reject()
        if text in ("iifname", "oifname"):
            return self.match(f"meta {text}", setrefs)
        if text in _FIELDS:
            field = self.next()
            if field.kind != "word" or field.text not in _FIELDS[text]:
                raise self.fail(field)
            self.check_family(text, tok, field)
            return self.match(f"{text} {field.text}", setrefs)
        raise self.fail(tok)

    def check_family(self, proto: str, tok: Token, field: Token) -> None:
        """``ip6 saddr`` in an ``ip`` table (or the reverse) fails nft's evaluation."""
        family = self.family_of_rule
        if family in ("ip", "ip6") and proto in ("ip", "ip6") and proto != family:
            span = Token("word", "", tok.line, tok.col, field.end)
            error = NftParseError(f"conflicting protocols specified: {family} vs. {proto}", span)
            self.deferred = self.deferred or error

    def reject(self) -> Reject:
        if not self.is_word("with"):
            return Reject()
        self.next()
        kind = self.word("tcp", "icmpx", "icmp", "icmpv6")
        if kind.text == "tcp":
            self.word("reset")
            return Reject("tcp reset")
        if self.is_word("type"):
            self.next()
        code = self.next()
        if code.kind not in ("word", "number"):
            raise self.fail(code)
        return Reject(kind.text, code.text)

    def match(self, key: str, setrefs: list[tuple[str, Token]]) -> Match:
        negate = False
        if self.peek().kind in ("!=", "=="):
            negate = self.next().kind == "!="
        datatype = KEY_TYPES[key]
        tok = self.peek()
        if datatype == "ct_state":
            return Match(key, self.ct_states(), negate)
        if tok.kind == "{":
            return Match(key, self.set_literal(datatype), negate)
        tok = self.next()
        if tok.kind == "word" and tok.text.startswith("@"):
            setrefs.append((tok.text[1:], tok))
            return Match(key, SetRef(tok.text[1:]), negate)
        return Match(key, self.value(tok, datatype), negate)

    def value(self, tok: Token, datatype: str) -> Value:
        if tok.kind == "string" and datatype != "ifname":
            raise self.fail(tok)
        if tok.kind not in ("word", "number", "string") or (
            tok.kind == "word" and tok.text in KEYWORDS and datatype != "inet_proto"
        ):
            raise self.fail(tok)
        try:
            return parse_element(tok.text, datatype)
        except ValueError_ as err:
            raise NftParseError(err.message, tok) from err

    def ct_states(self) -> Value:
        if self.peek().kind == "{":
            pairs = self.element_words()
            try:
                value = parse_ct_states([text for text, _ in pairs])
            except ValueError_ as err:
                raise NftParseError(err.message, pairs[0][1]) from err
            return CtState(value.mask, braced=len(pairs) > 1)
        words: list[Token] = [self.next()]
        while self.peek().kind == ",":
            self.next()
            words.append(self.next())
        try:
            return parse_ct_states([w.text for w in words])
        except ValueError_ as err:
            raise NftParseError(err.message, words[0]) from err

    def set_literal(self, datatype: str) -> SetLit:
        words = self.element_words()
        elements = []
        for text, tok in words:
            try:
                elements.append(parse_element(text, datatype))
            except ValueError_ as err:
                raise NftParseError(err.message, tok) from err
        return SetLit(sort_elements(elements))

    def element_words(self) -> tuple[tuple[str, Token], ...]:
        self.expect("{")
        words: list[tuple[str, Token]] = []
        while True:
            while self.peek().kind == "newline":
                self.next()
            tok = self.next()
            if tok.kind == "}" and not words:
                raise self.fail(tok)
            if tok.kind not in ("word", "number", "string"):
                raise self.fail(tok)
            words.append((tok.text, tok))
            while self.peek().kind == "newline":
                self.next()
            sep = self.next()
            if sep.kind == "}":
                return tuple(words)
            if sep.kind != ",":
                raise self.fail(sep)

    # -- sets -------------------------------------------------------------------------
    def set_cmd(self, *, create: bool) -> AddSet:
        ref = self.ref(named=True)
        return self.set_block(ref, create=create)

    def set_block(self, ref: Ref, *, create: bool = False) -> AddSet:
        open_tok = self.expect("{")
        set_type: Token | None = None
        flags: list[str] = []
        words: tuple[tuple[str, Token], ...] = ()
        comment: str | None = None
        while True:
            self.skip_separators()
            tok = self.peek()
            if tok.kind == "}":
                self.next()
                break
            if self.is_word("elements"):
                self.next()
                self.expect("=")
                words = self.element_words()
                continue
            if self.is_word("type"):
                self.next()
                set_type = self.name()
            elif self.is_word("flags"):
                self.next()
                flags.append(self.name().text)
                while self.peek().kind == ",":
                    self.next()
                    flags.append(self.name().text)
            elif self.is_word("comment"):
                self.next()
                comment = self.expect("string").text
            elif self.is_word("auto-merge"):
                self.next()
            else:
                raise self.fail(tok)
            self.end_item()
        if set_type is None:
            raise NftParseError("set definition does not specify key", open_tok)
        return AddSet(ref, set_type.text, set_type, tuple(flags), words, comment, create)

    # -- delete / flush / list --------------------------------------------------------
    def delete(self, *, destroy: bool) -> Command:
        what = self.word("table", "chain", "rule", "set", "element")
        if what.text == "table":
            return Delete("table", self.ref(named=False), destroy)
        ref = self.ref(named=True)
        if what.text == "rule":
            self.word("handle")
            handle = self.expect("number")
            return DeleteRule(ref, int(handle.text), handle)
        if what.text == "element":
            return Elements(ref, self.element_words(), delete=True)
        return Delete(what.text, ref, destroy)

    def flush(self) -> Flush:
        what = self.word("ruleset", "table", "chain", "set")
        if what.text == "ruleset":
            return Flush("ruleset", family=self.family() if self.is_word(*FAMILIES) else None)
        return Flush(what.text, self.ref(named=what.text != "table"))

    def list_cmd(self) -> ListCmd:
        what = self.word("ruleset", "table", "chain", "set", "tables", "chains", "sets")
        if what.text in ("ruleset", "tables", "chains", "sets"):
            family = self.next().text if self.is_word(*FAMILIES) else None
            return ListCmd(what.text, family=family)
        return ListCmd(what.text, self.ref(named=what.text != "table"))


# -- what nft stores (and so lists back) ----------------------------------------------------

_DEPENDENCY = {"inet": ("meta l4proto",), "ip": ("meta l4proto", "ip protocol"),
               "ip6": ("meta l4proto", "ip6 nexthdr")}  # fmt: skip


def normalise(statements: list[Statement], family: str) -> tuple[Statement, ...]:
    """As nft lists a rule back: one-element anonymous sets become their element, a
    protocol match that a later tcp/udp/th match implies is dropped, and ``th`` after a
    known protocol is printed as that protocol."""
    out: list[Statement] = []
    for statement in statements:
        value = statement.value if isinstance(statement, Match) else None
        if isinstance(statement, Match) and isinstance(value, SetLit) and len(value.elements) == 1:
            statement = Match(statement.key, value.elements[0], statement.negate)
        out.append(statement)
    proto: str | None = None
    result: list[Statement] = []
    for index, statement in enumerate(out):
        if isinstance(statement, Match) and statement.key.split()[0] == "th" and proto:
            statement = Match(f"{proto} {statement.key.split()[1]}", statement.value, statement.negate)
        if isinstance(statement, Match) and statement.key.split()[0] in ("tcp", "udp"):
            proto = statement.key.split()[0]
        implied = _implied_protocol(statement, family)
        if implied is not None and _later_uses(out[index + 1 :], implied):
            proto = implied
            continue
        result.append(statement)
    return tuple(result)


def _implied_protocol(statement: Statement, family: str) -> str | None:
    if not isinstance(statement, Match) or statement.negate:
        return None
    if statement.key not in _DEPENDENCY.get(family, ()) or not isinstance(statement.value, Num):
        return None
    name = {6: "tcp", 17: "udp"}.get(statement.value.value)
    return name


def _later_uses(rest: list[Statement], proto: str) -> bool:
    for statement in rest:
        if isinstance(statement, Match) and statement.key.split()[0] in (proto, "th"):
            return True
        if isinstance(statement, Match) and statement.key.split()[0] in ("tcp", "udp"):
            return False
    return False
