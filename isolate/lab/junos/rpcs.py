"""The RPCs the simulated Junos switch answers, one NETCONF session each.

Reply shapes follow Junos 18.4 as PyEZ (``junos-eznc``), NAPALM's ``junos`` driver and
ncclient read them; errors are ``<rpc-error>`` elements as Junos writes them (a
``load-configuration`` error inside ``<load-configuration-results>``, a commit error inside
``<commit-results><routing-engine>``, an unknown RPC ``syntax error`` naming the element).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from lxml import etree

from isolate.lab.junos import config as cfg
from isolate.lab.junos.device import JUNOS_VERSION, JunosDevice, LockHolder
from isolate.lab.junos.diff import diff_text
from isolate.lab.junos.netconf import CloseSession, Framer, rpc_error
from isolate.lab.junos.opstate import (
    arp_information,
    arp_text,
    chassis_inventory,
    commit_information,
    commit_revision,
    interface_information,
    route_engine_information,
    show_version_text,
    software_information,
    uptime_information,
)

JUNOS_NS = f"http://xml.juniper.net/junos/{JUNOS_VERSION}/junos"
Elements = list[etree._Element]


def _el(tag: str, text: str | None = None, *children: etree._Element) -> etree._Element:
    elem = etree.Element(tag)
    elem.text = text
    elem.extend(children)
    return elem


def _ok() -> Elements:
    return [etree.Element("ok")]


def _local(elem: etree._Element) -> str:
    return etree.QName(elem).localname if isinstance(elem.tag, str) else ""


def _child(elem: etree._Element, name: str) -> etree._Element | None:
    for sub in elem:
        if _local(sub) == name:
            return sub
    return None


def _stamp(at: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(at))


class NetconfSession:
    """One ``netconf`` subsystem channel on a Junos device."""

    def __init__(self, device: JunosDevice, user: str, session_id: int) -> None:
        self.device = device
        self.user = user
        self.session_id = session_id
        self.framer = Framer(session_id, self.handle, JUNOS_VERSION, offer_11=device.offer_11)
        self.changed = False  # the device's persistent state changed (the server persists it)
        self.handlers: dict[str, Callable[[etree._Element], Elements]] = {
            "get-configuration": self.get_configuration,
            "get-config": self.get_config,
            "load-configuration": self.load_configuration,
            "edit-config": self.edit_config,
            "commit-configuration": self.commit_configuration,
            "commit": self.commit,
            "discard-changes": self.discard_changes,
            "lock": self.lock,
            "unlock": self.unlock,
            "lock-configuration": self.lock,
            "unlock-configuration": self.unlock,
            "close-session": self.close_session,
            "command": self.command,
            "get-software-information": lambda _: [software_information(self.device)],
            "get-route-engine-information": lambda _: [route_engine_information(self.device)],
            "get-chassis-inventory": lambda _: [chassis_inventory(self.device)],
            "get-system-uptime-information": lambda _: [uptime_information(self.device)],
            "get-interface-information": self.interfaces,
            "get-arp-table-information": self.arp,
            "get-commit-information": lambda _: [commit_information(self.device)],
            "get-commit-revision-information": lambda _: [commit_revision(self.device)],
        }

    # ------------------------------------------------------------ plumbing

    @property
    def state(self) -> cfg.Node:
        return self.device.state.candidate

    def hello(self) -> bytes:
        return self.framer.hello()

    def feed(self, data: bytes) -> bytes:
        return self.framer.feed(data)

    @property
    def closed(self) -> bool:
        return self.framer.closed

    def lost(self) -> None:
        """The channel went away: release its lock; its uncommitted changes are discarded."""
        lock = self.device.state.lock
        if lock is not None and lock.session_id == self.session_id:
            self.device.state.lock = None
            self.device.state.candidate = self.device.state.running.copy()
            self.changed = True

    def handle(self, rpc: etree._Element) -> Elements:
        operation = next((sub for sub in rpc if _local(sub)), None)
        if operation is None:
            return [rpc_error("syntax error, expecting <rpc> content")]
        name = _local(operation)
        handler = self.handlers.get(name)
        if handler is None:
            return [rpc_error("syntax error", bad_element=name)]
        self.device.tick(time.time())
        return handler(operation)

    def _locked_by_other(self) -> etree._Element | None:
        lock = self.device.state.lock
        if lock is None or lock.session_id == self.session_id:
            return None
        message = (f"configuration database locked by:\n  {lock.user} terminal p0 (pid "
                   f"{lock.session_id}) on since {_stamp(lock.since)}\n  exclusive [edit]")
        return rpc_error(message, tag="lock-denied",
                         info={"session-id": str(lock.session_id)})

    # ------------------------------------------------------------ reading configuration

    def _database(self, op: etree._Element) -> cfg.Node | etree._Element:
        database = op.get("database", "candidate")
        if database == "committed":
            return self.device.state.running
        return self.device.state.candidate

    def get_configuration(self, op: etree._Element) -> Elements:
        fmt = op.get("format", "xml")
        if op.get("compare") == "rollback":
            number = int(op.get("rollback", "0") or 0)
            base = self.device.rollback(number)
            if base is None:
                return [rpc_error(f"rollback {number}: no such rollback", tag="invalid-value")]
            text = diff_text(base, self.device.state.candidate)
            return [_el("configuration-information", None, _el("configuration-output", text))]
        source = self._database(op)
        assert isinstance(source, cfg.Node)
        filt = _child(op, "configuration")
        tree = cfg.filtered(source, filt)
        if fmt == "text":
            return [_el("configuration-text", self._text_header(source, filt) + cfg.render_text(tree))]
        if fmt == "set":
            return [_el("configuration-set", "\n".join(cfg.set_lines(tree)) + "\n")]
        return [self._xml(tree)]

    def _text_header(self, source: cfg.Node, filt: etree._Element | None) -> str:
        if filt is not None and len(filt):
            return ""
        last = self.device.state.commits[0] if self.device.state.commits else None
        if last is None:
            return ""
        head = f"## Last commit: {_stamp(last.at)} by {last.user}\n"
        if source is self.device.state.candidate and self.device.state.candidate_changed():
            head = f"## Last changed: {_stamp(time.time())}\n"
        return head

    def _xml(self, tree: cfg.Node) -> etree._Element:
        elem = cfg.to_xml(tree)
        last = self.device.state.commits[0] if self.device.state.commits else None
        if last is not None:
            elem.set(f"{{{JUNOS_NS}}}commit-seconds", str(int(last.at)))
            elem.set(f"{{{JUNOS_NS}}}commit-localtime", _stamp(last.at))
            elem.set(f"{{{JUNOS_NS}}}commit-user", last.user)
        return elem

    def get_config(self, op: etree._Element) -> Elements:
        source = _child(op, "source")
        which = _local(source[0]) if source is not None and len(source) else "running"
        tree = self.device.state.running if which == "running" else self.device.state.candidate
        filt_holder = _child(op, "filter")
        filt = _child(filt_holder, "configuration") if filt_holder is not None else None
        return [_el("data", None, self._xml(cfg.filtered(tree, filt)))]

    # ------------------------------------------------------------ changing the candidate

    def load_configuration(self, op: etree._Element) -> Elements:
        denied = self._locked_by_other()
        if denied is not None:
            return [_el("load-configuration-results", None, denied)]
        rollback = op.get("rollback")
        try:
            warnings = self._load(op, rollback)
        except cfg.ConfigSyntaxError as err:
            error = rpc_error(str(err), bad_element=err.statement or None)
            return [_el("load-configuration-results", None, error,
                        _el("load-error-count", "1"))]
        self.changed = True
        out = [rpc_error(w, severity="warning") for w in warnings]
        return [_el("load-configuration-results", None, *out, etree.Element("ok"))]

    def _load(self, op: etree._Element, rollback: str | None) -> list[str]:
        state = self.device.state
        if rollback is not None:
            base = self.device.rollback(int(rollback))
            if base is None:
                raise cfg.ConfigSyntaxError(f"rollback {rollback}: no such rollback")
            state.candidate = base
            return []
        action = op.get("action", "merge")
        fmt = op.get("format", "xml")
        target = cfg.empty() if action == "override" else state.candidate.copy()
        warnings: list[str] = []
        if action == "set" or _child(op, "configuration-set") is not None:
            body = _child(op, "configuration-set")
            warnings = cfg.apply_set(target, body.text or "" if body is not None else "")
        elif fmt == "text" or _child(op, "configuration-text") is not None:
            body = _child(op, "configuration-text")
            cfg.parse_text(body.text or "" if body is not None else "", target)
        else:
            body = _child(op, "configuration")
            if body is None:
                raise cfg.ConfigSyntaxError("syntax error, expecting <configuration>")
            cfg.merge_xml(target, body)
        state.candidate = target
        return warnings

    def edit_config(self, op: etree._Element) -> Elements:
        denied = self._locked_by_other()
        if denied is not None:
            return [denied]
        holder = _child(op, "config")
        body = _child(holder, "configuration") if holder is not None else None
        if body is None:
            return [rpc_error("syntax error, expecting <configuration>", bad_element="config")]
        default = _child(op, "default-operation")
        replace = default is not None and (default.text or "").strip() == "replace"
        target = cfg.empty() if replace else self.device.state.candidate.copy()
        try:
            cfg.merge_xml(target, body)
        except cfg.ConfigSyntaxError as err:
            return [rpc_error(str(err), bad_element=err.statement or None)]
        self.device.state.candidate = target
        self.changed = True
        return _ok()

    def discard_changes(self, op: etree._Element) -> Elements:
        denied = self._locked_by_other()
        if denied is not None:
            return [denied]
        self.device.state.candidate = self.device.state.running.copy()
        return _ok()

    def lock(self, op: etree._Element) -> Elements:
        target = _child(op, "target")
        if target is not None and len(target) and _local(target[0]) != "candidate":
            return [rpc_error("lock: only the candidate configuration can be locked",
                              tag="invalid-value", kind="application")]
        denied = self._locked_by_other()
        if denied is not None:
            return [denied]
        state = self.device.state
        if state.lock is None and state.candidate_changed():
            return [rpc_error("configuration database modified", tag="lock-denied")]
        state.lock = LockHolder(self.session_id, self.user, time.time())
        return _ok()

    def unlock(self, op: etree._Element) -> Elements:
        denied = self._locked_by_other()
        if denied is not None:
            return [denied]
        self.device.state.lock = None
        return _ok()

    # ------------------------------------------------------------ commit

    def commit_configuration(self, op: etree._Element) -> Elements:
        return self._commit(op, confirm_unit_s=60, junos=True)

    def commit(self, op: etree._Element) -> Elements:
        return self._commit(op, confirm_unit_s=1, junos=False)

    def _commit(self, op: etree._Element, *, confirm_unit_s: int, junos: bool) -> Elements:
        denied = self._locked_by_other()
        if denied is not None:
            return [_re(denied)] if junos else [denied]
        state = self.device.state
        problems = check(state.candidate)
        if problems:
            errors = [*problems, rpc_error("configuration check-out failed",
                                           kind="application", tag="invalid-value")]
            return [_el("commit-results", None, _re(*errors))] if junos else errors[:1]
        if _child(op, "check") is not None:
            return [_el("commit-results", None, _re(etree.Element("commit-check-success")))]
        confirmed = _child(op, "confirmed") is not None
        timeout = _child(op, "confirm-timeout")
        minutes = 10
        if timeout is not None and (timeout.text or "").strip():
            value = int((timeout.text or "").strip())
            minutes = max(1, -(-value * confirm_unit_s // 60))
        log_elem = _child(op, "log")
        log = (log_elem.text or "") if log_elem is not None else ""
        previous = state.running
        comment = f"commit confirmed, rollback in {minutes}mins" if confirmed else ""
        self.device.install(state.candidate, user=self.user, client="netconf", log=log,
                            comment=comment)
        if confirmed:
            self.device.arm(minutes, previous)
        else:
            state.pending = None
        self.changed = True
        if not junos:
            return _ok()
        revision = _el("commit-revision-information", None,
                       _el("new-db-revision", f"re0-{int(time.time())}-{len(state.commits)}"))
        return [_el("commit-results", None, _re(etree.Element("commit-success"), revision))]

    # ------------------------------------------------------------ operational

    def interfaces(self, op: etree._Element) -> Elements:
        wanted = _child(op, "interface-name")
        return [interface_information(self.device, (wanted.text or "").strip()
                                      if wanted is not None else None)]

    def arp(self, op: etree._Element) -> Elements:
        wanted = _child(op, "hostname")
        return [arp_information(self.device, (wanted.text or "").strip() if wanted is not None else None)]

    def command(self, op: etree._Element) -> Elements:
        line = " ".join((op.text or "").split())
        words = line.split()
        if words[:3] == ["show", "arp", "no-resolve"] and len(words) in (3, 5):
            address = words[4] if len(words) == 5 and words[3] == "hostname" else None
            if op.get("format", "xml") == "text":
                return [_el("output", arp_text(self.device, address))]
            return [arp_information(self.device, address)]
        if line in ("show configuration", "show configuration | display set"):
            tree = self.device.state.running
            if line.endswith("display set"):
                return [_el("configuration-output", "\n".join(cfg.set_lines(tree)) + "\n")]
            return [_el("configuration-text", self._text_header(tree, None) + cfg.render_text(tree))]
        if line == "show version":
            if op.get("format", "xml") == "text":
                return [_el("output", show_version_text(self.device))]
            return [software_information(self.device)]
        if line == "show system uptime":
            return [uptime_information(self.device)]
        return [rpc_error("syntax error, expecting <command>", bad_element=line.split()[-1]
                          if line else "command")]

    def close_session(self, op: etree._Element) -> Elements:
        self.lost()
        raise CloseSession(_ok())


def _re(*children: etree._Element) -> etree._Element:
    engine = etree.Element("routing-engine")
    engine.set(f"{{{JUNOS_NS}}}style", "normal")
    etree.SubElement(engine, "name").text = "re0"
    engine.extend(children)
    return engine


# ---------------------------------------------------------------- commit checks


def check(tree: cfg.Node) -> Elements:
    """What Junos's commit check refuses in the part of the schema the lab knows: a VLAN
    member or an interface filter naming nothing configured."""
    errors: Elements = []
    vlans = tree.find("vlans")
    names = set(vlans.children) if vlans is not None else set()
    ids = set()
    for vlan in vlans.children.values() if vlans is not None else []:
        vlan_id = vlan.find("vlan-id")
        if vlan_id is not None and vlan_id.values:
            ids.add(vlan_id.values[0])
    interfaces = tree.find("interfaces")
    for ifname, iface in (interfaces.children.items() if interfaces is not None else []):
        for unit_key, unit in iface.children.items():
            if not unit_key.startswith("unit "):
                continue
            for fam_key, fam in unit.children.items():
                base = f"interfaces {ifname} {unit_key} {fam_key}"
                members = fam.find("vlan", "members")
                for member in members.values if members is not None else []:
                    if member not in names and member not in ids and member != "all":
                        errors.append(rpc_error(
                            f"Referenced vlan '{member}' is not configured",
                            kind="application", tag="invalid-value",
                            path=f"[edit {base} vlan]", bad_element=f"members {member}"))
                for direction in ("input", "output"):
                    ref = fam.find("filter", direction)
                    if ref is None or ref.kind != "leaf":
                        continue
                    family = fam_key.split(" ", 1)[1] if " " in fam_key else "inet"
                    if tree.find("firewall", f"family {family}", f"filter {ref.values[0]}") is None:
                        errors.append(rpc_error(
                            f"Referenced filter '{ref.values[0]}' is not defined",
                            kind="application", tag="invalid-value",
                            path=f"[edit {base} filter]", bad_element=f"{direction} {ref.values[0]}"))
    return errors
