"""Command-line entry point (``guidegraph``).

Kept import-cheap: commands import rdflib/pyshacl etc. inside their function
bodies so that ``guidegraph --help`` and ``--version`` stay fast.

Exit codes: 0 ok; 1 ran but a check failed; 2 bad input or configuration;
3 not implemented.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import click

from guidegraph import __version__
from guidegraph.reasoning.result import WHY_NOT

if TYPE_CHECKING:
    from guidegraph.reasoning.reasoner import Reasoner
    from guidegraph.store.base import Store


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="guidegraph")
def main() -> None:
    """Derive applicable guideline recommendations for a patient case."""


_REASON_FORMATS = ["text", "json", "ndjson", "turtle", "jsonld", "ntriples"]


def _fail(message: str, code: int = 2) -> None:
    click.echo(f"guidegraph: {message}", err=True)
    raise SystemExit(code)


def _case_items(reasoner: Reasoner, paths: tuple[str, ...]) -> Iterator[Any]:
    """Every case of the inputs, in order, as it is read; a bad one as its CaseInputError
    (reported, never fatal to the rest)."""
    import sys
    from pathlib import Path

    from guidegraph.errors import CaseInputError

    for name in paths:
        if name == "-":
            from guidegraph.intake.cases import max_case_bytes, stdin_suffix

            data = sys.stdin.buffer.read(max_case_bytes() + 1)  # beyond the limit: refused
            yield from reasoner.intake.read_bytes(data, stdin_suffix(data), source="<stdin>")
        elif not Path(name).exists():
            yield CaseInputError("no such file or folder", source=name)
        else:
            yield from reasoner.intake.read(Path(name))


def _read_cases(reasoner: Reasoner, paths: tuple[str, ...]) -> tuple[list, list]:
    """All cases from the inputs, and the input errors (reported, never fatal to the rest)."""
    from guidegraph.errors import CaseInputError

    cases, errors = [], []
    for item in _case_items(reasoner, paths):
        (errors if isinstance(item, CaseInputError) else cases).append(item)
    return cases, errors


@main.command()
@click.argument("cases", nargs=-1, required=True)
@click.option("--format", "fmt", type=click.Choice(_REASON_FORMATS), default="text",
              show_default=True,
              help="Output format: text for people; json (BRIEF §4; a list for batches); ndjson "
                   "(one compact result per line); turtle, jsonld, ntriples (PROV-O record).")
@click.option("--engine", type=click.Choice(["compiled", "sparql"]), default="compiled",
              show_default=True, help="Criterion evaluation: compiled plan or SPARQL reference.")
@click.option("--guideline", "guidelines", multiple=True, metavar="PATH",
              help="Guideline folder or file to use instead of the shipped ones (repeatable).")
@click.option("--store", "store_spec", envvar="GUIDEGRAPH_STORE", metavar="PATH|URL",
              help="Use the guidelines in this store (embedded path or SPARQL endpoint URL).")
@click.option("--save", is_flag=True,
              help="Keep each case and its run's PROV-O record in the store.")
@click.option("--jobs", type=click.IntRange(min=1), default=None, metavar="N",
              help="Worker processes for a large batch (default: the cores this process may "
                   "use); results stay in input order.")
@click.option("--why-not", "why_not", type=click.Choice(list(WHY_NOT)), default="all",
              show_default=True,
              help="How much of what does not apply each result lists: every statement with "
                   "its deciding criteria (all), only the undecided ones (undecided), or none; "
                   "what is not listed is counted. Verdicts, their deciding statements and "
                   "the facts they wait for are always in.")
def reason(cases: tuple[str, ...], fmt: str, engine: str, guidelines: tuple[str, ...],
           store_spec: str | None, save: bool, jobs: int | None, why_not: str) -> None:
    """Derive the recommendations that apply to CASES (JSON, JSON-LD, Turtle, list, folder, -).

    A batch is read, reasoned, saved (--save) and written as a stream, in every format;
    memory does not grow with its length. A saved batch of several cases is one PROV-O
    activity (gg:ReasoningBatch) with a run per case."""
    store = _open_store(store_spec, write=save) if (store_spec or save) else None
    reasoner = _reasoner_for(store, guidelines, engine, ensure_loaded=save, why_not=why_not)
    _stream(reasoner, cases, fmt, jobs, store if save else None)


def _stream(reasoner: Reasoner, paths: tuple[str, ...], fmt: str, jobs: int | None,
            store: Store | None) -> None:
    """Reason, save (with ``store``) and write the batch as it is read; exit 2 after it
    when an input was bad, at once when the store refused a write."""
    import gc
    import itertools
    import json

    from guidegraph import progress
    from guidegraph.errors import CaseInputError, GuidegraphError
    from guidegraph.provenance.batch import CHUNK, default_jobs, stream
    from guidegraph.provenance.runs import RunSaver, stored_run

    items = _case_items(reasoner, paths)
    head = list(itertools.islice(items, CHUNK + 1))
    read = sum(not isinstance(item, CaseInputError) for item in head)
    saver = None if store is None else RunSaver(store, batch=read > 1)
    try:
        if len(head) == 1 and fmt == "json" and not isinstance(head[0], CaseInputError):
            result = reasoner.reason(head[0])
            if saver is not None:
                saver.write([stored_run(reasoner, head[0], result)])
            click.echo(json.dumps(result.to_json(), indent=2, ensure_ascii=False))
            return
        total = None
        if progress.shown() and "-" not in paths:  # counted only for a bar someone sees
            total = sum(1 for item in _case_items(reasoner, paths)
                        if not isinstance(item, CaseInputError))
        workers = 1 if len(head) <= CHUNK else (jobs or default_jobs())
        gc.freeze()  # the loaded knowledge stays put: the collector need not walk it again
        with progress.bar("reasoning", length=total or 0) as shown:
            stats = stream(reasoner, itertools.chain(head, items), fmt,
                           lambda text: click.echo(text, nl=False),
                           lambda error: click.echo(f"guidegraph: {error}", err=True),
                           jobs=workers, tick=shown.update, save=saver)
    except GuidegraphError as exc:
        if saver is None:
            raise
        kept = (f"the {saver.saved} runs written before it are saved and their results "
                "written" if saver.saved else "nothing was saved")
        _fail(f"the store refused a write: {exc} ({kept})", exc.exit_code)
    if stats.errors:
        raise SystemExit(2)


@main.command()
@click.argument("case", required=False)
@click.option("--rec", "rec_id", metavar="ID", help="Explain only this recommendation.")
@click.option("--action", "action", metavar="ACTION",
              help="Explain the verdict on one action: why, what was set aside by which rule, "
                   "and which single-fact changes would change it.")
@click.option("--provenance", "prov_file", type=click.Path(dir_okay=False), metavar="FILE",
              help="Explain a saved run (Turtle or N-Triples from reason --format turtle).")
@click.option("--guideline", "guidelines", multiple=True, metavar="PATH",
              help="Guideline folder or file to use instead of the shipped ones (repeatable).")
@click.option("--run", "run_iri", metavar="IRI", help="Explain a run saved in the store.")
@click.option("--store", "store_spec", envvar="GUIDEGRAPH_STORE", metavar="PATH|URL",
              help="Embedded store path or SPARQL endpoint URL (with --run).")
@click.option("--graph", "graph_file", type=click.Path(dir_okay=False), metavar="FILE",
              help="Also draw the derivation (facts, criteria, recommendation, grade, "
                   "evidence, citations) to FILE.svg or FILE.png.")
def explain(case: str | None, rec_id: str | None, action: str | None, prov_file: str | None,
            guidelines: tuple[str, ...], run_iri: str | None, store_spec: str | None,
            graph_file: str | None) -> None:
    """Why and why-not for every recommendation (or --rec ID, or the verdict on --action
    ACTION), from the run's provenance."""


    from guidegraph.errors import GuidegraphError
    from guidegraph.provenance.explain import render_explanation

    if graph_file:
        from guidegraph.provenance.picture import check_drawable

        try:
            check_drawable(graph_file)  # refuse a bad suffix or a missing dot before any work
        except GuidegraphError as exc:
            _fail(str(exc), exc.exit_code)
    if run_iri:
        reasoner, results = _stored_run(store_spec, guidelines, run_iri)
    else:
        reasoner = _reasoner_for(None, guidelines, "compiled", ensure_loaded=False)
        results = _recorded_or_reasoned(reasoner, case, prov_file)
    _check_rec(reasoner, results, rec_id)
    if action is not None:
        _explain_action(reasoner, results, action)
        return
    if graph_file and len(results) != 1:
        _fail(f"--graph draws one case; {case} holds {len(results)}")
    click.echo("\n".join(render_explanation(r, reasoner, rec_id) for r in results), nl=False)
    if graph_file:
        _draw(results, reasoner, rec_id, graph_file)


def _stored_run(store_spec: str | None, guidelines: tuple[str, ...], run_iri: str
                ) -> tuple[Reasoner, list]:
    """A stored run read back, warning when its graphs changed since it was written."""
    from guidegraph.errors import GuidegraphError
    from guidegraph.provenance import record as provenance
    from guidegraph.provenance.runs import run_record
    from guidegraph.store.log import changed_since_written

    store = _open_store(store_spec, write=False)
    reasoner = _reasoner_for(store, guidelines, "compiled", ensure_loaded=False)
    try:
        results = [provenance.from_triples(run_record(store, run_iri), reasoner)]
        for change in changed_since_written(store, run_iri):
            click.echo(f"guidegraph: warning: {change}; this is not the run as the "
                       "reasoner recorded it", err=True)
    except (GuidegraphError, KeyError) as exc:
        _fail(str(exc).strip("'\""))
    return reasoner, results


def _recorded_or_reasoned(reasoner: Reasoner, case: str | None, prov_file: str | None
                          ) -> list:
    """Results read back from a provenance file, or reasoned for the case (and read back
    from their provenance, so explain always renders from the RDF)."""
    from pathlib import Path

    import pyoxigraph as ox

    from guidegraph.provenance import record as provenance
    from guidegraph.rdf_formats import BY_NAME, for_path

    if prov_file:
        path = Path(prov_file)
        fmt = (for_path(path) or BY_NAME["turtle"]).ox
        try:
            triples = [q.triple for q in ox.parse(path=str(path), format=fmt)]
            return [provenance.from_triples(triples, reasoner)]
        except (OSError, SyntaxError, ValueError, KeyError) as exc:
            _fail(f"{prov_file}: not a readable guidegraph run: {exc}")
    if case is None:
        _fail("give a CASE file or --provenance FILE")
    found, errors = _read_cases(reasoner, (case,))
    for error in errors:
        click.echo(f"guidegraph: {error}", err=True)
    if errors:
        raise SystemExit(2)
    return [provenance.from_triples(provenance.to_triples(reasoner.reason(c), reasoner),
                                    reasoner) for c in found]


def _explain_action(reasoner: Reasoner, results: list, action: str) -> None:
    """Render the verdict explanation of each result, for a known action."""
    from guidegraph.provenance.explain import render_action
    from guidegraph.reasoning.counterfactual import case_from_result

    known = sorted({g.action for g in reasoner.decisions.groups})
    if action not in known:
        _fail(f"--action {action!r}: no such action; known: {', '.join(known)}")
    click.echo("\n".join(render_action(r, reasoner, action, case_from_result(r, reasoner))
                         for r in results), nl=False)


def _check_rec(reasoner: Reasoner, results: list, rec_id: str | None) -> None:
    """A recommendation absent from a result because its guideline does not apply to the
    case is still known: the explanation says why the guideline does not apply."""
    known = sorted(s.id for s in reasoner.recommendations)
    if rec_id is not None and rec_id not in known and not any(
            r.id == rec_id for res in results for r in res.all_outcomes()):
        _fail(f"--rec {rec_id!r}: no such recommendation; known: {', '.join(known)}")


def _draw(results: list, reasoner: Reasoner, rec_id: str | None, graph_file: str) -> None:
    """Draw the one result's derivation; say where it went on stderr (stdout is the text)."""
    from guidegraph.errors import GuidegraphError
    from guidegraph.provenance import picture as derivation_graph

    graph = derivation_graph.build(results[0], reasoner.knowledge, rec_id)
    try:
        out = derivation_graph.draw(graph, graph_file,
                                    derivation_graph.title_for(results[0], rec_id))
    except GuidegraphError as exc:  # dot missing or refusing the graph
        _fail(str(exc), exc.exit_code)
    except OSError as exc:
        _fail(f"--graph {graph_file}: cannot write: {exc.strerror or exc}")
    click.echo(f"guidegraph: derivation drawn to {out} ({graph.number_of_nodes()} nodes)",
               err=True)


@main.command("validate")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json", "turtle"]),
    default="text",
    show_default=True,
    help="Report format; turtle is the SHACL validation report graph.",
)
@click.option("--no-owl", is_flag=True, help="Skip the OWL consistency check (HermiT, needs Java).")
@click.option("--shacl", "shacl_engine", type=click.Choice(["auto", "oxigraph", "pyshacl"]),
              default="auto", show_default=True,
              help="SHACL engine: the shapes compiled to queries on Oxigraph (auto falls back "
                   "to pySHACL for SHACL the compiler does not translate), or pySHACL, the "
                   "reference; both give the same report.")
def validate_command(paths: tuple[str, ...], output_format: str, no_owl: bool,
                     shacl_engine: str) -> None:
    """Check guideline files before publishing (default: every guideline).

    Runs the authoring SHACL shapes, the algorithm flow check and OWL consistency.
    Exit 0 conforms (warnings allowed), 1 violations found, 2 unreadable input.
    """
    from pathlib import Path

    from guidegraph import progress
    from guidegraph.authoring.validate import CHECK_FAMILIES, validate
    from guidegraph.errors import GuidegraphError

    try:
        with progress.stages("validate", CHECK_FAMILIES[:len(CHECK_FAMILIES) - no_owl]) as on:
            report = validate([Path(p) for p in paths] or None, hermit=not no_owl, progress=on,
                              shacl_engine=shacl_engine)
    except GuidegraphError as exc:
        click.echo(f"guidegraph validate: {exc}", err=True)
        raise SystemExit(exc.exit_code) from None
    if output_format == "json":
        click.echo(report.to_json_text(), nl=False)
    elif output_format == "turtle":
        click.echo(report.to_turtle(), nl=False)
    else:
        click.echo(report.to_text(), nl=False)
    raise SystemExit(0 if report.conforms else 1)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (the default keeps the endpoint on this machine).")
@click.option("--port", type=click.IntRange(0, 65535), default=7878, show_default=True,
              help="Port to listen on.")
@click.option("--store", "store_spec", envvar="GUIDEGRAPH_STORE", metavar="PATH|URL",
              help="Embedded store path or SPARQL endpoint URL (default: the user data folder).")
@click.option("--update-token", envvar="GUIDEGRAPH_UPDATE_TOKEN", metavar="[NAME:]SECRET",
              help="Allow POST /update and /reason?save=true with SECRET as Bearer token; "
                   "the audit log records their writes as NAME's (default: update-token; "
                   "a value with a colon is read as NAME:SECRET). Prefer the environment "
                   "variable; without it the server is read-only.")
@click.option("--query-timeout", type=click.FloatRange(min=0.1), default=30.0,
              show_default=True, metavar="SECONDS",
              help="Cancel a query that runs longer than this (answered with 503).")
@click.option("--max-rows", type=click.IntRange(1), default=10_000, show_default=True,
              metavar="N", help="Return at most N rows per SELECT, or triples per CONSTRUCT "
                                "or DESCRIBE (header X-Guidegraph-Truncated: true when cut).")
@click.option("--allowed-host", "allowed_hosts", multiple=True, metavar="NAME",
              help="Accept requests whose Host header names NAME (repeatable). Default: the "
                   "loopback names for a loopback --host, else --host itself; a page on "
                   "another name (DNS rebinding) is refused with 400.")
@click.option("--worker-memory", type=click.IntRange(0), default=2048, show_default=True,
              metavar="MB", help="Memory the query worker may use; a query needing more is "
                                 "cancelled with 503 and the worker restarted (0: no cap).")
def serve(host: str, port: int, store_spec: str | None, update_token: str | None,
          query_timeout: float, max_rows: int, allowed_hosts: tuple[str, ...],
          worker_memory: int) -> None:
    """Serve the store over HTTP: SPARQL 1.1 Protocol at /sparql, /update, /reason, /health,
    and the audit pages at /audit.

    Runs werkzeug's threaded server, meant for a local endpoint; for production, run
    guidegraph.serve.app.create_app under a WSGI server behind a proxy.
    """
    from guidegraph.errors import GuidegraphError
    from guidegraph.serve.app import serve as run_server
    from guidegraph.serve.config import ServeConfig

    if update_token is not None and update_token and not update_token.strip():
        _fail("--update-token: a token of only whitespace is not allowed; allowed: a "
              "non-blank secret (or none, for a read-only server)")
    if update_token:
        from guidegraph.serve.app import split_token

        try:
            split_token(update_token)
        except ValueError as exc:
            _fail(str(exc))
    config = ServeConfig(store=store_spec, host=host, port=port,
                         update_token=update_token or None, query_timeout=query_timeout,
                         max_rows=max_rows, allowed_hosts=allowed_hosts,
                         worker_memory=worker_memory)
    try:
        run_server(config)
    except GuidegraphError as exc:
        _fail(str(exc), exc.exit_code)
    except OSError as exc:
        _fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}")


def _open_store(spec: str | None, *, write: bool) -> Store:
    """The store for a command: read-only (refusing a path with no store) unless it writes;
    a store created by a writing command is announced."""
    from guidegraph.errors import GuidegraphError
    from guidegraph.store.base import open_store

    try:
        store = open_store(spec, write=write)
    except GuidegraphError as exc:
        _fail(str(exc), exc.exit_code)
    if store.created:
        click.echo(f"guidegraph: created a new store at {store.location}", err=True)
    click.get_current_context().call_on_close(store.close)
    return store


def _reasoner_for(store: Store | None, guidelines: tuple[str, ...], engine: str,
                  ensure_loaded: bool, why_not: str = "all") -> Reasoner:
    """The reasoner over the knowledge :func:`~guidegraph.store.versions.current_knowledge`
    chooses; with ``ensure_loaded`` (runs are to be saved) that knowledge is stored first."""
    from guidegraph.errors import GuidegraphError
    from guidegraph.gcpause import collector_paused
    from guidegraph.reasoning.reasoner import Reasoner
    from guidegraph.store import versions

    try:
        source = versions.current_knowledge(store, guidelines)
        if store is not None and ensure_loaded:
            versions.store_knowledge_of(store, source)
        with collector_paused(freeze=True):  # a command builds its reasoner once
            return Reasoner(engine=engine, why_not=why_not, source=source)
    except GuidegraphError as exc:
        _fail(str(exc), exc.exit_code)
    except FileNotFoundError as exc:
        _fail(str(exc))


@main.command()
@click.option("--store", "store_spec", envvar="GUIDEGRAPH_STORE", metavar="PATH|URL",
              help="Embedded store path or SPARQL endpoint URL (default: the user data folder).")
@click.option("--guideline", "guidelines", multiple=True, metavar="PATH",
              help="Guideline folder or file to load (default: the shipped guidelines).")
@click.option("--case", "cases", multiple=True, metavar="FILE",
              help="Case file or folder to store as case graphs (repeatable).")
def load(store_spec: str | None, guidelines: tuple[str, ...], cases: tuple[str, ...]) -> None:
    """Load the ontology, guideline versions and cases into the store, all in one transaction.

    Every file is read and checked first; a bad one (exit 2) leaves the store untouched. A
    version or case already stored as given is left alone (no new version, no log entry)."""
    from pathlib import Path

    from guidegraph import progress
    from guidegraph.errors import GuidegraphError
    from guidegraph.knowledge.loading import Knowledge, read_parts
    from guidegraph.provenance.runs import case_graph, case_triples
    from guidegraph.reasoning.reasoner import Reasoner
    from guidegraph.store import versions

    try:
        parts = read_parts([Path(g) for g in guidelines] or None)
        reasoner = Reasoner(Knowledge.from_parts(parts))  # checks the parts fit together
        found, errors = _read_cases(reasoner, cases)
        for error in errors:
            click.echo(f"guidegraph: {error}", err=True)
        if errors:
            _fail(f"{len(errors)} case input error(s): nothing was loaded")
    except GuidegraphError as exc:
        _fail(f"{exc}; nothing was loaded", exc.exit_code)
    except FileNotFoundError as exc:
        _fail(f"{exc}; nothing was loaded")
    store = _open_store(store_spec, write=True)  # only now: a failed load creates nothing
    try:
        with progress.bar("preparing cases", found) as each:
            graphs = [(case_graph(c.iri), c.iri, case_triples(reasoner, c)) for c in each]
        names = versions.load_parts(store, parts, cases=graphs, rewrite_copy=True)
        for part, (name, written) in zip(parts, names, strict=False):
            what = f"guideline {part.info.id} {part.info.version}" if part.info else "ontology"
            state = "loaded" if written else "already current:"
            click.echo(f"{state} {what} ({part.content_hash[:19]}...) as <{name}>")
        if cases:
            stored = dict(names[len(parts):])
            same = len(stored) - sum(stored.values())
            click.echo(f"loaded {sum(stored.values())} case(s)"
                       + (f"; {same} already stored with the same facts" if same else ""))
    except GuidegraphError as exc:
        _fail(str(exc), exc.exit_code)
    click.echo(f"store: {store.location}")


@main.command()
@click.argument("query", required=False)
@click.option("--bind", "binds", multiple=True, metavar="NAME=VALUE",
              help="Bind a query variable to a value (an <IRI>, a number, true/false, or text); "
                   "values are passed as parameters, never pasted into the query.")
@click.option("--format", "fmt", default=None,
              type=click.Choice(["table", "csv", "tsv", "json", "xml", "turtle", "ntriples",
                                 "jsonld", "trig", "nquads", "rdfxml"]),
              help="Output format (default: table for SELECT/ASK, turtle for CONSTRUCT).")
@click.option("--store", "store_spec", envvar="GUIDEGRAPH_STORE", metavar="PATH|URL",
              help="Embedded store path or SPARQL endpoint URL.")
@click.option("--limit", "row_cap", type=click.IntRange(1), default=None,
              help="Stop after this many rows.")
@click.option("--list", "list_queries", is_flag=True, help="List the named queries.")
def query(query: str | None, binds: tuple[str, ...], fmt: str | None, store_spec: str | None,
          row_cap: int | None, list_queries: bool) -> None:
    """Run QUERY (a .rq file, a named query from queries/, or inline SPARQL) on the store."""
    from guidegraph.errors import GuidegraphError
    from guidegraph.store.base import parse_bindings
    from guidegraph.store.named_queries import check_bindings, library, resolve

    if list_queries:
        seen = set()
        for name, named in sorted(library().items()):
            if "/" in name or named.path in seen:
                continue
            seen.add(named.path)
            params = " ".join(f"?{p}" for p in named.parameters)
            click.echo(f"{name:40} {named.title}" + (f"  [{params}]" if params else ""))
        return
    if not query:
        _fail("give a QUERY (file, named query, or inline text) or --list")
    try:
        label, text, parameters = resolve(query)
        bindings = parse_bindings(binds)
        check_bindings(label, text, parameters, list(bindings))
        out, truncated, form = _run_query(store_spec, text, bindings, fmt, row_cap)
    except (GuidegraphError, FileNotFoundError, ValueError) as exc:
        _fail(str(exc), getattr(exc, "exit_code", 2))
    click.echo(out, nl=False)
    if truncated and form == "CONSTRUCT":
        click.echo(f"note: stopped after {row_cap} triples (--limit)", err=True)


def _run_query(spec: str | None, text: str, bindings: dict, fmt: str | None,
               row_cap: int | None) -> tuple[str, bool, str]:
    """Run a query text the user gave. On the embedded store it is guarded, parsed and
    evaluated in a confined worker process (no network, bounded memory; a crash of the
    engine costs the worker, not this process); for a remote engine the worker only guards
    it and the engine evaluates it."""
    from pathlib import Path

    from guidegraph.store import versions
    from guidegraph.store.base import RemoteStore, check_store_path, default_store_path
    from guidegraph.store.results import check_format
    from guidegraph.store.sparql import check_nesting, query_form
    from guidegraph.store.worker import StoreWorker, WorkerStore, run_protocol_query

    check_nesting(text)
    if fmt is not None:
        check_format(query_form(text), fmt)  # before any worker starts
    remote = bool(spec and spec.startswith(("http://", "https://")))
    path = None if remote else Path(spec).expanduser() if spec else default_store_path()
    if path is not None:
        check_store_path(path, write=False)
    worker = StoreWorker(path, read_only=True)
    worker.start()
    click.get_current_context().call_on_close(worker.close)
    if not remote:
        return WorkerStore(worker, None).protocol_query(text, fmt, None, None, row_cap, None,
                                                        bindings)
    worker.call("check", text, None)  # guarded in the worker; the engine evaluates
    store = _open_store(spec, write=False)
    assert isinstance(store, RemoteStore)
    return run_protocol_query(store, text, fmt, versions.current_dataset(store), None, row_cap,
                              bindings, checked=True)


@main.command()
@click.option("--store", "store_spec", envvar="GUIDEGRAPH_STORE", metavar="PATH|URL",
              help="Embedded store path or SPARQL endpoint URL (default: the user data folder).")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "turtle"]), default="text",
              show_default=True)
@click.option("--cases", "case_paths", multiple=True, metavar="PATH",
              help="Also reason over these cases (files or folders) and report conflicts.")
@click.option("--verify-log", is_flag=True,
              help="Only check the audit log: every entry intact, the hash chain whole, and "
                   "every stored graph as the log last recorded it (changed, deleted or "
                   "added outside the log: exit 1).")
@click.option("--expect-head", metavar="SEQUENCE:HASH",
              help="With --verify-log: also fail (exit 1) unless the chain still holds this "
                   "head, as --log-head printed it earlier, at its position.")
@click.option("--log-head", is_flag=True,
              help="Only print the audit log's chain head (SEQUENCE:HASH), to keep outside "
                   "the store for --expect-head.")
def audit(store_spec: str | None, fmt: str, case_paths: tuple[str, ...],
          verify_log: bool, expect_head: str | None, log_head: bool) -> None:
    """Audit citations, grades, conflicts and stored runs; exit 1 when an error is found."""
    import json

    from guidegraph.audit import findings as auditing
    from guidegraph.errors import GuidegraphError
    from guidegraph.reasoning.reasoner import Reasoner
    from guidegraph.store import versions
    from guidegraph.store.base import default_store_path, is_store

    expected = _log_options(expect_head, verify_log, log_head, bool(case_paths))
    # An author's `guidegraph audit` on a machine with no store audits the shipped files; a
    # store that was named (--store, GUIDEGRAPH_STORE) must exist.
    named = store_spec is not None or verify_log or log_head
    store = (_open_store(store_spec, write=False)
             if named or is_store(default_store_path()) else None)
    try:
        if log_head:
            assert store is not None
            _print_log_head(store, fmt)
            return
        if verify_log:
            assert store is not None
            _verify_log(store, expected, fmt)
        source = versions.current_knowledge(store)
        from_store, knowledge = source.stored, source.build()
        if store is None:
            click.echo("guidegraph: no store here yet; auditing the shipped files", err=True)
        elif not from_store:
            click.echo(f"guidegraph: store {store.location} holds no guidelines; auditing the "
                       "shipped files", err=True)
        extra = []
        if case_paths:
            reasoner = Reasoner(knowledge)
            found, errors = _read_cases(reasoner, case_paths)
            for error in errors:
                click.echo(f"guidegraph: {error}", err=True)
            extra = auditing.case_results(reasoner, found)
        report = auditing.audit(knowledge, store if from_store else None, extra)
    except GuidegraphError as exc:
        _fail(str(exc), exc.exit_code)
    if fmt == "json":
        click.echo(json.dumps(report.to_json(), indent=2, ensure_ascii=False))
    elif fmt == "turtle":
        import pyoxigraph as ox

        from guidegraph.store.results import PREFIXES

        click.echo(ox.serialize(auditing.to_triples(report), format=ox.RdfFormat.TURTLE,
                                prefixes=PREFIXES).decode("utf-8"), nl=False)
    else:
        click.echo(auditing.render_text(report), nl=False)
    raise SystemExit(1 if report.failed else 0)


def _log_options(expect_head: str | None, verify_log: bool, log_head: bool, cases: bool
                 ) -> Any:
    """The expected log head, once the log options are checked to fit together."""
    from guidegraph.store.log import parse_head

    expected = None
    if expect_head is not None:
        if not verify_log:
            _fail("--expect-head goes with --verify-log")
        try:
            expected = parse_head(expect_head)
        except ValueError as exc:
            _fail(str(exc))
    if log_head and (verify_log or cases):
        _fail("--log-head prints the chain head only; give it without --verify-log and "
              "--cases")
    return expected


def _print_log_head(store: Store, fmt: str) -> None:
    import json

    from guidegraph.store.log import chain_head

    sequence, digest = chain_head(store)
    if not sequence:
        _fail(f"the audit log of store {store.location} is empty: no head yet", 1)
    if fmt == "json":
        click.echo(json.dumps({"sequence": sequence, "hash": digest,
                               "head": f"{sequence}:{digest}"}, indent=2))
    else:
        click.echo(f"{sequence}:{digest}")


def _verify_log(store: Store, expected: Any, fmt: str) -> None:
    """Print the log check and exit: 1 when a problem was found."""
    import json

    from guidegraph.store.log import check

    report = check(store, expected)
    problems, entries = report.problems, len(report.entries)
    head = report.head.head() if report.head else None
    if fmt == "json":
        click.echo(json.dumps({"entries": entries, "head": head,
                               "problems": problems, "notes": report.notes}, indent=2))
    else:
        for problem in problems:
            click.echo(f"[ERROR] {problem}")
        for note in report.notes:
            click.echo(f"[NOTE] {note}")
        click.echo(f"audit log: {entries} entries, "
                   + ("intact" if not problems else f"{len(problems)} problems")
                   + (f" ({len(report.notes)} notes: not everything could be "
                      "checked)" if report.notes else "")
                   + (f"; head {head}" if head else ""))
    raise SystemExit(1 if problems else 0)


@main.command()
@click.argument("old")
@click.argument("new")
@click.option("--cases", "case_paths", multiple=True, metavar="PATH",
              help="Cases whose outcomes to compare (files or folders; default: the examples).")
@click.option("--store", "store_spec", envvar="GUIDEGRAPH_STORE", metavar="PATH|URL",
              help="Store whose runs made with OLD are re-run under NEW; also resolves OLD/NEW "
                   "given as content hashes or snapshot IRIs.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
def diff(old: str, new: str, case_paths: tuple[str, ...], store_spec: str | None,
         fmt: str) -> None:
    """Compare two guideline versions (folders, files, or stored versions) and the outcomes
    that change."""
    import json

    from guidegraph import resources
    from guidegraph.audit import diff as differ
    from guidegraph.errors import GuidegraphError

    store = _open_store(store_spec, write=False) if store_spec else None
    try:
        old_parts = differ.version_parts(old, store)
        new_parts = differ.version_parts(new, store)
        reader = differ.reasoner_for(old_parts)
        found, errors = _read_cases(reader, case_paths or (str(resources.examples_dir()),))
        for error in errors:
            click.echo(f"guidegraph: {error}", err=True)
        runs = differ.runs_made_with(store, old_parts, reader) if store is not None else []
        result = differ.diff(old_parts, new_parts, cases=found, runs=runs)
    except GuidegraphError as exc:
        _fail(str(exc), exc.exit_code)
    if fmt == "json":
        click.echo(json.dumps(result.to_json(), indent=2, ensure_ascii=False))
    else:
        click.echo(differ.render_text(result), nl=False)
