"""The named query library gives the same rows on every store: the embedded one, an Oxigraph
server, Virtuoso, and guidegraph's own ``serve`` (over the embedded store and over an Oxigraph
server), each read through ``RemoteStore`` as ``guidegraph query --store URL`` does. The
Oxigraph server holds the default graph's copy of the current knowledge, as a store loaded by
``guidegraph load --store URL`` does, so its requests name no dataset (tests/store/
test_remote_dataset.py has the form that names every graph).

Each remote engine gets an exact copy of the ``saved_store`` graphs (two guideline versions,
seven saved runs), so run IRIs and timestamps are the same everywhere and every column can be
compared. Rows are compared as multisets, and as sequences when the query has ORDER BY.

Terms are compared by kind and value: IRIs and plain or language-tagged literals exactly;
typed literals by their datatype and lexical form; blank nodes only as blank nodes, since
each engine names them its own way. One engine difference is allowed here, said here: number
literals compare by numeric value, since an aggregate over decimals may come back as another
number type on another engine (docs/scaling.md, "Engines").

Where Virtuoso 7.2 answers a query of the library differently, :data:`VIRTUOSO_DIFFERS` names
the query and the reason, the comparison is an expected failure (strict: a Virtuoso that
answers alike fails it, so this list and docs/scaling.md are kept true).
"""

from __future__ import annotations

import gc
import json
import re
import shutil
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from guidegraph import resources
from guidegraph.cli import main
from guidegraph.store import current, versions
from guidegraph.store.base import EmbeddedStore, RemoteStore, Store, parse_bindings
from guidegraph.store.named_queries import library
from tests.engines import (  # noqa: F401 - fixtures
    Virtuoso,
    oxigraph_binary,
    start_oxigraph,
    stop,
    value,
    virtuoso,
)
from tests.queries.test_named_queries import EXPECTED
from tests.server.conftest import start_server, stop_server

GRAPH_QUERIES = ["loaded-guideline-versions", "runs-for-case", "runs-per-guideline-version"]
REMOTES = ["oxigraph", "virtuoso", "serve", "serve-oxigraph"]

VIRTUOSO_DIFFERS: dict[str, str] = {}

#: Bindings under which a query shows its difference (under the others Virtuoso's rows are the
#: embedded store's); a query not named here differs under every binding it is run with.
DIFFERS_ONLY: dict[str, set[str]] = {}


def _differs(engine: str, name: str, pid: str) -> bool:
    if engine != "virtuoso" or name not in VIRTUOSO_DIFFERS:
        return False
    binds = pid[len(name) + 1:-1] if pid.startswith(name + "[") else "unbound"
    return name not in DIFFERS_ONLY or binds in DIFFERS_ONLY[name]


def engine_params(names: list[Any]) -> list[Any]:
    """(engine, *query params) for every remote engine; Virtuoso's known differences marked
    as expected failures with their reason."""
    out = []
    for engine in REMOTES:
        for p in names:
            values = p.values if hasattr(p, "values") else (p,)
            name = values[0]
            pid = p.id if hasattr(p, "id") else name
            marks = [pytest.mark.xfail(strict=True, reason=VIRTUOSO_DIFFERS[name])] if (
                _differs(engine, name, pid)) else []
            out.append(pytest.param(engine, *values, marks=marks, id=f"{pid}-{engine}"))
    return out


def every_query() -> list[Any]:
    """Every query of the library (``guidegraph query --list``) with each binding its expected
    rows name (unbound when none does)."""
    out = []
    seen = set()
    for name, named in sorted(library().items()):
        if "/" in name or named.path in seen:
            continue
        seen.add(named.path)
        spec = EXPECTED / f"{name}.json"
        binds = [s["bind"] for s in json.loads(spec.read_text())["scenarios"]
                 if "store" not in s] if spec.exists() else [[]]
        for bind in {tuple(b): b for b in binds}.values():
            out.append(pytest.param(name, bind, id=f"{name}[{','.join(bind) or 'unbound'}]"))
    return out


def rows(store: Store, name: str, bind: list[str]) -> tuple[list[str], list[tuple], bool]:
    """Variables, rows (or triples) and whether order matters, as `guidegraph query` runs a
    named query: on the store's current dataset."""
    text = library()[name].text
    result = store.query(text, bindings=parse_bindings(bind),
                         default_graphs=versions.current_dataset(store))
    if result.form == "CONSTRUCT":
        triples = [tuple(value(x) for x in t) for t in result.triples or []]
        return [], triples, False
    ordered = bool(re.search(r"\bORDER\s+BY\b", text, flags=re.IGNORECASE))
    return result.table.variables, [tuple(value(x) for x in r) for r in result.table.rows], \
        ordered


def copy_into(source: Path, target: RemoteStore) -> None:
    """Every graph of an embedded store into a remote one, one graph per request."""
    embedded = EmbeddedStore(source)
    try:
        for graph in embedded.graph_names():
            target.add_graphs({graph: embedded.graph_triples(graph)})
    finally:
        del embedded
        gc.collect()


@pytest.fixture(scope="module")
def engines(request: pytest.FixtureRequest, saved_store: Any,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, RemoteStore]]:
    """The saved store copied into each remote engine, and guidegraph serve over it."""
    tmp = tmp_path_factory.mktemp("engines")
    binary = request.getfixturevalue("oxigraph_binary")
    server: Virtuoso = request.getfixturevalue("virtuoso")
    proc, url = start_oxigraph(binary, tmp / "oxigraph")
    served = shutil.copytree(saved_store.path, tmp / "served")
    procs = [proc]
    try:
        oxigraph = RemoteStore(url + "/query")
        copy_into(saved_store.path, oxigraph)
        # and the default graph's copy of the current knowledge, as `guidegraph load` writes
        # it: queries on the current dataset then go with no dataset named
        assert current.refresh_copy(oxigraph)
        assert oxigraph.knowledge_copy() == frozenset(versions.current_dataset(oxigraph))
        copy_into(saved_store.path, server.clear())
        serve = start_server(served, tmp / "serve.log")
        serve_oxigraph = start_server(url + "/query", tmp / "serve-oxigraph.log")
        yield {"oxigraph": oxigraph, "virtuoso": server.store(),
               "serve": RemoteStore(serve.sparql), "serve-oxigraph":
               RemoteStore(serve_oxigraph.sparql)}
        stop_server(serve)
        stop_server(serve_oxigraph)
    finally:
        for p in procs:
            stop(p)


@pytest.fixture(scope="module")
def embedded_rows(saved_store: Any) -> Any:
    """Rows on the embedded store, computed once per query; the store is opened for each
    query and closed again, since the command-line tests open it from another process."""
    cache: dict[tuple[str, tuple[str, ...]], Any] = {}

    def get(name: str, bind: list[str]) -> Any:
        key = (name, tuple(bind))
        if key not in cache:
            store = EmbeddedStore(saved_store.path)
            try:
                cache[key] = rows(store, name, bind)
            finally:
                del store
                gc.collect()
        return cache[key]

    return get


def test_the_comparison_covers_the_whole_library() -> None:
    names = {p.values[0] for p in every_query()}
    assert names == {p.stem for p in resources.queries_dir().rglob("*.rq")}


@pytest.mark.parametrize(("engine", "name", "bind"), engine_params(every_query()))
def test_every_named_query_gives_the_embedded_rows(engines: dict[str, RemoteStore],
                                                  embedded_rows: Any, engine: str, name: str,
                                                  bind: list[str]) -> None:
    variables, want, ordered = embedded_rows(name, bind)
    got_variables, got, _ = rows(engines[engine], name, bind)
    assert got_variables == variables
    if ordered:
        assert got == want
    else:
        assert Counter(got) == Counter(want)


@pytest.mark.parametrize("engine", REMOTES)
def test_graph_queries_have_rows_everywhere(engines: dict[str, RemoteStore],
                                            embedded_rows: Any, engine: str) -> None:
    """The three queries that name graphs: rows on every engine, as many as embedded."""
    counts = {name: len(embedded_rows(name, [])[1]) for name in GRAPH_QUERIES}
    assert counts == {"loaded-guideline-versions": 2, "runs-for-case": 7,
                      "runs-per-guideline-version": 2}
    for name in GRAPH_QUERIES:
        assert len(rows(engines[engine], name, [])[1]) == counts[name], name


def cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    out = (result.exit_code, result.stdout, result.stderr)
    del result
    gc.collect()
    return out


@pytest.mark.parametrize(("engine", "name"), engine_params(GRAPH_QUERIES))
def test_guidegraph_query_with_a_store_url(engines: dict[str, RemoteStore], saved_store: Any,
                                          engine: str, name: str) -> None:
    """`guidegraph query NAME --store URL` prints what it prints for the embedded store."""
    here = cli("query", name, "--store", str(saved_store.path), "--format", "csv")
    there = cli("query", name, "--store", engines[engine].url, "--format", "csv")
    assert here[0] == 0 and there[0] == 0, (here[2], there[2])
    assert len(here[1].splitlines()) > 1
    assert sorted(there[1].splitlines()) == sorted(here[1].splitlines())


# ----------------------------------------------------------------------------------------
# audit, audit --verify-log and diff through the command line, on Virtuoso
# ----------------------------------------------------------------------------------------
def _untimed(text: str) -> str:
    """Command output without the times of the command's own run."""
    return re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?", "TIME", text)


@pytest.mark.parametrize("args", [
    ["audit"],
    ["audit", "--format", "json"],
    ["audit", "--verify-log"],
    ["diff", "{hash:2025-11-08}", "{hash:2025-11-08-r2}"],
    ["diff", "{hash:2025-11-08}", "{hash:2025-11-08-r2}", "--format", "json"],
], ids=["audit", "audit-json", "verify-log", "diff", "diff-json"])
def test_audit_and_diff_on_virtuoso_as_on_the_embedded_store(
        engines: dict[str, RemoteStore], saved_store: Any, args: list[str]) -> None:
    args = [saved_store.hashes[a[6:-1]] if a.startswith("{hash:") else a for a in args]
    here = cli(*args, "--store", str(saved_store.path))
    there = cli(*args, "--store", engines["virtuoso"].url)
    assert there[0] == here[0], there[2]
    assert here[1].strip()
    assert _untimed(there[1]).replace(engines["virtuoso"].url, "STORE") == _untimed(
        here[1]).replace(str(saved_store.path), "STORE")
