"""Baselines from the devices: what the network already filters before any step.

Given each device's captured or last-known state (the text isolate captures: IOS
``show running-config``, ``nft -s list ruleset``), the reachability model drops the flows
that do not pass *now* — an ACL bound to a segment's SVI (``ip access-group X in|out``),
a segment firewall's or an edge firewall's nftables ``forward`` hook — so the blast radius
counts only flows that are open, and says which devices' rules it could not model.
The IOS ACL and nftables semantics are the embedded lab's (first match wins, implicit
deny; nft hooks by priority), checked against real devices by the lab's own tests. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from isolate.actions.ios_config import RunningConfig, access_group
from isolate.errors import LabError
from isolate.inventory.models import Inventory, Segment
from isolate.lab.ios.acl import Ace, parse_ace
from isolate.lab.ios.cli import CliError, Tokens
from isolate.lab.nft import Packet, evaluate, load_ruleset
from isolate.lab.nft.model import Ruleset
from isolate.plan.reach import Endpoint

MODELLED = ("cisco_ios", "linux")


@dataclass
class Baseline:
    """The filters read from the devices' states, and what could not be read."""

    acls: dict[str, dict[str, list[Ace]]] = field(default_factory=dict)  # device -> ACL -> entries
    svis: dict[str, dict[int, tuple[str | None, str | None]]] = field(default_factory=dict)  # (in, out)
    nft: dict[str, Ruleset] = field(default_factory=dict)
    read: list[str] = field(default_factory=list)  # devices whose rules are modelled
    unmodelled: list[str] = field(default_factory=list)  # "vpn1 (cisco_asa): …"

    def acl_permits(
        self, device: str, name: str, src: Endpoint, dst: Endpoint, port: int, proto: str
    ) -> bool:
        aces = self.acls.get(device, {}).get(name)
        if aces is None:
            return True  # IOS: an access-group naming a missing ACL permits everything
        for ace in aces:
            if ace.matches(proto, str(src.address), str(dst.address), port):
                return ace.action == "permit"
        return False


def _ios(baseline: Baseline, name: str, text: str) -> None:
    config = RunningConfig(text)
    acls: dict[str, list[Ace]] = {}
    for block in config.blocks:
        words = block.header.split()
        if words[:3] != ["ip", "access-list", "extended"] or len(words) != 4:
            continue
        entries = []
        for seq, line in enumerate(block.children, 1):
            if line.startswith("remark"):
                continue
            tokens = Tokens(line)
            first = tokens.words[0] if tokens.words else ""
            try:
                numbered = first.isdigit()
                entries.append(parse_ace(tokens, 1 if numbered else 0, int(first) if numbered else seq * 10))
            except CliError:
                baseline.unmodelled.append(f"{name}: ACL {words[3]} entry '{line}' not modelled")
                return
        acls[words[3]] = entries
    svis: dict[int, tuple[str | None, str | None]] = {}
    for block in config.interfaces():
        header = block.header.split()
        if len(header) == 2 and header[1].startswith("Vlan") and header[1][4:].isdigit():
            svis[int(header[1][4:])] = (access_group(block, "in"), access_group(block, "out"))
    baseline.acls[name], baseline.svis[name] = acls, svis
    baseline.read.append(name)


def read_baseline(inventory: Inventory, states: Mapping[str, str]) -> Baseline:
    """Parse every device's state; devices of other platforms, or whose state is missing or
    cannot be parsed, are listed as not modelled (their rules are assumed to pass all)."""
    baseline = Baseline()
    filtering = {s.gateway for s in inventory.segments} | {s.firewall for s in inventory.segments}
    filtering |= set(inventory.edge.devices)
    for device in inventory.devices:
        if device.name not in filtering:
            continue
        text = states.get(device.name)
        if device.platform not in MODELLED:
            baseline.unmodelled.append(f"{device.name} ({device.platform}): rules not modelled")
        elif text is None:
            baseline.unmodelled.append(f"{device.name}: no captured state")
        elif device.platform == "cisco_ios":
            _ios(baseline, device.name, text)
        else:
            try:
                baseline.nft[device.name] = load_ruleset(text, origin=device.name)
                baseline.read.append(device.name)
            except LabError as exc:
                baseline.unmodelled.append(f"{device.name}: nft ruleset not modelled ({exc})")
    return baseline


class Filters:
    """Whether a flow passes the baseline filters on its path (docs/design.md, reachability)."""

    def __init__(self, inventory: Inventory, baseline: Baseline) -> None:
        self.baseline = baseline
        every = [*inventory.segments, *(x.as_segment() for x in inventory.sources)]
        self.segments: dict[str, Segment] = {s.name: s for s in every}
        self.edge = [d for d in inventory.edge.devices if d in baseline.nft]

    def _svi_acl(self, segment: Segment | None, direction: int) -> tuple[str, str] | None:
        if segment is None or segment.gateway is None or segment.zone not in ("inside", "management"):
            return None
        if segment.vlan is None:
            return None
        svi = self.baseline.svis.get(segment.gateway, {}).get(segment.vlan)
        name = svi[direction] if svi else None
        return (segment.gateway, name) if name else None

    def passes(self, src: Endpoint, dst: Endpoint, port: int, proto: str) -> bool:
        src_seg, dst_seg = self.segments.get(src.segment or ""), self.segments.get(dst.segment or "")
        if src.segment == dst.segment and src.segment is not None:
            return True
        for acl in (self._svi_acl(src_seg, 0), self._svi_acl(dst_seg, 1)):
            if acl and not self.baseline.acl_permits(acl[0], acl[1], src, dst, port, proto):
                return False
        firewalls = [s.firewall for s in (src_seg, dst_seg) if s is not None and s.firewall]
        outside = [s is not None and s.zone == "outside" for s in (src_seg, dst_seg)]
        if outside[0] != outside[1]:
            firewalls += self.edge
        packet = Packet(proto, str(src.address), str(dst.address), dport=port)
        for name in dict.fromkeys(firewalls):
            ruleset = self.baseline.nft.get(name)
            if ruleset is not None and not evaluate(ruleset, "forward", packet).accepted:
                return False
        return True
