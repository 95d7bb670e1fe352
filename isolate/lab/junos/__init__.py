"""Simulated Juniper Junos (EX, ELS) switch over NETCONF: ``JunosDevice``.

Model API (for the traffic model, ``isolate.lab.flows``) — read-only use:
``JunosDevice.state.running`` is the committed configuration tree
(``isolate.lab.junos.config.Node``); ``JunosDevice.svi(vlan)``, ``filter_permits`` and
``drops_to`` answer what the IOS model's ``svi``/``acl_permits``/``drops_to`` answer
(``isolate.lab.junos.model``).
"""

from isolate.lab.junos.device import JunosDevice

__all__ = ["JunosDevice"]
