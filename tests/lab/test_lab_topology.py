"""The topology loader and the IOS model API the traffic model reads (no SSH needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from isolate.errors import TopologyError
from isolate.lab.ios import IosDevice, IosSpec
from isolate.lab.ios.shell import IosShell
from isolate.lab.process import build_hosted
from isolate.lab.topology import LabCredentials, load_topology


def test_city_builds_every_segment_gateway_and_host_port() -> None:
    lab = load_topology("city")
    names = [d.name for d in lab.devices]
    assert names[:5] == ["core1", "core2", "fw-edge", "fw-int", "vpn1"]
    assert [d.index for d in lab.devices] == list(range(len(names)))
    plugged = {h for d in lab.devices for _, h in d.access_ports}
    switched = {h.name for h in lab.topology.hosts
                if h.segment not in ("vpn", "outside")}
    assert plugged == switched
    core1 = lab.device("core1")
    assert "interface Vlan10" in core1.config and " ip address 10.10.10.1 255.255.255.0" in (
        core1.config)


@pytest.mark.parametrize("count", [1, 7, 300])
def test_devices_scales_the_access_layer(count: int) -> None:
    lab = load_topology("city", devices=count)
    access = [d for d in lab.devices if d.role == "access"]
    assert len(access) == count
    assert len({d.address for d in lab.devices}) == len(lab.devices)


def _device(*lines: str) -> IosDevice:
    ports = tuple(f"GigabitEthernet1/0/{i}" for i in range(1, 5))
    return IosDevice("r1", IosSpec("r1", "s", ports=ports, connected=ports[:1], lines=lines))


def test_acl_permits_first_match_implicit_deny_missing_permits() -> None:
    dev = _device("ip access-list extended SMB", " deny tcp any 10.10.10.0 0.0.0.255 eq 445",
                  " permit tcp any any range 135 139", "interface Vlan10",
                  " ip address 10.10.10.1 255.255.255.0", " ip access-group SMB out",
                  "ip route 10.66.0.0 255.255.0.0 Null0")
    assert not dev.acl_permits("SMB", "tcp", "10.10.100.17", "10.10.10.11", 445)
    assert dev.acl_permits("SMB", "tcp", "10.10.100.17", "10.10.10.11", 139)
    assert not dev.acl_permits("SMB", "udp", "10.10.100.17", "10.10.10.11", 53)
    assert dev.acl_permits("NOPE", "tcp", "10.0.0.1", "10.0.0.2", 22)
    svi = dev.svi(10)
    assert svi is not None and svi.prefix == "10.10.10.1/24" and svi.acl_out == "SMB"
    assert dev.svi(20) is None
    assert dev.drops_to("10.66.3.4") and not dev.drops_to("10.67.0.1")


def test_acl_entries_typed_twice_are_kept_once_also_after_changes_from_another_session() -> None:
    """IOS keeps one copy of an entry typed twice; an entry removed, then typed again, is back
    (whichever session removed it), at the end of the list."""
    dev = _device("ip access-list extended A", " permit tcp any any eq 22", " deny ip any any log")
    first, second = IosShell(dev, "admin", privileged=True), IosShell(dev, "admin", privileged=True)
    for shell in (first, second):
        shell.feed("configure terminal")
        shell.feed("ip access-list extended A")

    def entries() -> list[str]:
        shown = dev.exec("admin", "show running-config", "")
        assert shown is not None
        text = shown.stdout
        block = text[text.index("ip access-list extended A") :].split("\n!")[0]
        return [line.strip() for line in block.splitlines()[1:]]

    first.feed("permit tcp any any eq 22")
    first.feed("permit tcp any any eq 8443")
    first.feed("permit tcp any any eq 8443")
    assert entries() == ["permit tcp any any eq 22", "deny   ip any any log", "permit tcp any any eq 8443"]
    second.feed("no permit tcp any any eq 8443")
    first.feed("5 permit icmp any any")
    first.feed("permit tcp any any eq 8443")
    assert entries() == ["permit icmp any any", "permit tcp any any eq 22", "deny   ip any any log",
                         "permit tcp any any eq 8443"]


def test_snapshot_round_trip_keeps_the_running_config() -> None:
    dev = _device("vlan 10", " name servers", "interface Gi1/0/2", " switchport access vlan 10")
    dev.exec("admin", "write memory", "")
    again = IosDevice.from_snapshot("r1", dev.snapshot())
    show = "show running-config"
    assert again.exec("admin", show, "") == dev.exec("admin", show, "")
    assert again.interface("GigabitEthernet1/0/2") is not None


def test_latency_reaches_every_hosted_device_and_is_checked(tmp_path: Path) -> None:
    """``latency`` (docs/lab.md): milliseconds per reply and per KiB of output, for every device."""
    small = Path(__file__).with_name("small.yml").read_text()
    good = tmp_path / "slow.yml"
    good.write_text(small + "latency: {reply_ms: 20, per_kb_ms: 1.5}\n")
    lab = load_topology(good)
    hosted = build_hosted(tmp_path, lab, LabCredentials("u", "p", "e"), 20000)
    assert {(h.reply_s, h.per_kb_s) for h in hosted} == {(0.02, 0.0015)}
    assert hosted[0].output_cost("x" * 2048) == pytest.approx(0.003)
    bad = tmp_path / "bad.yml"
    bad.write_text(small + "latency: {reply_ms: -5}\n")
    with pytest.raises(TopologyError, match=r"bad.yml:\d+: latency.reply_ms: "):
        load_topology(bad)
