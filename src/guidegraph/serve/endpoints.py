"""The reasoner over HTTP (``POST /reason``), health, the landing page and the audit pages."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pyoxigraph as ox
from flask import Response, request, url_for

from guidegraph.errors import CaseInputError, GuidegraphError
from guidegraph.reasoning.reasoner import Reasoner
from guidegraph.serve.backend import Backend
from guidegraph.serve.pages import PAGE_SIZE, error_page, landing_page
from guidegraph.serve.responses import data, page, plain
from guidegraph.serve.service import authorize, service
from guidegraph.store import versions
from guidegraph.store.versions import KnowledgeSource
from guidegraph.store.worker import QueryTimeout
from guidegraph.vocab import RUN_BASE

#: Cases one POST /reason may hold: its answer holds a full result per case (about 10 KB),
#: so the answer stays around 10 MB; larger batches belong to `guidegraph reason` (streamed).
MAX_CASES_PER_REQUEST = 1_000
_ERRORS_SHOWN = 20
#: The documented values of ``/reason?save=``
_SAVE_VALUES = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


def reason() -> Response:
    svc = service()
    given = request.args.get("save", "false")
    save = _SAVE_VALUES.get(given.lower())
    if save is None:
        return plain(400, f"save={given[:40]!r} is not allowed; allowed: "
                          + ", ".join(_SAVE_VALUES))
    if save:
        refusal = authorize("saving the run")
        if refusal is not None:
            return refusal
    source, reasoner = svc.current()
    suffix = {"text/turtle": ".ttl", "application/n-triples": ".nt",
              "application/x-ndjson": ".ndjson"}.get(request.mimetype, ".json")
    items = list(itertools.islice(reasoner.intake.read_bytes(
        request.get_data(), suffix, source="request body"), MAX_CASES_PER_REQUEST + 1))
    if len(items) > MAX_CASES_PER_REQUEST:
        return data(413, {"error": f"the request body holds more than "
                                   f"{MAX_CASES_PER_REQUEST} cases; allowed: at most "
                                   f"{MAX_CASES_PER_REQUEST} per request (use `guidegraph "
                                   "reason` for larger batches)"})
    errors = [i for i in items if isinstance(i, CaseInputError)]
    if errors:
        return data(400, {**_case_error(errors[0]),
                          "errors": [_case_error(e) for e in errors[:_ERRORS_SHOWN]],
                          "errors_total": len(errors)})
    if not items:
        return data(400, {"error": "the request body holds no case"})
    results = [reasoner.reason(case) for case in items]
    if save:
        try:
            _save(svc.backend, source, reasoner, items, results, svc.token_name)
        except QueryTimeout as exc:
            return data(503, {"error": f"results computed but not saved: {exc}"})
        except GuidegraphError as exc:
            return data(500, {"error": f"results computed but not saved: {exc}"})
    if len(items) == 1:
        text = json.dumps(results[0].to_json(), ensure_ascii=False)
    else:
        text = "[" + ",".join(r.to_json_text() for r in results) + "]"
    return Response(text + "\n", status=200, content_type="application/json")


def landing() -> Response:
    svc = service()
    return page(200, landing_page(url_for("sparql"), url_for("audit_summary"),
                                  url_for("health"), svc.token is None))


def health() -> Response:
    svc = service()
    return data(200, {
        "status": "ok", "store": svc.backend.location,
        "guidelines": [{"id": g["id"], "version": g["version"]}
                       for g in svc.current()[1].guidelines],
        "read_only": svc.token is None, "query_timeout": svc.config.query_timeout,
        "max_rows": svc.config.max_rows, "worker": svc.backend.health()})


def _page_or_error(render: Callable[[], str]) -> Response:
    """A rendered audit page, or an HTML error page a person can read."""
    try:
        return page(200, render())
    except KeyError as exc:
        return page(404, error_page(404, str(exc).strip("'\""), url_for("audit_summary")))
    except QueryTimeout as exc:
        return page(503, error_page(503, str(exc), url_for("audit_summary")))
    except (GuidegraphError, ValueError) as exc:  # ValueError: not a readable run record
        return page(500, error_page(500, str(exc), url_for("audit_summary")))


def audit_summary() -> Response:
    svc = service()
    number, per = request.args.get("page", "1"), request.args.get("per", "")
    return _page_or_error(lambda: svc.pages.summary(int(number) if number.isdigit() else 1,
                                                    int(per) if per.isdigit() else PAGE_SIZE))


def audit_run() -> Response:
    svc = service()
    iri = request.args.get("iri", "")
    try:
        ox.NamedNode(iri)
    except ValueError:
        iri = ""
    if not iri.startswith(RUN_BASE):
        return page(400, error_page(400, f"give a run IRI as ?iri={RUN_BASE}…, not "
                                         f"{request.args.get('iri', '')!r}",
                                    url_for("audit_summary")))
    return _page_or_error(lambda: svc.pages.run(iri))


def _save(backend: Backend, source: KnowledgeSource, reasoner: Reasoner, cases: list,
          results: list, actor: str) -> None:
    """Save runs, logged as ``actor``'s (the token's name), with the knowledge they used."""
    from guidegraph.provenance.runs import save_runs

    versions.store_knowledge_of(backend.store, source, actor=actor)
    save_runs(backend.store, reasoner, cases, results, actor=actor)


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
