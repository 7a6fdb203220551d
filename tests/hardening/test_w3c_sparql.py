"""The W3C SPARQL 1.1 syntax suites (query and update) against what guidegraph reads from a
query text before an engine parses it.

For every test: the form read from the prologue (``statement_form``) is the form Oxigraph
gives; no approved text nests beyond the limit; the guard's grammar (rdflib's) accepts every
positive text that Oxigraph accepts, so the guard fails closed only on text no engine runs;
and Oxigraph refuses every negative text. Oxigraph is asked through the confined query
worker (the suite's texts include SERVICE and LOAD), never in this process.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox
import pytest

from guidegraph.store.base import StoreError
from guidegraph.store.sparql import (
    MAX_NESTING,
    QueryRefused,
    QuerySyntaxError,
    _parse_forbidden,
    nesting_depth,
    refuse_unsafe,
    statement_form,
)
from guidegraph.store.worker import StoreWorker

from .conftest import w3c_required, w3c_root

MF = "http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#"
SUITES = ("", "syntax-update-1", "syntax-update-2")
@dataclass(frozen=True)
class SyntaxTest:
    kind: str
    path: Path

    @property
    def positive(self) -> bool:
        return self.kind.startswith("Positive")

    @property
    def update(self) -> bool:
        return "Update" in self.kind


def load_tests() -> list[SyntaxTest]:
    root = w3c_root() / "sparql11"
    tests = []
    for suite in SUITES:
        manifest = root / suite / "manifest.ttl"
        if not manifest.is_file():
            continue
        store = ox.Store()
        store.load(manifest.read_bytes(), format=ox.RdfFormat.TURTLE,
                   base_iri=f"http://suite.invalid/{suite}/manifest.ttl")
        for row in store.query(f"SELECT ?type ?action WHERE {{ ?t a ?type ; <{MF}action> "
                               "?action }"):
            name = row["action"].value.rsplit("/", 1)[-1]
            tests.append(SyntaxTest(row["type"].value.rsplit("#", 1)[-1],
                                    manifest.parent / name))
    return sorted(tests, key=lambda t: t.path.name)


TESTS = load_tests()
MISSING = (f"W3C SPARQL 1.1 syntax suites not found under {w3c_root() / 'sparql11'}"
           " (set GUIDEGRAPH_W3C_DIR to the folder holding sparql11/)")
needs_suite = pytest.mark.skipif(not TESTS and not w3c_required(), reason=MISSING)


@pytest.fixture(scope="module")
def oxigraph(tmp_path_factory: pytest.TempPathFactory):
    worker = StoreWorker(tmp_path_factory.mktemp("w3c") / "store")
    worker.start()
    yield worker
    worker.close()


def _oxigraph_form(worker: StoreWorker, test: SyntaxTest) -> str | None:
    """The form Oxigraph gives the text (UPDATE for an update), None when it refuses it,
    PARSED when it parsed the text but could not run it (a SERVICE without network).

    Run unguarded in the worker: a SERVICE or LOAD fails there on the network it lacks,
    after the text parsed, which is what this asks."""
    # The suites resolve relative IRIs against the test's own location, as a base IRI.
    text = f"BASE <http://suite.invalid/{test.path.name}>\n" + test.path.read_text(
        encoding="utf-8")
    try:
        if test.update:
            worker.call("update", text, 60)
            return "UPDATE"
        kind, _data = worker.call("select", (text, {}, None, False), 60)
    except QuerySyntaxError:
        return None
    except StoreError:  # parsed, then failed to run (no network, no such graph)
        return "UPDATE" if test.update else "PARSED"
    return {"ask": "ASK", "select": "SELECT", "graph": "CONSTRUCT"}[kind]


@needs_suite
def test_the_suite_is_complete() -> None:
    assert TESTS, f"{MISSING}; GUIDEGRAPH_REQUIRE_W3C=1 requires them"
    kinds = Counter(t.kind for t in TESTS)
    assert kinds == {"PositiveSyntaxTest11": 63, "NegativeSyntaxTest11": 31,
                     "PositiveUpdateSyntaxTest11": 42, "NegativeUpdateSyntaxTest11": 13}
    assert all(t.path.is_file() for t in TESTS)


@needs_suite
@pytest.mark.parametrize("test", TESTS, ids=lambda t: t.path.name)
def test_what_is_read_before_parsing_agrees_with_the_engine(oxigraph: StoreWorker,
                                                            test: SyntaxTest) -> None:
    text = test.path.read_text(encoding="utf-8")
    engine = _oxigraph_form(oxigraph, test)
    if not test.positive:
        assert engine is None, "Oxigraph accepts a negative syntax test"
        return
    assert nesting_depth(text)[0] <= MAX_NESTING
    form = statement_form(text)
    assert engine is not None, "Oxigraph refuses a positive syntax test"
    if engine != "PARSED":
        assert engine == ("CONSTRUCT" if form == "DESCRIBE" else form)
    assert _parse_forbidden(text) is not None, "the guard's grammar refuses a valid text"
    try:
        refuse_unsafe(text)
    except QueryRefused as exc:
        assert "is not allowed" in str(exc)  # refused for what it uses, never unparsable
        assert any(word in text.upper() for word in ("SERVICE", "LOAD", "FROM"))
