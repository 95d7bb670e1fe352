"""The broker as both ends reach it: URL, password (read by reference), TLS CA, and for a
broker that requires one (``tls-auth-clients yes``) this end's client certificate and key."""

from __future__ import annotations

import ssl
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SITE_QUEUE = "isolate.site.{site}"
CALL_TASK = "isolate.site.call"
REPLY_KEY = "isolate:reply:{call}"
ALIVE_KEY = "isolate:worker:{worker}"
TAKEN_KEY = "isolate:push:{key}"


@dataclass(frozen=True)
class BrokerTarget:
    url: str  # redis://HOST[:PORT][/DB] or rediss://… (never with the password)
    password: str | None = field(default=None, repr=False)
    ca_file: Path | None = None
    cert_file: Path | None = None  # client certificate (mutual TLS), always with key_file
    key_file: Path | None = None

    @property
    def tls(self) -> bool:
        return self.url.startswith("rediss://")

    def url_with_password(self) -> str:
        """The URL Celery and redis-py take (the password URL-quoted; never logged by us)."""
        if not self.password:
            return self.url
        scheme, rest = self.url.split("://", 1)
        return f"{scheme}://:{urllib.parse.quote(self.password, safe='')}@{rest}"

    def ssl_options(self) -> dict[str, Any] | None:
        """For rediss://: the server certificate is verified against ``ca_file`` (required);
        with a client certificate, it is shown to the broker (kombu's and redis-py's names)."""
        if not self.tls:
            return None
        options: dict[str, Any] = {
            "ssl_cert_reqs": ssl.CERT_REQUIRED,
            "ssl_ca_certs": str(self.ca_file) if self.ca_file else None,
        }
        if self.cert_file is not None and self.key_file is not None:
            options.update(ssl_certfile=str(self.cert_file), ssl_keyfile=str(self.key_file))
        return options

    @property
    def where(self) -> str:
        return self.url
