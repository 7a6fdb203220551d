"""Run embedded-store work in one child process that the HTTP server can kill.

Two facts shape this: pyoxigraph cannot cancel a running query, and a RocksDB store can be
opened read-write by one process only. So one worker process owns the store and serves
requests over a pipe, one at a time; when a request overruns its time limit the parent kills
the worker (SIGKILL) and starts a fresh one, which re-opens the store. Killed work is never
half-written, because every write is one transaction.

:class:`WorkerStore` is a :class:`~guidegraph.store.base.Store` whose reads and writes go through
the worker, so code written against ``Store`` (knowledge loading, ``save_runs``) runs
unchanged in the server process.
"""

from __future__ import annotations

import multiprocessing
import signal
import sys
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from guidegraph.errors import GuidegraphError
from guidegraph.store import versions
from guidegraph.store.base import (
    EmbeddedStore,
    RemoteStore,
    Store,
    StoreError,
    StoreLocked,
    materialise,
)
from guidegraph.store.isolation import Isolation, isolate
from guidegraph.store.log import APPEND_LOCK, logged_update
from guidegraph.store.results import OutputFormatError, render
from guidegraph.store.sparql import (
    QueryRefused,
    QuerySyntaxError,
    check_nesting,
    configure_guard,
    refuse_unsafe,
)

#: The worker's memory cap unless configured (``--worker-memory``).
DEFAULT_MEMORY = 2048 * 2**20
#: Room for the guard's parse of long queries (about 40,000 triple patterns; beyond, the text
#: is refused as unparsable); the stack counts towards the memory cap.
_GUARD_STACK, _GUARD_RECURSION = 64 * 2**20, 400_000
_LOCK_WAIT = 10.0  # seconds to wait for a store held by a worker that is still exiting


class QueryTimeout(GuidegraphError):
    """A request ran longer than the time limit and was cancelled (or never got a turn)."""

    exit_code = 2


# ----------------------------------------------------------------------------------------
# Protocol queries: guard, run and render in one step, so the time limit covers all three
# ----------------------------------------------------------------------------------------
def run_protocol_query(store: Store, text: str, fmt: str | None,
                       default_graphs: list[str] | None, named_graphs: list[str] | None,
                       row_cap: int | None, bindings: dict | None = None, *,
                       checked: bool = False) -> tuple[str, bool, str]:
    """The rendered result, whether rows (or triples) stopped at ``row_cap``, and the form.

    The text is guarded first unless ``checked`` (the worker guarded it already).
    ``fmt=None`` renders SELECT and ASK as a table and graphs as Turtle (the CLI's default).
    ``named_graphs=None`` keeps the engine's named graphs; a list (from the protocol's
    ``named-graph-uri``) restricts them, which ``Store.query`` has no parameter for.
    """
    if not checked:
        refuse_unsafe(text)
    if named_graphs is None:
        raw = store._select(text, bindings or {}, default_graphs, False)
    else:
        raw = _raw_dataset(store, text, default_graphs or [], named_graphs)
    result = materialise(raw, row_cap)
    fmt = fmt or ("turtle" if result.form == "CONSTRUCT" else "table")
    return render(result, fmt), result.truncated, result.form


def _raw_dataset(store: Store, text: str, default_graphs: list[str],
                 named_graphs: list[str]) -> Any:
    if isinstance(store, EmbeddedStore):
        try:
            raw = store.ox.query(text, default_graph=[ox.NamedNode(g) for g in default_graphs],
                                 named_graphs=[ox.NamedNode(g) for g in named_graphs])
        except SyntaxError as exc:
            raise QuerySyntaxError(f"query is not valid SPARQL 1.1: {exc}") from None
        except (OSError, RuntimeError, ValueError) as exc:
            raise StoreError(f"query failed: {exc}") from None
    elif isinstance(store, RemoteStore):
        raw = store._run(text, [("query", text),
                                *(("default-graph-uri", g) for g in default_graphs),
                                *(("named-graph-uri", g) for g in named_graphs)])
    else:
        raise StoreError(f"store {store.location} cannot restrict the named graphs of a query")
    return raw


# ----------------------------------------------------------------------------------------
# The worker process
# ----------------------------------------------------------------------------------------
def _worker_main(conn: Connection, path: str | None, memory_limit: int | None,
                 read_only: bool = False) -> None:
    """Confine this process, open the store (none: a worker that only checks queries for a
    remote engine), then answer requests until the parent closes the pipe."""
    isolation = isolate(memory_limit)
    configure_guard(_GUARD_STACK, _GUARD_RECURSION)
    store: EmbeddedStore | None = None
    if path is not None:
        try:
            store = _open(Path(path), conn, read_only)
        except GuidegraphError as exc:
            conn.send(("fatal", str(exc)))
            return
    conn.send(("ready", isolation))
    dataset: list[str] | None = None  # current_dataset() scans every quad: cache until a write
    while True:
        try:
            op, args = conn.recv()
        except (EOFError, OSError):
            return  # the server is gone
        try:
            reply: Any = None
            if op == "check":  # a query for a remote engine: guard it here, under the limit
                refuse_unsafe(args)
            elif store is None:
                raise StoreError(f"this worker holds no store for {op!r}")
            elif op == "query":
                text, bindings, fmt, default_graphs, named_graphs, row_cap = args
                if default_graphs is None and named_graphs is None:
                    if dataset is None:
                        dataset = versions.current_dataset(store)
                    default_graphs = dataset
                reply = run_protocol_query(store, text, fmt, default_graphs, named_graphs,
                                           row_cap, bindings)
            elif op == "update":
                dataset = None
                store.update(args)
            elif op == "user-update":  # guarded, applied and logged (audit_log.logged_update)
                dataset = None
                text, actor = args
                refuse_unsafe(text)
                logged_update(store, text, actor,
                              stage=lambda name: conn.send(("stage", name)))
            elif op == "select":
                reply = _serialise(store._select(*args))
            elif op == "graph":
                reply = store.graph_ntriples(args)
            elif op == "graph-hashes":
                reply = store.graph_hashes(include_log=args)
            else:
                raise StoreError(f"unknown store operation {op!r}")
            conn.send(("ok", reply))
        except GuidegraphError as exc:
            conn.send(("error", type(exc).__name__, str(exc)))
        except MemoryError:
            conn.send(("error", "ResourceLimit", _memory_message(isolation.memory_limit)))
        except Exception as exc:  # report, keep serving: one bad request must not kill it
            conn.send(("error", "internal", f"{type(exc).__name__}: {exc}"))


def _open(path: Path, conn: Connection, read_only: bool) -> EmbeddedStore:
    """Open the store, waiting while another process (a worker whose server was just killed,
    still exiting) holds its lock; tell the parent it is still waiting."""
    waited = 0.0
    while True:
        try:
            return EmbeddedStore(path, read_only=read_only)
        except StoreLocked:
            if waited >= _LOCK_WAIT:
                raise
        if waited % 5 == 0:
            conn.send(("progress", f"store {path} is locked by another process; waited "
                                   f"{waited:.0f} s"))
        time.sleep(0.5)
        waited += 0.5


def _serialise(raw: Any) -> tuple[str, Any]:
    """Raw pyoxigraph results as bytes that cross the pipe."""
    if isinstance(raw, ox.QueryBoolean):
        return "ask", bool(raw)
    if isinstance(raw, ox.QuerySolutions):
        return "select", raw.serialize(format=ox.QueryResultsFormat.JSON)
    return "graph", ox.serialize(raw, format=ox.RdfFormat.N_TRIPLES)


class ResourceLimit(GuidegraphError):
    """A request needed more memory than the worker may take, or crashed the worker."""

    exit_code = 2


def _memory_message(limit: int | None) -> str:
    cap = f"{limit // 2**20} MB" if limit else "the machine's"
    return (f"cancelled: the request needed more memory than the query worker may use "
            f"({cap}, --worker-memory); nothing was written")


_ERRORS: dict[str, type[GuidegraphError]] = {
    "QueryRefused": QueryRefused, "QueryTimeout": QueryTimeout,
    "QuerySyntaxError": QuerySyntaxError, "ResourceLimit": ResourceLimit,
    "OutputFormatError": OutputFormatError}


class StoreWorker:
    """The parent's handle on the worker: one request at a time, each with a time limit.

    ``path=None`` starts a worker without a store, which only guards queries bound for a
    remote engine. ``progress`` receives a line while the worker takes long to open the store
    (recovery after an unclean stop can take minutes): opening is never cut short."""

    def __init__(self, path: Path | str | None, *, memory_limit: int | None = DEFAULT_MEMORY,
                 progress: Callable[[str], None] | None = None,
                 progress_every: float = 30.0, read_only: bool = False) -> None:
        self.path = str(path) if path is not None else None
        self.read_only = read_only
        self.memory_limit = memory_limit
        self.progress = progress or (lambda line: print(line, file=sys.stderr, flush=True))
        self.progress_every = progress_every
        self._ctx = multiprocessing.get_context("spawn")  # no fork of a threaded server
        self._lock = threading.Lock()
        self._proc: Any = None
        self._conn: Connection | None = None
        self.isolation: Isolation | None = None
        self.restarts = 0

    def start(self) -> None:
        """Start the worker and wait until it has opened the store (fails if it cannot)."""
        with self._lock:
            if self._proc is None:
                self._start()

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def _start(self) -> None:
        parent, child = self._ctx.Pipe()
        proc = self._ctx.Process(target=_worker_main, daemon=True, name="guidegraph-store",
                                 args=(child, self.path, self.memory_limit, self.read_only))
        proc.start()
        child.close()
        started = time.monotonic()
        status, detail = "fatal", "the store worker exited while opening the store"
        try:
            while True:
                if parent.poll(self.progress_every):
                    status, detail = parent.recv()
                    if status != "progress":
                        break
                    self.progress(detail)
                elif not proc.is_alive():
                    break
                else:
                    self.progress(f"store {self.path}: still opening after "
                                  f"{time.monotonic() - started:.0f} s (recovery after an "
                                  "unclean stop can take a while); waiting")
        except (EOFError, OSError):
            pass
        if status != "ready":
            proc.join(5)
            raise StoreError(detail)
        self._proc, self._conn, self.isolation = proc, parent, detail

    def _kill(self) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc.join(10)
        if self._conn is not None:
            self._conn.close()
        self._proc = self._conn = None

    def _crashed(self) -> GuidegraphError:
        """The error for a worker that died during a request (it is then restarted)."""
        code = self._proc.exitcode if self._proc is not None else None
        if code is None and self._proc is not None:
            self._proc.join(5)
            code = self._proc.exitcode
        self._kill()
        self.restarts += 1
        self._start()
        if code is not None and code < 0:
            name = signal.Signals(-code).name
            if -code == signal.SIGABRT and self.memory_limit:
                return ResourceLimit(_memory_message(self.memory_limit))
            return ResourceLimit(f"the query worker crashed ({name}) on this request and was "
                                 "restarted; nothing of the request was written")
        return StoreError("the store worker stopped unexpectedly and was restarted; "
                          "nothing of the request was written")

    def call(self, op: str, args: Any, timeout: float | None, *,
             stages: dict[str, float | None] | None = None) -> Any:
        """Send one request; on overrun kill and restart the worker, raise QueryTimeout.

        ``timeout=None``: no limit (the command line, where the user can interrupt). A
        request may pass through stages (the worker sends ``("stage", name)``), each with a
        time limit of its own from ``stages``: a logged update is hashed under the internal
        limit, applied under the user's, and logged under the internal one again."""
        if not self._lock.acquire(timeout=-1 if timeout is None else timeout):
            raise QueryTimeout(f"the store was busy with other requests for {timeout:g} s; "
                               "try again")
        stage, limit = "", timeout
        try:
            if self._proc is None or not self._proc.is_alive():
                self._kill()
                self._start()
            assert self._conn is not None
            try:
                self._conn.send((op, args))
                while True:
                    ready = self._conn.poll(limit)
                    reply = self._conn.recv() if ready else None
                    if reply is None or reply[0] != "stage":
                        break
                    stage = reply[1]
                    limit = (stages or {}).get(stage, timeout)
            except (EOFError, OSError):
                raise self._crashed() from None
            if not ready:
                self._kill()
                self.restarts += 1
                self._start()
                if stage == "log":
                    raise StoreError(f"the update was applied, but its audit-log entry was "
                                     f"not written within {limit:g} s; `guidegraph audit "
                                     "--verify-log` reports the graphs it changed as changed "
                                     "outside the log")
                raise QueryTimeout(f"cancelled: the request ran longer than the time limit "
                                   f"of {limit:g} s (--query-timeout); nothing was written")
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

    def __init__(self, worker: StoreWorker, timeout: float | None) -> None:
        self.worker = worker
        self.location = worker.path or "(no store)"
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

    def protocol_query(self, text: str, fmt: str | None, default_graphs: list[str] | None,
                       named_graphs: list[str] | None, row_cap: int | None,
                       timeout: float | None, bindings: dict | None = None
                       ) -> tuple[str, bool, str]:
        """An untrusted query guarded, run and rendered in the worker, under ``timeout``
        (dataset default: the current one); only its nesting is checked here, before the
        text crosses to the worker.

        Returns the body, whether it stopped at ``row_cap``, and the query's form."""
        check_nesting(text)
        terms = {k: str(v) for k, v in (bindings or {}).items()}  # pasted as serialized
        return self.worker.call(
            "query", (text, terms, fmt, default_graphs, named_graphs, row_cap), timeout)

    _normalised = True  # the worker reads the embedded store

    def graph_ntriples(self, graph: str) -> bytes:
        return self.worker.call("graph", graph, self.timeout)

    def graph_hashes(self, *, include_log: bool = False) -> dict[str, str]:
        return self.worker.call("graph-hashes", include_log, self.timeout)

    def user_update(self, text: str, timeout: float | None, actor: str) -> None:
        """An untrusted update guarded and applied in the worker under ``timeout``, and
        logged as ``actor``'s (hashing before and after under the internal time limit).

        Held under :data:`~guidegraph.store.log.APPEND_LOCK`, so no save in this process
        reads the chain head while the worker appends the update's entry."""
        check_nesting(text)
        with APPEND_LOCK:
            self.worker.call("user-update", (text, actor), self.timeout,
                             stages={"update": timeout, "log": self.timeout})
