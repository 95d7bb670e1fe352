"""Juniper Junos over NETCONF (ncclient), with Junos's own ``commit confirmed``.

Why ncclient: it is the NETCONF client PyEZ and NAPALM's ``junos`` driver are built on,
maintained, with Junos's device handler (the ``netconf`` SSH subsystem, 1.0 and 1.1
framing); isolate sends a handful of RPCs and reads their replies itself, so PyEZ's
facts gathering and table/view layer would only add round trips (docs/platforms.md).

A change is a list of ``set``/``delete`` lines (``show configuration | display set`` form).
``push``: ``<lock>`` the candidate, ``<load-configuration action="set">``, ``<commit-
configuration/>``, ``<unlock>`` — any ``rpc-error`` of severity ``error`` discards the
candidate, unlocks and raises one line naming the device, the RPC and Junos's message.
``push_confirmed``: the same, committed with ``<confirmed/><confirm-timeout>N</confirm-
timeout>`` (N minutes, the window rounded up) and the candidate kept locked until
``confirm`` (a plain ``<commit-configuration/>``, which Junos takes as the confirmation),
so no other tool interleaves; the commit history is read back to prove the rollback armed.
If isolate dies, the session's lock goes with it and Junos rolls back by itself after N
minutes. ``read_state``: ``<get-configuration database="committed" format="text"/>``.
Through jump hosts (``via``) the SSH transport runs over the last hop's ``direct-tcpip``
channel (isolate/drivers/jump.py), each hop checked like any SSH device.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import paramiko
from lxml import etree
from ncclient import manager
from ncclient.operations import RaiseMode, RPCError, TimeoutExpiredError
from ncclient.transport.errors import AuthenticationError, SSHError, SSHUnknownHostError, TransportError

from isolate.drivers.base import CommandResult, Target
from isolate.drivers.hostkeys import changed_key_message, unknown_key_message
from isolate.drivers.jump import HopChain, open_hops
from isolate.drivers.ssh_exec import connect_direct
from isolate.errors import AuthError, CommandRejected, ConnectError, DeviceError, DeviceTimeout
from isolate.platforms import PLATFORMS

CONFIRMED_NOTE = "commit confirmed, rollback in"


def _listed_key(target: Target) -> paramiko.PKey | None:
    """The device's key as the inventory's known_hosts lists it, else None."""
    if target.known_hosts is None or not target.known_hosts.is_file():
        return None
    keys = paramiko.HostKeys(str(target.known_hosts))
    for lookup in (f"[{target.host}]:{target.port}", target.host):
        listed = keys.lookup(lookup)
        if listed:
            return next(iter(listed.values()))
    return None


def _connect(target: Target) -> tuple[Any, HopChain | None]:
    """The NETCONF session, and the jump-host chain it runs through (``via``), if any."""
    key = _listed_key(target)
    if key is None and target.host_key_checking:
        raise ConnectError(unknown_key_message(target), device=target.name)
    if not target.via:
        return _manager(target, key, None), None
    hops, channel = open_hops(target, connect_direct)
    try:
        return _manager(target, key, channel), hops
    except BaseException:
        hops.close()
        raise


def _manager(target: Target, key: paramiko.PKey | None, sock: Any) -> Any:
    name = target.name
    try:
        session = manager.connect(
            host=target.host, port=target.port, username=target.username,
            password=target.password, key_filename=str(target.key_file) if target.key_file else None,
            allow_agent=target.use_agent, look_for_keys=False, ssh_config=None,
            hostkey_verify=key is not None, hostkey_b64=key.get_base64() if key is not None else None,
            unknown_host_cb=lambda host, fingerprint: False,
            timeout=min(target.timeout_s, 15.0), device_params={"name": "junos"}, sock=sock,
            manager_params={"timeout": target.timeout_s},
        )
    except AuthenticationError as exc:
        raise AuthError(f"{name}: authentication failed for user {target.username!r} at "
                        f"{target.host}:{target.port}", device=name) from exc
    except SSHUnknownHostError as exc:
        raise ConnectError(changed_key_message(target), device=name) from exc
    except (SSHError, OSError) as exc:
        raise ConnectError(f"{name}: cannot open NETCONF over SSH to {target.host}:{target.port}: "
                           f"{_one_line(str(exc)) or type(exc).__name__}", device=name) from exc
    session.raise_mode = RaiseMode.ERRORS  # warnings (statement not found) are not failures
    return session


def _one_line(text: str) -> str:
    return " ".join(text.split())[:300]


def _rpc(tag: str, attrs: dict[str, str] | None = None, **children: str | None) -> Any:
    elem = etree.Element(tag, attrs or {})
    for child, text in children.items():
        sub = etree.SubElement(elem, child.replace("_", "-"))
        sub.text = text
    return elem


class JunosSession:
    """One NETCONF session to one Junos device."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self._nc, self._hops = _connect(target)
        self._locked = False
        self._pending_confirm = False
        self._state = PLATFORMS[target.platform].state

    # ------------------------------------------------------------ RPCs

    def _call(self, name: str, elem: Any, *, line: str | None = None,
              batch: Sequence[str] = ()) -> Any:
        """One RPC; errors become one line naming the device, the RPC and, when Junos's
        ``error-path``/``bad-element`` point at one, the line of the batch it refused."""
        device = self.target.name
        try:
            return self._nc.rpc(elem)
        except RPCError as exc:
            first = _errors(exc)[0]
            bad = _bad_element(first)
            blamed = _blame(batch, _attr(first, "path"), bad)
            text = _one_line(_attr(first, "message") or str(exc))
            if blamed is not None:
                raise CommandRejected(f"{device}: '{blamed}' rejected by <{name}>: {text}",
                                      device=device, command=blamed) from exc
            where = f" ({bad})" if bad else ""
            raise CommandRejected(f"{device}: <{name}> rejected: {text}{where}",
                                  device=device, command=line or name) from exc
        except TimeoutExpiredError as exc:
            raise DeviceTimeout(f"{device}: no answer to <{name}> within {self.target.timeout_s:g} s",
                                device=device, command=line or name) from exc
        except (TransportError, OSError) as exc:
            raise ConnectError(f"{device}: NETCONF session lost during <{name}>: "
                               f"{_one_line(str(exc)) or type(exc).__name__}",
                               device=device, command=line or name) from exc

    def _lock(self) -> None:
        if not self._locked:
            self._call("lock", _lock_rpc("lock"))
            self._locked = True

    def _unlock(self) -> None:
        if self._locked:
            self._locked = False
            self._call("unlock", _lock_rpc("unlock"))

    def _abandon(self) -> None:
        """After a refused load or commit: drop the candidate's changes, release the lock."""
        try:
            self._call("discard-changes", _rpc("discard-changes"))
        finally:
            self._unlock()

    def _load(self, commands: Sequence[str]) -> CommandResult:
        started = time.time()
        script = "\n".join(commands)
        load = _rpc("load-configuration", {"action": "set", "format": "text"},
                    configuration_set=script)
        self._call("load-configuration", load, line=commands[0] if commands else None, batch=commands)
        return CommandResult(self.target.name, script, "", started, time.time() - started)

    def _commit(self, *, minutes: int | None = None, log: str = "",
                batch: Sequence[str] = ()) -> CommandResult:
        started = time.time()
        elem = etree.Element("commit-configuration")
        if minutes is not None:
            etree.SubElement(elem, "confirmed")
            etree.SubElement(elem, "confirm-timeout").text = str(minutes)
        if log:
            etree.SubElement(elem, "log").text = log
        command = f"commit confirmed {minutes}" if minutes is not None else "commit"
        self._call("commit-configuration", elem, line=command, batch=batch)
        return CommandResult(self.target.name, command, "", started, time.time() - started)

    # ------------------------------------------------------------ Session

    def run(self, command: str) -> CommandResult:
        """A read-only CLI command through Junos's ``<command format="text">`` RPC."""
        started = time.time()
        reply = self._call("command", _command(command), line=command)
        text = "\n".join(_texts(reply))
        return CommandResult(self.target.name, command, text, started, time.time() - started)

    def push(self, commands: Sequence[str]) -> list[CommandResult]:
        self._lock()
        try:
            results = [self._load(commands), self._commit(batch=commands)]
        except CommandRejected:
            self._abandon()
            raise
        self._unlock()
        return results

    def push_confirmed(self, commands: Sequence[str], *, window_s: int, tag: str = "") -> list[CommandResult]:
        """Commit under Junos's ``commit confirmed`` (whole minutes, at least one); the candidate
        stays locked until ``confirm``. ``tag`` goes into the commit's log."""
        minutes = max(1, -(-int(window_s) // 60))
        self._lock()
        try:
            results = [self._load(commands),
                       self._commit(minutes=minutes, log=f"isolate {tag}".strip(), batch=commands)]
        except CommandRejected:
            self._abandon()
            raise
        self._pending_confirm = True
        if not self.pending_reverts():
            raise CommandRejected(f"{self.target.name}: 'commit confirmed {minutes}' answered but the "
                                  "commit history shows no rollback pending", device=self.target.name,
                                  command=f"commit confirmed {minutes}")
        return results

    def confirm(self) -> None:
        """Keep the change: a plain commit confirms a ``commit confirmed``; then unlock. The
        commit history is read first: if the window already ran out, Junos has rolled the
        change back and a plain commit would only commit nothing — that is a refusal."""
        if not self._pending_confirm:
            return
        self._pending_confirm = False
        self._lock()
        if not self.pending_reverts():
            self._unlock()
            raise CommandRejected(f"{self.target.name}: 'commit' rejected: no commit confirmed is "
                                  "pending any more (the window ran out and Junos rolled the change "
                                  "back)", device=self.target.name, command="commit")
        self._commit()
        self._unlock()

    def pending_reverts(self) -> list[str]:
        """The rollback Junos has armed, read from the commit history: the newest commit is a
        ``commit confirmed`` not yet confirmed (a confirmation or the rollback is a newer one)."""
        reply = self._call("get-commit-information", _rpc("get-commit-information"))
        newest = _first(reply, "commit-history")
        if newest is None:
            return []
        comment = (_find_text(newest, "comment") or "").strip()
        if not comment.startswith(CONFIRMED_NOTE):
            return []
        when = (_find_text(newest, "date-time") or "").strip()
        user = (_find_text(newest, "user") or "").strip()
        return [f"{comment} (commit at {when} by {user})"]

    def cancel_reverts(self, prefix: str) -> list[str]:
        """Confirm the pending ``commit confirmed`` (the configuration stays as it is); Junos's
        one pending rollback has no owner's name, so ``prefix`` is not used."""
        del prefix
        pending = self.pending_reverts()
        if pending:
            self._pending_confirm = True
            self.confirm()
        return pending

    def read_state(self) -> str:
        reply = self._call("get-configuration", _rpc("get-configuration",
                                                     {"database": "committed", "format": "text"}))
        node = _first(reply, "configuration-text")
        if node is None:
            raise DeviceError(f"{self.target.name}: <get-configuration> answered no configuration-text",
                              device=self.target.name, command="get-configuration")
        return self._state.normalise(node.text or "")

    def close(self) -> None:
        try:
            if self._locked:
                self._abandon()
            self._nc.close_session()
        except Exception:  # closing a session that is already gone
            pass
        if self._hops is not None:
            self._hops.close()


def _lock_rpc(op: str) -> Any:
    elem = etree.Element(op)
    etree.SubElement(etree.SubElement(elem, "target"), "candidate")
    return elem


def _command(line: str) -> Any:
    elem = etree.Element("command", {"format": "text"})
    elem.text = line
    return elem


def _local(elem: Any) -> str:
    return str(etree.QName(elem).localname) if isinstance(elem.tag, str) else ""


def _root(reply: Any) -> Any:
    """The reply document (ncclient's Junos handler answers an NCElement, others an RPCReply)."""
    raw = reply.tostring if hasattr(reply, "tostring") else reply.xml
    return etree.fromstring(raw.encode() if isinstance(raw, str) else raw)


def _first(reply: Any, name: str) -> Any:
    for elem in _root(reply).iter():
        if _local(elem) == name:
            return elem
    return None


def _find_text(elem: Any, name: str) -> str | None:
    for sub in elem:
        if _local(sub) == name:
            return str(sub.text or "")
    return None


def _texts(reply: Any) -> list[str]:
    root = _root(reply)
    return [str(elem.text) for elem in root.iter() if _local(elem) and elem.text and elem.text.strip()]


def _blame(batch: Sequence[str], path: str, bad: str) -> str | None:
    """The batch line Junos's error points at: its words hold the ``[edit …]`` path's and end
    with the bad element's."""
    if not bad:
        return None
    where = path.strip().removeprefix("[edit").removesuffix("]").split()
    for line in batch:
        words = line.split()[1:]
        if " ".join(words).endswith(bad) and all(w in words for w in where):
            return line
    return None


def _attr(error: RPCError, name: str) -> str:
    """One field of an ncclient RPCError (a multi-error one lacks some)."""
    try:
        return str(getattr(error, name) or "")
    except AttributeError:
        return ""


def _errors(exc: RPCError) -> list[RPCError]:
    """The single errors of a reply, errors before warnings."""
    found = [e for e in (_attr_list(exc) or [exc])]
    return sorted(found, key=lambda e: _attr(e, "severity") != "error")


def _attr_list(exc: RPCError) -> list[RPCError]:
    try:
        return list(exc.errors or [])
    except AttributeError:
        return []


def _bad_element(exc: RPCError) -> str:
    info = _attr(exc, "info")
    try:
        root = etree.fromstring(info.encode()) if info.strip().startswith("<") else None
    except etree.XMLSyntaxError:
        root = None
    if root is None:
        return ""
    for elem in root.iter():
        if _local(elem) == "bad-element" and elem.text:
            return _one_line(str(elem.text))
    return ""


def connect(target: Target) -> JunosSession:
    return JunosSession(target)
