"""A loopback HTTP server that records every request, so "nothing reached the network" is
measured, not assumed (fixtures ``canary_server`` and ``canary``)."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest


@dataclass
class Canary:
    """A loopback HTTP server answering 200 to everything and recording each request."""

    url: str
    requests: list[str] = field(default_factory=list)

    def clear(self) -> None:
        self.requests.clear()


@pytest.fixture(scope="session")
def canary_server() -> Iterator[Canary]:
    canary = Canary(url="")

    class Handler(http.server.BaseHTTPRequestHandler):
        def _record(self) -> None:
            canary.requests.append(f"{self.command} {self.path}")
            body = b'{"@context": {"p": "http://example.org/p"}}'
            self.send_response(200)
            self.send_header("Content-Type", "application/ld+json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_HEAD = do_PUT = _record

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    canary.url = f"http://127.0.0.1:{server.server_address[1]}/"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield canary
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def canary(canary_server: Canary) -> Iterator[Canary]:
    """The canary, emptied before the test and checked empty after it."""
    canary_server.clear()
    yield canary_server
    assert canary_server.requests == [], f"network reached: {canary_server.requests}"
