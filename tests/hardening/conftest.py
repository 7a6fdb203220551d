"""Shared fixtures for the hardening tests: a loopback canary HTTP server that records every
request (so "nothing reached the network" is measured, not assumed), the W3C suites, and a
small loaded store."""

from __future__ import annotations

import hashlib
import http.server
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from guidegraph.knowledge import read_parts
from guidegraph.reasoner import Reasoner
from guidegraph.store import EmbeddedStore, Store

REPO = Path(__file__).resolve().parents[2]
W3C_ENV = "GUIDEGRAPH_W3C_DIR"


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


def w3c_root() -> Path:
    """``$GUIDEGRAPH_W3C_DIR``, else ``shared/w3c`` beside the repository."""
    env = os.environ.get(W3C_ENV)
    return Path(env) if env else REPO.parent / "shared" / "w3c"


@pytest.fixture(scope="session")
def hard_reasoner() -> Reasoner:
    return Reasoner()


@pytest.fixture
def loaded_store(tmp_path: Path) -> Iterator[EmbeddedStore]:
    """An on-disk embedded store with the shipped ontology and guidelines loaded."""
    store = EmbeddedStore(tmp_path / "store")
    store.load_parts(read_parts())
    yield store
    store.close()


def store_hash(store: Store) -> str:
    """SHA-256 of the store's sorted N-Quads: any change to any graph changes it."""
    if isinstance(store, EmbeddedStore):
        lines = sorted(f"{q.subject} {q.predicate} {q.object} {q.graph_name} ."
                       for q in store.ox)
    else:
        lines = sorted(f"{t.subject} {t.predicate} {t.object} <{g}> ."
                       for g in store.graph_names() for t in store.graph_triples(g))
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()
