"""Flow expectations from a real plan's blast radius, and the flow checks over three matrices."""

from __future__ import annotations

from pathlib import Path

from isolate import api
from isolate.reports.flows import FlowKey, expectations, flow_checks, flow_rows, to_flow_map

ROOT = Path(__file__).resolve().parents[2]


def key(src: str, dst: str, port: int, service: str) -> FlowKey:
    return FlowKey(src, dst, port, "tcp", service)


BASELINE = {
    key("ws-01", "fs1", 445, "smb"): True,  # users -> servers SMB: cut-smb
    key("ws-01", "web1", 443, "https"): True,  # nothing cuts it
    key("ws-17", "dns1", 53, "dns"): True,  # ws-17 is quarantined
    key("vpn-carol", "ec1", 443, "civil-status"): True,  # carol's VPN access is revoked
    key("attacker", "web1", 443, "https"): True,  # blocked at the edge
    key("admin1", "core1", 22, "ssh-mgmt"): True,  # management path
    key("ws-02", "fs2", 139, "netbios-ssn"): False,  # closed at baseline: no expectation
}


def test_expectations_follow_the_blast_radius() -> None:
    inventory, plan = api.plan(ROOT / "inventory" / "city.yml", ROOT / "playbooks" / "ransomware-lateral.yml")
    expect = expectations(plan, inventory, BASELINE)
    assert expect == {
        key("ws-01", "fs1", 445, "smb"): "block",
        key("ws-01", "web1", 443, "https"): "keep",
        key("ws-17", "dns1", 53, "dns"): "block",
        key("vpn-carol", "ec1", 443, "civil-status"): "block",
        key("attacker", "web1", 443, "https"): "block",
        key("admin1", "core1", 22, "ssh-mgmt"): "keep",
    }


def test_flow_checks_name_what_went_wrong() -> None:
    opened = [k for k, v in BASELINE.items() if v]
    expect = {k: ("block" if k.src != "ws-01" or k.dst == "fs1" else "keep") for k in opened}
    expect[key("admin1", "core1", 22, "ssh-mgmt")] = "keep"
    during = {k: expect.get(k) == "keep" for k in BASELINE}
    during[key("ws-17", "dns1", 53, "dns")] = True  # containment missed it
    during[key("admin1", "core1", 22, "ssh-mgmt")] = False  # and cut the admin off
    after = dict(BASELINE)
    after[key("ws-01", "fs1", 445, "smb")] = False  # not back after restore
    checks = {c.id: c for c in flow_checks(BASELINE, during, after, expect, lab=True,
                                           devices=frozenset({"core1"}))}
    assert not checks["containment.must-block"].ok
    assert "ws-17 → dns1:53/tcp (dns)" in checks["containment.must-block"].message
    assert not checks["containment.management"].ok
    assert checks["containment.management"].details == ("lost: admin1 → core1:22/tcp (ssh-mgmt)",)
    assert not checks["flows.restored"].ok
    assert checks["flows.restored"].details == ("changed: ws-01 → fs1:445/tcp (smb)",)
    rows = {(r.src, r.dst): r for r in flow_rows(BASELINE, during, after, expect)}
    assert not rows[("ws-17", "dns1")].as_expected
    assert rows[("ws-02", "fs2")].expect == "none"


def test_without_a_lab_flow_checks_are_skipped() -> None:
    checks = flow_checks(None, None, None, {}, lab=False)
    assert checks and all(c.skipped and c.ok for c in checks)


def test_lab_flow_objects_convert() -> None:
    flows = [{"src": "a", "dst": "b", "port": 445, "proto": "tcp", "service": "smb", "allowed": False}]
    assert to_flow_map(flows) == {FlowKey("a", "b", 445, "tcp", "smb"): False}


def test_playbook_expect_checks() -> None:
    from isolate.playbook.models import Expect, FlowExpect
    from isolate.reports.flows import playbook_expect_checks

    expect = Expect(
        blocked=(FlowExpect(src="ws-01", dst="fs1", port=445), FlowExpect(src="ws-01", dst="web1", port=443)),
        reachable=(FlowExpect(src="ws-01", dst="nowhere", port=22),),
    )
    during = {key("ws-01", "fs1", 445, "smb"): False, key("ws-01", "web1", 443, "https"): True}
    checks = {c.id: c for c in playbook_expect_checks(expect, during)}
    assert checks["containment.expect-blocked"].details == ("open: ws-01 → web1:443/tcp (https)",)
    assert checks["containment.expect-reachable"].details == (
        "not in the lab's flow matrix: ws-01 → nowhere:22/tcp",
    )
    assert playbook_expect_checks(None, during) == []
