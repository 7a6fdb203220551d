"""The validation report every check family feeds: results, their rendering, node names.

Kept apart from the checks so that each family (shacl, flow, decisions, contexts, owl)
depends on this module only, never on another family: a finding is a plain tuple here,
and the report renders the same text and JSON whichever family produced a result.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import rdflib
from rdflib import RDFS, SKOS, Literal, URIRef

from guidegraph import resources, vocab

__all__ = ["GG", "GGSH", "SEVERITIES", "Finding", "ValidationReport", "ValidationResult",
           "display_path", "node_label", "node_name"]

GG = rdflib.Namespace(vocab.GG)
GGSH = rdflib.Namespace(vocab.GGSH)

SEVERITIES = ("Violation", "Warning", "Info")

#: A finding of a check run outside SHACL: (source, severity, focus, message, value), with
#: the witness case (a plain JSON case object) as a sixth element when there is one, and the
#: file it is about as a seventh when that is not the focus node's file.
Finding = (tuple[URIRef, str, rdflib.term.Node | None, str, rdflib.term.Node | None]
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
    #: The engine each check family ran on, where there is a choice (``shacl``).
    engines: dict[str, str] = field(default_factory=dict)

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
        if "shacl" in self.engines:
            lines.append(f"  SHACL engine: {self.engines['shacl']}")
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
                "engines": self.engines, "results": results}

    def to_json_text(self) -> str:
        return json.dumps(self.to_json(), indent=2, ensure_ascii=False) + "\n"

    def to_turtle(self) -> str:
        """The SHACL validation report graph, extra checks included as results."""
        return self.graph.serialize(format="turtle")


# ---------------------------------------------------------------------------
# Names the report shows for files and nodes (shared by every check family)
# ---------------------------------------------------------------------------
def display_path(path: Path) -> str:
    """A short, stable name for a file: relative to the data root or the cwd if possible."""
    resolved = path.resolve()
    for base in (resources.data_root().resolve(), Path.cwd().resolve()):
        if resolved.is_relative_to(base):
            return resolved.relative_to(base).as_posix()
    return str(path)


def node_name(graph: rdflib.Graph, node: rdflib.term.Node | None) -> str | None:
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


def node_label(data: rdflib.Graph, node: rdflib.term.Node | None) -> str | None:
    """The label a reader knows a node by (notation, label, step or reference number)."""
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
