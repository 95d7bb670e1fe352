"""The lab FortiGate judged by the published Python client ``fortigate-api`` (PyPI) and by
Ansible's ``fortinet.fortios`` modules (httpapi): token login, addresses, address groups and
policies read, created, moved, updated and deleted over HTTPS, the certificate verified
against the lab's own (self-signed) certificate."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
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


ANSIBLE_PLAY = """
- hosts: fgt
  gather_facts: false
  vars: {vdom: root}
  tasks:
    - fortinet.fortios.fortios_firewall_address:
        vdom: "{{ vdom }}"
        access_token: "{{ token }}"
        state: present
        firewall_address: {name: ansible-a, subnet: 198.51.100.0/24, comment: judge}
    - fortinet.fortios.fortios_firewall_policy:
        vdom: "{{ vdom }}"
        access_token: "{{ token }}"
        state: present
        firewall_policy:
          policyid: 90
          name: ansible-deny
          srcintf: [{name: any}]
          dstintf: [{name: any}]
          srcaddr: [{name: ansible-a}]
          dstaddr: [{name: all}]
          service: [{name: ALL}]
          action: deny
          schedule: always
    - fortinet.fortios.fortios_firewall_policy:
        vdom: "{{ vdom }}"
        access_token: "{{ token }}"
        action: move
        self: "90"
        before: "1"
    - fortinet.fortios.fortios_configuration_fact:
        vdom: "{{ vdom }}"
        access_token: "{{ token }}"
        selectors:
          - {selector: firewall_address, params: {name: ansible-a}}
          - {selector: firewall_policy}
      register: facts
    - ansible.builtin.assert:
        that:
          - facts.meta[0].results[0].subnet == "198.51.100.0 255.255.255.0"
          - facts.meta[1].results[0].name == "ansible-deny"
          - facts.meta[1].results[0].action == "deny"
"""


MONITOR_PLAY = """
- hosts: fgt
  gather_facts: false
  vars: {vdom: root}
  tasks:
    - fortinet.fortios.fortios_monitor_fact:
        vdom: "{{ vdom }}"
        access_token: "{{ token }}"
        selector: vpn_ssl
      register: before
    - ansible.builtin.set_fact:
        bob: "{{ before.meta.results | selectattr('user_name', 'equalto', 'bob') | first }}"
    - fortinet.fortios.fortios_monitor:
        vdom: "{{ vdom }}"
        access_token: "{{ token }}"
        selector: delete.vpn.ssl
        params: {type: websession, index: "{{ bob.index }}"}
    - fortinet.fortios.fortios_monitor_fact:
        vdom: "{{ vdom }}"
        access_token: "{{ token }}"
        selector: vpn_ssl
      register: after
    - fortinet.fortios.fortios_monitor:
        vdom: "{{ vdom }}"
        access_token: "{{ token }}"
        selector: add_users.user.banned
        params: {ip_addresses: [203.0.113.9], expiry: 3600}
    - fortinet.fortios.fortios_monitor_fact:
        vdom: "{{ vdom }}"
        access_token: "{{ token }}"
        selector: user_banned
      register: banned
    - fortinet.fortios.fortios_monitor:
        vdom: "{{ vdom }}"
        access_token: "{{ token }}"
        selector: clear_users.user.banned
        params: {ip_addresses: [203.0.113.9]}
    - fortinet.fortios.fortios_monitor_fact:
        vdom: "{{ vdom }}"
        access_token: "{{ token }}"
        selector: system_status
      register: status
    - ansible.builtin.assert:
        that:
          - "'alice' in (after.meta.results | map(attribute='user_name'))"
          - "'bob' not in (after.meta.results | map(attribute='user_name'))"
          - banned.meta.results[0].ip_address == "203.0.113.9"
          - banned.meta.results[0].expires > banned.meta.results[0].created
          - status.meta.results.model_name == "FortiGate"
"""


def run_playbook(lab: LabHandle, tmp_path: Path, play: str) -> subprocess.CompletedProcess[str]:
    playbook_bin = Path(sys.executable).with_name("ansible-playbook")
    if not playbook_bin.exists() and shutil.which("ansible-playbook") is None:
        pytest.skip("ansible-playbook is not installed")
    port = lab.port("fgt1")
    (tmp_path / "inventory.ini").write_text(
        "[fgt]\n"
        f"fgt1 ansible_host=127.0.0.1 ansible_httpapi_port={port}\n"
        "[fgt:vars]\n"
        "ansible_connection=httpapi\nansible_network_os=fortinet.fortios.fortios\n"
        "ansible_httpapi_use_ssl=yes\nansible_httpapi_validate_certs=yes\n"
    )
    (tmp_path / "play.yml").write_text(play)
    env = {**os.environ, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_LOCAL_TEMP": str(tmp_path / "tmp"),
           "ANSIBLE_HOME": str(tmp_path), "SSL_CERT_FILE": str(lab.state_dir / "fortios_cert.pem")}
    return subprocess.run(
        [str(playbook_bin if playbook_bin.exists() else "ansible-playbook"), "-i",
         str(tmp_path / "inventory.ini"), str(tmp_path / "play.yml"),
         "-e", f"token={lab.credentials.token}"],
        capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path, check=False,
    )


@pytest.mark.slow
def test_ansible_fortios_monitor_modules_end_a_session_and_ban(lab: LabHandle, tmp_path: Path) -> None:
    result = run_playbook(lab, tmp_path, MONITOR_PLAY)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "failed=0" in result.stdout


@pytest.mark.slow
def test_ansible_fortios_modules_configure_move_and_read(lab: LabHandle, tmp_path: Path) -> None:
    result = run_playbook(lab, tmp_path, ANSIBLE_PLAY)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "failed=0" in result.stdout



def test_names_longer_than_fortios_allows_are_refused(api: object) -> None:
    fw = api.cmdb.firewall  # type: ignore[attr-defined]
    policy = {"name": "p" * 36, "srcintf": [{"name": "any"}], "dstintf": [{"name": "any"}],
              "srcaddr": [{"name": "all"}], "dstaddr": [{"name": "all"}],
              "service": [{"name": "ALL"}], "action": "deny"}
    response = fw.policy.create(policy)
    assert response.status_code == 500 and response.json()["error"] == -1
    assert fw.address.create({"name": "a" * 80, "subnet": "192.0.2.0/24"}).json()["error"] == -1
