"""block-smb on a FortiGate: a deny policy from the selected segments to the selected
segments for SMB (TCP 139/445, UDP 137/138), over address objects for the segments' subnets,
their address group and a custom service, moved above every existing allow policy
(``isolate/actions/fortios_objects.py``)."""

from __future__ import annotations

from isolate.actions.base import BlockSmbItem
from isolate.actions.fortios_objects import Objects, owned


def objects(item: BlockSmbItem) -> Objects:
    made = Objects(item.step)
    group = made.group(owned(item.step), item.subnets)
    service = made.service(owned(item.step, "smb"), tcp="139 445", udp="137-138")
    made.policy(owned(item.step), src=group, dst=group, service=service)
    return made


class BlockSmbFortios:
    action = "block-smb"
    platform = "fortios"
    verify_commands: tuple[str, ...] = ()

    def render(self, item: BlockSmbItem) -> list[str]:
        return objects(item).render()

    def precheck(self, item: BlockSmbItem, state: str) -> list[str]:
        return objects(item).precheck(state)

    def inverse(self, item: BlockSmbItem, state: str) -> list[str]:
        return objects(item).inverse(state)

    def verify(self, item: BlockSmbItem, state: str, extra: dict[str, str]) -> list[str]:
        return objects(item).verify(state)


ACTION = BlockSmbFortios()
