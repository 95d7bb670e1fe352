"""NETCONF over SSH framing and envelopes, as a Junos device speaks them (RFC 6241/6242).

``Framer`` is one ``netconf`` subsystem channel: it sends the server's ``<hello>`` first,
reads the client's (always ``]]>]]>``-delimited), then frames every message the way both
hellos agreed: NETCONF 1.0 end-of-message ``]]>]]>``, or 1.1 chunked framing
(``\\n#LEN\\n…\\n##\\n``) when both sides advertise ``urn:ietf:params:netconf:base:1.1``
(the device does only when its topology options say ``netconf_1_1: true``; Junos answers
1.0 unless configured otherwise). Each ``<rpc>`` is handed to a handler that returns the
reply's body elements; the framer wraps them in ``<rpc-reply>`` with the request's
attributes (``message-id``) and Junos's ``junos`` namespace. Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from lxml import etree

NC_NS = "urn:ietf:params:xml:ns:netconf:base:1.0"
BASE_10 = "urn:ietf:params:netconf:base:1.0"
BASE_11 = "urn:ietf:params:netconf:base:1.1"
EOM = b"]]>]]>"
CAPABILITIES = (
    BASE_10,
    "urn:ietf:params:netconf:capability:candidate:1.0",
    "urn:ietf:params:netconf:capability:confirmed-commit:1.0",
    "urn:ietf:params:netconf:capability:validate:1.0",
    "urn:ietf:params:netconf:capability:url:1.0?scheme=http,ftp,file",
    "urn:ietf:params:xml:ns:netconf:base:1.0",
    "urn:ietf:params:xml:ns:netconf:capability:candidate:1.0",
    "urn:ietf:params:xml:ns:netconf:capability:confirmed-commit:1.0",
    "urn:ietf:params:xml:ns:netconf:capability:validate:1.0",
    "urn:ietf:params:xml:ns:netconf:capability:url:1.0?scheme=http,ftp,file",
    "urn:ietf:params:xml:ns:yang:ietf-netconf-monitoring",
    "http://xml.juniper.net/netconf/junos/1.0",
    "http://xml.juniper.net/dmi/system/1.0",
)

Handler = Callable[[etree._Element], list[etree._Element]]


class CloseSession(Exception):
    """Raised by a handler after ``<close-session/>``: reply, then end the channel."""

    def __init__(self, reply: list[etree._Element]) -> None:
        super().__init__("close-session")
        self.reply = reply


def rpc_error(message: str, *, tag: str = "operation-failed", kind: str = "protocol",
              severity: str = "error", bad_element: str | None = None,
              path: str | None = None, info: dict[str, str] | None = None) -> etree._Element:
    """An ``<rpc-error>`` as Junos writes it."""
    err = etree.Element("rpc-error")
    etree.SubElement(err, "error-type").text = kind
    etree.SubElement(err, "error-tag").text = tag
    etree.SubElement(err, "error-severity").text = severity
    if path is not None:
        etree.SubElement(err, "error-path").text = path
    etree.SubElement(err, "error-message").text = message
    extra = dict(info or {})
    if bad_element is not None:
        extra = {"bad-element": bad_element, **extra}
    if extra:
        holder = etree.SubElement(err, "error-info")
        for key, value in extra.items():
            etree.SubElement(holder, key).text = value
    return err


@dataclass
class Framer:
    """One NETCONF session's byte stream."""

    session_id: int
    handler: Handler
    junos_version: str
    offer_11: bool = False
    chunked: bool = False
    greeted: bool = False
    closed: bool = False
    _buffer: bytearray = field(default_factory=bytearray)

    def hello(self) -> bytes:
        root = etree.Element("hello", nsmap={None: NC_NS})
        caps = etree.SubElement(root, "capabilities")
        for cap in (*CAPABILITIES, *((BASE_11,) if self.offer_11 else ())):
            etree.SubElement(caps, "capability").text = cap
        etree.SubElement(root, "session-id").text = str(self.session_id)
        return bytes(etree.tostring(root, pretty_print=True)) + EOM + b"\n"

    def feed(self, data: bytes) -> bytes:
        """Take client bytes; return what to send back (replies, framed)."""
        self._buffer += data
        out = bytearray()
        while not self.closed:
            message = self._next_message()
            if message is None:
                break
            out += self._handle(message)
        return bytes(out)

    def _next_message(self) -> bytes | None:
        if not self.chunked:
            end = self._buffer.find(EOM)
            if end < 0:
                return None
            message = bytes(self._buffer[:end])
            del self._buffer[: end + len(EOM)]
            return message
        return self._next_chunked()

    def _next_chunked(self) -> bytes | None:
        pos, parts = 0, list[bytes]()
        while True:
            match = re.compile(rb"\n#(\d+|#)\n").match(self._buffer, pos)
            if match is None:
                return None
            if match.group(1) == b"#":
                del self._buffer[: match.end()]
                return b"".join(parts)
            size = int(match.group(1))
            if len(self._buffer) < match.end() + size:
                return None
            parts.append(bytes(self._buffer[match.end(): match.end() + size]))
            pos = match.end() + size

    def _frame(self, body: bytes) -> bytes:
        if self.chunked:
            return b"\n#%d\n" % len(body) + body + b"\n##\n"
        return body + EOM

    def _handle(self, message: bytes) -> bytes:
        try:
            root = etree.fromstring(message.strip() or b"<empty/>",
                                    etree.XMLParser(resolve_entities=False, no_network=True))
        except etree.XMLSyntaxError as err:
            reply = self._reply(None, [rpc_error(f"syntax error: {err}", kind="rpc",
                                                 tag="malformed-message")])
            return self._frame(reply)
        tag = etree.QName(root).localname
        if not self.greeted:
            if tag != "hello":
                self.closed = True
                return b""
            self.greeted = True
            caps = [c.text or "" for c in root.iter("{*}capability")]
            self.chunked = self.offer_11 and BASE_11 in [c.strip() for c in caps]
            return b""
        if tag != "rpc":
            return self._frame(self._reply(root, [rpc_error("syntax error, expecting <rpc>",
                                                            bad_element=tag)]))
        try:
            body = self.handler(root)
        except CloseSession as close:
            self.closed = True
            return self._frame(self._reply(root, close.reply))
        return self._frame(self._reply(root, body))

    def _reply(self, request: etree._Element | None, body: list[etree._Element]) -> bytes:
        """The reply as Junos writes it: body elements unprefixed, so that they sit in the
        NETCONF namespace the ``<rpc-reply>`` declares as default."""
        junos_ns = f"http://xml.juniper.net/junos/{self.junos_version}/junos"
        attrs = "".join(
            f' {etree.QName(k).localname}="{_attr(v)}"'
            for k, v in (request.attrib.items() if request is not None else [])
            if etree.QName(k).localname not in ("xmlns",)
        )
        inner = b"".join(bytes(etree.tostring(elem, pretty_print=True)) for elem in body)
        return (f'<rpc-reply xmlns="{NC_NS}" xmlns:junos="{junos_ns}"{attrs}>\n'.encode()
                + inner + b"</rpc-reply>\n")


def _attr(value: str) -> str:
    return value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
