"""SHACL over the data graph, and the report graph every other family joins.

The shapes run as whole-graph queries on Oxigraph (:mod:`~guidegraph.authoring.shacl_query`)
when the compiler translates them, else with pySHACL, the reference both are held to.

The SHACL validation report is the report of record (``--format turtle`` prints it), so the
findings of the checks run outside SHACL are written into it as ``sh:ValidationResult``
nodes and all results are flattened from it in one place. The prepared-query cache lives
here because it only serves pySHACL's SPARQL constraints.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import rdflib
from rdflib import RDF, SH, BNode, Literal, URIRef
from rdflib.collection import Collection

from guidegraph.authoring.report import (
    GGSH,
    SEVERITIES,
    Finding,
    ValidationResult,
    display_path,
    node_label,
    node_name,
)
from guidegraph.vocab import RDF_JSON

__all__ = ["SHACL_ENGINES", "SOURCE_FILE", "WITNESS_CASE", "PreparedQueryGraph", "add_findings",
           "flatten", "has_violation", "namespaces", "origins", "run_pyshacl", "run_shacl"]


_SEVERITY_IRI = {"Violation": SH.Violation, "Warning": SH.Warning, "Info": SH.Info}
#: The file a result of a check outside SHACL is about, when it is not the focus node's.
SOURCE_FILE = GGSH["sourceFile"]
#: The case that shows a decision finding, as a JSON literal on the report's result.
WITNESS_CASE = GGSH["witnessCase"]
_RDF_JSON = URIRef(RDF_JSON)


# ---------------------------------------------------------------------------
# The data graph: where each node was defined, and the prefixes to print it with
# ---------------------------------------------------------------------------
def origins(loaded: Iterable[tuple[Path, rdflib.Graph]]) -> dict[rdflib.term.Node, str]:
    """Map each subject to the first file that types it (else first file that describes it)."""
    typed: dict[rdflib.term.Node, str] = {}
    described: dict[rdflib.term.Node, str] = {}
    for path, g in loaded:
        name = display_path(path)
        for s in g.subjects(RDF.type, None):
            typed.setdefault(s, name)
        for s in g.subjects():
            described.setdefault(s, name)
    return {**described, **typed}


def namespaces(loaded: Iterable[tuple[Path, rdflib.Graph]]) -> rdflib.namespace.NamespaceManager:
    """Prefixes declared in the files, so paths and values print as prefixed names."""
    nm = rdflib.namespace.NamespaceManager(rdflib.Graph(), bind_namespaces="core")
    for _, g in loaded:
        for prefix, ns in g.namespaces():
            if prefix:
                nm.bind(prefix, ns, override=False, replace=False)
    nm.bind("ggsh", GGSH, override=False)
    return nm


# ---------------------------------------------------------------------------
# pySHACL, with each distinct SPARQL text parsed once
# ---------------------------------------------------------------------------
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


class PreparedQueryGraph(rdflib.Graph):
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


#: SHACL engines validate can use: ``auto`` compiles the shapes to whole-graph queries on
#: Oxigraph and falls back to pySHACL when they use SHACL the compiler does not translate.
SHACL_ENGINES = ("auto", "oxigraph", "pyshacl")


def run_shacl(data: rdflib.Graph, shapes: rdflib.Graph, engine: str = "auto"
              ) -> tuple[rdflib.Graph, str]:
    """The SHACL validation report graph of ``data`` against ``shapes``, and the engine
    that made it ("oxigraph" or "pyshacl"); both make the same report."""
    from guidegraph.authoring import shacl_query
    from guidegraph.errors import ConfigurationError

    if engine not in SHACL_ENGINES:
        raise ConfigurationError(f"SHACL engine {engine[:40]!r}: use one of "
                                 + ", ".join(SHACL_ENGINES))
    if engine != "pyshacl":
        try:
            report = shacl_query.run_compiled(data, shapes)
        except shacl_query.Unsupported as exc:
            if engine == "oxigraph":
                raise ConfigurationError(f"the shapes cannot run on Oxigraph: {exc}"[:500]
                                         + "; use the pyshacl engine") from None
        else:
            report.namespace_manager = data.namespace_manager
            return report, "oxigraph"
    return run_pyshacl(data, shapes), "pyshacl"


def run_pyshacl(data: rdflib.Graph, shapes: rdflib.Graph) -> rdflib.Graph:
    """pySHACL's report graph of ``data`` against ``shapes``: the reference."""
    import pyshacl

    # inplace: no inference and no rules, so pySHACL does not modify the graph, and not
    # cloning it keeps the prepared-query cache of PreparedQueryGraph in use.
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


def has_violation(report: rdflib.Graph) -> bool:
    """True when a result of the report graph is a Violation."""
    return any(report.value(r, SH.resultSeverity) == SH.Violation
               for r in report.subjects(RDF.type, SH.ValidationResult))


# ---------------------------------------------------------------------------
# The report graph: other families' findings in, flat results out
# ---------------------------------------------------------------------------
def add_findings(report: rdflib.Graph, extra: list[Finding]) -> None:
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


def _path_text(
    report: rdflib.Graph, data: rdflib.Graph, node: rdflib.term.Node | None
) -> str | None:
    """Render a SHACL property path (as copied into the report graph) in SPARQL syntax."""
    if node is None:
        return None
    if isinstance(node, URIRef):
        return node_name(data, node)
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


def _local(node: rdflib.term.Node | None) -> str | None:
    if node is None:
        return None
    text = str(node)
    return text.rsplit("#", 1)[-1] if "#" in text else text


def flatten(
    report: rdflib.Graph,
    data: rdflib.Graph,
    origins: dict[rdflib.term.Node, str],
    shapes: rdflib.Graph | None = None,
) -> list[ValidationResult]:
    """Flat results, sorted by file, focus, severity, source and message; an unnamed
    (blank-node) property shape is reported as the named shape that holds it, its path
    telling which property it checks."""
    results = [_flat_result(report, r, data, origins, shapes)
               for r in report.subjects(RDF.type, SH.ValidationResult)]
    order = {s: i for i, s in enumerate(SEVERITIES)}
    results.sort(
        key=lambda x: (x.file or "~", x.focus or "", order[x.severity], x.source or "", x.message)
    )
    return results


def _flat_result(
    report: rdflib.Graph,
    r: rdflib.term.Node,
    data: rdflib.Graph,
    origins: dict[rdflib.term.Node, str],
    shapes: rdflib.Graph | None,
) -> ValidationResult:
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
    return ValidationResult(
        severity=severity,
        message=" / ".join(messages),
        focus=node_name(data, focus) if focus is not None else None,
        label=node_label(data, focus),
        file=(str(report.value(r, SOURCE_FILE) or "") or
              (origins.get(focus) if focus is not None else None)),
        path=_path_text(report, data, report.value(r, SH.resultPath)),
        value=node_name(data, value),
        source=node_name(data, source) if isinstance(source, URIRef) else None,
        component=node_name(data, report.value(r, SH.sourceConstraintComponent)),
        witness=json.loads(str(witness)) if witness is not None else None,
    )
