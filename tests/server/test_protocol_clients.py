"""Protocol details real clients rely on: SPARQLWrapper's format names (``n3``) with the
Accept header honoured when a name is unknown, TriG and N-Quads for graphs, RDF/XML with
only the namespaces it uses, a landing page at ``/``, and a clear exit for a port in use."""

from __future__ import annotations

import socket
import subprocess
import sys
import xml.dom.minidom

import pyoxigraph as ox
import pytest
from SPARQLWrapper import N3, SPARQLWrapper

from .conftest import Server, clean_env
from .test_server import RECS, RECS_GRAPH, get, http


def _graph(body: bytes, fmt: ox.RdfFormat) -> set:
    return set(ox.parse(body, format=fmt))


def test_sparqlwrapper_n3_gets_turtle(server: Server) -> None:
    sw = SPARQLWrapper(server.sparql)
    sw.setReturnFormat(N3)
    sw.setQuery(RECS_GRAPH)
    graph = sw.query().convert()  # SPARQLWrapper parses the Turtle answer
    assert len(graph) > 20


@pytest.mark.parametrize(("name", "media"), [
    ("n3", "text/turtle"), ("turtle", "text/turtle"), ("json", "application/ld+json"),
    ("xml", "application/rdf+xml"), ("trig", "application/trig"),
    ("nquads", "application/n-quads")])
def test_usual_format_names_for_graphs(server: Server, name: str, media: str) -> None:
    status, headers, _ = get(server, RECS_GRAPH, None, format=name)
    assert status == 200
    assert headers["Content-Type"].split(";")[0] == media


@pytest.mark.parametrize(("name", "media"), [
    ("json", "application/sparql-results+json"), ("xml", "application/sparql-results+xml"),
    ("csv", "text/csv"), ("tsv", "text/tab-separated-values")])
def test_usual_format_names_for_results(server: Server, name: str, media: str) -> None:
    status, headers, _ = get(server, RECS, None, format=name)
    assert status == 200
    assert headers["Content-Type"].split(";")[0] == media


def test_an_unknown_format_name_leaves_the_choice_to_accept(server: Server) -> None:
    status, headers, _ = get(server, RECS_GRAPH, "application/n-triples", format="rdf")
    assert status == 200 and headers["Content-Type"] == "application/n-triples"
    status, headers, _ = get(server, RECS, "text/csv", format="whatever")
    assert status == 200 and headers["Content-Type"].startswith("text/csv")


def test_a_known_name_that_does_not_fit_is_406(server: Server) -> None:
    status, _, body = get(server, RECS_GRAPH, "text/turtle", format="csv")
    assert status == 406 and b"available" in body


def test_trig_and_nquads_hold_the_same_triples_as_turtle(server: Server) -> None:
    _, _, turtle = get(server, RECS_GRAPH, "text/turtle")
    want = {(t.subject, t.predicate, t.object) for t in _graph(turtle, ox.RdfFormat.TURTLE)}
    for media, fmt in (("application/trig", ox.RdfFormat.TRIG),
                       ("application/n-quads", ox.RdfFormat.N_QUADS)):
        status, headers, body = get(server, RECS_GRAPH, media)
        assert status == 200 and headers["Content-Type"] == media
        quads = _graph(body, fmt)
        assert {q.graph_name for q in quads} == {ox.DefaultGraph()}
        assert {(q.subject, q.predicate, q.object) for q in quads} == want


def test_rdfxml_declares_only_the_namespaces_it_uses(server: Server) -> None:
    status, _, body = get(server, RECS_GRAPH, "application/rdf+xml")
    assert status == 200
    root = xml.dom.minidom.parseString(body).documentElement
    declared = {a.name.split(":", 1)[1] for a in root.attributes.values()
                if a.name.startswith("xmlns:")}
    used = {n.prefix for n in root.getElementsByTagName("*") if n.prefix} | {
        a.prefix for n in root.getElementsByTagName("*") for a in n.attributes.values()
        if a.prefix and a.prefix != "xmlns"}
    assert declared == used, (declared, used)
    assert "its" not in declared


def test_the_landing_page_links_the_services(server: Server) -> None:
    status, headers, body = http(server.url + "/")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    page = body.decode()
    for href in ('href="/sparql"', 'href="/audit"', 'href="/health"'):
        assert href in page
    assert "read-only: updates are refused" in page


def test_a_port_in_use_exits_2_with_a_clear_message(tmp_path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        subprocess.run([sys.executable, "-m", "guidegraph", "load", "--store",
                        str(tmp_path / "s")], check=True, capture_output=True, env=clean_env())
        done = subprocess.run([sys.executable, "-m", "guidegraph", "serve", "--port", str(port),
                               "--store", str(tmp_path / "s")], capture_output=True, text=True,
                              env=clean_env(), timeout=120)
    assert done.returncode == 2
    assert f"guidegraph: cannot listen on 127.0.0.1:{port}: Address already in use" in (
        done.stderr)
