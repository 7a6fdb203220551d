"""Stores under test: the embedded Oxigraph store and real SPARQL engines over HTTP (an
Oxigraph server and Virtuoso, see tests/engines.py), each on 127.0.0.1.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from guidegraph.store.base import EmbeddedStore, RemoteStore, Store
from tests.engines import (  # noqa: F401 - fixtures and helpers for the store tests
    free_port,
    oxigraph_binary,
    start_oxigraph,
    stop,
    virtuoso,
)


@pytest.fixture(scope="module")
def oxigraph_server(request: pytest.FixtureRequest,
                    tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One Oxigraph server for the module's remote-store tests; its base URL."""
    binary = request.getfixturevalue("oxigraph_binary")
    proc, url = start_oxigraph(binary, tmp_path_factory.mktemp("remote"))
    try:
        yield url
    finally:
        stop(proc)


@pytest.fixture(params=["embedded", "remote", "virtuoso"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A fresh, empty store of each kind (remote: the module's Oxigraph server, emptied)."""
    if request.param == "embedded":
        yield EmbeddedStore(tmp_path / "store")
        return
    if request.param == "virtuoso":
        yield request.getfixturevalue("virtuoso").clear()
        return
    remote = RemoteStore(request.getfixturevalue("oxigraph_server") + "/query")
    remote.update("DROP ALL")
    assert remote.graph_names() == []
    assert remote.query("ASK { ?s ?p ?o }").boolean is False
    yield remote
