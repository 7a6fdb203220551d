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


@pytest.fixture(params=["embedded", "remote", "virtuoso"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A fresh, empty store of each kind (remote: an Oxigraph server)."""
    if request.param == "embedded":
        yield EmbeddedStore(tmp_path / "store")
        return
    if request.param == "virtuoso":
        yield request.getfixturevalue("virtuoso").clear()
        return
    binary = request.getfixturevalue("oxigraph_binary")
    proc, url = start_oxigraph(binary, tmp_path / "remote")
    try:
        yield RemoteStore(url + "/query")
    finally:
        stop(proc)
