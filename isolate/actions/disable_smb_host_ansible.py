"""disable-smb-host through Ansible: stop Samba on the host and drop TCP 445/139 there.

Linux: record the services once (the first disable), stop smbd/nmbd (and disable them
at boot where systemd manages the host), drop TCP 139/445 in the step's ``input`` chain
of isolate's own table ``inet isolate_host``. The inverse, from the captured state:
start again exactly the services that ran (from the host's record when one exists),
re-enable exactly those that were enabled, remove the step's chain (the whole table and
the record when the captured state had none). The host's own tables are never touched.

Windows (rendered, checked in tests; no read-back here): LanmanServer stopped and
disabled, an inbound firewall rule blocking TCP 139/445, SMBv1 off through the registry.
"""

from __future__ import annotations

from typing import Any

from isolate.actions.base import SMB_TCP_PORTS
from isolate.actions.host_items import DisableSmbHostItem
from isolate.actions.host_state import (
    HostState,
    ServiceState,
    chain_name,
    chain_problems,
    nft_task,
    parse_state,
    remove_chains,
    state_problems,
    task_line,
)
from isolate.drivers.host_scripts import HOST_TABLE, PROBE_SCRIPT, RECORD_PATH

PROBE = "isolate_smb"
WIN_SERVICE = "LanmanServer"
WIN_SMB1_KEY = r"HKLM:\SYSTEM\CurrentControlSet\Services\LanmanServer\Parameters"


def _chain(item: DisableSmbHostItem) -> str:
    return chain_name("smb", item.step)


def rules() -> list[str]:
    return ["tcp dport { " + ", ".join(str(p) for p in sorted(SMB_TCP_PORTS)) + " } drop"]


def _nft_forward(item: DisableSmbHostItem) -> list[str]:
    chain = _chain(item)
    return [
        f"add table inet {HOST_TABLE}",
        f"add chain inet {HOST_TABLE} {chain} {{ type filter hook input priority -10; policy accept; }}",
        f"flush chain inet {HOST_TABLE} {chain}",
        *(f"add rule inet {HOST_TABLE} {chain} {rule}" for rule in rules()),
    ]


def _installed(service: str) -> str:
    return f"'service {service} installed=yes' in {PROBE}.stdout"


def linux_tasks(item: DisableSmbHostItem) -> list[dict[str, Any]]:
    label = f"isolate {item.step}"
    manager = f"{{{{ 'systemd' if 'manager systemd' in {PROBE}.stdout else 'sysvinit' }}}}"
    tasks: list[dict[str, Any]] = [
        {
            "name": f"{label}: read the SMB services (recorded on the host by the first disable only)",
            "ansible.builtin.shell": {"cmd": PROBE_SCRIPT},
            "register": PROBE,
            "changed_when": False,
        },
    ]
    for service in ("smbd", "nmbd"):
        tasks.append(
            {
                "name": f"{label}: stop {service}",
                "ansible.builtin.service": {"name": service, "state": "stopped", "use": manager},
                "when": _installed(service),
            }
        )
        if item.boot:
            tasks.append(
                {
                    "name": f"{label}: disable {service} at boot",
                    "ansible.builtin.systemd_service": {"name": service, "enabled": False},
                    "when": f"{_installed(service)} and 'manager systemd' in {PROBE}.stdout",
                }
            )
    tasks.append(nft_task(f"{label}: drop TCP 139/445 in table inet {HOST_TABLE}", _nft_forward(item)))
    return tasks


def windows_tasks(item: DisableSmbHostItem) -> list[dict[str, Any]]:
    label = f"isolate {item.step}"
    ports = ",".join(str(p) for p in sorted(SMB_TCP_PORTS))
    return [
        {
            "name": f"{label}: stop and disable {WIN_SERVICE}",
            "ansible.windows.win_service": {
                "name": WIN_SERVICE,
                "state": "stopped",
                "start_mode": "disabled",
                "force_dependent_services": True,
            },
        },
        {
            "name": f"{label}: block inbound TCP {ports}",
            "community.windows.win_firewall_rule": {
                "name": f"isolate-{item.step}-smb",
                "direction": "in",
                "action": "block",
                "protocol": "tcp",
                "localport": ports,
                "profiles": ["domain", "private", "public"],
                "enabled": True,
                "state": "present",
            },
        },
        {
            "name": f"{label}: SMBv1 server off",
            "ansible.windows.win_regedit": {"path": WIN_SMB1_KEY, "name": "SMB1", "data": 0, "type": "dword"},
        },
    ]


def _start_mode(boot: str) -> str | None:
    return {"auto": "auto", "delayed": "delayed", "manual": "manual", "disabled": "disabled"}.get(boot)


def windows_inverse(item: DisableSmbHostItem, state: HostState) -> list[dict[str, Any]]:
    """From a captured Windows state (``service LanmanServer …`` and ``smb1 0|1|absent``
    lines, same format), put back what was there."""
    label = f"isolate {item.step}"
    tasks: list[dict[str, Any]] = []
    before = (state.recorded or state.services).get(WIN_SERVICE)
    if before is not None and before.installed:
        args: dict[str, Any] = {"name": WIN_SERVICE, "state": "started" if before.running else "stopped"}
        mode = _start_mode(before.boot)
        if mode is not None:
            args["start_mode"] = mode
        tasks.append({"name": f"{label}: {WIN_SERVICE} as before", "ansible.windows.win_service": args})
    tasks.append(
        {
            "name": f"{label}: remove the SMB block rule",
            "community.windows.win_firewall_rule": {"name": f"isolate-{item.step}-smb", "state": "absent"},
        }
    )
    return tasks


def _restart(item: DisableSmbHostItem, state: HostState, service: ServiceState) -> list[dict[str, Any]]:
    label = f"isolate {item.step}"
    use = "systemd" if state.manager == "systemd" else "sysvinit"
    wanted = "started" if service.running else "stopped"
    tasks: list[dict[str, Any]] = [
        {
            "name": f"{label}: {service.name} {wanted} as captured",
            "ansible.builtin.service": {"name": service.name, "state": wanted, "use": use},
        }
    ]
    if state.manager == "systemd" and service.boot in ("enabled", "disabled"):
        tasks.append(
            {
                "name": f"{label}: {service.name} {service.boot} at boot as captured",
                "ansible.builtin.systemd_service": {
                    "name": service.name,
                    "enabled": service.boot == "enabled",
                },
            }
        )
    return tasks


def linux_inverse(item: DisableSmbHostItem, state: HostState) -> list[dict[str, Any]]:
    before = state.recorded if state.recorded is not None else state.services
    tasks: list[dict[str, Any]] = []
    for name in ("nmbd", "smbd"):
        service = before.get(name)
        if service is not None and service.installed:
            tasks += _restart(item, state, service)
    script = remove_chains(state, [_chain(item)])
    if script:
        tasks.append(nft_task(f"isolate {item.step}: remove chain {_chain(item)}", script))
    if state.table is None and state.recorded is None:
        tasks.append(
            {
                "name": f"isolate {item.step}: remove the SMB record",
                "ansible.builtin.file": {"path": RECORD_PATH, "state": "absent"},
            }
        )
    return tasks


class DisableSmbHostAnsible:
    action = "disable-smb-host"
    platform = "ansible"
    verify_commands: tuple[str, ...] = ()

    def render(self, item: DisableSmbHostItem) -> list[str]:
        tasks = windows_tasks(item) if item.os == "windows" else linux_tasks(item)
        return [task_line(t) for t in tasks]

    def precheck(self, item: DisableSmbHostItem, state: str) -> list[str]:
        if item.os == "windows":
            return []
        return state_problems(parse_state(state))

    def inverse(self, item: DisableSmbHostItem, state: str) -> list[str]:
        parsed = parse_state(state)
        tasks = windows_inverse(item, parsed) if item.os == "windows" else linux_inverse(item, parsed)
        return [task_line(t) for t in tasks]

    def verify(self, item: DisableSmbHostItem, state: str, extra: dict[str, str]) -> list[str]:
        if item.os == "windows":
            return []
        parsed = parse_state(state)
        problems = state_problems(parsed)
        for service in parsed.services.values():
            if service.running:
                problems.append(f"{service.name} still running")
            if item.boot and parsed.manager == "systemd" and service.boot == "enabled":
                problems.append(f"{service.name} still enabled at boot")
        problems += chain_problems(parsed, _chain(item), hook="input", policy="accept", rules=rules())
        return problems


ACTION = DisableSmbHostAnsible()
