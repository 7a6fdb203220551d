"""What RemoteStore does for Virtuoso, one behaviour at a time, on a real server; and what
the test fixture does when Virtuoso is missing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pyoxigraph as ox
import pytest

from guidegraph.store.base import VIRTUOSO_OWN_GRAPHS, EmbeddedStore, StoreError
from tests.engines import GRANT_UPDATE, REQUIRE_VIRTUOSO, Virtuoso, running_virtuoso

ROOT = Path(__file__).parents[2]
XSD = "http://www.w3.org/2001/XMLSchema#"
G = "https://w3id.org/guidegraph/graph/case/literals"


def _lit(value: str, datatype: str) -> ox.Literal:
    return ox.Literal(value, datatype=ox.NamedNode(XSD + datatype))


def _n(name: str) -> ox.NamedNode:
    return ox.NamedNode(f"https://example.org/{name}")


def literal_graph() -> list[ox.Triple]:
    """Values Virtuoso writes or reads its own way, some on a blank node."""
    blank = ox.BlankNode("figure")
    return [
        ox.Triple(_n("s"), _n("flag"), _lit("true", "boolean")),
        ox.Triple(_n("s"), _n("off"), _lit("false", "boolean")),
        ox.Triple(_n("s"), _n("at"), _lit("2026-01-02T03:04:05.123400+00:00", "dateTime")),
        ox.Triple(_n("s"), _n("whole"), _lit("2026-01-02T03:04:05.000000+00:00", "dateTime")),
        ox.Triple(_n("s"), _n("label"), ox.Literal("Stenose", language="de")),
        ox.Triple(_n("s"), _n("text"), ox.Literal('quote " tab \t newline \n ☃ 𝄞')),
        ox.Triple(_n("s"), _n("figure"), blank),
        ox.Triple(blank, _n("value"), _lit("35", "decimal")),
        ox.Triple(blank, _n("share"), _lit("0.25", "decimal")),
        ox.Triple(blank, _n("count"), _lit("3", "integer")),
    ]


def canonical(triples: list[ox.Triple]) -> list[str]:
    """The triples as text, blank nodes unnamed (one blank node in the graph)."""
    return sorted(str(ox.Triple(*(ox.BlankNode("b") if isinstance(x, ox.BlankNode) else x
                                  for x in t))) for t in triples)


def test_literals_and_blank_nodes_read_back_as_from_the_embedded_store(
        virtuoso: Virtuoso, tmp_path: Path) -> None:
    remote = virtuoso.clear()
    embedded = EmbeddedStore(tmp_path / "store")
    for store in (remote, embedded):
        store.add_graphs({G: literal_graph()})
    assert canonical(remote.graph_triples(G)) == canonical(embedded.graph_triples(G))
    text = f"SELECT ?p ?o WHERE {{ GRAPH <{G}> {{ ?s ?p ?o }} }}"

    def unnamed(rows: list) -> list[str]:
        return sorted(str(["_:b" if isinstance(x, ox.BlankNode) else str(x) for x in row])
                      for row in rows)

    assert unnamed(remote.query(text).table.rows) == unnamed(embedded.query(text).table.rows)
    # the decimal on the blank node stays a decimal
    (value,) = [t.object for t in remote.graph_triples(G) if t.predicate == _n("value")]
    assert value == _lit("35", "decimal")
    # one blank node in SELECT results and in the graph, named alike
    subjects = remote.query(f"SELECT DISTINCT ?s WHERE {{ GRAPH <{G}> {{ ?s ?p ?o }} }}")
    blanks = [r[0] for r in subjects.table.rows if isinstance(r[0], ox.BlankNode)]
    assert len(blanks) == 1
    assert blanks[0] in {t.subject for t in remote.graph_triples(G)}


def test_virtuoso_s_own_graphs_stay_out_of_the_dataset(virtuoso: Virtuoso) -> None:
    remote = virtuoso.clear()
    assert remote.engine == "virtuoso"
    assert remote.update_url == remote.url
    everything = remote._post(remote.url, [("query", "SELECT ?g WHERE { GRAPH ?g { ?s ?p ?o "
                                                      "} } GROUP BY ?g")],
                              "text/csv").decode().replace('"', "").split()
    assert set(VIRTUOSO_OWN_GRAPHS) <= set(everything)  # they are there ...
    assert remote.graph_names() == []  # ... and not guidegraph's
    count = "SELECT (COUNT(*) AS ?n) WHERE { { ?s ?p ?o } UNION { GRAPH ?g { ?s ?p ?o } } }"
    assert remote.query(count).table.rows[0][0].value == "0"
    assert remote.query(count, union=True).table.rows[0][0].value == "0"


def test_a_large_write_with_blank_nodes_is_one_request_of_many_operations(
        virtuoso: Virtuoso) -> None:
    remote = virtuoso.clear()
    triples = []
    for i in range(1200):  # 3,600 triples: several operations, each blank node in one
        node = ox.BlankNode(f"n{i}")
        triples += [ox.Triple(_n("list"), _n("item"), node),
                    ox.Triple(node, _n("index"), _lit(str(i), "integer")),
                    ox.Triple(node, _n("twice"), _lit(str(2 * i), "integer"))]
    remote.add_graphs({G: triples})
    assert len(remote.graph_triples(G)) == len(triples)
    whole = remote.query(f"""SELECT (COUNT(DISTINCT ?x) AS ?n) WHERE {{ GRAPH <{G}> {{
        <https://example.org/list> <https://example.org/item> ?x .
        ?x <https://example.org/index> ?i ; <https://example.org/twice> ?j .
        FILTER (?j = 2 * ?i) }} }}""")
    assert whole.table.rows[0][0].value == "1200"


def test_one_blank_node_structure_beyond_an_operation_is_refused_and_says_why(
        virtuoso: Virtuoso) -> None:
    remote = virtuoso.clear()
    chain = [ox.Triple(ox.BlankNode(f"n{i}"), _n("next"), ox.BlankNode(f"n{i + 1}"))
             for i in range(3000)]
    with pytest.raises(StoreError, match="one structure of blank nodes holds more than"):
        remote.add_graphs({G: chain})
    assert remote.graph_names() == []


def test_a_write_without_the_update_role_is_refused_and_says_why(
        virtuoso: Virtuoso) -> None:
    remote = virtuoso.clear()
    virtuoso.isql('REVOKE SPARQL_UPDATE FROM "SPARQL";')
    try:
        with pytest.raises(StoreError, match="lacks the SPARQL_UPDATE role"):
            remote.add_graphs({G: literal_graph()})
    finally:
        virtuoso.isql(GRANT_UPDATE)
    assert remote.graph_names() == []


def test_a_row_limit_is_an_error_not_a_shorter_answer(tmp_path: Path) -> None:
    """A Virtuoso left at a row limit: reading a graph larger than the limit, or a query
    answer that reaches it, fails and says so; a smaller answer is read whole."""
    with running_virtuoso(tmp_path, max_rows=5) as capped:
        remote = capped.store()
        remote.add_graphs({G: literal_graph()})  # ten triples
        with pytest.raises(StoreError, match=r"row limit of 5 .*ResultSetMaxRows"):
            remote.graph_triples(G)
        with pytest.raises(StoreError, match="row limit of 5"):
            remote.query(f"SELECT * WHERE {{ GRAPH <{G}> {{ ?s ?p ?o }} }}")
        few = remote.query(f"SELECT ?o WHERE {{ GRAPH <{G}> {{ ?s ?p ?o }} }} LIMIT 3")
        assert len(few.table.rows) == 3


@pytest.mark.parametrize(("required", "outcome"), [("1", "error"), ("", "skipped")])
def test_without_virtuoso_its_tests_skip_or_fail_when_required(
        tmp_path: Path, required: str, outcome: str) -> None:
    probe = tmp_path / "test_probe.py"
    probe.write_text("from tests.engines import virtuoso  # noqa: F401\n\n\n"
                     "def test_probe(virtuoso):\n    pass\n", encoding="utf-8")
    env = {**os.environ, "PATH": str(tmp_path), REQUIRE_VIRTUOSO: required}
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rsf", "-p",
                           "no:cacheprovider", str(probe)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert f"1 {outcome}" in done.stdout, done.stdout
    assert (done.returncode != 0) == bool(required)
    assert "Virtuoso Open Source 7 is not installed" in done.stdout
    if required:
        assert f"{REQUIRE_VIRTUOSO}=1 but" in done.stdout
