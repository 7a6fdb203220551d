"""A batch of cases reasoned and written as a stream: each result is rendered and written in
input order as soon as it is ready, and dropped, so memory does not grow with the batch.

With ``jobs`` > 1 the cases go to worker processes in chunks; the workers are forked from
this process after the reasoner is built, so they share its compiled plan instead of each
loading the knowledge again, and they send back rendered text, not result objects. At most
``2 * jobs`` chunks are in flight: reading runs ahead of writing by a bounded amount.

With a :class:`~guidegraph.provenance.runs.RunSaver`, each chunk's runs are saved (their
graphs rendered in the workers too) before its results are written: what was written was
saved, also when a write to the store fails half-way through a batch.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from guidegraph.errors import CaseInputError
from guidegraph.provenance import record as provenance
from guidegraph.provenance.runs import RunSaver, StoredRun, stored_run
from guidegraph.reasoning.result import render_text

if TYPE_CHECKING:
    from guidegraph.intake.cases import Case
    from guidegraph.reasoning.reasoner import Reasoner

#: One case done: its rendered result, and its run's graphs when the batch is saved
Done = tuple[str, StoredRun | None]

CHUNK = 200  # cases a worker reasons per task

_WORKER_REASONER: Reasoner | None = None  # set in the parent before the workers fork


@dataclass
class BatchStats:
    """What a streamed batch did: results written, input errors reported, and the most
    results held at once (rendered, not yet written), which bounds its memory."""

    results: int = 0
    errors: int = 0
    most_held: int = 0


def default_jobs() -> int:
    """The cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
        os.cpu_count() or 1)


def _done(reasoner: Reasoner, case: Case, fmt: str, saving: bool) -> Done:
    """One case's result in the batch's format, as a batch writes it, and its run's graphs
    when ``saving``."""
    result = reasoner.reason(case)
    if fmt == "text":
        text = render_text(result)
    elif fmt == "ntriples":
        text = provenance.to_ntriples(result, reasoner)
    elif fmt in ("turtle", "jsonld"):
        text = provenance.serialize(provenance.to_triples(result, reasoner), fmt)
    else:
        text = result.to_json_text()
    return text, stored_run(reasoner, case, result) if saving else None


def _render_chunk(task: tuple[list[Case], str, bool]) -> list[Done]:
    cases, fmt, saving = task
    assert _WORKER_REASONER is not None
    return [_done(_WORKER_REASONER, case, fmt, saving) for case in cases]


def stream(reasoner: Reasoner, items: Iterable[Case | CaseInputError], fmt: str,
           out: Callable[[str], None], on_error: Callable[[CaseInputError], None], *,
           jobs: int = 1, tick: Callable[[int], None] | None = None,
           save: RunSaver | None = None) -> BatchStats:
    """Reason every case of ``items`` and write its result with ``out`` in input order, in
    the layout the whole batch would have (a JSON list, NDJSON lines, text reports, one
    N-Triples document); an input error goes to ``on_error`` and the rest go on. ``tick``
    is told how many cases each written step finished. With ``save``, each chunk's runs
    are saved before its results are written, and the batch closed at the end."""
    stats = BatchStats()
    writer = _Writer(fmt, out, save)

    def cases() -> Iterator[Case]:
        for item in items:
            if isinstance(item, CaseInputError):
                stats.errors += 1
                on_error(item)
            else:
                yield item

    saving = save is not None
    try:
        if jobs <= 1:
            for chunk in _chunks(cases(), CHUNK if saving else 1):
                writer.write([_done(reasoner, case, fmt, saving) for case in chunk])
                stats.results += len(chunk)
                stats.most_held = max(stats.most_held, len(chunk))
                if tick:
                    tick(len(chunk))
        else:
            _in_workers(reasoner, _chunks(cases(), CHUNK), fmt, jobs, writer, stats, tick)
    finally:
        writer.close()  # a batch stopped by an error is still a whole document
    if save is not None:
        save.close(stats.errors)
    return stats


def _in_workers(reasoner: Reasoner, chunks: Iterator[list[Case]], fmt: str, jobs: int,
                writer: _Writer, stats: BatchStats,
                tick: Callable[[int], None] | None) -> None:
    """Chunks reasoned in ``jobs`` forked workers, written in order, 2 * jobs in flight."""
    global _WORKER_REASONER
    _WORKER_REASONER = reasoner
    try:
        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            pending: deque = deque()
            held = 0
            for chunk in chunks:
                task = (chunk, fmt, writer.save is not None)
                pending.append((pool.apply_async(_render_chunk, (task,)), len(chunk)))
                held += len(chunk)
                stats.most_held = max(stats.most_held, held)
                if len(pending) >= 2 * jobs:
                    held -= _drain_one(pending, writer, stats, tick)
            while pending:
                held -= _drain_one(pending, writer, stats, tick)
    finally:
        _WORKER_REASONER = None


def _drain_one(pending: deque, writer: _Writer, stats: BatchStats,
               tick: Callable[[int], None] | None) -> int:
    done, size = pending.popleft()
    writer.write(done.get())
    stats.results += size
    if tick:
        tick(size)
    return size


def _chunks(cases: Iterator[Case], size: int) -> Iterator[list[Case]]:
    chunk: list[Case] = []
    for case in cases:
        chunk.append(case)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


class _Writer:
    """Writes rendered results in the layout of the whole batch, so a streamed batch is
    byte for byte what the batch written at once would be; with ``save``, saves their runs
    first. Turtle and JSON-LD are one document of every run's record: the prefixes once,
    then each run's triples (Turtle); one JSON array of every run's node objects (JSON-LD).
    A subject the runs share (the case, the snapshots, the agent) is then described in
    several places, which is the same graph."""

    def __init__(self, fmt: str, out: Callable[[str], None], save: RunSaver | None) -> None:
        self.fmt, self.out, self.save, self.count = fmt, out, save, 0

    def write(self, done: list[Done]) -> None:
        if self.save is not None:
            self.save.write([run for _, run in done if run is not None])
        parts = []
        for text, _ in done:
            if self.fmt == "json":
                parts.append(("[\n" if self.count == 0 else ",\n") + text)
            elif self.fmt in ("ndjson", "text"):
                parts.append(("" if self.count == 0 else "\n") + text)
            elif self.fmt == "turtle" and self.count:
                parts.append(_without_prefixes(text))
            elif self.fmt == "jsonld":
                nodes = text.strip()
                parts.append(("[" if self.count == 0 else ",") + nodes[1:-1])
            else:
                parts.append(text)
            self.count += 1
        self.out("".join(parts))

    def close(self) -> None:
        if self.count and self.fmt == "json":
            self.out("\n]\n")
        elif self.count and self.fmt == "ndjson":
            self.out("\n")
        elif self.count and self.fmt == "jsonld":
            self.out("]")


def _without_prefixes(turtle: str) -> str:
    """A Turtle document without the ``@prefix`` lines it opens with (the first run's
    document declared the same ones)."""
    while turtle.startswith("@prefix "):
        turtle = turtle.split("\n", 1)[1] if "\n" in turtle else ""
    return turtle
