"""Run embedded-store work in one child process that the HTTP server can kill.

Two facts shape this: pyoxigraph cannot cancel a running query, and a RocksDB store can be
opened read-write by one process only. So one worker process owns the store and serves
requests over a pipe, one at a time; when a request overruns its time limit the parent kills
the worker (SIGKILL) and starts a fresh one, which re-opens the store. Killed work is never
half-written, because every write is one transaction.

:class:`WorkerStore` is a :class:`~guidegraph.store.Store` whose reads and writes go through
the worker, so code written against ``Store`` (knowledge loading, ``save_runs``) runs
unchanged in the server process.
"""

from __future__ import annotations

import multiprocessing
import threading
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from guidegraph.errors import GuidegraphError
from guidegraph.query_output import render
from guidegraph.store import (
    EmbeddedStore,
    QueryRefused,
    QueryResult,
    RemoteStore,
    Store,
    StoreError,
    materialise,
    query_form,
)

_START_TIMEOUT = 60.0


class QueryTimeout(GuidegraphError):
    """A request ran longer than the time limit and was cancelled (or never got a turn)."""

    exit_code = 2


# ----------------------------------------------------------------------------------------
# Protocol queries: run and render in one step, so the time limit covers both
# ----------------------------------------------------------------------------------------
def run_protocol_query(store: Store, text: str, fmt: str, default_graphs: list[str] | None,
                       named_graphs: list[str] | None, row_cap: int | None
                       ) -> tuple[str, bool]:
    """The rendered result and whether SELECT rows stopped at ``row_cap``.

    ``named_graphs=None`` keeps the engine's named graphs; a list (from the protocol's
    ``named-graph-uri``) restricts them, which ``Store.query`` has no parameter for.
    """
    if named_graphs is None:
        result = store.query(text, default_graphs=default_graphs, row_cap=row_cap)
    else:
        result = _query_dataset(store, text, default_graphs or [], named_graphs, row_cap)
    if fmt == "rdfxml":
        body = ox.serialize(result.triples or [], format=ox.RdfFormat.RDF_XML).decode("utf-8")
    else:
        body = render(result, fmt)
    return body, bool(result.table and result.table.truncated)


def _query_dataset(store: Store, text: str, default_graphs: list[str],
                   named_graphs: list[str], row_cap: int | None) -> QueryResult:
    form = query_form(text)
    if isinstance(store, EmbeddedStore):
        try:
            raw = store.ox.query(text, default_graph=[ox.NamedNode(g) for g in default_graphs],
                                 named_graphs=[ox.NamedNode(g) for g in named_graphs])
        except (OSError, RuntimeError, ValueError) as exc:
            raise StoreError(f"query failed: {exc}") from None
    elif isinstance(store, RemoteStore):
        params = [("query", text), *(("default-graph-uri", g) for g in default_graphs),
                  *(("named-graph-uri", g) for g in named_graphs)]
        if form == "CONSTRUCT":
            data = store._post(store.url, params, "application/n-triples")
            raw = [q.triple for q in ox.parse(data, format=ox.RdfFormat.N_TRIPLES)]
        else:
            data = store._post(store.url, params, "application/sparql-results+json")
            raw = ox.parse_query_results(data, format=ox.QueryResultsFormat.JSON)
    else:
        raise StoreError(f"store {store.location} cannot restrict the named graphs of a query")
    return materialise(form, raw, row_cap)


# ----------------------------------------------------------------------------------------
# The worker process
# ----------------------------------------------------------------------------------------
def _worker_main(conn: Connection, path: str) -> None:
    """Open the store, then answer requests until the parent closes the pipe."""
    try:
        store = EmbeddedStore(Path(path))
    except GuidegraphError as exc:
        conn.send(("fatal", str(exc)))
        return
    conn.send(("ready", store.location))
    dataset: list[str] | None = None  # current_dataset() scans every quad: cache until a write
    while True:
        try:
            op, args = conn.recv()
        except (EOFError, OSError):
            return  # the server is gone
        try:
            if op == "query":
                text, fmt, default_graphs, named_graphs, row_cap = args
                if default_graphs is None and named_graphs is None:
                    if dataset is None:
                        dataset = store.current_dataset()
                    default_graphs = dataset
                reply: Any = run_protocol_query(store, text, fmt, default_graphs,
                                                named_graphs, row_cap)
            elif op == "update":
                dataset = None
                store.update(args)
                reply = None
            elif op == "select":
                reply = _serialise(store._select(*args))
            elif op == "graph":
                reply = ox.serialize(store.graph_triples(args), format=ox.RdfFormat.N_TRIPLES)
            else:
                raise StoreError(f"unknown store operation {op!r}")
            conn.send(("ok", reply))
        except GuidegraphError as exc:
            conn.send(("error", type(exc).__name__, str(exc)))
        except Exception as exc:  # report, keep serving: one bad request must not kill it
            conn.send(("error", "internal", f"{type(exc).__name__}: {exc}"))


def _serialise(raw: Any) -> tuple[str, Any]:
    """Raw pyoxigraph results as bytes that cross the pipe."""
    if isinstance(raw, ox.QueryBoolean):
        return "ask", bool(raw)
    if isinstance(raw, ox.QuerySolutions):
        return "select", raw.serialize(format=ox.QueryResultsFormat.JSON)
    return "graph", ox.serialize(raw, format=ox.RdfFormat.N_TRIPLES)


_ERRORS: dict[str, type[GuidegraphError]] = {"QueryRefused": QueryRefused,
                                             "QueryTimeout": QueryTimeout}


class StoreWorker:
    """The parent's handle on the worker: one request at a time, each with a time limit."""

    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        self._ctx = multiprocessing.get_context("spawn")  # no fork of a threaded server
        self._lock = threading.Lock()
        self._proc: Any = None
        self._conn: Connection | None = None
        self.restarts = 0

    def start(self) -> None:
        """Start the worker and wait until it has opened the store (fails if it cannot)."""
        with self._lock:
            if self._proc is None:
                self._start()

    def _start(self) -> None:
        parent, child = self._ctx.Pipe()
        proc = self._ctx.Process(target=_worker_main, args=(child, self.path), daemon=True,
                                 name="guidegraph-store")
        proc.start()
        child.close()
        try:
            if not parent.poll(_START_TIMEOUT):
                raise StoreError(f"store {self.path}: worker did not open it within "
                                 f"{_START_TIMEOUT:.0f} s")
            status, detail = parent.recv()
        except (EOFError, OSError):
            status, detail = "fatal", "the store worker exited while opening the store"
        except StoreError:
            proc.kill()
            proc.join()
            raise
        if status != "ready":
            proc.join(5)
            raise StoreError(detail)
        self._proc, self._conn = proc, parent

    def _kill(self) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc.join(10)
        if self._conn is not None:
            self._conn.close()
        self._proc = self._conn = None

    def call(self, op: str, args: Any, timeout: float) -> Any:
        """Send one request; on overrun kill and restart the worker, raise QueryTimeout."""
        if not self._lock.acquire(timeout=timeout):
            raise QueryTimeout(f"the store was busy with other requests for {timeout:g} s; "
                               "try again")
        try:
            if self._proc is None or not self._proc.is_alive():
                self._kill()
                self._start()
            assert self._conn is not None
            try:
                self._conn.send((op, args))
                ready = self._conn.poll(timeout)
                reply = self._conn.recv() if ready else None
            except (EOFError, OSError):
                self._kill()
                self.restarts += 1
                self._start()
                raise StoreError("the store worker stopped unexpectedly and was restarted; "
                                 "nothing of the request was written") from None
            if not ready:
                self._kill()
                self.restarts += 1
                self._start()
                raise QueryTimeout(f"cancelled: the request ran longer than the time limit "
                                   f"of {timeout:g} s (--query-timeout); nothing was written")
        finally:
            self._lock.release()
        if reply[0] == "ok":
            return reply[1]
        raise _ERRORS.get(reply[1], StoreError)(reply[2])

    def close(self) -> None:
        with self._lock:
            self._kill()


class WorkerStore(Store):
    """The embedded store as seen from the server process: every operation via the worker."""

    def __init__(self, worker: StoreWorker, timeout: float) -> None:
        self.worker = worker
        self.location = worker.path
        self.timeout = timeout

    def _select(self, text: str, bindings: dict, default_graphs: list[str] | None,
                union: bool) -> Any:
        terms = {k: str(v) for k, v in bindings.items()}  # bind_values pastes str(term)
        kind, data = self.worker.call("select", (text, terms, default_graphs, union),
                                      self.timeout)
        if kind == "ask":
            return data
        if kind == "select":
            return ox.parse_query_results(data, format=ox.QueryResultsFormat.JSON)
        return [q.triple for q in ox.parse(data, format=ox.RdfFormat.N_TRIPLES)]

    def update(self, text: str) -> None:
        self.worker.call("update", text, self.timeout)

    def graph_triples(self, graph: str) -> list[ox.Triple]:
        data = self.worker.call("graph", graph, self.timeout)
        return [q.triple for q in ox.parse(data, format=ox.RdfFormat.N_TRIPLES)]

    def protocol_query(self, text: str, fmt: str, default_graphs: list[str] | None,
                       named_graphs: list[str] | None, row_cap: int | None,
                       timeout: float) -> tuple[str, bool]:
        """A protocol query run and rendered in the worker (dataset default: current)."""
        return self.worker.call("query", (text, fmt, default_graphs, named_graphs, row_cap),
                                timeout)
