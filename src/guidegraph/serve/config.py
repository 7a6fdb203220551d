"""What ``guidegraph serve`` was started with."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from guidegraph.store.worker import DEFAULT_MEMORY


@dataclass(frozen=True)
class ServeConfig:
    """What ``guidegraph serve`` was started with."""

    store: str | None = None
    host: str = "127.0.0.1"
    port: int = 7878
    update_token: str | None = None
    query_timeout: float = 30.0
    max_rows: int = 10_000
    #: Host header names accepted; empty: derived from ``host`` (see trusted_hosts)
    allowed_hosts: tuple[str, ...] = ()
    #: The query worker's memory cap in MiB (0: none)
    worker_memory: int = DEFAULT_MEMORY // 2**20

    def trusted_hosts(self) -> list[str] | None:
        """The Host header names to accept: those given, else the loopback names for a
        loopback address, else the address itself; None (any) for a wildcard address, where
        the names the machine answers to are not known (serve warns)."""
        if self.allowed_hosts:
            return list(self.allowed_hosts)
        if self.host in ("", "0.0.0.0", "::"):
            return None
        if loopback(self.host):
            return ["localhost", "127.0.0.1", "::1", "[::1]"]
        return [self.host]


#: Headers on every answer: no content sniffing, no framing, and, for the pages, nothing but
#: their own inline style (they load no script, font or image).
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                               "frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    "Referrer-Policy": "no-referrer",
}


def loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
