"""Reading SELECT results as rows: the TSV reading gives what the engine's own terms say,
for every kind of term; a prefetched named query runs on a worker thread and gives the rows
a direct one gives; a compile reads exactly the queries it prefetched, and one that fails
leaves none behind."""

from __future__ import annotations

import threading

import pyoxigraph as ox
import pytest

from guidegraph.errors import ConfigurationError
from guidegraph.knowledge.loading import Knowledge
from guidegraph.knowledge.rows import Lit, select_rows, tsv_rows
from guidegraph.reasoning import reasoner
from guidegraph.reasoning.reasoner import COMPILE_QUERIES, Reasoner

EX = "http://example.org/"
TERMS = [
    ox.NamedNode(EX + "a"),
    ox.NamedNode(EX + "with%20escape?q=1#frag"),
    ox.Literal("plain"),
    ox.Literal(""),
    ox.Literal("tab\there, newline\nthere, quote \" and backslash \\"),
    ox.Literal("unicode é ✓ \U0001F600"),
    ox.Literal("bonjour", language="fr"),
    ox.Literal("42", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer")),
    ox.Literal("-7", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer")),
    ox.Literal("1.5", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#decimal")),
    ox.Literal("1.0E3", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#double")),
    ox.Literal("true", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#boolean")),
    ox.Literal("2026-01-01", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#date")),
    ox.Literal("x" * 200),
    ox.BlankNode("b1"),
]


def _expected(term: ox.NamedNode | ox.Literal | ox.BlankNode | None) -> str | Lit | None:
    """The row value of an engine term, read from the term object itself."""
    if term is None:
        return None
    if isinstance(term, ox.NamedNode):
        return term.value
    if isinstance(term, ox.BlankNode):
        return f"_:{term.value}"
    if term.language:
        return Lit(term.value, "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString")
    return Lit(term.value, term.datatype.value)


def test_every_kind_of_term_reads_as_the_engine_s_own_term() -> None:
    store = ox.Store()
    for i, term in enumerate(TERMS):
        store.add(ox.Quad(ox.NamedNode(f"{EX}s{i}"), ox.NamedNode(EX + "p"), term))
    query = ("SELECT ?s ?o ?none WHERE { ?s <" + EX + "p> ?o OPTIONAL { ?s <" + EX
             + "q> ?none } } ORDER BY ?s")
    rows = select_rows(store.query(query))
    expected = [{"s": s["s"].value, "o": _expected(s["o"]), "none": None}
                for s in store.query(query)]
    assert len(rows) == len(TERMS)
    # blank node labels are the engine's own: compare their kind, the rest exactly
    assert [r for r in rows if not str(r["o"]).startswith("_:")] == [
        e for e in expected if not str(e["o"]).startswith("_:")]
    assert sum(str(r["o"]).startswith("_:") for r in rows) == 1


def test_a_result_without_rows_has_no_rows() -> None:
    assert select_rows(ox.Store().query("SELECT ?s WHERE { ?s ?p ?o }")) == []
    assert tsv_rows(b"?s\t?o\n") == []


@pytest.fixture(scope="module")
def shipped() -> Knowledge:
    return Knowledge.load()


@pytest.fixture
def threads(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, str]]:
    """(folder, name, thread) of every named query evaluated to rows."""
    seen: list[tuple[str, str, str]] = []
    evaluate = Knowledge._serialized

    def recorded(self: Knowledge, folder: str, name: str) -> bytes:
        seen.append((folder, name, threading.current_thread().name))
        return evaluate(self, folder, name)

    monkeypatch.setattr(Knowledge, "_serialized", recorded)
    return seen


@pytest.mark.parametrize("folder, name", COMPILE_QUERIES)
def test_a_prefetched_query_runs_on_a_worker_and_gives_the_rows_of_a_direct_one(
        shipped: Knowledge, threads: list, folder: str, name: str) -> None:
    direct = select_rows(shipped.query(name, folder))
    assert direct, "a compile query that finds nothing in the shipped knowledge tests little"
    shipped.prefetch((folder, name))
    assert (folder, name) in shipped._prefetched
    assert shipped.rows(name, folder) == direct
    assert (folder, name) not in shipped._prefetched
    assert shipped.rows(name, folder) == direct  # read again: evaluated again, not stale
    assert [t.startswith("guidegraph-query") for *_, t in threads] == [True, False]


def test_an_error_in_a_prefetched_query_is_raised_where_its_rows_are_read(
        shipped: Knowledge, threads: list) -> None:
    shipped.prefetch(("derive", "no-such-query"))
    with pytest.raises(FileNotFoundError, match="no-such-query"):
        shipped.rows("no-such-query")
    assert [t.startswith("guidegraph-query") for *_, t in threads] == [True]


def test_a_compile_reads_every_query_it_prefetched_and_no_other(
        monkeypatch: pytest.MonkeyPatch) -> None:
    knowledge = Knowledge.load()
    reads: list[tuple[str, str, bool]] = []
    read = Knowledge.rows

    def recorded(self: Knowledge, name: str, folder: str = "derive") -> list:
        reads.append((folder, name, (folder, name) in self._prefetched))
        return read(self, name, folder)

    monkeypatch.setattr(Knowledge, "rows", recorded)
    Reasoner(knowledge)
    assert sorted(reads) == sorted((f, n, True) for f, n in COMPILE_QUERIES)
    assert knowledge._prefetched == {}


def test_a_compile_that_fails_leaves_no_prefetched_query(
        monkeypatch: pytest.MonkeyPatch) -> None:
    knowledge = Knowledge.load()

    def broken(*_args: object) -> None:
        raise ConfigurationError("criterion x: broken on purpose")

    monkeypatch.setattr(reasoner, "compile_plan", broken)
    with pytest.raises(ConfigurationError, match="broken on purpose"):
        Reasoner(knowledge)
    assert knowledge._prefetched == {}
