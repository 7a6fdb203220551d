"""Updates that would write the embedded store's default graph (its copy of the current
knowledge) are refused from their parse tree, before anything runs; every other update form
passes. Each operation of SPARQL 1.1 Update is tried, written as users write them."""

from __future__ import annotations

import pytest

from guidegraph.store.sparql import QueryRefused, refuse_default_graph_writes

T = "<https://example.org/s> <https://example.org/p> <https://example.org/o>"
G = "<https://example.org/g>"

REFUSED = [
    (f"INSERT DATA {{ {T} }}", "operation 1 (INSERT DATA)"),
    (f"INSERT DATA {{ GRAPH {G} {{ {T} }} {T} }}", "operation 1 (INSERT DATA)"),
    (f"DELETE DATA {{ {T} }}", "operation 1 (DELETE DATA)"),
    ("DELETE WHERE { ?s ?p ?o }", "operation 1 (DELETE WHERE)"),
    ("DELETE { ?s ?p ?o } WHERE { GRAPH ?g { ?s ?p ?o } }", "operation 1 (DELETE/INSERT)"),
    ("INSERT { ?s ?p ?o } WHERE { GRAPH ?g { ?s ?p ?o } }", "operation 1 (DELETE/INSERT)"),
    (f"DELETE {{ GRAPH {G} {{ ?s ?p ?o }} }} INSERT {{ ?s ?p ?o }} WHERE {{ ?s ?p ?o }}",
     "operation 1 (DELETE/INSERT)"),
    (f"INSERT {{ ?s ?p ?o }} USING {G} WHERE {{ ?s ?p ?o }}", "operation 1 (DELETE/INSERT)"),
    ("CLEAR DEFAULT", "operation 1 (CLEAR)"),
    ("CLEAR SILENT ALL", "operation 1 (CLEAR)"),
    ("DROP DEFAULT", "operation 1 (DROP)"),
    ("DROP ALL", "operation 1 (DROP)"),
    (f"ADD {G} TO DEFAULT", "operation 1 (ADD)"),
    (f"COPY SILENT {G} TO DEFAULT", "operation 1 (COPY)"),
    (f"MOVE {G} TO DEFAULT", "operation 1 (MOVE)"),
    (f"MOVE DEFAULT TO {G}", "operation 1 (MOVE)"),
    (f"CREATE GRAPH {G} ; INSERT DATA {{ {T} }}", "operation 2 (INSERT DATA)"),
    (f"PREFIX ex: <https://example.org/>\nINSERT DATA {{ GRAPH ex:g {{ {T} }} }} ;\n"
     f"DELETE DATA {{ ex:s ex:p ex:o }}", "operation 2 (DELETE DATA)"),
]

C = "<https://w3id.org/guidegraph/graph/default-copy>"
MARKER = [
    (f"INSERT DATA {{ GRAPH {C} {{ {T} }} }}", "operation 1 (INSERT DATA)"),
    (f"DELETE DATA {{ GRAPH {G} {{ {T} }} GRAPH {C} {{ {T} }} }}", "operation 1 (DELETE DATA)"),
    (f"WITH {C} DELETE {{ ?s ?p ?o }} WHERE {{ ?s ?p ?o }}", "operation 1 (DELETE/INSERT)"),
    (f"INSERT {{ GRAPH {C} {{ ?s ?p ?o }} }} WHERE {{ GRAPH {G} {{ ?s ?p ?o }} }}",
     "operation 1 (DELETE/INSERT)"),
    (f"DROP SILENT GRAPH {C}", "operation 1 (DROP)"),
    (f"CLEAR GRAPH {C}", "operation 1 (CLEAR)"),
    (f"ADD {G} TO {C}", "operation 1 (ADD)"),
    (f"MOVE {C} TO {G}", "operation 1 (MOVE)"),
    ("PREFIX g: <https://w3id.org/guidegraph/graph/>\nINSERT DATA { GRAPH g:default-copy "
     f"{{ {T} }} }}", "operation 1 (INSERT DATA)"),
    (f"INSERT DATA {{ GRAPH {G} {{ {T} }} }} ;\nBASE <https://w3id.org/guidegraph/graph/>\n"
     "DROP GRAPH <default-copy>", "operation 2 (DROP)"),
]

PASSED = [
    f"INSERT DATA {{ GRAPH {G} {{ {T} }} }}",
    f"DELETE DATA {{ GRAPH {G} {{ {T} }} }}",
    f"DELETE WHERE {{ GRAPH {G} {{ ?s ?p ?o }} }}",
    f"WITH {G} DELETE {{ ?s ?p ?o }} INSERT {{ ?s ?p ?o }} WHERE {{ ?s ?p ?o }}",
    f"INSERT {{ GRAPH {G} {{ ?s ?p ?o }} }} WHERE {{ ?s ?p ?o }}",  # reads the default graph
    "DELETE { GRAPH ?g { ?s ?p ?o } } WHERE { GRAPH ?g { ?s ?p ?o } }",
    f"CLEAR GRAPH {G}", "CLEAR NAMED", f"DROP SILENT GRAPH {G}", "DROP NAMED",
    f"CREATE GRAPH {G}", f"ADD DEFAULT TO {G}", f"COPY DEFAULT TO {G}", f"MOVE {G} TO <urn:x>",
    "INSERT DATA { }",
]


DEFAULT_MESSAGE = (
    "update refused: {what} would write the default graph, which holds the store's copy of "
    "the current guideline versions and ontology (kept by guidegraph, rewritten on every "
    "load); write into a named graph instead (GRAPH <iri> { … } or WITH <iri>), and change "
    "guidelines with `guidegraph load`")
MARKER_MESSAGE = (
    "update refused: {what} would write " + C + ", the record of what the default graph "
    "copies (kept by guidegraph, rewritten on every load); write into another named graph")


@pytest.mark.parametrize(("text", "what", "message"),
                         [(t, w, DEFAULT_MESSAGE) for t, w in REFUSED]
                         + [(t, w, MARKER_MESSAGE) for t, w in MARKER])
def test_a_write_to_the_default_graph_or_the_copy_record_is_refused(
        text: str, what: str, message: str) -> None:
    with pytest.raises(QueryRefused) as refused:
        refuse_default_graph_writes(text)
    assert str(refused.value) == message.replace("{what}", what)


@pytest.mark.parametrize("text", PASSED)
def test_a_write_to_named_graphs_passes(text: str) -> None:
    refuse_default_graph_writes(text)


@pytest.mark.parametrize("text", ["INSERT DATA { <a> ", "SELECT * WHERE { ?s ?p ?o }"])
def test_an_update_the_check_cannot_read_is_refused(text: str) -> None:
    with pytest.raises(QueryRefused) as refused:
        refuse_default_graph_writes(text)
    assert str(refused.value) == ("update refused: the check for writes to the default graph "
                                  "could not parse it as SPARQL 1.1 Update; check its syntax")


def test_an_update_nested_too_deep_is_refused_before_the_parser() -> None:
    with pytest.raises(QueryRefused) as refused:
        refuse_default_graph_writes("INSERT DATA {" * 200)
    assert str(refused.value).startswith("query refused: it nests 200 levels deep")

