"""The writes a CLI session makes, counted on a real SSH channel to the lab, over both
transports: what docs/benchmarks.md ("Round trips") and docs/platforms.md promise. Each write
waits for its answers before the next one goes out, so writes are round trips."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from isolate.drivers.base import Target
from isolate.drivers.cli import Channel, CliSession, RevertOnEnterSession, Until
from isolate.drivers.registry import TRANSPORTS, open_channel, platform_of
from isolate.execute.targets import resolve_targets
from isolate.inventory.loader import load_inventory
from isolate.lab.process import LabHandle, start_lab
from isolate.platforms import precheck_reads, state_reads

SMALL = Path(__file__).parents[1] / "lab" / "small.yml"


class Counted:
    """A real channel whose writes are recorded (the lines of each), nothing else changed."""

    def __init__(self, inner: Channel) -> None:
        self.inner = inner
        self.writes: list[list[str]] = []

    def send_line(self, line: str) -> None:
        self.writes.append(line.split("\n"))
        self.inner.send_line(line)

    def read_to_prompt(self, prompt: Until) -> str:
        return self.inner.read_to_prompt(prompt)

    def close(self) -> None:
        self.inner.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class CountedExchanging(Counted):
    """The same, for a channel that writes and reads in one hop (asyncssh)."""

    def exchange(self, line: str, prompt: Until) -> str:
        self.writes.append([line])
        return self.inner.exchange(line, prompt)  # type: ignore[attr-defined,no-any-return]

    def exchange_all(self, text: str, prompts: Sequence[Until], answers: list[str]) -> None:
        self.writes.append(text.split("\n"))
        self.inner.exchange_all(text, prompts, answers)  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabHandle]:
    handle = start_lab(tmp_path_factory.mktemp("round-trips"), SMALL)
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture(scope="module")
def targets(lab: LabHandle) -> dict[str, Target]:
    return resolve_targets(load_inventory(lab.inventory), ["acc1"], timeout_s=10.0).targets


@pytest.fixture(params=TRANSPORTS)
def session(request: pytest.FixtureRequest, targets: dict[str, Target]) -> Iterator[CliSession]:
    target = targets["acc1"]
    platform = platform_of(target)
    inner = open_channel(target, platform, str(request.param))
    channel = CountedExchanging(inner) if hasattr(inner, "exchange_all") else Counted(inner)
    made = RevertOnEnterSession(target, platform, channel)
    try:
        yield made
    finally:
        made.close()


def test_a_pre_check_push_and_verification_in_as_few_writes_as_promised(session: CliSession) -> None:
    channel = session.channel
    assert isinstance(channel, Counted)
    login = list(channel.writes)
    assert len(login) == 2 and login[0] == ["enable"]  # then the enable secret, alone
    prepare = list(session.dialect.prepare)
    reads = list(dict.fromkeys(precheck_reads("cisco_ios")))

    session.read_ahead(reads)  # the pre-check's reads
    before = session.read_state()
    assert channel.writes[2:] == [[*prepare, *reads]]  # the preparation rides on the first write

    lines = ["vlan 690", "name rt690", "interface GigabitEthernet1/0/3", "description rt690"]
    verify = list(state_reads("cisco_ios"))
    del channel.writes[:]
    session.push_then_read(lines, verify)
    after = session.read_state()
    assert channel.writes == [
        ["configure terminal"],
        ["vlan 690"],
        ["name rt690", "interface GigabitEthernet1/0/3"],
        ["description rt690", "end", *verify],  # the verification's reads after 'end'
    ]
    assert "vlan 690\n name rt690\n" in after and "vlan 690\n" not in before
    session.push(["no vlan 690", "interface GigabitEthernet1/0/3", "no description"])
