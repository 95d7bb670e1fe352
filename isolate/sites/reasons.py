"""Why the broker could not be reached, in the admin's words.

A TLS handshake the broker refuses surfaces several layers down (kombu's OperationalError
around redis-py's ConnectionError around ssl's error) and, with TLS 1.3, as whichever of the
broker's alert or its closing the socket the client meets first: ``tlsv13 alert certificate
required``, ``EOF occurred in violation of protocol`` or ``alert unknown ca``. This says which
end's certificate is at fault and which inventory field to check; anything else is the
library's own text, as before.
"""

from __future__ import annotations

import re
import ssl

import redis

from isolate.sites.config import BrokerTarget

# ssl's reasons (OpenSSL's alert texts, as ``_short`` leaves them: the ``[SSL: CODE]`` prefix
# cut) when the broker refuses the client's certificate
_CLIENT_REFUSED = (
    "certificate required",
    "unknown ca",
    "bad certificate",
    "certificate unknown",
    "certificate expired",
    "the broker closed the connection",
)
# ssl's SSLEOFError, as a TLS 1.3 client sees a broker hang up on its certificate
_CLOSED = "the broker closed the connection in the handshake"


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _tls_reason(exc: BaseException) -> str | None:
    """The SSL error's short text, wherever it is in the chain (None: not a TLS failure)."""
    for link in _chain(exc):
        if isinstance(link, ssl.SSLError):
            return _short(str(link.args[1]) if len(link.args) > 1 else str(link))
    found = re.search(r"\[SSL: [A-Z0-9_]+\] ([^(']+)", str(exc))  # a library that kept only the text
    return found.group(1).strip() if found else None


def _short(text: str) -> str:
    """``[SSL: X] some words (_ssl.c:2580)`` → ``some words``."""
    text = re.sub(r"\s*\(_ssl\.c:\d+\)", "", text)
    text = re.sub(r"^\[SSL: [A-Z0-9_]+\]\s*", "", text).strip()
    return _CLOSED if text.startswith("EOF occurred in violation of protocol") else text


def unreachable(broker: BrokerTarget, exc: BaseException) -> str:
    """What follows ``broker URL unreachable: `` — one line, never the password."""
    tls = _tls_reason(exc) if broker.tls else None
    if tls is None:
        return str(exc)
    if "certificate verify failed" in tls:
        return (
            f"TLS: {tls}: the broker's certificate is not signed by the CA in broker.ca_file "
            f"({broker.ca_file}) or does not name the broker's host"
        )
    if not any(marker in tls for marker in _CLIENT_REFUSED):
        return f"TLS: {tls}"
    if broker.cert_file is None:
        return (
            f"TLS: {tls}: the broker requires a client certificate (tls-auth-clients) and the "
            "inventory's broker has none: set broker.cert_file and broker.key_file"
        )
    return (
        f"TLS: {tls}: the broker refused the client certificate {broker.cert_file}: check "
        "broker.cert_file and broker.key_file (signed by the CA the broker trusts, its "
        "tls-ca-cert-file, and valid now)"
    )


def refused(broker: BrokerTarget, exc: BaseException) -> bool:
    """The broker answered and said no (a TLS certificate either end, or the password): a
    retry will not change it."""
    return isinstance(exc, redis.AuthenticationError) or (broker.tls and _tls_reason(exc) is not None)
