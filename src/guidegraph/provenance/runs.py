"""Keeping reasoning runs in a store and reading them back.

A saved run is two graphs: the case graph (the case's latest facts, one per case) and the
run graph (its PROV-O record in the stored form: without what the case, snapshot and agent
graphs already say, nor what ``queries/provenance/expand-run.rq`` derives again).
``run_record`` reassembles the self-contained record that ``explain`` and ``audit`` read.
"""

from __future__ import annotations

import functools
import hashlib
import uuid
from dataclasses import dataclass

import pyoxigraph as ox

from guidegraph import resources
from guidegraph.clock import timestamp
from guidegraph.intake.cases import Case
from guidegraph.provenance import record as provenance
from guidegraph.reasoning.reasoner import Reasoner
from guidegraph.reasoning.result import Result
from guidegraph.store import versions
from guidegraph.store.base import Store
from guidegraph.store.hashing import ntriples_text
from guidegraph.store.log import GraphChange, write_logged
from guidegraph.vocab import (
    AGENT_GRAPH,
    BATCH_BASE,
    CASE_GRAPH,
    DCTERMS_IS_PART_OF,
    GG,
    PROV,
    PROV_USED,
    RDF_TYPE,
    SKOS_NOTATION,
    XSD,
)

_CHUNK = 200


def case_graph(case_iri: str) -> str:
    """One graph per case, holding its latest facts."""
    return CASE_GRAPH + hashlib.sha256(case_iri.encode()).hexdigest()[:32]


def _parse(nt: str) -> list[ox.Triple]:
    return [q.triple for q in ox.parse(nt.encode("utf-8"), format=ox.RdfFormat.N_TRIPLES)]


def case_triples(reasoner: Reasoner, case: Case) -> list[ox.Triple]:
    """The case's facts as its JSON-LD context maps them, plus its id as skos:notation."""
    return [*reasoner.intake.triples(case),
            ox.Triple(ox.NamedNode(case.iri), ox.NamedNode(SKOS_NOTATION), ox.Literal(case.id))]


@dataclass(frozen=True)
class StoredRun:
    """One run as a store keeps it: its case graph and run graph as N-Triples."""

    case_iri: str
    case_text: bytes
    run_iri: str
    run_text: bytes


def stored_run(reasoner: Reasoner, case: Case, result: Result) -> StoredRun:
    """The graphs to save for one run (computed where the run was reasoned: in a worker)."""
    return StoredRun(case.iri, ntriples_text(case_triples(reasoner, case)), result.provenance,
                     provenance.to_ntriples(result, reasoner, stored=True).encode())


class RunSaver:
    """Saves runs as they come, one write per :meth:`write` (see
    :meth:`~guidegraph.store.base.Store.write_graphs` for how).

    Each run's log entry records the content hash of its run graph and its case graph; the
    first entry of a write also that of the agent graph, which every write adds to. With
    ``batch``, the runs are parts of one ``gg:ReasoningBatch`` activity in a graph of its
    own, described at the first write and ended, with its counts, at :meth:`close`; each
    run's graph says it is ``dcterms:isPartOf`` the batch."""

    def __init__(self, store: Store, *, actor: str | None = None, batch: bool = False) -> None:
        self.store, self.actor, self.saved = store, actor, 0
        self.agent_graph = AGENT_GRAPH + provenance.__version__
        self.agent = _parse("\n".join(provenance.agent_lines()) + "\n")
        self.started = timestamp()
        self.batch = BATCH_BASE + uuid.uuid4().hex if batch else None

    def write(self, runs: list[StoredRun]) -> None:
        """Save these runs (with their log entries) in one write."""
        if not runs:
            return
        texts: dict[str, bytes] = {}
        changes: list[GraphChange] = []
        part = f" <{DCTERMS_IS_PART_OF}> <{self.batch}> .\n".encode() if self.batch else b""
        for run in runs:
            graph = case_graph(run.case_iri)
            texts[graph] = run.case_text
            # A run says which batch it is part of in its own graph: the batch graph is then
            # written twice, not grown (and hashed again) with every chunk.
            text = texts[run.run_iri] = run.run_text + (
                b"<" + run.run_iri.encode() + b">" + part if part else b"")
            changes.append(GraphChange(
                action="reason", graph=run.run_iri, subject=run.case_iri, before="",
                after="sha256:" + hashlib.sha256(text).hexdigest(), wrote=(graph,)))
        append = {self.agent_graph: self.agent}  # only ever gains the same two triples
        changes[0].wrote += (self.agent_graph,)
        if self.batch is not None and not self.saved:
            append[self.batch] = self._described(ox.NamedNode(self.batch))
            changes[0].wrote += (self.batch,)
        write_logged(self.store, changes, append=append, actor=self.actor, texts=texts)
        self.saved += len(runs)

    def _described(self, batch: ox.NamedNode) -> list[ox.Triple]:
        return [ox.Triple(batch, ox.NamedNode(RDF_TYPE), ox.NamedNode(GG + "ReasoningBatch")),
                ox.Triple(batch, ox.NamedNode(RDF_TYPE), ox.NamedNode(PROV + "Activity")),
                ox.Triple(batch, ox.NamedNode(PROV + "startedAtTime"),
                          ox.Literal(self.started, datatype=ox.NamedNode(XSD + "dateTime"))),
                ox.Triple(batch, ox.NamedNode(PROV + "wasAssociatedWith"),
                          ox.NamedNode(provenance.AGENT))]

    def close(self, errors: int = 0) -> None:
        """End the batch: its end time, how many runs it saved and inputs it refused."""
        if self.batch is None or not self.saved:
            return
        batch = ox.NamedNode(self.batch)
        integer = ox.NamedNode(XSD + "integer")
        ended = [ox.Triple(batch, ox.NamedNode(PROV + "endedAtTime"),
                           ox.Literal(timestamp(), datatype=ox.NamedNode(XSD + "dateTime"))),
                 ox.Triple(batch, ox.NamedNode(GG + "runCount"),
                           ox.Literal(str(self.saved), datatype=integer)),
                 ox.Triple(batch, ox.NamedNode(GG + "inputErrorCount"),
                           ox.Literal(str(errors), datatype=integer))]
        text = ntriples_text(ended)
        write_logged(self.store, [GraphChange(
            action="reason-batch", graph=self.batch, subject=self.batch, before="",
            after="sha256:" + hashlib.sha256(text).hexdigest())],
            append={self.batch: ended}, actor=self.actor)


def save_runs(store: Store, reasoner: Reasoner, cases: list[Case], results: list[Result],
              *, actor: str | None = None) -> None:
    """Write cases and runs (in the stored form) with their audit-log entries, a chunk of
    runs per write."""
    saver = RunSaver(store, actor=actor)
    runs = [stored_run(reasoner, c, r) for c, r in zip(cases, results, strict=True)]
    for start in range(0, len(runs), _CHUNK):
        saver.write(runs[start:start + _CHUNK])


@functools.cache
def _expand_query() -> str:
    return resources.resource("queries", "provenance", "expand-run.rq").read_text(
        encoding="utf-8")


def run_record(store: Store, run_iri: str) -> list[ox.Triple]:
    """A stored run's full record: its graph, what the stored form left out (derived again
    by ``expand-run.rq``), and the case, snapshot and agent descriptions it refers to. A run
    stored whole (before the stored form) reads the same: each triple counts once."""
    triples = store.graph_triples(run_iri)
    if not triples:
        raise KeyError(f"no run <{run_iri}> in store {store.location}")
    derived = store.query(_expand_query(), bindings={"run": ox.NamedNode(run_iri)}).triples
    triples = list(dict.fromkeys([*triples, *(derived or [])]))
    used = {t.object.value for t in triples
            if t.subject.value == run_iri and t.predicate.value == PROV_USED}
    for case_iri in used:
        triples += [t for t in store.graph_triples(case_graph(case_iri))
                    if t.subject.value == case_iri]
    for snap in versions.snapshots(store):
        if snap["g"] in used:
            triples += [t for t in store.graph_triples(snap["g"])
                        if t.subject.value == snap["g"]]
    triples += _parse("\n".join(provenance.agent_lines()) + "\n")
    return triples
