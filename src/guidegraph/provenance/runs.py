"""Keeping reasoning runs in a store and reading them back.

A saved run is two graphs: the case graph (the case's latest facts, one per case) and the
run graph (its PROV-O record in the stored form: without what the case, snapshot and agent
graphs already say, nor what ``queries/provenance/expand-run.rq`` derives again).
``run_record`` reassembles the self-contained record that ``explain`` and ``audit`` read.
"""

from __future__ import annotations

import functools
import hashlib

import pyoxigraph as ox

from guidegraph import resources
from guidegraph.intake.cases import Case
from guidegraph.provenance import record as provenance
from guidegraph.reasoning.reasoner import Reasoner
from guidegraph.reasoning.result import Result
from guidegraph.store import versions
from guidegraph.store.base import Store
from guidegraph.store.log import GraphChange, write_logged
from guidegraph.vocab import AGENT_GRAPH, CASE_GRAPH, PROV_USED, SKOS_NOTATION

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


def case_graphs(reasoner: Reasoner, cases: list[Case]) -> dict[str, list[ox.Triple]]:
    return {case_graph(c.iri): case_triples(reasoner, c) for c in cases}


def save_runs(store: Store, reasoner: Reasoner, cases: list[Case], results: list[Result],
              *, actor: str | None = None) -> None:
    """Write cases and runs (in the stored form) with their audit-log entries, a chunk at a
    time (see :meth:`~guidegraph.store.base.Store.write_graphs` for how).

    Each run's entry records the content hash of its run graph and its case graph; the
    first entry of a chunk also that of the agent graph, which every chunk adds to."""
    agent_graph = AGENT_GRAPH + provenance.__version__
    agent = _parse("\n".join(provenance.agent_lines()) + "\n")
    texts: dict[str, bytes] = {}
    changes: list[GraphChange] = []

    def flush() -> None:
        changes[0].wrote += (agent_graph,)
        # The agent graph only ever gains the same two triples: add, never replace.
        write_logged(store, changes, append={agent_graph: agent}, actor=actor, texts=texts)

    for case, result in zip(cases, results, strict=True):
        graph = case_graph(case.iri)
        texts[graph] = "".join(f"{t.subject} {t.predicate} {t.object} .\n"
                               for t in case_triples(reasoner, case)).encode()
        nt = provenance.to_ntriples(result, reasoner, stored=True).encode()
        texts[result.provenance] = nt
        changes.append(GraphChange(action="reason", graph=result.provenance, subject=case.iri,
                              before="", after="sha256:" + hashlib.sha256(nt).hexdigest(),
                              wrote=(graph,)))
        if len(changes) >= _CHUNK:
            flush()
            changes, texts = [], {}
    if changes:
        flush()


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
