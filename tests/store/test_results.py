"""Rendered results read back by an independent parser (rdflib's SPARQL results parsers):
the rows pyoxigraph's writers produce from materialised, capped rows are the rows."""

from __future__ import annotations

import io

import pyoxigraph as ox
import pytest
import rdflib
from rdflib.query import Result

from guidegraph.store.base import materialise
from guidegraph.store.results import render

ROWS = """SELECT ?a ?b ?c WHERE {
  VALUES (?a ?b ?c) {
    (<https://example.org/a> "comma, \\"quote\\"\\ttab\\nline" "chat"@fr)
    (<https://example.org/b> UNDEF 2.5)
    (<https://example.org/é> "plain" "1"^^<https://example.org/dt>)
    (UNDEF true -7)
  }
}"""


@pytest.fixture(scope="module")
def result():
    return materialise(ox.Store().query(ROWS), None)


def _rdflib(term: ox.NamedNode | ox.Literal | None) -> rdflib.term.Node | None:
    if term is None:
        return None
    if isinstance(term, ox.NamedNode):
        return rdflib.URIRef(term.value)
    if term.language:
        return rdflib.Literal(term.value, lang=term.language)
    datatype = term.datatype.value
    plain = datatype == "http://www.w3.org/2001/XMLSchema#string"
    return rdflib.Literal(term.value, datatype=None if plain else rdflib.URIRef(datatype))


@pytest.mark.parametrize("fmt", ["json", "xml", "tsv"])
def test_select_formats_read_back_as_the_same_rows(result, fmt: str) -> None:
    text = render(result, fmt)
    parsed = Result.parse(io.BytesIO(text.encode()), format=fmt)
    assert [str(v) for v in parsed.vars] == ["a", "b", "c"]
    want = [tuple(_rdflib(t) for t in row) for row in result.table.rows]
    got = [tuple(row) for row in parsed]
    assert [tuple(str(t) if t is not None else None for t in row) for row in got] == [
        tuple(str(t) if t is not None else None for t in row) for row in want]
    assert [tuple(getattr(t, "datatype", None) for t in row) for row in got] == [
        tuple(getattr(t, "datatype", None) for t in row) for row in want]


def test_csv_is_crlf_and_lossy_by_the_spec(result) -> None:
    text = render(result, "csv")
    assert text.startswith("a,b,c\r\n") and text.endswith("\r\n")
    parsed = Result.parse(io.BytesIO(text.encode()), format="csv")
    assert [str(row[0]) if row[0] is not None else None for row in parsed] == [
        "https://example.org/a", "https://example.org/b", "https://example.org/é", None]


@pytest.mark.parametrize("answer", [True, False])
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_ask_reads_back(answer: bool, fmt: str) -> None:
    raw = ox.Store().query("ASK {}" if answer else "ASK { FILTER(false) }")
    text = render(materialise(raw, None), fmt)
    assert text.endswith("\n")
    assert Result.parse(io.BytesIO(text.encode()), format=fmt).askAnswer is answer


def test_capped_rows_are_what_is_written() -> None:
    capped = materialise(ox.Store().query(ROWS), 2)
    assert capped.truncated
    parsed = Result.parse(io.BytesIO(render(capped, "json").encode()), format="json")
    assert len(list(parsed)) == 2


def test_a_blank_node_and_a_triple_term_survive_the_round_trip() -> None:
    store = ox.Store()
    store.add(ox.Quad(ox.BlankNode("n1"), ox.NamedNode("https://example.org/p"),
                      ox.Literal("x")))
    query = ("SELECT ?s ?t WHERE { ?s ?p ?o "
             "BIND(TRIPLE(<https://example.org/s>, <https://example.org/p>, 1) AS ?t) }")
    text = render(materialise(store.query(query), None), "json")
    assert text == store.query(query).serialize(format=ox.QueryResultsFormat.JSON).decode() + "\n"
