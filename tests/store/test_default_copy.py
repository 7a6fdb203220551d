"""The embedded store's default graph as a copy of the current knowledge: queries whose default
graph is the current dataset read the copy, with the same answers as listing the graphs, and
the copy follows every change of the current versions."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyoxigraph as ox
import pytest

from guidegraph.knowledge.loading import read_parts
from guidegraph.store import current, versions
from guidegraph.store.base import EmbeddedStore
from guidegraph.store.log import check, logged_update
from guidegraph.store.named_queries import library
from guidegraph.vocab import COPY_GRAPH, GG, SKOS_NOTATION

ROOT = Path(__file__).parents[2]
RS = ROOT / "guidelines" / "rescue-stenting"
MARK = ox.Quad(ox.NamedNode("https://example.org/s"), ox.NamedNode("https://example.org/p"),
               ox.Literal("only in the default graph"), ox.DefaultGraph())
NOTATIONS = f"SELECT ?id WHERE {{ ?r <{SKOS_NOTATION}> ?id }} ORDER BY ?id"


def default_triples(store: EmbeddedStore) -> set[ox.Triple]:
    return {q.triple for q in store.ox.quads_for_pattern(None, None, None, ox.DefaultGraph())}


def listed(store: EmbeddedStore, text: str) -> list[list]:
    """The query over the current graphs named as a list: the definition the copy keeps."""
    names = [ox.NamedNode(g) for g in versions.current_dataset(store)]
    raw = store.ox.query(text, default_graph=names)
    return [[s[v] for v in raw.variables] for s in raw]


@pytest.fixture
def store(tmp_path: Path) -> EmbeddedStore:
    store = EmbeddedStore(tmp_path / "store")
    versions.load_parts(store, read_parts())
    return store


def test_a_load_makes_the_default_graph_a_copy_of_the_current_graphs(
        store: EmbeddedStore) -> None:
    dataset = versions.current_dataset(store)
    assert store.knowledge_copy() == frozenset(dataset) and len(dataset) == 3
    want: set[ox.Triple] = set()
    for graph in dataset:
        want.update(store.graph_triples(graph))
    assert default_triples(store) == want
    assert check(store).problems == []


def test_queries_read_the_copy_with_the_answers_of_the_listed_graphs(
        store: EmbeddedStore) -> None:
    dataset = versions.current_dataset(store)
    named = [q for name, q in library().items() if "/" in name
             and name.split("/")[0] in ("audit", "examples")]
    assert len(named) >= 12
    answered = 0
    for query in named:
        result = store.query(query.text, default_graphs=dataset)
        if result.table is None:  # a graph
            assert set(result.triples) == set(store.ox.query(
                query.text, default_graph=[ox.NamedNode(g) for g in dataset])), query.name
            continue
        rows = sorted(map(str, result.table.rows))
        assert rows == sorted(map(str, listed(store, query.text))), query.name
        answered += bool(rows)
    assert answered >= 6  # most have rows on the shipped knowledge
    assert store.query(NOTATIONS, default_graphs=dataset).table.rows == listed(store, NOTATIONS)
    # a triple only the default graph holds shows that the query read it, not the list
    store.ox.add(MARK)
    ask = f"ASK {{ {MARK.subject} {MARK.predicate} {MARK.object} }}"
    assert store.query(ask, default_graphs=dataset).boolean is True
    assert store.query(ask, default_graphs=dataset[:2]).boolean is False  # other graphs: listed
    [problem] = check(store).problems
    assert problem.startswith("the default graph is not the copy of the current knowledge")


def test_a_new_version_moves_the_copy_and_an_old_one_loaded_again_moves_it_back(
        store: EmbeddedStore, tmp_path: Path) -> None:
    first = frozenset(versions.current_dataset(store))
    changed = tmp_path / "rescue-stenting"
    shutil.copytree(RS, changed)
    criteria = changed / "criteria.ttl"
    criteria.write_text(criteria.read_text().replace("gg:threshold 360", "gg:threshold 300"))
    versions.load_parts(store, read_parts([changed]))
    second = frozenset(versions.current_dataset(store))
    assert second != first and store.knowledge_copy() == second
    threshold = f"SELECT ?t WHERE {{ ?c <{GG}threshold> ?t }}"
    values = {r[0].value for r in store.query(threshold, default_graphs=sorted(second)).table.rows}
    assert "300" in values and "360" not in values
    versions.load_parts(store, read_parts([RS]))
    assert store.knowledge_copy() == frozenset(versions.current_dataset(store))
    values = {r[0].value for r in store.query(
        threshold, default_graphs=versions.current_dataset(store)).table.rows}
    assert "360" in values and "300" not in values
    assert check(store).problems == []


def test_a_stale_copy_is_never_read(store: EmbeddedStore) -> None:
    """A copy that names other graphs than the current ones (a load that died between its
    two transactions) is passed over: the query lists the graphs."""
    store.ox.add(MARK)
    store.update(f"DELETE DATA {{ GRAPH <{COPY_GRAPH}> {{ <{COPY_GRAPH}> <{GG}copiesGraph> "
                 f"<{versions.current_dataset(store)[0]}> }} }}")
    ask = f"ASK {{ {MARK.subject} {MARK.predicate} {MARK.object} }}"
    assert store.query(ask, default_graphs=versions.current_dataset(store)).boolean is False
    assert current.refresh_copy(store) is True  # it names other graphs: rewritten
    assert MARK.triple not in default_triples(store)
    assert current.refresh_copy(store) is False  # the same graphs: left alone


def test_a_default_graph_with_other_data_is_kept(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path / "store")
    store.ox.add(MARK)
    versions.load_parts(store, read_parts())
    assert store.knowledge_copy() is None and default_triples(store) == {MARK.triple}
    dataset = versions.current_dataset(store)
    assert store.query(NOTATIONS, default_graphs=dataset).table.rows == listed(store, NOTATIONS)
    assert len(store.query(NOTATIONS, default_graphs=dataset).table.rows) > 10


def test_an_update_that_reads_the_default_graph_reads_the_copy(store: EmbeddedStore) -> None:
    """The SPARQL endpoint's default graph is the same for queries and for updates."""
    target = "https://example.org/ids"
    logged_update(store, f"INSERT {{ GRAPH <{target}> {{ ?r <{SKOS_NOTATION}> ?id }} }} "
                         f"WHERE {{ ?r <{SKOS_NOTATION}> ?id }}", "alice")
    copied = store.query(f"SELECT ?id WHERE {{ GRAPH <{target}> {{ ?r <{SKOS_NOTATION}> ?id }}"
                         " } ORDER BY ?id").table.rows
    assert copied == listed(store, NOTATIONS)
    assert check(store).problems == []
