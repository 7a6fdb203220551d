"""``guidegraph serve``: a SPARQL 1.1 Protocol endpoint, the reasoner over HTTP, health.

Paths: ``GET|POST /sparql`` (queries; without a query, the service description),
``POST /update`` (refused unless an update token is configured), ``POST /reason`` (a case
in, the result contract out), ``GET /health``, and the audit pages ``GET /audit`` and
``GET /audit/run?iri=…`` (:mod:`guidegraph.serve.pages`).

Safe by default: bound to 127.0.0.1, read-only, every query under a time limit and a row
cap. Embedded-store work runs in a worker process that is killed when a query overruns
(see :mod:`guidegraph.store.worker`); a remote engine gets the time limit as its HTTP
timeout. The server is werkzeug's threaded development server, fine for a local endpoint;
production deployments run :func:`create_app` under a WSGI server behind a proxy.
"""

from __future__ import annotations

import errno
import functools
import hmac
import ipaddress
import itertools
import json
import os
import re
import signal
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyoxigraph as ox
from flask import Flask, Response, request, url_for

from guidegraph.errors import CaseInputError, GuidegraphError
from guidegraph.knowledge.loading import read_parts
from guidegraph.rdf_formats import BY_NAME
from guidegraph.reasoning.reasoner import Reasoner, ReasonerCache
from guidegraph.serve.pages import PAGE_SIZE, AuditPages, error_page, landing_page
from guidegraph.store import versions
from guidegraph.store.base import (
    RemoteStore,
    Store,
    StoreError,
    check_store_path,
    default_store_path,
)
from guidegraph.store.log import APPEND_LOCK, logged_update
from guidegraph.store.results import MEDIA_TYPES
from guidegraph.store.sparql import QueryRefused, QuerySyntaxError, check_nesting, query_form
from guidegraph.store.versions import KnowledgeSource
from guidegraph.store.worker import (
    DEFAULT_MEMORY,
    QueryTimeout,
    ResourceLimit,
    StoreWorker,
    WorkerStore,
    run_protocol_query,
)
from guidegraph.vocab import FORMATS, RUN_BASE, SD

MAX_BODY = 64 * 1024 * 1024
MAX_FORM = 500_000  # werkzeug's default for url-encoded form data held in memory
#: Cases one POST /reason may hold: its answer holds a full result per case (about 10 KB),
#: so the answer stays around 10 MB; larger batches belong to `guidegraph reason` (streamed).
MAX_CASES_PER_REQUEST = 1_000
_ERRORS_SHOWN = 20
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
_CONTENT_TYPES = {**MEDIA_TYPES, "rdfxml": "application/rdf+xml", "trig": "application/trig",
                  "nquads": "application/n-quads"}

_SD_RESULT_FORMATS = ["SPARQL_Results_JSON", "SPARQL_Results_XML", "SPARQL_Results_CSV",
                      "SPARQL_Results_TSV", "Turtle", "N-Triples", "JSON-LD", "RDF_XML",
                      "TriG", "N-Quads"]


@dataclass(frozen=True)
class ServeConfig:
    """What ``guidegraph serve`` was started with."""

    store: str | None = None
    host: str = "127.0.0.1"
    port: int = 7878
    update_token: str | None = None
    query_timeout: float = 30.0
    max_rows: int = 10_000
    #: Host header names accepted; empty: derived from ``host`` (see trusted_hosts)
    allowed_hosts: tuple[str, ...] = ()
    #: The query worker's memory cap in MiB (0: none)
    worker_memory: int = DEFAULT_MEMORY // 2**20

    def trusted_hosts(self) -> list[str] | None:
        """The Host header names to accept: those given, else the loopback names for a
        loopback address, else the address itself; None (any) for a wildcard address, where
        the names the machine answers to are not known (serve warns)."""
        if self.allowed_hosts:
            return list(self.allowed_hosts)
        if self.host in ("", "0.0.0.0", "::"):
            return None
        if _loopback(self.host):
            return ["localhost", "127.0.0.1", "::1", "[::1]"]
        return [self.host]


#: Headers on every answer: no content sniffing, no framing, and, for the pages, nothing but
#: their own inline style (they load no script, font or image).
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                               "frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    "Referrer-Policy": "no-referrer",
}
#: The documented values of ``/reason?save=``
_SAVE_VALUES = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


class Backend:
    """The store behind the endpoint: the worker-owned embedded store or a remote engine.

    Either way one worker process (:mod:`guidegraph.store.worker`) is where untrusted query
    text is parsed: for the embedded store it also evaluates it; for a remote engine it only
    guards it, and the engine evaluates. The server process itself scans a text's prologue
    and nesting only (pure Python, linear)."""

    def __init__(self, config: ServeConfig) -> None:
        self.timeout = config.query_timeout
        # Knowledge loading and saving are ours, not a user's query: give them more time.
        self.internal_timeout = max(config.query_timeout, 120.0)
        memory = config.worker_memory * 2**20 or None
        spec = config.store or None
        if spec and re.match(r"^https?://", spec):
            self.store: Store = RemoteStore(spec, timeout=config.query_timeout)
            self.worker = StoreWorker(None, memory_limit=memory)
        else:
            path = Path(spec).expanduser() if spec else default_store_path()
            # Without the token the server only reads: a path with no store is refused.
            if not check_store_path(path, write=bool(config.update_token)):
                print(f"guidegraph: created a new store at {path}", file=sys.stderr, flush=True)
            self.worker = StoreWorker(path, memory_limit=memory)
            self.store = WorkerStore(self.worker, self.internal_timeout)
        self.worker.start()
        self.location = self.store.location

    def query(self, text: str, fmt: str, default_graphs: list[str] | None,
              named_graphs: list[str] | None, row_cap: int) -> tuple[str, bool, str]:
        """Body, truncated, form of an untrusted query, all of it under the time limit."""
        if isinstance(self.store, WorkerStore):
            return self.store.protocol_query(text, fmt, default_graphs, named_graphs, row_cap,
                                             self.timeout)
        remote = self._checked_remote(text)
        try:
            if default_graphs is None and named_graphs is None:
                default_graphs = versions.current_dataset(remote)
            return run_protocol_query(remote, text, fmt, default_graphs, named_graphs,
                                      row_cap, checked=True)
        except StoreError as exc:
            raise _remote_timeout(exc, self.timeout) from None

    def update(self, text: str, actor: str) -> None:
        """An untrusted update, guarded and applied under the time limit, and logged as
        ``actor``'s with the content hash of each graph it changed, before and after
        (:func:`~guidegraph.store.log.logged_update`)."""
        if isinstance(self.store, WorkerStore):
            self.store.user_update(text, self.timeout, actor)
            return
        with APPEND_LOCK:
            remote = self._checked_remote(text)

            def apply(update: str) -> None:
                try:
                    remote.update(update)
                except StoreError as exc:
                    raise _remote_timeout(exc, self.timeout) from None

            logged_update(self.store, text, actor, apply=apply)

    def _checked_remote(self, text: str) -> RemoteStore:
        """Guard the text in the worker; the remote engine for the time that is left."""
        assert isinstance(self.store, RemoteStore)
        started = time.monotonic()
        check_nesting(text)
        self.worker.call("check", text, self.timeout)
        left = max(self.timeout - (time.monotonic() - started), 0.1)
        return RemoteStore(self.store.url, self.store.update_url, timeout=left)

    def health(self) -> dict[str, Any]:
        isolation = self.worker.isolation
        return {**(isolation.to_json() if isolation else {}),
                "restarts": self.worker.restarts}

    def close(self) -> None:
        self.worker.close()


def _remote_timeout(exc: StoreError, timeout: float) -> GuidegraphError:
    if "timed out" in str(exc):
        return QueryTimeout(f"cancelled: the SPARQL engine did not answer within the time "
                            f"limit of {timeout:g} s (--query-timeout)")
    return exc


def knowledge_chooser(store: Store) -> Callable[[], tuple[KnowledgeSource, Reasoner]]:
    """What each request reasons and audits with: the knowledge
    :func:`~guidegraph.store.versions.current_knowledge` chooses at that moment (so a load
    is seen at once), and its reasoner, built once per knowledge version."""
    reasoners = ReasonerCache()
    shipped = functools.cache(read_parts)  # the shipped files, read once if ever needed

    def current() -> tuple[KnowledgeSource, Reasoner]:
        source = versions.current_knowledge(store, shipped=shipped)
        return source, reasoners.get(source.key, source.build)

    return current


# ----------------------------------------------------------------------------------------
# The application
# ----------------------------------------------------------------------------------------
def create_app(config: ServeConfig, backend: Backend | None = None) -> Flask:
    """The WSGI application (run it under any WSGI server; ``serve`` uses werkzeug's)."""
    backend = backend or Backend(config)
    current = knowledge_chooser(backend.store)
    current()  # the knowledge is checked (and compiled) before the first request
    token_name, token = split_token(config.update_token) if config.update_token else (
        "", None)

    app = Flask("guidegraph")
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY
    app.config["MAX_FORM_MEMORY_SIZE"] = MAX_FORM
    app.config["TRUSTED_HOSTS"] = config.trusted_hosts()  # Flask answers 400 to others
    app.extensions["guidegraph.backend"] = backend

    @app.errorhandler(413)
    def too_large(_exc: Exception) -> Response:
        return _text(413, f"request too large: a body holds at most {MAX_BODY // 2**20} MB, "
                          f"and form fields at most {MAX_FORM // 1000} KB; send a large query "
                          "as application/sparql-query (an update as application/sparql-update)")

    @app.after_request
    def security_headers(response: Response) -> Response:
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    def authorize(what: str) -> Response | None:
        """None when the request may write; otherwise the refusal to send."""
        if token is None:
            return _text(403, f"{what} refused: this endpoint is read-only. Start the server "
                              "with --update-token TOKEN (or GUIDEGRAPH_UPDATE_TOKEN) and send "
                              "'Authorization: Bearer TOKEN' to allow writes.")
        header = request.headers.get("Authorization", "")
        scheme, _, given = header.partition(" ")
        if not header or scheme.lower() != "bearer":
            response = _text(401, f"{what} needs 'Authorization: Bearer TOKEN' (the update "
                                  "token this server was started with).")
            response.headers["WWW-Authenticate"] = 'Bearer realm="guidegraph"'
            return response
        if not hmac.compare_digest(given.strip().encode(), token.encode()):
            return _text(403, f"{what} refused: the bearer token is not this server's update "
                              "token.")
        return None

    @app.route("/sparql", methods=["GET", "POST"])
    def sparql() -> Response:
        text, problem = _query_text()
        if problem is not None:
            return problem
        if text is None:
            return _service_description(token is not None)
        try:
            check_nesting(text)
            form = query_form(text)  # from the prologue: nothing here parses the query
        except (QueryRefused, QuerySyntaxError) as exc:
            return _text(400, str(exc))
        fmt = _negotiate(_GRAPH_OFFERS if form == "CONSTRUCT" else _RESULT_OFFERS,
                         _GRAPH_NAMES if form == "CONSTRUCT" else _RESULT_NAMES)
        if fmt is None:
            offers = _GRAPH_OFFERS if form == "CONSTRUCT" else _RESULT_OFFERS
            return _text(406, f"cannot answer a {form} query as "
                              f"{request.headers.get('Accept', '')!r}; available: "
                              f"{', '.join(m for m, _ in offers)}")
        default_graphs = request.values.getlist("default-graph-uri") or None
        named_graphs = request.values.getlist("named-graph-uri") or None
        if default_graphs is not None or named_graphs is not None:
            default_graphs, named_graphs = default_graphs or [], named_graphs or []
        try:
            body, truncated, _form = backend.query(text, fmt, default_graphs, named_graphs,
                                                   config.max_rows)
        except (QueryTimeout, ResourceLimit) as exc:
            return _text(503, str(exc))
        except (QueryRefused, QuerySyntaxError) as exc:
            return _text(400, str(exc))
        except GuidegraphError as exc:
            return _text(500, str(exc))
        response = Response(body, status=200, content_type=_CONTENT_TYPES[fmt])
        response.headers["Vary"] = "Accept"
        if truncated:
            response.headers[TRUNCATED_HEADER] = "true"
            response.headers["X-Guidegraph-Row-Cap"] = str(config.max_rows)
        return response

    @app.post("/update")
    def update() -> Response:
        refusal = authorize("SPARQL Update")
        if refusal is not None:
            return refusal
        if request.mimetype == "application/sparql-update":
            text = request.get_data(as_text=True)
        elif request.mimetype == "application/x-www-form-urlencoded":
            texts = request.form.getlist("update")
            if len(texts) != 1:
                return _text(400, "give exactly one 'update' parameter")
            text = texts[0]
        else:
            return _text(415, "send the update as application/sparql-update or as the "
                              "'update' parameter of an application/x-www-form-urlencoded body")
        if request.values.getlist("using-graph-uri") or request.values.getlist(
                "using-named-graph-uri"):
            return _text(400, "using-graph-uri / using-named-graph-uri are not supported; "
                              "write USING or GRAPH in the update itself")
        try:
            backend.update(text, token_name)  # guarded, applied and logged in the worker
        except (QueryTimeout, ResourceLimit) as exc:
            return _text(503, str(exc))
        except (QueryRefused, QuerySyntaxError) as exc:
            return _text(400, str(exc))
        except GuidegraphError as exc:
            return _text(500, str(exc))
        return Response(status=204)

    @app.post("/reason")
    def reason() -> Response:
        given = request.args.get("save", "false")
        save = _SAVE_VALUES.get(given.lower())
        if save is None:
            return _text(400, f"save={given[:40]!r} is not allowed; allowed: "
                              + ", ".join(_SAVE_VALUES))
        if save:
            refusal = authorize("saving the run")
            if refusal is not None:
                return refusal
        source, reasoner = current()
        suffix = {"text/turtle": ".ttl", "application/n-triples": ".nt",
                  "application/x-ndjson": ".ndjson"}.get(request.mimetype, ".json")
        items = list(itertools.islice(reasoner.intake.read_bytes(
            request.get_data(), suffix, source="request body"), MAX_CASES_PER_REQUEST + 1))
        if len(items) > MAX_CASES_PER_REQUEST:
            return _json(413, {"error": f"the request body holds more than "
                                        f"{MAX_CASES_PER_REQUEST} cases; allowed: at most "
                                        f"{MAX_CASES_PER_REQUEST} per request (use `guidegraph "
                                        "reason` for larger batches)"})
        errors = [i for i in items if isinstance(i, CaseInputError)]
        if errors:
            return _json(400, {**_case_error(errors[0]),
                               "errors": [_case_error(e) for e in errors[:_ERRORS_SHOWN]],
                               "errors_total": len(errors)})
        if not items:
            return _json(400, {"error": "the request body holds no case"})
        results = [reasoner.reason(case) for case in items]
        if save:
            try:
                _save(backend, source, reasoner, items, results, token_name)
            except QueryTimeout as exc:
                return _json(503, {"error": f"results computed but not saved: {exc}"})
            except GuidegraphError as exc:
                return _json(500, {"error": f"results computed but not saved: {exc}"})
        if len(items) == 1:
            text = json.dumps(results[0].to_json(), ensure_ascii=False)
        else:
            text = "[" + ",".join(r.to_json_text() for r in results) + "]"
        return Response(text + "\n", status=200, content_type="application/json")

    @app.get("/")
    def landing() -> Response:
        return _html(200, landing_page(url_for("sparql"), url_for("audit_summary"),
                                       url_for("health"), token is None))

    @app.get("/health")
    def health() -> Response:
        return _json(200, {
            "status": "ok", "store": backend.location,
            "guidelines": [{"id": g["id"], "version": g["version"]}
                           for g in current()[1].guidelines],
            "read_only": token is None, "query_timeout": config.query_timeout,
            "max_rows": config.max_rows, "worker": backend.health()})

    pages = AuditPages(backend.store, current, url_for)

    def html(render: Callable[[], str]) -> Response:
        """A rendered audit page, or an HTML error page a person can read."""
        try:
            return _html(200, render())
        except KeyError as exc:
            return _html(404, error_page(404, str(exc).strip("'\""), url_for("audit_summary")))
        except QueryTimeout as exc:
            return _html(503, error_page(503, str(exc), url_for("audit_summary")))
        except (GuidegraphError, ValueError) as exc:  # ValueError: not a readable run record
            return _html(500, error_page(500, str(exc), url_for("audit_summary")))

    @app.get("/audit")
    def audit_summary() -> Response:
        page, per = request.args.get("page", "1"), request.args.get("per", "")
        return html(lambda: pages.summary(int(page) if page.isdigit() else 1,
                                          int(per) if per.isdigit() else PAGE_SIZE))

    @app.get("/audit/run")
    def audit_run() -> Response:
        iri = request.args.get("iri", "")
        try:
            ox.NamedNode(iri)
        except ValueError:
            iri = ""
        if not iri.startswith(RUN_BASE):
            return _html(400, error_page(400, f"give a run IRI as ?iri={RUN_BASE}…, not "
                                              f"{request.args.get('iri', '')!r}",
                                         url_for("audit_summary")))
        return html(lambda: pages.run(iri))

    return app


def _save(backend: Backend, source: KnowledgeSource, reasoner: Reasoner, cases: list,
          results: list, actor: str) -> None:
    """Save runs, logged as ``actor``'s (the token's name), with the knowledge they used."""
    from guidegraph.provenance.runs import save_runs

    versions.store_knowledge_of(backend.store, source, actor=actor)
    save_runs(backend.store, reasoner, cases, results, actor=actor)


#: The name a token without one is logged under
DEFAULT_TOKEN_NAME = "update-token"
_TOKEN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")


def split_token(value: str) -> tuple[str, str]:
    """``NAME:SECRET`` into its name (what the audit log records as the writer) and secret
    (never logged); a value without a colon is a secret named ``update-token``."""
    name, sep, secret = value.partition(":")
    if not sep:
        name, secret = DEFAULT_TOKEN_NAME, value
    if not _TOKEN_NAME.fullmatch(name):
        raise ValueError(f"--update-token: the name {name[:40]!r} is not allowed; allowed: "
                         "NAME:SECRET with a NAME of 1 to 64 letters, digits and . _ @ - "
                         "(starting with a letter or digit), or a SECRET alone")
    if not secret.strip():
        raise ValueError(f"--update-token: the secret of {name!r} is blank; allowed: a "
                         "non-blank secret after NAME:")
    return name, secret


def _query_text() -> tuple[str | None, Response | None]:
    """The query of a protocol request (None: none given), or the error response."""
    if request.method == "GET":
        texts = request.args.getlist("query")
    elif request.mimetype == "application/sparql-query":
        return request.get_data(as_text=True), None
    elif request.mimetype == "application/x-www-form-urlencoded":
        texts = request.form.getlist("query")
    else:
        return None, _text(415, "send the query as application/sparql-query or as the 'query' "
                                "parameter of an application/x-www-form-urlencoded body")
    if len(texts) > 1:
        return None, _text(400, "give exactly one 'query' parameter")
    if not texts and request.method == "POST":
        return None, _text(400, "give a 'query' parameter")
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
        ox.Triple(service, ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type"),
                  sd("Service")),
        ox.Triple(service, sd("endpoint"), endpoint),
        ox.Triple(service, sd("supportedLanguage"), sd("SPARQL11Query")),
        ox.Triple(service, sd("feature"), sd("UnionDefaultGraph")),
        ox.Triple(service, ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#comment"),
                  ox.Literal("Read-only SPARQL 1.1 query endpoint of guidegraph. The default "
                             "graph is the union of the current knowledge (superseded guideline "
                             "versions excluded), cases and runs. SERVICE, LOAD and FROM are "
                             "refused. Updates: POST /update, "
                             + ("with the update token as a Bearer token."
                                if updates else "disabled (no update token configured)."))),
    ]
    triples += [ox.Triple(service, sd("resultFormat"), ox.NamedNode(FORMATS + f))
                for f in _SD_RESULT_FORMATS]
    kind = BY_NAME[fmt].ox
    kwargs: dict[str, Any] = {"prefixes": {"sd": SD, "formats": FORMATS}} if (
        fmt == "turtle") else {}
    body = ox.serialize(triples, format=kind, **kwargs)
    response = Response(body, status=200, content_type=_CONTENT_TYPES[fmt])
    response.headers["Vary"] = "Accept"
    return response


def sd(name: str) -> ox.NamedNode:
    return ox.NamedNode(SD + name)


def _case_error(exc: CaseInputError) -> dict[str, Any]:
    out: dict[str, Any] = {"error": str(exc)}
    for name in ("case", "key", "allowed"):
        if getattr(exc, name) is not None:
            out[name] = getattr(exc, name)
    if exc.value is not None:
        value = exc.value
        out["value"] = str(value) if isinstance(value, Decimal) else value
        try:
            json.dumps(out["value"])
        except (TypeError, ValueError):
            out["value"] = repr(value)
    return out


def _text(status: int, message: str) -> Response:
    return Response(message.rstrip("\n") + "\n", status=status,
                    content_type="text/plain; charset=utf-8")


def _html(status: int, page: str) -> Response:
    return Response(page, status=status, content_type="text/html; charset=utf-8")


def _json(status: int, data: dict[str, Any]) -> Response:
    return Response(json.dumps(data, ensure_ascii=False) + "\n", status=status,
                    content_type="application/json")


# ----------------------------------------------------------------------------------------
# Running it
# ----------------------------------------------------------------------------------------
def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_port(host: str, port: int) -> None:
    """Raise OSError (as binding would) when ``host:port`` cannot be listened on."""
    if port == 0:
        return
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as werkzeug binds
        probe.bind((host.strip("[]"), port))


def serve(config: ServeConfig) -> None:
    """Serve until interrupted (Ctrl-C or SIGTERM), then stop the store worker."""
    from werkzeug.serving import WSGIRequestHandler, make_server

    class Handler(WSGIRequestHandler):
        """No software versions in the Server header."""

        def version_string(self) -> str:
            return "guidegraph"

    _check_port(config.host, config.port)  # before the worker starts: fail fast and clearly
    backend = Backend(config)
    try:
        app = create_app(config, backend)
        server = make_server(config.host, config.port, app, threaded=True,
                             request_handler=Handler)
    except SystemExit:  # werkzeug exits when the port was taken since the check
        backend.close()
        raise OSError(errno.EADDRINUSE, os.strerror(errno.EADDRINUSE)) from None
    except BaseException:
        backend.close()
        raise

    def stop(_signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    mode = "read-only" if not config.update_token else "updates need the token"
    print(f"guidegraph: SPARQL endpoint http://{config.host}:{server.port}/sparql ({mode}); "
          f"store {backend.location}", file=sys.stderr, flush=True)
    if not _loopback(config.host):
        print(f"guidegraph: warning: listening on {config.host}, beyond this machine",
              file=sys.stderr, flush=True)
    if config.trusted_hosts() is None:
        print("guidegraph: warning: any Host header is accepted on a wildcard address; give "
              "--allowed-host NAME for each name clients use", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        backend.close()
