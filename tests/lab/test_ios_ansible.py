"""Ansible's own cisco.ios modules (network_cli) against the simulated IOS switch."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from labkit import small_lab  # noqa: F401 (small_lab: the `lab` fixture)

from isolate.lab.process import LabHandle

PLAYBOOK = """
- hosts: sw
  gather_facts: false
  tasks:
    - cisco.ios.ios_facts: {gather_subset: [min]}
    - cisco.ios.ios_config:
        lines: [switchport access vlan 998]
        parents: interface GigabitEthernet1/0/7
    - cisco.ios.ios_command: {commands: [show running-config interface Gi1/0/7]}
      register: out
    - ansible.builtin.assert:
        that:
          - ansible_net_version == "15.2(7)E8"
          - ansible_net_hostname == "acc1"
          - "'switchport access vlan 998' in out.stdout[0]"
    - cisco.ios.ios_config:
        lines: [switchport access vlan 5000]
        parents: interface GigabitEthernet1/0/7
      register: bad
      ignore_errors: true
    - ansible.builtin.assert:
        that: ["bad is failed", "'Invalid input detected' in bad.msg"]
"""


@pytest.mark.slow
def test_cisco_ios_modules_gather_facts_configure_and_see_errors(
    lab: LabHandle, tmp_path: Path
) -> None:
    playbook_bin = Path(sys.executable).with_name("ansible-playbook")
    if not playbook_bin.exists() and shutil.which("ansible-playbook") is None:
        pytest.skip("ansible-playbook is not installed")
    inventory = tmp_path / "inventory.ini"
    inventory.write_text(
        "[sw]\n"
        f"acc1 ansible_host=127.0.0.1 ansible_port={lab.port('acc1')}\n"
        "[sw:vars]\n"
        "ansible_connection=ansible.netcommon.network_cli\n"
        "ansible_network_os=cisco.ios.ios\n"
        "ansible_network_cli_ssh_type=libssh\n"
        f"ansible_user={lab.credentials.username}\n"
        "ansible_become=yes\nansible_become_method=enable\n"
    )
    (tmp_path / "play.yml").write_text(PLAYBOOK)
    env = {**os.environ, "ANSIBLE_HOST_KEY_CHECKING": "false", "ANSIBLE_NOCOLOR": "1",
           "ANSIBLE_LOCAL_TEMP": str(tmp_path / "tmp"), "ANSIBLE_HOME": str(tmp_path)}
    extra = (f"ansible_password={lab.credentials.password} "
             f"ansible_become_password={lab.credentials.enable}")
    result = subprocess.run(
        [str(playbook_bin if playbook_bin.exists() else "ansible-playbook"), "-i",
         str(inventory), str(tmp_path / "play.yml"), "-e", extra],
        capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path, check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "failed=0" in result.stdout
