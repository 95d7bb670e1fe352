"""What isolate knows about one kind of device, as data: the ``Platform`` record.

Everything platform-specific outside an action module derives from one record in
``isolate.platforms.table.PLATFORMS``: the inventory's platform list, interface-name
validation, the driver registry, session preparation, the Ansible ``ansible_network_os``
map, failure detection, the state read back and what of it is volatile, the identity
pre-check, the commit-confirm strategy. See docs/platforms.md.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

Session = Literal["cli", "nft", "ovs", "wireguard", "ansible", "ldap", "openvpn", "fortios", "netconf"]
# Which command grammar the last guard before a device checks (isolate/cmdguard.py).
Grammar = Literal["ios", "nft", "ovs", "wg", "ansible", "openvpn", "ldap", "fortios", "junos"]
SavePolicy = Literal["never", "on-confirm"]


@dataclass(frozen=True)
class InterfaceGrammar:
    """How interface names are spelled on the platform.

    ``typed`` (IOS family): a type word from ``types`` (canonical spelling; an abbreviation is
    any unique case-insensitive prefix of at least two characters) followed by a number such
    as ``1/0/5`` or ``0/1.10``; ``logical`` types take a single integer. ``kernel``: a Linux
    interface name ``[A-Za-z0-9_.-]{1,15}``. ``pattern``: names matching ``pattern`` (Junos
    ``ge-0/0/5``, ``ae0``, ``irb``).
    """

    style: Literal["typed", "kernel", "pattern"]
    types: tuple[str, ...] = ()
    logical: frozenset[str] = frozenset()
    pattern: str = ""


@dataclass(frozen=True)
class Dialect:
    """How a CLI is driven: prompts per privilege level, escalation, configuration mode, paging."""

    user_prompt: str = ">"  # the character that ends the prompt in user exec
    privileged_prompt: str = "#"
    config_prompt: str = r"\(config[^)\r\n]*\)#"  # a regex the configuration-mode prompt ends with
    escalate: str | None = "enable"  # from user exec to privileged exec (then the enable secret)
    config_enter: str = "configure terminal"
    config_exit: str = "end"
    prepare: tuple[str, ...] = ()  # sent after login: no paging, wide lines (read-only)
    prompt_host_chars: int = 16  # IOS truncates the hostname in configuration prompts
    # Lines that enter (or leave) a configuration sub-mode, as keyword phrases; each word of a
    # line may be abbreviated (two letters at least). Configuration lines go to the device in
    # one write up to and including such a line, whose answer is read before anything after it
    # is sent (isolate/drivers/cli.py). None: every line is its own write.
    contexts: tuple[str, ...] | None = None

    def enters_mode(self, line: str) -> bool:
        """Whether ``line`` may change the configuration mode (a mode boundary)."""
        if self.contexts is None:
            return True
        return _enters_mode(self.contexts, line)

    def writes(self, config: Sequence[str]) -> list[list[str]]:
        """``config`` cut at its mode boundaries: each write ends with a line that enters a
        sub-mode, whose answer is read before its children are sent; the last write ends with
        the configuration exit line."""
        groups: list[list[str]] = [[]]
        for line in config:
            groups[-1].append(line)
            if self.enters_mode(line):
                groups.append([])
        groups[-1].append(self.config_exit)
        return groups


@functools.lru_cache(maxsize=4096)
def _enters_mode(contexts: tuple[str, ...], line: str) -> bool:
    """``Dialect.enters_mode``, remembered per line: a batch's lines (``interface X``, ``vlan
    N``) recur on every device, and each is tested against every context phrase."""
    words = line.lower().split()
    if not words or words[0] == "no":
        return False
    return any(_abbreviates(words, phrase.split()) for phrase in contexts)


def _abbreviates(words: list[str], phrase: list[str]) -> bool:
    """Whether ``words`` start with ``phrase``, each word possibly abbreviated (2+ letters)."""
    if len(words) < len(phrase):
        return False
    return all(p.startswith(w) and (len(w) >= 2 or w == p) for w, p in zip(words, phrase, strict=False))


@dataclass(frozen=True)
class Markers:
    """What a device's answer means.

    In configuration mode every line of the answer to one command is checked: a line matching a
    ``refusal`` pattern and no ``informational`` pattern means the command was refused. For an
    exec command (a show) only the head of the answer is checked (the first line that is not
    blank and not the ``^`` caret line): output further down is data (a banner line starting
    with ``%`` inside ``show running-config`` is not a refusal).
    """

    refusal: tuple[str, ...]
    informational: tuple[str, ...] = ()
    _refusal: tuple[re.Pattern[str], ...] = field(init=False, repr=False, compare=False)
    _informational: tuple[re.Pattern[str], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_refusal", tuple(re.compile(p) for p in self.refusal))
        object.__setattr__(self, "_informational", tuple(re.compile(p) for p in self.informational))

    def refusing(self, line: str) -> bool:
        """Whether one output line (stripped) is a refusal."""
        text = line.strip()
        if not text or any(p.match(text) for p in self._informational):
            return False
        return any(p.match(text) for p in self._refusal)

    def config_refusal(self, answer: str) -> str | None:
        """The first refusing line of a configuration-mode answer, else None."""
        return next((line.strip() for line in answer.splitlines() if self.refusing(line)), None)

    def exec_refusal(self, answer: str) -> str | None:
        """The refusal at the head of an exec-mode answer, else None."""
        for line in answer.splitlines():
            text = line.strip()
            if not text or text == "^":
                continue
            return text if self.refusing(text) else None
        return None


ALSO_MARK = "! state: "


@dataclass(frozen=True)
class State:
    """The device's whole comparable state: what is read and what of it is not configuration.

    ``header`` lines are printed around the configuration (``Building configuration...``);
    ``volatile`` lines are rewritten by the device itself over time (IOS ``ntp clock-period``,
    change timestamps). Both are dropped from every state read, so the restore gate compares
    configuration only (docs/platforms.md, "Normalisation").
    """

    command: str
    header: tuple[str, ...] = ()
    volatile: tuple[str, ...] = ()
    also: tuple[str, ...] = ()  # read-only commands whose output is part of the state
    _dropped: re.Pattern[str] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # one pattern for all (one match per line, not one per pattern and line)
        patterns = self.header + self.volatile
        dropped = re.compile("|".join(f"(?:{p})" for p in patterns)) if patterns else None
        object.__setattr__(self, "_dropped", dropped)

    def combine(self, main: str, also: dict[str, str]) -> str:
        """The state: the main command's output, then each ``also`` command's output under a
        ``! <command>`` line (IOS: the VLAN database and VTP status, kept in vlan.dat and not
        in the running configuration), normalised as one text."""
        parts = [main.rstrip("\n")]
        parts += [f"{ALSO_MARK}{command}\n{also[command].rstrip()}" for command in self.also]
        return self.normalise("\n".join(parts))

    def normalise(self, text: str) -> str:
        """Line endings unified, trailing spaces and leading/trailing blank lines dropped,
        header and volatile lines dropped."""
        lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
        dropped = self._dropped
        kept = lines if dropped is None else [line for line in lines if not dropped.match(line)]
        while kept and not kept[0]:
            kept.pop(0)
        while kept and not kept[-1]:
            kept.pop()
        return "\n".join(kept) + "\n"


@dataclass(frozen=True)
class Identity:
    """Pre-check "platform as declared": ``command``'s output must match ``pattern``."""

    command: str
    pattern: str

    def matches(self, output: str) -> bool:
        return re.search(self.pattern, output) is not None


@dataclass(frozen=True)
class Probe:
    """A read-only command and what its output must show."""

    command: str
    pattern: str
    meaning: str  # what a match means, for messages

    def shows(self, output: str) -> bool:
        return re.search(self.pattern, output, re.M) is not None


@dataclass(frozen=True)
class Locate:
    """What ``isolate locate`` reads on the platform (read-only; isolate/locate.py).

    ``arp`` (with ``{address}``) asks the device's ARP/neighbour table, answered in
    ``arp_format``: ``ios`` (``show ip arp`` rows), ``ip-neigh`` (Linux ``ip neigh``) or
    ``junos`` (``show arp no-resolve`` rows: MAC, address, interface).
    ``mac_table`` (with ``{mac}``, dotted ``H.H.H``) makes the platform an access switch
    whose MAC table and edge ports (``show interfaces status``, CDP, LLDP) are read.
    """

    arp: str
    arp_format: Literal["ios", "ip-neigh", "junos"]
    mac_table: str | None = None


@dataclass(frozen=True)
class RevertOnEnter:
    """Commit-confirm where the device arms its revert when configuration mode is entered
    (IOS ``configure terminal revert timer N`` … ``configure confirm``).

    ``requires`` is a pattern the captured state must match first (IOS: the archive feature);
    ``armed`` reads back that the timer runs; ``unit_s`` is the timer's unit (minutes).
    """

    enter: str  # with {units}
    confirm: str
    unit_s: int
    requires: str
    requires_text: str  # what to configure, for the pre-check message
    armed: Probe
    kind: Literal["revert-on-enter"] = "revert-on-enter"


@dataclass(frozen=True)
class ScheduledRevert:
    """Commit-confirm by a revert job the driver schedules on the device itself (Linux nft)."""

    kind: Literal["scheduled-revert"] = "scheduled-revert"


@dataclass(frozen=True)
class CommitConfirmed:
    """Commit-confirm by the device's own ``commit confirmed N`` (Junos): the change is
    committed with a rollback the device fires after ``N`` units unless a plain commit
    confirms it first. ``unit_s``: the timer's unit (Junos: minutes)."""

    unit_s: int = 60
    kind: Literal["commit-confirmed"] = "commit-confirmed"


ConfirmStrategy = RevertOnEnter | ScheduledRevert | CommitConfirmed


@dataclass(frozen=True)
class Platform:
    """Everything isolate knows about one kind of device (docs/platforms.md)."""

    name: str
    title: str  # for people: "Cisco IOS / IOS-XE"
    session: Session  # which session family speaks to it (drivers/registry.py)
    grammar: Grammar  # the command grammar cmdguard checks every line against
    interfaces: InterfaceGrammar
    state: State
    default_role: str  # the inventory role when an Ansible inventory gives none
    dialect: Dialect | None = None  # CLI platforms only
    markers: Markers | None = None  # CLI platforms only
    identity: Identity | None = None
    confirm: ConfirmStrategy | None = None  # None: no device-owned revert
    save: SavePolicy = "never"  # isolate changes the running configuration only
    netmiko_type: str | None = None
    ansible_network_os: tuple[str, ...] = ()  # aliases accepted in Ansible inventories
    lab_kind: str | None = None  # the embedded lab's device kind simulating it
    # How its filter actions bind: "interface" (one ACL per interface and direction: IOS binds
    # to the segment's SVI, so it needs the gateway, and two steps must not bind the same one)
    # or "ruleset" (a firewall filtering whatever crosses it).
    acl_binding: Literal["interface", "ruleset"] = "ruleset"
    locate: Locate | None = None  # None: locate does not ask devices of this platform
    # The port isolate manages it on where the inventory's port is the lab's or a tunnel's
    # (the device has a modelled ``address``): the management path the guards keep open.
    management_port: int = 22

    @property
    def management_service(self) -> str:
        return {22: "ssh", 443: "https", 830: "netconf", 636: "ldaps"}.get(self.management_port, "management")

    @property
    def has_revert(self) -> bool:
        return self.confirm is not None
