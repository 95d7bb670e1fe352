"""The lab FortiGate judged by the published Python client ``fortigate-api`` (PyPI): token
login, addresses, address groups and policies read, created, moved, updated and deleted over
HTTPS, the certificate verified against the lab's own (self-signed) certificate."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from isolate.lab.process import LabHandle, start_lab

fortigate_api = pytest.importorskip("fortigate_api")

TOPOLOGY = Path(__file__).with_name("fortigate.yml")


@pytest.fixture(scope="module", name="lab")
def fortigate_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabHandle]:
    handle = start_lab(tmp_path_factory.mktemp("lab"), TOPOLOGY)
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture(name="api")
def api_client(lab: LabHandle, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    # requests verifies against REQUESTS_CA_BUNDLE when verify=True: the lab's certificate.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(lab.state_dir / "fortios_cert.pem"))
    client = fortigate_api.FortiGateAPI(host="127.0.0.1", port=lab.port("fgt1"),
                                        token=lab.credentials.token, verify=True)
    client.login()
    yield client
    client.logout()


def test_token_login_is_checked(lab: LabHandle, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(lab.state_dir / "fortios_cert.pem"))
    client = fortigate_api.FortiGateAPI(host="127.0.0.1", port=lab.port("fgt1"),
                                        token="0" * 30, verify=True)
    with pytest.raises(Exception, match="401"):
        client.login()


def test_reads_the_policies_in_order_with_their_references(api: object) -> None:
    policies = api.cmdb.firewall.policy.get()  # type: ignore[attr-defined]
    assert [p["name"] for p in policies][:3] == ["inside-to-inside", "inside-to-internet",
                                                 "internet-to-dmz"]
    first = policies[0]
    assert first["action"] == "accept" and first["srcintf"] == [{"name": "port1",
                                                                 "q_origin_key": "port1"}]
    assert {"name": "net-servers", "q_origin_key": "net-servers"} in first["srcaddr"]
    found = api.cmdb.firewall.policy.get(filter="name==internet-to-dmz")  # type: ignore[attr-defined]
    assert [p["policyid"] for p in found] == [3]


def test_creates_addresses_a_group_and_a_deny_policy_moved_above_the_allows(api: object) -> None:
    fw = api.cmdb.firewall  # type: ignore[attr-defined]
    assert fw.address.create({"name": "judge-a", "subnet": "203.0.113.0/24"}).status_code == 200
    assert fw.address.create({"name": "judge-a", "subnet": "203.0.113.0/24"}).status_code == 500
    assert fw.address.get(name="judge-a")[0]["subnet"] == "203.0.113.0 255.255.255.0"
    assert fw.address.is_exist("judge-a") and not fw.address.is_exist("judge-missing")
    group = {"name": "judge-g", "member": [{"name": "judge-a"}]}
    assert fw.addrgrp.create(group).status_code == 200
    policy = {"name": "judge-deny", "srcintf": [{"name": "any"}], "dstintf": [{"name": "any"}],
              "srcaddr": [{"name": "judge-g"}], "dstaddr": [{"name": "all"}],
              "service": [{"name": "ALL"}], "action": "deny", "schedule": "always"}
    response = fw.policy.create(policy)
    assert response.status_code == 200, response.text
    new_id = response.json()["mkey"]
    first_id = fw.policy.get()[0]["policyid"]
    assert fw.policy.move(policyid=new_id, position="before", neighbor=first_id).status_code == 200
    assert fw.policy.get()[0]["name"] == "judge-deny"
    assert fw.address.delete("judge-a").status_code == 500  # used by judge-g
    assert fw.policy.update({"policyid": new_id, "status": "disable"}).status_code == 200
    assert fw.policy.get(policyid=new_id)[0]["status"] == "disable"
    assert fw.policy.delete(new_id).status_code == 200
    assert fw.addrgrp.delete("judge-g").status_code == 200
    assert fw.address.delete("judge-a").status_code == 200
    assert fw.address.delete("judge-a").status_code == 404
    assert not fw.address.is_exist("judge-a")


def test_a_reference_to_a_missing_object_is_refused(api: object) -> None:
    fw = api.cmdb.firewall  # type: ignore[attr-defined]
    response = fw.addrgrp.create({"name": "judge-bad", "member": [{"name": "no-such-address"}]})
    assert response.status_code == 500
    assert response.json()["status"] == "error" and response.json()["error"] == -3
