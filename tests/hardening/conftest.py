"""Shared fixtures for the hardening tests: a loopback canary HTTP server that records every
request (so "nothing reached the network" is measured, not assumed), the W3C suites, and a
small loaded store."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from guidegraph.knowledge.loading import read_parts
from guidegraph.reasoning.reasoner import Reasoner
from guidegraph.store import versions
from guidegraph.store.base import EmbeddedStore, Store
from tests.canary import Canary, canary, canary_server  # noqa: F401 - fixtures

REPO = Path(__file__).resolve().parents[2]
W3C_ENV = "GUIDEGRAPH_W3C_DIR"


REQUIRE_W3C_ENV = "GUIDEGRAPH_REQUIRE_W3C"


def w3c_root() -> Path:
    """``$GUIDEGRAPH_W3C_DIR``, else the nearest ``shared/w3c`` beside the repository or one
    of the folders above it (where the offline copies of the W3C suites are kept)."""
    env = os.environ.get(W3C_ENV)
    if env:
        return Path(env)
    for folder in REPO.parents:
        if (folder / "shared" / "w3c").is_dir():
            return folder / "shared" / "w3c"
    return REPO.parent / "shared" / "w3c"


def w3c_required() -> bool:
    """CI sets ``GUIDEGRAPH_REQUIRE_W3C=1``: there a missing suite fails instead of skipping."""
    return os.environ.get(REQUIRE_W3C_ENV) == "1"


@pytest.fixture(scope="session")
def hard_reasoner() -> Reasoner:
    return Reasoner()


@pytest.fixture
def loaded_store(tmp_path: Path) -> Iterator[EmbeddedStore]:
    """An on-disk embedded store with the shipped ontology and guidelines loaded."""
    store = EmbeddedStore(tmp_path / "store")
    versions.load_parts(store, read_parts())
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
