"""Requests to a remote engine that do not grow with the store: a query's dataset is said
without naming every stored graph, and answers as when every graph is named.

* An Oxigraph server keeps the copy of the current knowledge in its own default graph, as
  the embedded store does (``guidegraph load --store URL`` writes it), so a query on the
  current dataset is sent with no dataset at all.
* Virtuoso's requests name every graph: naming only default graphs (or leaving graphs out
  by its pragma), it answers ``GRAPH <iri>`` with nothing (a test pins that quirk).
* Where the default graph cannot be trusted to be the copy (a server whose default graph is
  the union of its graphs, a marker copied without the default graph), every graph is named,
  as before, and the answers are the same.

Each comparison is against the same query sent with every graph named on the same engine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from guidegraph.store import current, versions
from guidegraph.store.base import EmbeddedStore, RemoteStore
from guidegraph.store.log import logged_update
from guidegraph.store.named_queries import library
from guidegraph.store.sparql import QueryRefused
from guidegraph.vocab import COPY_GRAPH, NO_GRAPH
from tests.engines import Virtuoso, start_oxigraph, stop, value

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.json"))


def cli(*args: str) -> subprocess.CompletedProcess:
    """``guidegraph`` in a process of its own, with none of this environment's settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GUIDEGRAPH_")}
    return subprocess.run([sys.executable, "-m", "guidegraph", *args], capture_output=True,
                          text=True, env=env)


class Recording(RemoteStore):
    """A remote store that keeps the parameters of every request it sends."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.sent: list[list[tuple[str, str]]] = []

    def _post(self, url: str, data: list[tuple[str, str]], accept: str) -> bytes:
        self.sent.append(data)
        return super()._post(url, data, accept)


def names(params: list[tuple[str, str]]) -> Counter:
    return Counter(k for k, _ in params)


def answer(raw: Any) -> Counter:
    if isinstance(raw, bool):
        return Counter([raw])
    if isinstance(raw, list):  # CONSTRUCT
        return Counter(tuple(value(x) for x in (t.subject, t.predicate, t.object))
                       for t in raw)
    variables = [v.value for v in raw.variables]
    return Counter(tuple(value(row[v]) for v in variables) for row in raw)


def every_graph_named(store: RemoteStore, text: str, default: list[str]) -> Counter:
    """The query sent with every stored graph named (the form that grows with the store)."""
    graphs = store.graph_names()
    return answer(store._run(text, [("query", text),
                                    *(("default-graph-uri", g) for g in default or [NO_GRAPH]),
                                    *(("named-graph-uri", g) for g in graphs or [NO_GRAPH])]))


def library_queries() -> list[tuple[str, str]]:
    seen, out = set(), []
    for name, named in sorted(library().items()):
        if "/" not in name and named.path not in seen:
            seen.add(named.path)
            out.append((name, named.text))
    return out


def check_library(store: Recording) -> int:
    """Every query of the library: answers as with every graph named; the requests' dataset
    parameters, counted."""
    dataset = versions.current_dataset(store)
    sizes = set()
    for name, text in library_queries():
        store.sent.clear()
        got = answer(store._select(text, {}, dataset, False))
        sizes.add(sum(n for k, n in names(store.sent[-1]).items() if k != "query"))
        assert got == every_graph_named(store, text, dataset), name
    assert len(sizes) == 1, sizes
    return sizes.pop()


def save(url: str, *cases: Path) -> None:
    result = cli("reason", *map(str, cases), "--save", "--store", url, "--format", "ndjson")
    assert result.returncode == 0, result.stderr


@pytest.fixture
def server(oxigraph_binary: str, tmp_path: Path) -> Iterator[str]:
    proc, url = start_oxigraph(oxigraph_binary, tmp_path / "oxigraph")
    yield url + "/query"
    stop(proc)


def test_a_loaded_oxigraph_server_is_queried_with_no_dataset_named(server: str) -> None:
    assert cli("load", "--store", server).returncode == 0
    save(server, EXAMPLES[0])
    store = Recording(server)
    assert store.knowledge_copy() == frozenset(versions.current_dataset(store))
    assert check_library(store) == 0  # no default-graph-uri, no named-graph-uri
    save(server, *EXAMPLES[1:])
    assert check_library(store) == 0
    result = cli("audit", "--verify-log", "--store", server)
    assert result.returncode == 0, result.stdout + result.stderr


def test_on_virtuoso_a_request_names_every_graph(virtuoso: Virtuoso) -> None:
    remote = virtuoso.clear()
    assert cli("load", "--store", remote.url).returncode == 0
    save(remote.url, EXAMPLES[0])
    store = Recording(remote.url)
    assert store.knowledge_copy() is None  # Virtuoso's default graph is not its own
    dataset = versions.current_dataset(store)
    assert check_library(store) == len(dataset) + len(store.graph_names())
    virtuoso.clear()


def test_virtuoso_answers_a_graph_iri_only_among_the_named_graphs(virtuoso: Virtuoso) -> None:
    """Why Virtuoso's requests name every graph: naming only default graphs, ``GRAPH ?g``
    ranges over every graph but ``GRAPH <iri>`` matches nothing, and its own pragma that
    leaves graphs out does the same. A Virtuoso that answers otherwise fails this test, and
    ``RemoteStore.dataset_params`` can then name the default graphs only."""
    remote = virtuoso.clear()
    one, two = "https://example.org/one", "https://example.org/two"
    remote.update(f"INSERT DATA {{ GRAPH <{one}> {{ <urn:x:a> <urn:x:b> 1 }} "
                  f"GRAPH <{two}> {{ <urn:x:c> <urn:x:b> 2 }} }}")
    constant = f"SELECT ?s WHERE {{ GRAPH <{one}> {{ ?s ?p ?o }} }}"
    variable = "SELECT ?g WHERE { GRAPH ?g { ?s <urn:x:b> ?o } }"
    exclude = "".join(f"define input:named-graph-exclude <{g}>\n"
                      for g in sorted(remote.own_graphs()))

    def rows(text: str, params: list[tuple[str, str]]) -> list[str]:
        data = remote._post(remote.url, [("query", text), *params],
                            "application/sparql-results+json")
        return sorted(cell["value"] for row in json.loads(data)["results"]["bindings"]
                      for cell in row.values())

    default = [("default-graph-uri", two)]
    assert rows(variable, default) == [one, two]
    assert rows(constant, default) == []
    assert rows(exclude + variable, []) == [one, two]
    assert rows(exclude + constant, []) == []
    named = [*default, ("named-graph-uri", one), ("named-graph-uri", two)]
    assert rows(constant, named) == ["urn:x:a"]
    assert rows(variable, named) == [one, two]
    virtuoso.clear()


def test_a_union_default_graph_gets_no_copy_and_every_graph_is_named(
        oxigraph_binary: str, tmp_path: Path) -> None:
    proc, url = start_oxigraph(oxigraph_binary, tmp_path / "oxigraph", "--union-default-graph")
    try:
        assert cli("load", "--store", url + "/query").returncode == 0
        save(url + "/query", EXAMPLES[0])
        store = Recording(url + "/query")
        assert store.knowledge_copy() is None
        assert COPY_GRAPH not in store.graph_names()
        graphs = len(store.graph_names())
        assert check_library(store) == graphs + len(versions.current_dataset(store))
        rows = store.query(library()["loaded-guideline-versions"].text,
                           default_graphs=versions.current_dataset(store)).table.rows
        assert len(rows) == 2
    finally:
        stop(proc)


def test_a_copy_is_not_read_once_the_server_unites_its_graphs(
        oxigraph_binary: str, tmp_path: Path) -> None:
    """The marker is found, but it shows in the default graph: that graph is no copy."""
    location = tmp_path / "oxigraph"
    count = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
    proc, url = start_oxigraph(oxigraph_binary, location)
    try:
        assert cli("load", "--store", url + "/query").returncode == 0
        store = RemoteStore(url + "/query")
        dataset = versions.current_dataset(store)
        assert store.knowledge_copy() == frozenset(dataset)
        before = store.query(count, default_graphs=dataset).table.rows
    finally:
        stop(proc)
    proc, url = start_oxigraph(oxigraph_binary, location, "--union-default-graph")
    try:
        store = Recording(url + "/query")
        assert store.knowledge_copy() is None
        assert store.query(count, default_graphs=dataset).table.rows == before
        assert "named-graph-uri" in names(store.sent[-1])
    finally:
        stop(proc)


@pytest.mark.parametrize("kind", ["embedded", "oxigraph"])
def test_a_marker_copied_without_its_default_graph_is_not_trusted(
        kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    source = tmp_path / "source"
    assert cli("load", "--store", str(source)).returncode == 0
    save(str(source), EXAMPLES[0])
    embedded = EmbeddedStore(source, read_only=True)
    graphs = {g: embedded.graph_triples(g) for g in embedded.graph_names()}
    del embedded
    assert COPY_GRAPH in graphs
    target = EmbeddedStore(None) if kind == "embedded" else RemoteStore(
        request.getfixturevalue("server"))
    target.add_graphs(graphs)  # the named graphs only: the default graph stays empty
    dataset = versions.current_dataset(target)
    assert target.knowledge_copy() is None
    text = library()["loaded-guideline-versions"].text
    assert len(target.query(text, default_graphs=dataset).table.rows) == 2
    assert current.refresh_copy(target) is True
    assert target.knowledge_copy() == frozenset(dataset)
    assert len(target.query(text, default_graphs=dataset).table.rows) == 2


def test_on_a_server_the_copy_is_guarded_and_checked(server: str) -> None:
    assert cli("load", "--store", server).returncode == 0
    store = RemoteStore(server)
    with pytest.raises(QueryRefused, match="default graph"):
        logged_update(store, 'INSERT DATA { <urn:x:a> <urn:x:b> "c" }', "tester")
    # Written past guidegraph, straight to the engine: --verify-log finds it.
    store.update('INSERT DATA { <urn:x:a> <urn:x:b> "c" }')
    result = cli("audit", "--verify-log", "--store", server)
    assert result.returncode == 1
    assert ("the default graph is not the copy of the current knowledge it should be (of the "
            "3 graphs named in <https://w3id.org/guidegraph/graph/default-copy>): 1 triple(s) "
            "it holds are in none of them and 0 of theirs are missing") in result.stdout
    assert cli("load", "--store", server).returncode == 0  # rewrites the copy
    result = cli("audit", "--verify-log", "--store", server)
    assert result.returncode == 0, result.stdout
