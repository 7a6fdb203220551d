"""Guideline authoring QA: load once, run every check family, merge into one report.

Independent checks feed one report, so an author sees every problem in one run. Each
family is a module of its own (as pySHACL keeps one module per constraint family), so this
one holds only what they share, the loaded files, and the order they run in:

1. :mod:`~guidegraph.authoring.shacl`: ``shapes/authoring.ttl`` (compiled to queries on
   Oxigraph, or pySHACL) over ontology + guideline files + case contracts (the contracts
   are data here: criteria are checked against the ranges and value sets they allow).
2. :mod:`~guidegraph.authoring.flow`: algorithm flow (every step reachable from
   ``gg:firstStep``, no cycle, no step without a way out), and cycles among gg:overrides and
   among dependent actions, with networkx from the RDF.
3. :mod:`~guidegraph.authoring.decisions`: per guideline the reasoner loads, a search for a
   case with a ``conflict`` verdict on each action and for recommendations no case reaches
   (every case reported is re-run through the reasoner and shown, as JSON
   ``guidegraph reason`` accepts). Files that are not a whole guideline are skipped.
4. :mod:`~guidegraph.authoring.contexts`: JSON-LD contexts merge without conflict, and every
   allowed notation of a concept key expands to its concept.
5. :mod:`~guidegraph.authoring.owl`: OWL 2 DL consistency with HermiT through owlready2
   (needs Java; slow, so it can be switched off and is never on the per-case path).

The report (:mod:`~guidegraph.authoring.report`) says which ontology, shape and context
files it read (``loaded``); its results keep the file each focus node was defined in, so a
report can be read file by file. Heavy libraries are imported inside functions to keep
``import guidegraph`` cheap.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import rdflib

from guidegraph import resources
from guidegraph.authoring import contexts, decisions, flow, owl, shacl
from guidegraph.authoring.report import Finding, ValidationReport, display_path
from guidegraph.knowledge import files as graphs
from guidegraph.knowledge import loading

__all__ = ["CHECK_FAMILIES", "validate"]

#: The check families :func:`validate` runs, in order (the last only with ``hermit``); it
#: names each to its ``progress`` callback as it starts, for a progress display.
CHECK_FAMILIES = ("reading files", "SHACL shapes", "algorithm flow", "decision logic",
                  "JSON-LD contexts", "OWL consistency")


@dataclass
class _Inputs:
    """Everything the families read, loaded once."""

    given: list[Path]
    guideline_files: list[Path]
    vocabulary_files: list[Path]  # ontology, then case contracts
    contexts: list[Path]
    loaded_guidelines: list[tuple[Path, rdflib.Graph]]
    shapes: rdflib.Graph
    knowledge: rdflib.Graph  # ontology + guidelines
    data: shacl.PreparedQueryGraph  # knowledge + case contracts
    origins: dict[rdflib.term.Node, str]
    loaded: dict[str, list[str]]


def validate(paths: Sequence[Path | str] | None = None, *, hermit: bool = True,
             progress: Callable[[str], None] | None = None,
             shacl_engine: str = "auto") -> ValidationReport:
    """Validate guideline files (default: every file under ``guidelines/``).

    The ontology is always loaded; ``paths`` selects the guideline content. Raises
    GraphLoadError (exit code 2) when a file is missing or not valid RDF. ``progress`` is
    told each of CHECK_FAMILIES as it starts; ``shacl_engine`` is one of
    shacl.SHACL_ENGINES (the report names the one that ran).
    """
    timings: dict[str, float] = {}
    t0 = _begin(progress, CHECK_FAMILIES[0])
    given = [resources.guidelines_dir()] if paths is None else [Path(p) for p in paths]
    inputs = _load(given)
    timings["load_s"] = time.perf_counter() - t0

    t1 = _begin(progress, CHECK_FAMILIES[1])
    report_graph, engine = shacl.run_shacl(inputs.data, inputs.shapes, shacl_engine)
    timings["shacl_s"] = time.perf_counter() - t1

    extra: list[Finding] = []
    t2 = _begin(progress, CHECK_FAMILIES[2])
    extra += flow.algorithm_checks(inputs.data)
    timings["flow_s"] = time.perf_counter() - t2
    t3 = _begin(progress, CHECK_FAMILIES[3])
    cycle_findings, cyclic = flow.decision_cycle_checks(inputs.data)
    extra += cycle_findings
    violated = (any(sev == "Violation" for _, sev, *_ in extra)
                or shacl.has_violation(report_graph))
    extra += decisions.decision_search_checks(inputs.given, inputs.loaded_guidelines, cyclic,
                                              violated)
    timings["decisions_s"] = time.perf_counter() - t3
    _begin(progress, CHECK_FAMILIES[4])
    extra += contexts.context_checks(inputs.contexts,
                                     inputs.vocabulary_files + inputs.guideline_files)
    if hermit:
        _begin(progress, CHECK_FAMILIES[5])
        owl_results, hermit_s = owl.owl_check(inputs.knowledge)
        extra += owl_results
        if hermit_s is not None:
            timings["hermit_s"] = hermit_s
    shacl.add_findings(report_graph, extra)

    results = shacl.flatten(report_graph, inputs.data, inputs.origins, inputs.shapes)
    return ValidationReport(results=results, graph=report_graph, timings=timings,
                            loaded=inputs.loaded, engines={"shacl": engine})


def _begin(progress: Callable[[str], None] | None, family: str) -> float:
    """Tell ``progress`` that a check family starts; the time it starts."""
    if progress is not None:
        progress(family)
    return time.perf_counter()


def _stamp(paths: list[Path]) -> tuple[tuple[Path, int, int], ...]:
    """Each file with its modification time and size: the key its parse is cached by."""
    return tuple((p, (st := p.stat()).st_mtime_ns, st.st_size) for p in paths)


@functools.lru_cache(maxsize=4)
def _vocabulary(ontology: tuple[tuple[Path, int, int], ...],
                contracts: tuple[tuple[Path, int, int], ...]
                ) -> tuple[list[tuple[Path, rdflib.Graph]], list[tuple[Path, rdflib.Graph]]]:
    """The ontology and case-contract files parsed, once per process while they are
    unchanged (every validate run reads them; the graphs are only read, never changed)."""
    return (graphs.load_files([p for p, *_ in ontology]),
            graphs.load_files([p for p, *_ in contracts]))


def _load(given: list[Path]) -> _Inputs:
    """Read the guideline files, the ontology, the case contracts, the authoring shapes and
    the JSON-LD contexts, and build the graphs the families check."""
    knowledge_files = loading.knowledge_files([])  # the ontology's files, as reasoning reads them
    guideline_files = graphs.expand_paths(given)
    ontology_files = knowledge_files.ontology
    contract_files = knowledge_files.contracts
    shapes_file = resources.resource("shapes", "authoring.ttl")
    context_paths = knowledge_files.contexts
    loaded_guidelines = graphs.load_files(guideline_files)
    loaded_ontology, loaded_contracts = _vocabulary(_stamp(ontology_files),
                                                    _stamp(contract_files))
    shapes = graphs.parse_file(shapes_file)
    loaded = {"ontology": [display_path(p) for p in ontology_files],
              "shapes": [display_path(p) for p in [shapes_file, *contract_files]],
              "contexts": [display_path(p) for p in context_paths],
              "guidelines": [display_path(p) for p in guideline_files]}

    knowledge = rdflib.Graph()
    for _, g in loaded_ontology + loaded_guidelines:
        knowledge += g
    data = shacl.PreparedQueryGraph()
    data += knowledge
    for _, g in loaded_contracts:
        data += g
    data.namespace_manager = shacl.namespaces(loaded_ontology + loaded_guidelines)
    knowledge.namespace_manager = data.namespace_manager
    return _Inputs(
        given=given, guideline_files=guideline_files,
        vocabulary_files=ontology_files + contract_files, contexts=context_paths,
        loaded_guidelines=loaded_guidelines, shapes=shapes, knowledge=knowledge, data=data,
        origins=shacl.origins(loaded_guidelines + loaded_ontology + loaded_contracts),
        loaded=loaded)
