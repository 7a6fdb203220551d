"""The SPARQL 1.1 Protocol: queries at ``/sparql`` (with the service description), updates
at ``/update``; formats negotiated by the ``format`` parameter or the Accept header."""

from __future__ import annotations

from typing import Any

import pyoxigraph as ox
from flask import Response, request

from guidegraph.errors import GuidegraphError
from guidegraph.rdf_formats import BY_NAME
from guidegraph.serve.responses import plain
from guidegraph.serve.service import authorize, service
from guidegraph.store.results import MEDIA_TYPES
from guidegraph.store.sparql import QueryRefused, QuerySyntaxError, check_nesting, query_form
from guidegraph.store.worker import QueryTimeout, ResourceLimit
from guidegraph.vocab import FORMATS, RDF_TYPE, RDFS, SD

TRUNCATED_HEADER = "X-Guidegraph-Truncated"

# Offers per query form, best first: (media type, render format).
_RESULT_OFFERS = [
    ("application/sparql-results+json", "json"), ("application/json", "json"),
    ("application/sparql-results+xml", "xml"), ("application/xml", "xml"), ("text/xml", "xml"),
    ("text/csv", "csv"), ("text/tab-separated-values", "tsv"),
]
_GRAPH_OFFERS = [
    ("text/turtle", "turtle"), ("application/turtle", "turtle"),
    ("application/x-turtle", "turtle"), ("application/n-triples", "ntriples"),
    ("application/ld+json", "jsonld"), ("application/rdf+xml", "rdfxml"),
    ("application/trig", "trig"), ("application/n-quads", "nquads"), ("text/n3", "turtle"),
]
# ``format`` parameter values (short names as SPARQLWrapper and others send them).
_RESULT_NAMES = {"json": "json", "srj": "json", "xml": "xml", "srx": "xml", "csv": "csv",
                 "tsv": "tsv"}
_GRAPH_NAMES = {"turtle": "turtle", "ttl": "turtle", "ntriples": "ntriples",
                "n-triples": "ntriples", "nt": "ntriples", "jsonld": "jsonld",
                "json-ld": "jsonld", "json": "jsonld", "rdfxml": "rdfxml", "rdf+xml": "rdfxml",
                "xml": "rdfxml", "n3": "turtle", "trig": "trig", "nquads": "nquads",
                "n-quads": "nquads", "nq": "nquads"}

_SD_RESULT_FORMATS = ["SPARQL_Results_JSON", "SPARQL_Results_XML", "SPARQL_Results_CSV",
                      "SPARQL_Results_TSV", "Turtle", "N-Triples", "JSON-LD", "RDF_XML",
                      "TriG", "N-Quads"]


def sparql() -> Response:
    svc = service()
    text, problem = _query_text()
    if problem is not None:
        return problem
    if text is None:
        return _service_description(svc.token is not None)
    try:
        check_nesting(text)
        form = query_form(text)  # from the prologue: nothing here parses the query
    except (QueryRefused, QuerySyntaxError) as exc:
        return plain(400, str(exc))
    fmt = _negotiate(_GRAPH_OFFERS if form == "CONSTRUCT" else _RESULT_OFFERS,
                     _GRAPH_NAMES if form == "CONSTRUCT" else _RESULT_NAMES)
    if fmt is None:
        offers = _GRAPH_OFFERS if form == "CONSTRUCT" else _RESULT_OFFERS
        return plain(406, f"cannot answer a {form} query as "
                          f"{request.headers.get('Accept', '')!r}; available: "
                          f"{', '.join(m for m, _ in offers)}")
    default_graphs = request.values.getlist("default-graph-uri") or None
    named_graphs = request.values.getlist("named-graph-uri") or None
    if default_graphs is not None or named_graphs is not None:
        default_graphs, named_graphs = default_graphs or [], named_graphs or []
    try:
        body, truncated, _form = svc.backend.query(text, fmt, default_graphs, named_graphs,
                                                   svc.config.max_rows)
    except GuidegraphError as exc:
        return _store_failure(exc)
    response = Response(body, status=200, content_type=MEDIA_TYPES[fmt])
    response.headers["Vary"] = "Accept"
    if truncated:
        response.headers[TRUNCATED_HEADER] = "true"
        response.headers["X-Guidegraph-Row-Cap"] = str(svc.config.max_rows)
    return response


def update() -> Response:
    svc = service()
    refusal = authorize("SPARQL Update")
    if refusal is not None:
        return refusal
    if request.mimetype == "application/sparql-update":
        text = request.get_data(as_text=True)
    elif request.mimetype == "application/x-www-form-urlencoded":
        texts = request.form.getlist("update")
        if len(texts) != 1:
            return plain(400, "give exactly one 'update' parameter")
        text = texts[0]
    else:
        return plain(415, "send the update as application/sparql-update or as the "
                          "'update' parameter of an application/x-www-form-urlencoded body")
    if request.values.getlist("using-graph-uri") or request.values.getlist(
            "using-named-graph-uri"):
        return plain(400, "using-graph-uri / using-named-graph-uri are not supported; "
                          "write USING or GRAPH in the update itself")
    try:
        svc.backend.update(text, svc.token_name)  # guarded, applied and logged in the worker
    except GuidegraphError as exc:
        return _store_failure(exc)
    return Response(status=204)


def _query_text() -> tuple[str | None, Response | None]:
    """The query of a protocol request (None: none given), or the error response."""
    if request.method == "GET":
        texts = request.args.getlist("query")
    elif request.mimetype == "application/sparql-query":
        return request.get_data(as_text=True), None
    elif request.mimetype == "application/x-www-form-urlencoded":
        texts = request.form.getlist("query")
    else:
        return None, plain(415, "send the query as application/sparql-query or as the 'query' "
                                "parameter of an application/x-www-form-urlencoded body")
    if len(texts) > 1:
        return None, plain(400, "give exactly one 'query' parameter")
    if not texts and request.method == "POST":
        return None, plain(400, "give a 'query' parameter")
    return (texts[0] if texts else None), None


def _negotiate(offers: list[tuple[str, str]], names: dict[str, str]) -> str | None:
    """The render format: the ``format`` parameter if given, else the Accept header."""
    by_type = dict(offers)
    asked = [v.strip().lower() for v in request.values.getlist("format") if v.strip()]
    for value in asked:
        fmt = names.get(value) or by_type.get(value.split(";")[0].strip())
        if fmt:
            return fmt
    if any(_known_format(v) for v in asked):
        return None  # a known name that does not fit this form (csv for a graph): 406
    # Unknown names (clients have their own, e.g. "rdf") leave the choice to Accept.
    accept = request.accept_mimetypes
    if not accept:
        return offers[0][1]
    best = accept.best_match([m for m, _ in offers])
    return by_type[best] if best else None


def _known_format(value: str) -> bool:
    """A ``format`` value this endpoint knows for some query form."""
    value = value.split(";")[0].strip()
    return value in _RESULT_NAMES or value in _GRAPH_NAMES or value in dict(
        _RESULT_OFFERS) or value in dict(_GRAPH_OFFERS)


def _service_description(updates: bool) -> Response:
    """SPARQL 1.1 Service Description of this endpoint, in a negotiated RDF format."""
    fmt = _negotiate([o for o in _GRAPH_OFFERS if o[1] in ("turtle", "ntriples", "jsonld")],
                     _GRAPH_NAMES) or "turtle"
    endpoint = ox.NamedNode(request.base_url)
    service = ox.BlankNode("service")
    triples = [
        ox.Triple(service, ox.NamedNode(RDF_TYPE),
                  sd("Service")),
        ox.Triple(service, sd("endpoint"), endpoint),
        ox.Triple(service, sd("supportedLanguage"), sd("SPARQL11Query")),
        ox.Triple(service, ox.NamedNode(RDFS + "comment"),
                  ox.Literal("Read-only SPARQL 1.1 query endpoint of guidegraph. The default "
                             "graph is the current knowledge (the current ontology and "
                             "guideline versions); every case, stored run and superseded "
                             "guideline version is a named graph, read with GRAPH. SERVICE, "
                             "LOAD and FROM are refused. Updates: POST /update, "
                             + ("with the update token as a Bearer token."
                                if updates else "disabled (no update token configured)."))),
    ]
    triples += [ox.Triple(service, sd("resultFormat"), ox.NamedNode(FORMATS + f))
                for f in _SD_RESULT_FORMATS]
    kind = BY_NAME[fmt].ox
    kwargs: dict[str, Any] = {"prefixes": {"sd": SD, "formats": FORMATS}} if (
        fmt == "turtle") else {}
    body = ox.serialize(triples, format=kind, **kwargs)
    response = Response(body, status=200, content_type=MEDIA_TYPES[fmt])
    response.headers["Vary"] = "Accept"
    return response


def sd(name: str) -> ox.NamedNode:
    return ox.NamedNode(SD + name)


def _store_failure(exc: GuidegraphError) -> Response:
    """A failed query or update in plain text: 503 when out of time or memory (try again,
    or ask for less), 400 when refused or not valid SPARQL, else 500."""
    if isinstance(exc, QueryTimeout | ResourceLimit):
        return plain(503, str(exc))
    if isinstance(exc, QueryRefused | QuerySyntaxError):
        return plain(400, str(exc))
    return plain(500, str(exc))
