"""`guidegraph serve` over HTTP, exercised with real SPARQL clients (SPARQLWrapper, rdflib).

Answers are held to the embedded store's own answers for the same query; writes to the
refusals and the token; limits to a runaway query and a small row cap.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pyoxigraph as ox
import pytest
import rdflib
from SPARQLWrapper import CSV, JSON, JSONLD, POST, RDFXML, TSV, TURTLE, XML, SPARQLWrapper

from guidegraph.store import versions
from guidegraph.store.base import EmbeddedStore
from guidegraph.store.results import render

from .conftest import Server, clean_env

ROOT = Path(__file__).parents[2]
EXAMPLE = ROOT / "examples" / "m1-embolic-late.json"
PREFIXES = """PREFIX gg: <https://w3id.org/guidegraph/ontology#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
"""
RECS = PREFIXES + """SELECT ?rec ?id ?strength WHERE {
  ?rec a gg:Recommendation ; skos:notation ?id . OPTIONAL { ?rec gg:strength ?strength }
} ORDER BY ?id"""
RECS_GRAPH = PREFIXES + """CONSTRUCT { ?rec skos:notation ?id ; gg:strength ?s }
WHERE { ?rec a gg:Recommendation ; skos:notation ?id ; gg:strength ?s }"""
#: Every stored triple but the audit log's (an update adds its own entry there)
COUNT_ALL = ("SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } "
             "FILTER(?g != <https://w3id.org/guidegraph/graph/log>) }")
RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"


def http(url: str, *, data: dict[str, str] | bytes | None = None,
         headers: dict[str, str] | None = None, method: str | None = None
         ) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body, without raising on 4xx/5xx."""
    body = urllib.parse.urlencode(data).encode() if isinstance(data, dict) else data
    request = urllib.request.Request(url, data=body, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def get(server: Server, query: str, accept: str | None = None, **params: str
        ) -> tuple[int, dict[str, str], bytes]:
    qs = urllib.parse.urlencode({"query": query, **params})
    return http(f"{server.sparql}?{qs}", headers={"Accept": accept} if accept else {})


def expected(reference: EmbeddedStore, query: str, fmt: str) -> str:
    result = reference.query(query, default_graphs=versions.current_dataset(reference))
    return render(result, fmt)


def count(server: Server) -> int:
    _, _, body = get(server, COUNT_ALL, "application/sparql-results+json")
    return int(json.loads(body)["results"]["bindings"][0]["n"]["value"])


def client(server: Server, fmt: str, query: str) -> SPARQLWrapper:
    sw = SPARQLWrapper(server.sparql)
    sw.setReturnFormat(fmt)
    sw.setQuery(query)
    return sw


# -- queries: same answers as the store itself ----------------------------------------
def test_select_json_matches_store(server: Server, reference: EmbeddedStore) -> None:
    got = client(server, JSON, RECS).query().convert()
    assert got == json.loads(expected(reference, RECS, "json"))
    assert len(got["results"]["bindings"]) > 10


@pytest.mark.parametrize(("fmt", "name"), [(XML, "xml"), (CSV, "csv"), (TSV, "tsv")])
def test_select_other_formats_match_store(server: Server, reference: EmbeddedStore,
                                          fmt: str, name: str) -> None:
    response = client(server, fmt, RECS).query()
    assert response.response.read().decode() == expected(reference, RECS, name)


def test_select_with_post_and_rdflib_sparqlstore(server: Server,
                                                 reference: EmbeddedStore) -> None:
    sw = client(server, JSON, RECS)
    sw.setMethod(POST)
    assert sw.query().convert() == json.loads(expected(reference, RECS, "json"))
    from rdflib.plugins.stores.sparqlstore import SPARQLStore

    graph = rdflib.Graph(store=SPARQLStore(server.sparql, returnFormat="json"))
    rows = [(str(r[0]), str(r[1])) for r in graph.query(RECS)]
    want = reference.query(RECS, default_graphs=versions.current_dataset(reference)).table
    assert want is not None
    assert rows == [(r[0].value, r[1].value) for r in want.rows]


def test_ask(server: Server) -> None:
    assert client(server, JSON, PREFIXES + "ASK { ?r a gg:Recommendation }"
                  ).query().convert()["boolean"] is True
    doc = client(server, XML, "ASK { <urn:x:none> ?p ?o }").query().convert()
    assert doc.getElementsByTagName("boolean")[0].firstChild.data == "false"


def _triples(data: bytes, fmt: ox.RdfFormat) -> set[str]:
    return {str(q.triple) for q in ox.parse(data, format=fmt)}


def test_construct_turtle_ntriples_jsonld_match_store(server: Server,
                                                      reference: EmbeddedStore) -> None:
    want = _triples(expected(reference, RECS_GRAPH, "ntriples").encode(),
                    ox.RdfFormat.N_TRIPLES)
    assert len(want) > 10
    turtle = client(server, TURTLE, RECS_GRAPH).query().convert()
    assert _triples(turtle, ox.RdfFormat.TURTLE) == want
    status, headers, body = get(server, RECS_GRAPH, "application/n-triples")
    assert status == 200 and headers["Content-Type"].startswith("application/n-triples")
    assert _triples(body, ox.RdfFormat.N_TRIPLES) == want
    for fmt in (JSONLD, RDFXML):  # converted by SPARQLWrapper into an rdflib graph
        graph = client(server, fmt, RECS_GRAPH).query().convert()
        assert {f"{s.n3()} {p.n3()} {o.n3()}" for s, p, o in graph} == want


def test_dataset_from_protocol_parameters(server: Server, reference: EmbeddedStore) -> None:
    onto = next(g for g in reference.graph_names() if "/graph/ontology/" in g)
    query = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
    _, _, body = get(server, query, "application/sparql-results+json",
                     **{"default-graph-uri": onto})
    got = int(json.loads(body)["results"]["bindings"][0]["n"]["value"])
    assert got == len(reference.graph_triples(onto))
    status, _, body = get(server, "SELECT ?g WHERE { GRAPH ?g { ?s ?p ?o } } LIMIT 1",
                          "text/csv", **{"named-graph-uri": onto})
    assert status == 200 and body.decode().split()[1:] == [onto]


# -- content negotiation ------------------------------------------------------------------
@pytest.mark.parametrize(("accept", "media"), [
    (None, "application/sparql-results+json"),
    ("*/*", "application/sparql-results+json"),
    ("text/csv", "text/csv"),
    ("text/tab-separated-values", "text/tab-separated-values"),
    ("application/sparql-results+xml", "application/sparql-results+xml"),
    ("text/html;q=1, text/csv;q=0.5", "text/csv"),
])
def test_select_negotiation(server: Server, accept: str | None, media: str) -> None:
    status, headers, _ = get(server, RECS, accept)
    assert status == 200
    assert headers["Content-Type"].split(";")[0] == media


def test_format_parameter_overrides_accept(server: Server) -> None:
    status, headers, body = get(server, RECS, "application/sparql-results+json", format="tsv")
    assert status == 200 and headers["Content-Type"].startswith("text/tab-separated-values")
    assert body.startswith(b"?rec\t?id\t?strength")


@pytest.mark.parametrize(("query", "accept"), [
    (RECS, "text/html"), (RECS, "text/turtle"), (RECS_GRAPH, "application/sparql-results+json"),
])
def test_unacceptable_type_is_406(server: Server, query: str, accept: str) -> None:
    status, _, body = get(server, query, accept)
    assert status == 406 and b"available" in body


def test_direct_post_body(server: Server) -> None:
    status, _, body = http(server.sparql, data=b"ASK { ?s ?p ?o }", headers={
        "Content-Type": "application/sparql-query", "Accept": "text/csv"})
    assert status == 200 and body.strip() == b"true"


# -- service description ------------------------------------------------------------------
def test_service_description(server: Server) -> None:
    status, headers, body = http(server.sparql)
    assert status == 200 and headers["Content-Type"].startswith("text/turtle")
    graph = rdflib.Graph().parse(data=body, format="turtle")
    sd = rdflib.Namespace("http://www.w3.org/ns/sparql-service-description#")
    service = graph.value(predicate=sd.endpoint, object=rdflib.URIRef(server.sparql))
    assert service is not None
    assert (service, rdflib.RDF.type, sd.Service) in graph
    assert (service, sd.supportedLanguage, sd.SPARQL11Query) in graph
    formats = set(graph.objects(service, sd.resultFormat))
    assert rdflib.URIRef("http://www.w3.org/ns/formats/SPARQL_Results_CSV") in formats


# -- refusals ------------------------------------------------------------------------------
def test_service_clause_is_refused(server: Server) -> None:
    status, _, body = get(server, "SELECT * WHERE { SERVICE <http://example.org/sparql> "
                                  "{ ?s ?p ?o } }")
    assert status == 400 and b"SERVICE" in body


def test_syntax_error_is_400(server: Server) -> None:
    status, _, body = get(server, "SELECT ?s WHERE { ?s ?p }")
    assert status == 400 and b"not valid SPARQL" in body


def test_anonymous_update_is_refused_and_writes_nothing(server: Server) -> None:
    before = count(server)
    status, _, body = http(server.url + "/update",
                           data={"update": "INSERT DATA { GRAPH <urn:x:g> { <urn:x:s> "
                                           "<urn:x:p> <urn:x:o> } }"})
    assert status == 403 and b"read-only" in body and b"--update-token" in body
    assert count(server) == before


def test_update_needs_the_token(token_server: Server) -> None:
    update = "INSERT DATA { GRAPH <urn:x:g> { <urn:x:s> <urn:x:p> <urn:x:o> } }"
    before = count(token_server)
    status, headers, _ = http(token_server.url + "/update", data={"update": update})
    assert status == 401 and headers["WWW-Authenticate"].startswith("Bearer")
    status, _, _ = http(token_server.url + "/update", data={"update": update},
                        headers={"Authorization": "Bearer wrong"})
    assert status == 403
    assert count(token_server) == before

    sw = SPARQLWrapper(token_server.sparql, updateEndpoint=token_server.url + "/update")
    sw.addCustomHttpHeader("Authorization", "Bearer secret")
    sw.setMethod(POST)
    sw.setQuery(update)
    sw.query()
    assert count(token_server) == before + 1
    status, _, _ = get(token_server, "ASK { GRAPH <urn:x:g> { <urn:x:s> <urn:x:p> ?o } }",
                       "text/csv")
    assert status == 200


def test_update_with_load_is_refused_even_with_the_token(token_server: Server) -> None:
    status, _, body = http(token_server.url + "/update",
                           data={"update": "LOAD <http://example.org/data.ttl>"},
                           headers={"Authorization": "Bearer secret"})
    assert status == 400 and b"LOAD" in body


# -- reasoner ----------------------------------------------------------------------------
def test_reason_matches_the_cli(server: Server) -> None:
    cli = subprocess.run([sys.executable, "-m", "guidegraph", "reason", str(EXAMPLE),
                          "--format", "json"], capture_output=True, check=True,
                         env=clean_env())
    status, headers, body = http(server.url + "/reason", data=EXAMPLE.read_bytes(),
                                 headers={"Content-Type": "application/json"})
    assert status == 200 and headers["Content-Type"] == "application/json"
    assert json.loads(body) == json.loads(cli.stdout)


def test_reason_bad_case_names_the_key(server: Server) -> None:
    case = {"id": "bad", "minutes_since_onset": 99999}
    status, _, body = http(server.url + "/reason", data=json.dumps(case).encode(),
                           headers={"Content-Type": "application/json"})
    doc = json.loads(body)
    assert status == 400
    assert doc["key"] == "minutes_since_onset" and doc["value"] == 99999
    assert "minutes_since_onset" in doc["error"] and "allowed" in doc["error"]
    status, _, body = http(server.url + "/reason", data=b'{"id": "x", "tici ": "3"}',
                           headers={"Content-Type": "application/json"})
    assert status == 400 and json.loads(body)["key"] == "tici "


def test_reason_refuses_an_unbounded_number_with_a_short_answer(server: Server) -> None:
    """43 bytes in, a short 400 out (it used to be a 2 GB answer): the number's text is
    bounded before it is converted or quoted; a repeated key is refused the same way."""
    for data, key in ((b'{"id":"c1","stenosis_percent":1e999999999}', "stenosis_percent"),
                      (b'{"id":"c1","evt_passes":25,"evt_passes":3}', "evt_passes")):
        status, _, body = http(server.url + "/reason", data=data,
                               headers={"Content-Type": "application/json"})
        assert status == 400 and len(body) < 2_000, (status, len(body))
        doc = json.loads(body)
        assert doc["key"] == key and key in doc["error"]


def test_reason_save_needs_the_token(server: Server, token_server: Server) -> None:
    status, _, _ = http(server.url + "/reason?save=true", data=EXAMPLE.read_bytes())
    assert status == 403
    status, _, body = http(token_server.url + "/reason?save=true", data=EXAMPLE.read_bytes(),
                           headers={"Authorization": "Bearer secret"})
    assert status == 200
    run = json.loads(body)["provenance"]
    status, _, body = get(token_server, f"ASK {{ GRAPH <{run}> {{ ?s ?p ?o }} }}", "text/csv")
    assert body.strip() == b"true"


# -- health and audit ----------------------------------------------------------------------
def test_health(server: Server, token_server: Server) -> None:
    status, _, body = http(server.url + "/health")
    doc = json.loads(body)
    assert status == 200 and doc["status"] == "ok" and doc["read_only"] is True
    assert doc["store"] == str(server.store)
    assert "rescue-stenting" in [g["id"] for g in doc["guidelines"]]
    assert json.loads(http(token_server.url + "/health")[2])["read_only"] is False


def test_audit_pages_answer_html(server: Server) -> None:
    status, headers, body = http(server.url + "/audit")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert b"Provenance audit" in body and b"<script" not in body
    status, _, body = http(server.url + "/audit?page=x")
    assert status == 200
    for bad in ("<b>x</b>", "https://w3id.org/guidegraph/run/<i>nope</i>"):
        status, _, body = http(server.url + "/audit/run?iri=" + urllib.parse.quote(bad))
        assert status == 400 and b"&lt;" in body and b"<b>x" not in body and b"<i>" not in body
    missing = "https://w3id.org/guidegraph/run/0000"
    status, _, body = http(server.url + "/audit/run?iri=" + urllib.parse.quote(missing))
    assert status == 404 and b"no run &lt;https://w3id.org/guidegraph/run/0000&gt;" in body


# -- limits ----------------------------------------------------------------------------
def test_runaway_query_is_cancelled_and_the_server_keeps_answering(
        limited_server: Server) -> None:
    # The server's own 2 s limit answers 503 naming it; a query it failed to cancel would
    # outlast the client's 30 s timeout and raise instead.
    status, _, body = get(limited_server, RUNAWAY, "application/sparql-results+json")
    assert status == 503 and b"2 s" in body
    status, _, body = get(limited_server, "ASK { ?s ?p ?o }", "text/csv")
    assert status == 200 and body.strip() == b"true"
    assert http(limited_server.url + "/health")[0] == 200


def test_row_cap(limited_server: Server, reference: EmbeddedStore) -> None:
    status, headers, body = get(limited_server, RECS, "application/sparql-results+json")
    assert status == 200 and headers.get("X-Guidegraph-Truncated") == "true"
    rows = json.loads(body)["results"]["bindings"]
    full = json.loads(expected(reference, RECS, "json"))["results"]["bindings"]
    assert rows == full[:3]
    status, headers, _ = get(limited_server, RECS + " LIMIT 2", "text/csv")
    assert status == 200 and "X-Guidegraph-Truncated" not in headers
