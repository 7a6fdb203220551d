"""Guideline authoring QA: SHACL shapes, algorithm flow, decisions and OWL consistency.

Independent checks feed one report, so an author sees every problem in one run:

1. pySHACL with ``shapes/authoring.ttl`` over ontology + guideline files + case
   contracts (the contracts are data here: criteria are checked against the ranges
   and value sets they allow).
2. Algorithm flow with networkx: every step reachable from ``gg:firstStep``, no
   cycle, no step without a way out. Graph questions are awkward in SHACL.
3. Decisions: cycles among gg:overrides and among dependent actions (networkx, from the
   RDF), then, per guideline the reasoner loads, a search for a case with a ``conflict``
   verdict on each action and for recommendations no case reaches
   (:mod:`guidegraph.authoring.decisions`; every case reported is re-run through the reasoner
   and shown, as JSON ``guidegraph reason`` accepts). Files that are not a whole guideline
   are skipped by this step.
4. OWL 2 DL consistency with HermiT through owlready2 (needs Java; slow, so it can
   be switched off and is never on the per-case path).
5. JSON-LD contexts: they merge without conflict, and every allowed notation of a concept
   key expands to its concept (a notation that is also a context term or prefix expands to
   that term's IRI instead).

The report says which ontology, shape and context files it read (``loaded``).

Results keep the file each focus node was defined in, so a report can be read file
by file. Heavy libraries are imported inside functions to keep ``import guidegraph``
cheap.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import rdflib
from rdflib import RDF, RDFS, SH, SKOS, BNode, Literal, URIRef
from rdflib.collection import Collection

from guidegraph import resources, vocab
from guidegraph.knowledge import files as graphs

__all__ = ["SEVERITIES", "ValidationReport", "ValidationResult", "validate"]

GG = rdflib.Namespace(vocab.GG)
GGSH = rdflib.Namespace(vocab.GGSH)
OWL = rdflib.OWL

SEVERITIES = ("Violation", "Warning", "Info")
_SEVERITY_IRI = {"Violation": SH.Violation, "Warning": SH.Warning, "Info": SH.Info}

# Sources of the results that do not come from a SHACL shape (described in authoring.ttl).
FLOW_UNREACHABLE = GGSH["AlgorithmFlow-unreachable"]
FLOW_CYCLE = GGSH["AlgorithmFlow-cycle"]
FLOW_DEAD_END = GGSH["AlgorithmFlow-deadEnd"]
OWL_INCONSISTENT = GGSH["OwlConsistency-inconsistent"]
OWL_NOT_RUN = GGSH["OwlConsistency-notRun"]
DECISION_CONFLICT = GGSH["DecisionCheck-conflict"]
DECISION_NEVER_APPLIES = GGSH["DecisionCheck-neverApplies"]
DECISION_NEVER_PREVAILS = GGSH["DecisionCheck-neverPrevails"]
DECISION_INCOMPLETE = GGSH["DecisionCheck-searchIncomplete"]
DECISION_OVERRIDE_CYCLE = GGSH["DecisionCheck-overrideCycle"]
DECISION_DEPENDENCY_CYCLE = GGSH["DecisionCheck-dependencyCycle"]
DECISION_NOT_LOADED = GGSH["DecisionCheck-notLoaded"]
CONTEXT_CONFLICT = GGSH["ContextCheck-conflict"]
CONTEXT_COLLISION = GGSH["ContextCheck-termCollision"]
#: The file a result of a check outside SHACL is about, when it is not the focus node's.
SOURCE_FILE = GGSH["sourceFile"]
#: The case that shows a decision finding, as a JSON literal on the report's result.
WITNESS_CASE = GGSH["witnessCase"]
_RDF_JSON = URIRef("http://www.w3.org/1999/02/22-rdf-syntax-ns#JSON")
#: At most this many cycles are reported per check (a dense graph has very many).
_MAX_CYCLES = 50
#: The check families :func:`validate` runs, in order (the last only with ``hermit``); it
#: names each to its ``progress`` callback as it starts, for a progress display.
CHECK_FAMILIES = ("reading files", "SHACL shapes", "algorithm flow", "decision logic",
                  "JSON-LD contexts", "OWL consistency")


# A finding of a check run outside SHACL: (source, severity, focus, message, value), with
# the witness case (a plain JSON case object) as a sixth element when there is one, and the
# file it is about as a seventh when that is not the focus node's file.
_Finding = (tuple[URIRef, str, rdflib.term.Node | None, str, rdflib.term.Node | None]
            | tuple[URIRef, str, rdflib.term.Node | None, str, rdflib.term.Node | None,
                    dict[str, Any] | None]
            | tuple[URIRef, str, rdflib.term.Node | None, str, rdflib.term.Node | None,
                    dict[str, Any] | None, str])


@dataclass(frozen=True)
class ValidationResult:
    """One finding, flattened for text and JSON output."""

    severity: str
    message: str
    focus: str | None
    label: str | None = None
    file: str | None = None
    path: str | None = None
    value: str | None = None
    source: str | None = None
    component: str | None = None
    #: The case that shows the finding (decision checks), a plain JSON case object.
    witness: dict[str, Any] | None = None


@dataclass
class ValidationReport:
    """All findings of one run, plus the RDF report graph they were read from."""

    results: list[ValidationResult]
    graph: rdflib.Graph
    timings: dict[str, float] = field(default_factory=dict)
    #: The files read, by role: ontology, shapes (authoring and case contracts), contexts
    #: (JSON-LD) and guidelines, each as a short display path.
    loaded: dict[str, list[str]] = field(default_factory=dict)

    @property
    def conforms(self) -> bool:
        """True when no result is a Violation (warnings and info are allowed)."""
        return not any(r.severity == "Violation" for r in self.results)

    def counts(self) -> dict[str, int]:
        """Number of results per severity, keyed violations/warnings/info."""
        keys = {"Violation": "violations", "Warning": "warnings", "Info": "info"}
        out = dict.fromkeys(keys.values(), 0)
        for r in self.results:
            out[keys[r.severity]] += 1
        return out

    def to_text(self) -> str:
        """Human report: the files read, then the results grouped by file and focus node;
        ends with the counts."""
        lines: list[str] = self._loaded_lines()
        last_file: str | None = None
        last_focus: str | None = None
        for r in self.results:
            file = r.file or "(no file)"
            if file != last_file:
                if lines:
                    lines.append("")
                lines.append(file)
                last_file, last_focus = file, None
            focus = r.focus or "(knowledge graph)"
            if focus != last_focus:
                lines.append(f"  {r.label} <{focus}>" if r.label else f"  <{focus}>")
                last_focus = focus
            where = f" [{r.path}]" if r.path else ""
            lines.append(f"    {r.severity}{where}: {r.message}")
            if r.witness is not None:
                lines.append(f"      witness case: {json.dumps(r.witness, ensure_ascii=False)}")
        if "hermit_s" in self.timings:
            lines.append(f"OWL consistency (HermiT): {self.timings['hermit_s']:.1f} s")
        c = self.counts()
        if lines:
            lines.append("")
        lines.append(f"{c['violations']} violations, {c['warnings']} warnings, {c['info']} info")
        return "\n".join(lines) + "\n"

    def _loaded_lines(self) -> list[str]:
        if not self.loaded:
            return []
        lines = ["loaded:"]
        for role in ("ontology", "shapes", "contexts"):
            lines.append(f"  {role}: " + (", ".join(self.loaded.get(role, [])) or "none"))
        files = self.loaded.get("guidelines", [])
        lines.append(f"  guidelines: {len(files)} file{'s' if len(files) != 1 else ''}")
        return lines

    def to_json(self) -> dict[str, Any]:
        """The JSON report: conforms, counts, the files read (``loaded``) and the flat result
        list (a result that has a witness case carries it as ``witness``)."""
        keys = ("file", "focus", "label", "severity", "path", "value", "message")
        results = []
        for r in self.results:
            row = {k: asdict(r)[k] for k in keys}
            if r.witness is not None:
                row["witness"] = r.witness
            results.append(row)
        return {"conforms": self.conforms, "counts": self.counts(), "loaded": self.loaded,
                "results": results}

    def to_json_text(self) -> str:
        return json.dumps(self.to_json(), indent=2, ensure_ascii=False) + "\n"

    def to_turtle(self) -> str:
        """The SHACL validation report graph, extra checks included as results."""
        return self.graph.serialize(format="turtle")


# ---------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------
def validate(paths: Sequence[Path | str] | None = None, *, hermit: bool = True,
             progress: Callable[[str], None] | None = None) -> ValidationReport:
    """Validate guideline files (default: every file under ``guidelines/``).

    The ontology is always loaded; ``paths`` selects the guideline content. Raises
    GraphLoadError (exit code 2) when a file is missing or not valid RDF. ``progress`` is
    told each of CHECK_FAMILIES as it starts. One body, past 60 lines: the families in
    order, each timed, read top to bottom.
    """
    timings: dict[str, float] = {}
    t0 = _begin(progress, CHECK_FAMILIES[0])
    given = [resources.guidelines_dir()] if paths is None else [Path(p) for p in paths]
    guideline_files = graphs.expand_paths(given)
    ontology_files = sorted(resources.ontology_dir().glob("*.ttl"))
    contract_files = sorted(resources.shapes_dir().glob("case-contract-*.ttl"))
    shapes_file = resources.resource("shapes", "authoring.ttl")
    from guidegraph.intake.cases import context_files

    contexts = context_files()
    loaded_guidelines = graphs.load_files(guideline_files)
    loaded_ontology = graphs.load_files(ontology_files)
    loaded_contracts = graphs.load_files(contract_files)
    shapes = graphs.parse_file(shapes_file)
    loaded = {"ontology": [_display_path(p) for p in ontology_files],
              "shapes": [_display_path(p) for p in [shapes_file, *contract_files]],
              "contexts": [_display_path(p) for p in contexts],
              "guidelines": [_display_path(p) for p in guideline_files]}

    knowledge = rdflib.Graph()
    for _, g in loaded_ontology + loaded_guidelines:
        knowledge += g
    data = _PreparedQueryGraph()
    data += knowledge
    for _, g in loaded_contracts:
        data += g
    data.namespace_manager = _namespaces(loaded_ontology + loaded_guidelines)
    knowledge.namespace_manager = data.namespace_manager
    origins = _origins(loaded_guidelines + loaded_ontology + loaded_contracts)
    timings["load_s"] = time.perf_counter() - t0

    t1 = _begin(progress, CHECK_FAMILIES[1])
    report_graph = _run_shacl(data, shapes)
    timings["shacl_s"] = time.perf_counter() - t1

    extra: list[_Finding] = []
    t2 = _begin(progress, CHECK_FAMILIES[2])
    extra += _algorithm_checks(data)
    timings["flow_s"] = time.perf_counter() - t2
    t3 = _begin(progress, CHECK_FAMILIES[3])
    cycle_findings, cyclic = _decision_cycle_checks(data)
    extra += cycle_findings
    violated = any(sev == "Violation" for _, sev, *_ in extra) or any(
        report_graph.value(r, SH.resultSeverity) == SH.Violation
        for r in report_graph.subjects(RDF.type, SH.ValidationResult))
    extra += _decision_search_checks(given, loaded_guidelines, cyclic, violated)
    timings["decisions_s"] = time.perf_counter() - t3
    _begin(progress, CHECK_FAMILIES[4])
    extra += _context_checks(contexts, ontology_files + contract_files + guideline_files)
    if hermit:
        _begin(progress, CHECK_FAMILIES[5])
        owl_results, hermit_s = _owl_check(knowledge)
        extra += owl_results
        if hermit_s is not None:
            timings["hermit_s"] = hermit_s
    _add_extra_results(report_graph, extra)

    results = _flatten(report_graph, data, origins, shapes)
    return ValidationReport(results=results, graph=report_graph, timings=timings,
                            loaded=loaded)


def _begin(progress: Callable[[str], None] | None, family: str) -> float:
    """Tell ``progress`` that a check family starts; the time it starts."""
    if progress is not None:
        progress(family)
    return time.perf_counter()


# ---------------------------------------------------------------------------
# Helpers: files, names, SHACL
# ---------------------------------------------------------------------------
def _display_path(path: Path) -> str:
    """A short, stable name for a file: relative to the data root or the cwd if possible."""
    resolved = path.resolve()
    for base in (resources.data_root().resolve(), Path.cwd().resolve()):
        if resolved.is_relative_to(base):
            return resolved.relative_to(base).as_posix()
    return str(path)


def _origins(loaded: Iterable[tuple[Path, rdflib.Graph]]) -> dict[rdflib.term.Node, str]:
    """Map each subject to the first file that types it (else first file that describes it)."""
    typed: dict[rdflib.term.Node, str] = {}
    described: dict[rdflib.term.Node, str] = {}
    for path, g in loaded:
        name = _display_path(path)
        for s in g.subjects(RDF.type, None):
            typed.setdefault(s, name)
        for s in g.subjects():
            described.setdefault(s, name)
    return {**described, **typed}


def _namespaces(loaded: Iterable[tuple[Path, rdflib.Graph]]) -> rdflib.namespace.NamespaceManager:
    """Prefixes declared in the files, so paths and values print as prefixed names."""
    nm = rdflib.namespace.NamespaceManager(rdflib.Graph(), bind_namespaces="core")
    for _, g in loaded:
        for prefix, ns in g.namespaces():
            if prefix:
                nm.bind(prefix, ns, override=False, replace=False)
    nm.bind("ggsh", GGSH, override=False)
    return nm


@functools.lru_cache(maxsize=256)
def _prepare(text: str, namespaces: tuple[tuple[str, Any], ...]) -> Any:
    from rdflib.plugins.sparql import prepareQuery

    # The graph's own prefixes, as rdflib's Graph.query gives an unprepared text: a
    # constraint may rely on them (the W3C SHACL-SPARQL suite's prefixes-001 does).
    return prepareQuery(text, initNs=dict(namespaces))


def _canonical_prologue(text: str) -> str:
    """Sort the leading PREFIX lines: pySHACL emits them in set order, which differs
    between runs and would defeat the cache across validate() calls."""
    lines = text.splitlines()
    n = 0
    while n < len(lines) and lines[n].lstrip().upper().startswith("PREFIX"):
        n += 1
    return "\n".join(sorted(lines[:n]) + lines[n:])


class _PreparedQueryGraph(rdflib.Graph):
    """An rdflib graph that parses each distinct SPARQL text once.

    pySHACL runs every SPARQL constraint once per focus node and rdflib re-parses the
    query text each time; parsing dominated (~90% of a 40 s run), caching it makes
    validation about 15x faster. Only plain string queries without initNs are cached.
    """

    def query(  # type: ignore[override]
        self,
        query_object: Any,
        processor: Any = "sparql",
        result: Any = "sparql",
        initNs: Any = None,
        initBindings: Any = None,
        use_store_provided: bool = True,
        **kwargs: Any,
    ) -> Any:
        if isinstance(query_object, str) and not initNs and "base" not in kwargs:
            query_object = _prepare(_canonical_prologue(query_object),
                                    tuple(self.namespaces()))
        return super().query(
            query_object, processor, result, initNs, initBindings, use_store_provided, **kwargs
        )


def _run_shacl(data: rdflib.Graph, shapes: rdflib.Graph) -> rdflib.Graph:
    import pyshacl

    # inplace: no inference and no rules, so pySHACL does not modify the graph, and not
    # cloning it keeps the prepared-query cache of _PreparedQueryGraph in use.
    _conforms, report, _text = pyshacl.validate(
        data,
        shacl_graph=shapes,
        inference="none",
        advanced=True,
        allow_warnings=True,
        abort_on_first=False,
        meta_shacl=False,
        inplace=True,
    )
    if not isinstance(report, rdflib.Graph):  # pySHACL returns, not raises, a failure
        from guidegraph.errors import ConfigurationError

        raise ConfigurationError(f"the shapes cannot be validated with: {report}"[:500])
    report.namespace_manager = data.namespace_manager
    return report


def _name(graph: rdflib.Graph, node: rdflib.term.Node | None) -> str | None:
    """A readable name for a node: a prefixed name, a literal's text or a blank node id."""
    if node is None:
        return None
    if isinstance(node, Literal):
        return str(node)
    if isinstance(node, URIRef):
        try:
            return graph.namespace_manager.normalizeUri(node).strip("<>")
        except Exception:
            return str(node)
    return node.n3()


def _path_text(
    report: rdflib.Graph, data: rdflib.Graph, node: rdflib.term.Node | None
) -> str | None:
    """Render a SHACL property path (as copied into the report graph) in SPARQL syntax."""
    if node is None:
        return None
    if isinstance(node, URIRef):
        return _name(data, node)
    alt = report.value(node, SH.alternativePath)
    if alt is not None:
        members = (_path_text(report, data, m) or "?" for m in Collection(report, alt))
        return "(" + "|".join(members) + ")"
    inv = report.value(node, SH.inversePath)
    if inv is not None:
        return "^" + (_path_text(report, data, inv) or "?")
    if report.value(node, RDF.first) is not None:
        return "/".join(_path_text(report, data, m) or "?" for m in Collection(report, node))
    return node.n3()


def _label(data: rdflib.Graph, node: rdflib.term.Node | None) -> str | None:
    if node is None:
        return None
    for prop in (SKOS.notation, RDFS.label, SKOS.prefLabel):
        value = data.value(node, prop)
        if value is not None:
            return str(value)
    number = data.value(node, GG.stepNumber)
    if number is not None:
        return f"step {number}"
    ref = data.value(node, GG.referenceNumber)
    if ref is not None:
        return f"reference {ref}"
    return None


def _local(node: rdflib.term.Node | None) -> str | None:
    if node is None:
        return None
    text = str(node)
    return text.rsplit("#", 1)[-1] if "#" in text else text


def _flatten(
    report: rdflib.Graph,
    data: rdflib.Graph,
    origins: dict[rdflib.term.Node, str],
    shapes: rdflib.Graph | None = None,
) -> list[ValidationResult]:
    """Flat results; an unnamed (blank-node) property shape is reported as the named shape
    that holds it, its path telling which property it checks."""
    results = []
    for r in report.subjects(RDF.type, SH.ValidationResult):
        focus = report.value(r, SH.focusNode)
        severity = _local(report.value(r, SH.resultSeverity)) or "Violation"
        messages = sorted(str(m) for m in report.objects(r, SH.resultMessage))
        constraint = report.value(r, SH.sourceConstraint)
        shape = report.value(r, SH.sourceShape)
        source = constraint if isinstance(constraint, URIRef) else shape
        if isinstance(source, BNode) and shapes is not None:
            source = shapes.value(predicate=SH.property, object=source) or source
        value = report.value(r, SH.value)
        witness = report.value(r, WITNESS_CASE)
        results.append(
            ValidationResult(
                severity=severity,
                message=" / ".join(messages),
                focus=_name(data, focus) if focus is not None else None,
                label=_label(data, focus),
                file=(str(report.value(r, SOURCE_FILE) or "") or
                      (origins.get(focus) if focus is not None else None)),
                path=_path_text(report, data, report.value(r, SH.resultPath)),
                value=_name(data, value),
                source=_name(data, source) if isinstance(source, URIRef) else None,
                component=_name(data, report.value(r, SH.sourceConstraintComponent)),
                witness=json.loads(str(witness)) if witness is not None else None,
            )
        )
    order = {s: i for i, s in enumerate(SEVERITIES)}
    results.sort(
        key=lambda x: (x.file or "~", x.focus or "", order[x.severity], x.source or "", x.message)
    )
    return results


def _add_extra_results(
    report: rdflib.Graph,
    extra: list[_Finding],
) -> None:
    """Add non-SHACL findings as sh:ValidationResult nodes and fix sh:conforms."""
    top = report.value(predicate=RDF.type, object=SH.ValidationReport)
    if top is None:
        top = BNode()
        report.add((top, RDF.type, SH.ValidationReport))
    for source, severity, focus, message, value, *rest in extra:
        node = BNode()
        report.add((top, SH.result, node))
        report.add((node, RDF.type, SH.ValidationResult))
        report.add((node, SH.resultSeverity, _SEVERITY_IRI[severity]))
        report.add((node, SH.sourceShape, source))
        report.add((node, SH.resultMessage, Literal(message)))
        if focus is not None:
            report.add((node, SH.focusNode, focus))
        if value is not None:
            report.add((node, SH.value, value))
        if rest and rest[0] is not None:
            text = json.dumps(rest[0], ensure_ascii=False, sort_keys=False)
            report.add((node, WITNESS_CASE, Literal(text, datatype=_RDF_JSON)))
        if len(rest) > 1 and rest[1]:
            report.add((node, SOURCE_FILE, Literal(rest[1])))
    violated = any(
        report.value(r, SH.resultSeverity) == SH.Violation for r in report.objects(top, SH.result)
    )
    report.set((top, SH.conforms, Literal(not violated)))


# ---------------------------------------------------------------------------
# Algorithm flow (networkx)
# ---------------------------------------------------------------------------
def _step_name(g: rdflib.Graph, node: rdflib.term.Node) -> str:
    number = g.value(node, GG.stepNumber)
    label = g.value(node, RDFS.label) or g.value(node, SKOS.notation)
    if number is not None:
        return f"step {number}" + (f" ({label})" if label else "")
    return str(label) if label else _name(g, node) or str(node)


def _algorithm_checks(
    g: rdflib.Graph,
) -> list[_Finding]:
    """Each algorithm must be one acyclic flow from its first step reaching every step."""
    import networkx as nx

    out: list[_Finding] = []
    for alg in sorted(g.subjects(RDF.type, GG.Algorithm)):
        first = g.value(alg, GG.firstStep)
        if first is None:
            continue  # the SHACL shape reports the missing first step
        alg_name = _label(g, alg) or _name(g, alg)
        members = set(g.subjects(GG.inAlgorithm, alg)) | {first}
        flow = nx.DiGraph()
        flow.add_nodes_from(members)
        for node in members:
            for nxt in g.objects(node, GG.nextStep):
                flow.add_edge(node, nxt)
            for branch in g.objects(node, GG.branch):
                for target in g.objects(branch, GG.branchTarget):
                    flow.add_edge(node, target)
        reachable = nx.descendants(flow, first) | {first}
        for node in sorted(members - reachable, key=str):
            out.append(
                (
                    FLOW_UNREACHABLE,
                    "Violation",
                    node,
                    f"Algorithm {alg_name}: {_step_name(g, node)} cannot be reached from the "
                    "first step: link it with gg:nextStep or a gg:branch from an earlier step, "
                    "or remove it.",
                    None,
                )
            )
        for component in nx.strongly_connected_components(flow):
            nodes = sorted(component, key=lambda n: (int(g.value(n, GG.stepNumber) or 0), str(n)))
            if len(nodes) == 1 and not flow.has_edge(nodes[0], nodes[0]):
                continue
            names = ", ".join(_step_name(g, n) for n in nodes)
            out.append(
                (
                    FLOW_CYCLE,
                    "Violation",
                    nodes[0],
                    f"Algorithm {alg_name} loops: {names} lead back to each other. An "
                    "algorithm must be acyclic: point the last step of the loop to a later step "
                    "or a gg:AlgorithmEnd.",
                    None,
                )
            )
        for node in sorted(reachable, key=str):
            if (node, RDF.type, GG.AlgorithmStep) in g and flow.out_degree(node) == 0:
                out.append(
                    (
                        FLOW_DEAD_END,
                        "Violation",
                        node,
                        f"Algorithm {alg_name}: {_step_name(g, node)} has no way out: add "
                        "gg:nextStep or a gg:branch, ending in a gg:AlgorithmEnd where the "
                        "pathway stops.",
                        None,
                    )
                )
    return out


# ---------------------------------------------------------------------------
# Decisions: cycles (networkx, from the RDF) and witness searches (reasoner)
# ---------------------------------------------------------------------------
def _rotated(cycle: list, name: Any) -> list:
    """A cycle started at its smallest member by name, so reports are stable."""
    start = cycle.index(min(cycle, key=name))
    return cycle[start:] + cycle[:start]


def _decision_cycle_checks(g: rdflib.Graph) -> tuple[list[_Finding], set[rdflib.term.Node]]:
    """Cycles among gg:overrides, and among actions whose criteria read each other's
    verdict (gg:verdictOf). Read from the RDF, since the reasoner refuses to load a guideline
    with a dependency cycle; returns the findings and the guidelines that have one."""
    found, cyclic = _dependency_cycles(g)
    return [*_override_cycles(g), *found], cyclic


def _rec_name(g: rdflib.Graph, node: rdflib.term.Node) -> str:
    return _label(g, node) or _name(g, node) or str(node)


def _override_cycles(g: rdflib.Graph) -> list[_Finding]:
    """Explicit superiority that loops (networkx simple cycles, at most _MAX_CYCLES)."""
    import networkx as nx

    out: list[_Finding] = []
    overrides = nx.DiGraph()
    overrides.add_edges_from(g.subject_objects(GG.overrides))

    def rec_name(node: rdflib.term.Node) -> str:
        return _rec_name(g, node)

    for n, cycle in enumerate(nx.simple_cycles(overrides)):
        if n >= _MAX_CYCLES:
            break
        cycle = _rotated(cycle, rec_name)
        loop = " gg:overrides ".join(rec_name(r) for r in (*cycle, cycle[0]))
        out.append((
            DECISION_OVERRIDE_CYCLE, "Violation", cycle[0],
            f"Recommendations override each other in a cycle: {loop}. Explicit superiority "
            "must not loop (two statements that override each other stay unordered; a longer "
            "loop sets every statement in it aside): remove the gg:overrides that does not "
            "hold.", None))
    return out


def _dependency_cycles(g: rdflib.Graph) -> tuple[list[_Finding], set[rdflib.term.Node]]:
    """Per guideline, actions whose criteria read each other's verdicts in a cycle."""
    import networkx as nx

    out: list[_Finding] = []
    cyclic: set[rdflib.term.Node] = set()
    for guideline in sorted(g.subjects(RDF.type, GG.Guideline), key=str):
        recs = set(g.subjects(GG.partOfGuideline, guideline)) | set(
            g.objects(guideline, GG.hasRecommendation))
        deps = nx.DiGraph()
        readers: dict[tuple, set[str]] = {}
        for rec in recs:
            action = g.value(rec, GG.action)
            if action is None or (rec, RDF.type, GG.Recommendation) not in g:
                continue
            todo = [*g.objects(rec, GG.hasCriterion), *g.objects(rec, GG.scopeCriterion)]
            seen: set[rdflib.term.Node] = set()
            while todo:
                cond = todo.pop()
                if cond in seen:
                    continue
                seen.add(cond)
                todo.extend(g.objects(cond, GG.member))
                for parent in g.objects(cond, GG.verdictOf):
                    deps.add_edge(parent, action)
                    readers.setdefault((parent, action), set()).add(_rec_name(g, cond))

        def action_name(node: rdflib.term.Node) -> str:
            return str(g.value(node, SKOS.notation) or _local_name(node))

        for n, cycle in enumerate(nx.simple_cycles(deps)):
            if n >= _MAX_CYCLES:
                break
            cyclic.add(guideline)
            cycle = _rotated(cycle, action_name)
            path = " -> ".join(action_name(a) for a in (*cycle, cycle[0]))
            edges = list(zip(cycle, [*cycle[1:], cycle[0]], strict=True))
            crits = ", ".join(sorted({c for e in edges for c in readers.get(e, ())}))
            out.append((
                DECISION_DEPENDENCY_CYCLE, "Violation", guideline,
                f"Dependent actions form a cycle: {path} (criteria {crits} read these "
                "verdicts), so no action of the cycle can be decided first and the reasoner "
                "refuses to load the guideline. Make one of the actions independent of the "
                "other's verdict (remove or replace its gg:verdictOf criterion). The conflict "
                "and reachability checks were skipped for this guideline.", None))
    return out, cyclic


def _local_name(node: rdflib.term.Node) -> str:
    text = str(node).rstrip("/#")
    return text.rsplit("#", 1)[-1].rsplit("/", 1)[-1]


def _guideline_units(
    paths: Sequence[Path], graphs_by_file: dict[Path, rdflib.Graph]
) -> list[list[Path]]:
    """Group the validated files into guidelines the reasoner can load on their own.

    All files together when they describe one gg:Guideline; otherwise each given folder
    that describes one (a folder of guidelines is split into its entries), and each given
    file on its own. Groups that do not describe exactly one guideline are dropped: a
    fragment has no decisions to check.
    """
    def guidelines_in(files: Iterable[Path]) -> set[rdflib.term.Node]:
        return {s for f in files for s in graphs_by_file[f].subjects(RDF.type, GG.Guideline)}

    def files_of(path: Path) -> list[Path]:
        return [f for f in graphs.expand_paths([path]) if f in graphs_by_file]

    every = list(graphs_by_file)
    if len(guidelines_in(every)) == 1:
        return [every]
    units: list[list[Path]] = []

    def visit(path: Path) -> None:
        files = files_of(path)
        if not path.is_dir() or len(guidelines_in(files)) <= 1:
            if len(guidelines_in(files)) == 1:
                units.append(files)
            return
        for child in sorted(path.iterdir()):
            if child.is_dir() or child in graphs_by_file:
                visit(child)

    for path in paths:
        visit(path)
    return units


def _decision_search_checks(
    paths: Sequence[Path],
    loaded: list[tuple[Path, rdflib.Graph]],
    cyclic: set[rdflib.term.Node],
    violated: bool,
) -> list[_Finding]:
    """Conflict and reachability searches, one reasoner per guideline.

    A guideline with a dependent-action cycle is skipped (already reported). One the
    reasoner refuses to load is reported only when nothing else is a violation: otherwise
    the refusal is most likely a consequence of what was reported.
    """
    import pyoxigraph as ox

    from guidegraph.authoring import decisions as decision_checks
    from guidegraph.errors import GuidegraphError
    from guidegraph.knowledge.loading import (
        GuidelineInfo,
        Knowledge,
        KnowledgePart,
        content_hash,
        load_file,
        read_parts,
    )
    from guidegraph.reasoning.reasoner import Reasoner

    graphs_by_file = {path: g for path, g in loaded}
    units = _guideline_units(list(paths), graphs_by_file)
    if not units:
        return []
    ontology = read_parts([])
    sources = {
        decision_checks.CONFLICT: DECISION_CONFLICT,
        decision_checks.NEVER_APPLIES: DECISION_NEVER_APPLIES,
        decision_checks.NEVER_PREVAILS: DECISION_NEVER_PREVAILS,
        decision_checks.INCOMPLETE: DECISION_INCOMPLETE,
    }
    out: list[_Finding] = []
    for files in units:
        merged = rdflib.Graph()
        for f in files:
            merged += graphs_by_file[f]
        node = next(iter(merged.subjects(RDF.type, GG.Guideline)))
        if node in cyclic:
            continue
        # Identity as knowledge loading reads it (skos:notation, else the IRI's last part).
        name = str(merged.value(node, SKOS.notation) or str(node).rstrip("/#").rsplit("/", 1)[-1])
        try:
            scratch = ox.Store()
            for f in files:
                load_file(scratch, f)
            info = GuidelineInfo(
                iri=str(node), id=name, version=str(merged.value(node, GG.version) or ""),
                title=str(merged.value(node, rdflib.DCTERMS.title) or ""),
                content_hash=content_hash(files), files=tuple(files))
            part = KnowledgePart("guideline", [q.triple for q in scratch], info.content_hash,
                                 info)
            reasoner = Reasoner(Knowledge.from_parts([*ontology, part]))
        except (GuidegraphError, ValueError) as exc:
            if not violated:
                out.append((
                    DECISION_NOT_LOADED, "Violation", node,
                    f"Guideline {name}: the reasoner cannot load it ({exc}), so "
                    "`guidegraph reason` would refuse it too and its decisions were not "
                    "checked: fix what the message names.", None))
            continue
        for finding in decision_checks.check_decisions(
                reasoner, budget=decision_checks.DEFAULT_BUDGET):
            out.append((sources[finding.kind], finding.severity, URIRef(finding.focus),
                        finding.message, None, finding.witness))
    return out


# ---------------------------------------------------------------------------
# JSON-LD contexts
# ---------------------------------------------------------------------------
def _context_checks(contexts: list[Path], vocabulary: list[Path]) -> list[_Finding]:
    """The contexts merge (a term defined differently by two is a violation), and every
    allowed notation of a concept key expands to its concept under the merged context:
    JSON-LD reads a value that is also a context term or prefix as that term (a value equal
    to a prefix as the prefix's IRI), or drops it, while plain JSON cases read the contract
    and get the concept, so the two formats would disagree. Checked by expanding each
    notation with the JSON-LD parser case intake uses."""
    import pyoxigraph as ox

    from guidegraph.intake.cases import context_collisions, load_contexts
    from guidegraph.intake.contract import load_contract
    from guidegraph.knowledge.loading import load_file

    if not contexts:
        return []
    try:
        merged = load_contexts(contexts)
    except (ValueError, KeyError) as exc:
        return [(CONTEXT_CONFLICT, "Violation", None,
                 f"The JSON-LD contexts cannot be merged: {exc}. Every context is merged into "
                 "one for JSON-LD cases: give the key one definition (the same in every "
                 "context that repeats it) or rename it in one of them.", None)]
    defined_in: dict[str, str] = {}
    for path in contexts:
        for term in json.loads(path.read_text(encoding="utf-8"))["@context"]:
            defined_in.setdefault(term, _display_path(path))
    store = ox.Store()
    for path in vocabulary:
        load_file(store, path)
    try:
        contract = load_contract(store)
    except ValueError:
        return []  # the contract shapes report it
    out: list[_Finding] = []
    for c in context_collisions(contract, merged):
        became = f"<{c.expands_to}>" if c.expands_to else "nothing (the value is dropped)"
        if c.term == c.notation:
            why = (f"is also the context term {c.term!r} (defined in "
                   f"{defined_in.get(c.term, 'the key scoped context')})")
        elif c.term is not None:
            why = (f"reads as a compact IRI with the context prefix {c.term!r} (defined in "
                   f"{defined_in.get(c.term, 'the key scoped context')})")
        else:
            why = "does not expand to its concept"
        out.append((
            CONTEXT_COLLISION, "Violation", URIRef(contract.facts[c.key].iri),
            f"JSON-LD context key {c.key!r}: the allowed value {c.notation!r} {why}, so a "
            f"JSON-LD case writing \"{c.key}\": \"{c.notation}\" gets {became} instead of "
            f"the concept <{c.concept}> (plain JSON cases get the concept: the two formats "
            "disagree). Rename the concept's skos:notation (in its vocabulary and the case "
            "contract), or rename the context term.", Literal(c.notation), None,
            defined_in.get(c.key)))
    return out


# ---------------------------------------------------------------------------
# OWL consistency (HermiT via owlready2)
# ---------------------------------------------------------------------------
_DISJOINT_HINT = """
SELECT DISTINCT ?x ?a ?b WHERE {
    { ?a owl:disjointWith ?b } UNION { ?b owl:disjointWith ?a }
    ?x rdf:type/rdfs:subClassOf* ?a .
    ?x rdf:type/rdfs:subClassOf* ?b .
    FILTER (STR(?a) < STR(?b))
}"""


def _owl_check(
    knowledge: rdflib.Graph,
) -> tuple[list[_Finding], float | None]:
    """Run HermiT on ontology + guidelines; returns findings and HermiT's wall time."""
    java = shutil.which("java")
    if java is None:
        return [
            (
                OWL_NOT_RUN,
                "Warning",
                None,
                "Java not found: OWL consistency check skipped. Install a Java 17+ runtime "
                "(java on PATH) to run it, or pass --no-owl to skip it knowingly.",
                None,
            )
        ], None

    import owlready2

    merged = rdflib.Graph()
    for triple in knowledge:
        if triple[1] != OWL.imports:  # never follow imports: check exactly what was loaded
            merged.add(triple)
    owlready2.JAVA_EXE = java
    with tempfile.TemporaryDirectory(prefix="guidegraph-owl-") as tmp:
        nt = Path(tmp) / "knowledge.nt"
        merged.serialize(destination=str(nt), format="nt", encoding="utf-8")
        world = owlready2.World()
        # owlready2 prints a warning per punned fact property (a property that is also a
        # gg:FactProperty individual, which OWL 2 allows); keep them off the user's stderr.
        with contextlib.redirect_stderr(io.StringIO()):
            onto = world.get_ontology(nt.as_uri()).load(format="ntriples")
        start = time.perf_counter()
        try:
            # Datatypes outside the OWL 2 datatype map are refused, not skipped: the
            # ontology must stay within OWL 2 DL.
            owlready2.sync_reasoner_hermit(
                onto, infer_property_values=False, debug=0, ignore_unsupported_datatypes=False
            )
        except owlready2.OwlReadyInconsistentOntologyError:
            elapsed = time.perf_counter() - start
            return _inconsistency_results(knowledge), elapsed
        except owlready2.OwlReadyJavaError as exc:
            detail = str(exc).strip().splitlines()[-1] if str(exc).strip() else "unknown error"
            return [
                (
                    OWL_NOT_RUN,
                    "Warning",
                    None,
                    f"HermiT could not check OWL consistency ({detail}): fix the reported "
                    "construct or pass --no-owl to skip the check knowingly.",
                    None,
                )
            ], time.perf_counter() - start
        finally:
            world.close()
        return [], time.perf_counter() - start


def _inconsistency_results(
    knowledge: rdflib.Graph,
) -> list[_Finding]:
    """Name the individuals typed with disjoint classes when that explains the inconsistency."""
    out: list[_Finding] = []
    for x, a, b in knowledge.query(_DISJOINT_HINT, initNs={"owl": OWL, "rdf": RDF, "rdfs": RDFS}):
        out.append(
            (
                OWL_INCONSISTENT,
                "Violation",
                x,
                f"The OWL ontology is inconsistent (HermiT): {_name(knowledge, x)} is both a "
                f"{_name(knowledge, a)} and a {_name(knowledge, b)}, which are disjoint. "
                "Keep only the type it should have.",
                None,
            )
        )
    if not out:
        out.append(
            (
                OWL_INCONSISTENT,
                "Violation",
                None,
                "The OWL ontology is inconsistent (HermiT). Look for individuals with "
                "disjoint types, values outside a property's range or a functional property "
                "with two values; "
                "bisect by validating guideline files one at a time.",
                None,
            )
        )
    return out
