"""The store behind the endpoint, and the knowledge each request reasons with."""

from __future__ import annotations

import functools
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from guidegraph.errors import GuidegraphError
from guidegraph.knowledge.loading import read_parts
from guidegraph.reasoning.reasoner import Reasoner, ReasonerCache
from guidegraph.store import versions
from guidegraph.store.base import (
    RemoteStore,
    Store,
    StoreError,
    check_store_path,
    default_store_path,
)
from guidegraph.store.log import APPEND_LOCK, logged_update
from guidegraph.store.sparql import check_nesting
from guidegraph.store.versions import KnowledgeSource
from guidegraph.store.worker import QueryTimeout, StoreWorker, WorkerStore, run_protocol_query

if TYPE_CHECKING:
    from guidegraph.serve.config import ServeConfig


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
        return source, reasoners.for_source(source)

    return current
