"""Provenance audit: what rests on retracted or unresolved citations (down to the stored
verdicts they decide), grading problems, verdict conflicts, and stored runs computed with a
guideline version that is no longer current.

Dependencies form a directed graph (networkx): an edge A → B means A rests on B (cites it,
uses it as evidence, uses it as a criterion, is supported or realized by it, or — for a
stored run — derived it). Everything that rests on a citation is its set of ancestors, and
each is reported with the path that connects it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import networkx as nx
import pyoxigraph as ox

from guidegraph.clock import timestamp
from guidegraph.knowledge.loading import Knowledge
from guidegraph.store import versions
from guidegraph.vocab import AUDIT_BASE, GG, PROV, RDF_TYPE, RDFS, SNAPSHOT_BASE, XSD

if TYPE_CHECKING:
    from guidegraph.reasoning.reasoner import Reasoner
    from guidegraph.store.base import Store

SEVERITIES = ("error", "warning", "info")
_KINDS = {GG + "Recommendation": "recommendation", GG + "EvidenceStatement": "evidence statement",
          GG + "AlgorithmStep": "algorithm step", GG + "Citation": "citation",
          GG + "Criterion": "criterion", GG + "AllOf": "criterion group",
          GG + "AnyOf": "criterion group", GG + "NoneOf": "criterion group",
          GG + "ReasoningRun": "stored run"}
_EDGES = f"""
PREFIX gg: <{GG}>
PREFIX cito: <http://purl.org/spar/cito/>
SELECT ?from ?rel ?to WHERE {{
  {{ ?from cito:cites|cito:citesAsAuthority|cito:citesAsEvidence ?to . BIND("cites" AS ?rel) }}
  UNION {{ ?from gg:hasEvidence ?to . BIND("rests on evidence" AS ?rel) }}
  UNION {{ ?from gg:hasCriterion|gg:scopeCriterion|gg:member ?to . BIND("uses" AS ?rel) }}
  UNION {{ ?from gg:supportedBy ?to . BIND("is supported by" AS ?rel) }}
  UNION {{ ?from gg:realizedBy ?to . BIND("is realized by" AS ?rel) }}
}}"""
_NODES = f"""
PREFIX gg: <{GG}>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?n ?type ?id ?label ?number ?status WHERE {{
  ?n a ?type .
  VALUES ?type {{ gg:Recommendation gg:EvidenceStatement gg:AlgorithmStep gg:Citation
                 gg:Criterion gg:AllOf gg:AnyOf gg:NoneOf }}
  OPTIONAL {{ ?n skos:notation ?id }} OPTIONAL {{ ?n rdfs:label ?label }}
  OPTIONAL {{ ?n gg:referenceNumber ?number }}
  OPTIONAL {{ ?n gg:citationStatus/skos:notation ?status }}
}}"""
_GRADES = f"""
PREFIX gg: <{GG}>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
SELECT ?rec ?id ?strength ?system ?implied ?direction ?level ?evidence WHERE {{
  ?rec a gg:Recommendation ; skos:notation ?id .
  OPTIONAL {{ ?rec gg:strength ?strength .
             OPTIONAL {{ ?strength skos:inScheme/gg:gradingSystem ?system }}
             OPTIONAL {{ ?strength gg:impliesDirection ?implied }} }}
  OPTIONAL {{ ?rec gg:direction ?direction }}
  OPTIONAL {{ ?rec gg:evidenceLevel ?level }}
  OPTIONAL {{ ?rec gg:hasEvidence ?evidence }}
}}"""


@dataclass
class Affected:
    kind: str
    id: str
    iri: str
    path: list[str]


@dataclass
class Finding:
    severity: str
    kind: str
    subject: str
    message: str
    affects: list[Affected] = field(default_factory=list)
    iri: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"severity": self.severity, "kind": self.kind, "subject": self.subject,
                "message": self.message, "iri": self.iri,
                "affects": [{"kind": a.kind, "id": a.id, "iri": a.iri, "path": a.path}
                            for a in self.affects]}


@dataclass
class AuditReport:
    findings: list[Finding]
    started: str
    ended: str
    snapshots: list[dict[str, str]]
    runs: int

    def counts(self) -> dict[str, int]:
        return {s: sum(f.severity == s for f in self.findings) for s in SEVERITIES}

    @property
    def failed(self) -> bool:
        return any(f.severity == "error" for f in self.findings)

    def to_json(self) -> dict[str, Any]:
        return {"counts": self.counts(), "runs_checked": self.runs,
                "guidelines": [{"id": s["id"], "version": s["version"], "hash": s["hash"]}
                               for s in self.snapshots if s.get("kind") == "guideline"],
                "findings": [f.to_json() for f in self.findings]}


def _row_key(row: Any) -> tuple[str, ...]:
    """A query solution as a sortable tuple of its values (unbound: empty)."""
    return tuple("" if term is None else term.value for term in row)


class DependencyGraph:
    """Knowledge items and stored runs, with an edge from each item to what it rests on."""

    def __init__(self, knowledge: Knowledge) -> None:
        # Nodes and edges are added in IRI order, not in the engine's row order, so that of
        # several shortest paths every engine reports the same one.
        self.g = nx.DiGraph()
        for row in sorted(knowledge.store.query(_NODES), key=_row_key):
            iri = row["n"].value
            kind = _KINDS[row["type"].value]
            if row["number"] is not None:
                ident = f"[{row['number'].value}]"
            else:
                ident = row["id"].value if row["id"] else iri.rsplit("/", 1)[-1]
            self.g.add_node(iri, kind=kind, id=ident,
                            label=row["label"].value if row["label"] else ident,
                            status=row["status"].value if row["status"] else None)
        for row in sorted(knowledge.store.query(_EDGES), key=_row_key):
            a, b = row["from"].value, row["to"].value
            if a in self.g and b in self.g:
                self.g.add_edge(a, b, rel=row["rel"].value)

    def add_runs(self, derived: Iterable[tuple[str, str, str]]) -> None:
        """(run IRI, case id, recommendation IRI) for every derived result of a stored run."""
        for run, case_id, rec in derived:
            if run not in self.g:
                self.g.add_node(run, kind="stored run", id=f"run of case {case_id}",
                                label=run, status=None)
            if rec in self.g:
                self.g.add_edge(run, rec, rel="derived")

    def citations(self, status: str) -> list[str]:
        return sorted((n for n, d in self.g.nodes(data=True)
                       if d["kind"] == "citation" and d["status"] == status),
                      key=lambda n: self.g.nodes[n]["id"])

    def resting_on(self, node: str) -> list[Affected]:
        """Everything that rests on ``node``, each with the shortest path down to it."""
        out = []
        for other in nx.ancestors(self.g, node):
            path = nx.shortest_path(self.g, other, node)
            data = self.g.nodes[other]
            out.append(Affected(data["kind"], data["id"], other,
                                [self.g.nodes[p]["id"] for p in path]))
        order = {"evidence statement": 0, "criterion": 1, "criterion group": 2, "recommendation": 3,
                 "algorithm step": 4, "stored run": 5}
        return sorted(out, key=lambda a: (order.get(a.kind, 9), a.id))


def stored_runs(store: Store) -> list[dict[str, str]]:
    """Every stored run with its case and the guideline snapshots it used."""
    result = store.query(f"""PREFIX gg: <{GG}> PREFIX prov: <{PROV}>
        PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
        SELECT ?run ?case ?snap WHERE {{ GRAPH ?run {{ ?run a gg:ReasoningRun ;
          prov:used ?case . OPTIONAL {{ ?run prov:used ?snap .
          FILTER(STRSTARTS(STR(?snap), "{SNAPSHOT_BASE}")) }} }}
          FILTER(!STRSTARTS(STR(?case), "{SNAPSHOT_BASE}"))
          FILTER(!CONTAINS(STR(?case), "/fact/")) }}""")
    return [{"run": r[0].value, "case": r[1].value, "snapshot": r[2].value if r[2] else ""}
            for r in result.table.rows]


def _derived_in_runs(store: Store) -> list[tuple[str, str, str]]:
    result = store.query(f"""PREFIX gg: <{GG}> PREFIX prov: <{PROV}>
        SELECT ?run ?case ?rec WHERE {{ GRAPH ?run {{ ?e a gg:DerivedRecommendation ;
          gg:evaluates ?rec ; prov:wasGeneratedBy ?run . ?run prov:used ?case .
          ?f gg:aboutCase ?case }} }}""")
    return sorted({(r[0].value, r[1].value.rsplit("/", 1)[-1], r[2].value)
                   for r in result.table.rows})


def _named_rows(store: Store, name: str, bindings: dict[str, str] | None = None
                ) -> list[dict[str, Any]]:
    """Rows of a named query of queries/audit, values as plain text (None: unbound).

    Read over the current dataset, as `guidegraph query` reads them: the current knowledge
    is the default graph and the queries read runs and cases with GRAPH patterns.
    """
    from guidegraph.store.named_queries import library

    text = library()[name].text
    result = store.query(text, bindings=bindings, default_graphs=versions.current_dataset(store))
    table = result.table
    return [{v: (t.value if t is not None else None) for v, t in zip(table.variables, row,
                                                                     strict=True)}
            for row in table.rows]


def _stored_conflicts(store: Store) -> list[dict[str, Any]]:
    """Verdict conflicts of stored runs (conflicts-in-runs.rq), one per run and action, with
    the recommendations deciding each side."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for row in _named_rows(store, "conflicts-in-runs"):
        entry = found.setdefault((row["run"], row["action"]), {
            "run": row["run"], "case": row["case"], "action": row["action"],
            "for": set(), "against": set()})
        entry.setdefault(row["direction"], set()).add(row["rec"])
    return [{**e, "for": sorted(e["for"]), "against": sorted(e["against"])}
            for _, e in sorted(found.items())]


def _verdicts_on_retracted(store: Store, deps: DependencyGraph) -> list[Finding]:
    """Stored verdicts decided by a recommendation resting on a retracted reference
    (verdicts-on-retracted-citations.rq, once per reference the current knowledge marks
    retracted): one finding per reference, each verdict listed with the run holding it, like
    the runs of the retracted-citation finding. A verdict is what a clinician acts on, so
    this separates the runs whose decision rests on the reference from those that merely
    derived, set aside or discounted such a statement."""
    g = deps.g
    by_ref: dict[str, dict[tuple[str, str, str], dict[str, Any]]] = {}
    numbers: dict[str, str] = {}
    rows = [row for cit in deps.citations("retracted") for row in _named_rows(
        store, "verdicts-on-retracted-citations", {"citation": str(ox.NamedNode(cit))})]
    for row in rows:
        numbers[row["citation"]] = row["reference"]
        verdicts = by_ref.setdefault(row["citation"], {})
        entry = verdicts.setdefault((row["run"], row["guideline"], row["action"]), {
            "case": row["case"], "verdict": row["verdict"], "routes": {}})
        recs = entry["routes"].setdefault(row["via"], [])
        if row["rec"] not in recs:
            recs.append(row["rec"])
    out = []
    for iri, verdicts in sorted(by_ref.items(), key=lambda kv: (
            int(numbers[kv[0]]) if numbers[kv[0]].isdigit() else 0, kv[0])):
        ref = f"[{numbers[iri]}]"
        label = g.nodes[iri]["label"]
        affects = []
        for (run, _guideline, action), entry in sorted(
                verdicts.items(), key=lambda kv: (kv[1]["case"], kv[0])):
            # The direct route first: a deciding recommendation rests on the reference itself.
            via = min(entry["routes"], key=lambda v: (v is not None, v or ""))
            who = f"run of case {entry['case']}"
            path = [who, f"verdict {action}: {entry['verdict']}",
                    *([f"verdict {via}"] if via is not None else []),
                    ", ".join(entry["routes"][via]), ref]
            affects.append(Affected("stored run", who, run, path))
        direct = sum(None in e["routes"] for e in verdicts.values())
        runs = len({run for run, _, _ in verdicts})
        out.append(Finding(
            "error", "verdict-on-retracted-citation", ref,
            f"retracted reference: {label}; {count_text(len(verdicts), 'verdict')} in "
            f"{count_text(runs, 'stored run')} {'rests' if len(verdicts) == 1 else 'rest'} on it, "
            "decided by a recommendation resting on "
            f"it ({direct} directly, {len(verdicts) - direct} through the verdict on a parent "
            "action)", affects, iri))
    return out


def count_text(n: int, word: str) -> str:
    """``n`` and the word, plural when n is not 1 ("1 stored run", "2 entries")."""
    plural = {"entry": "entries"}.get(word, word + "s")
    return f"{n} {word if n == 1 else plural}"


def audit(knowledge: Knowledge, store: Store | None = None,
          case_results: Iterable[tuple[str, Any]] = ()) -> AuditReport:
    """All findings over the knowledge, the store's runs, and results of extra cases."""
    started = timestamp()
    deps = DependencyGraph(knowledge)
    findings: list[Finding] = []
    runs: list[dict[str, str]] = []
    snapshots: list[dict[str, str]] = []
    if store is not None:
        runs = stored_runs(store)
        deps.add_runs(_derived_in_runs(store))
        snapshots = versions.snapshots(store)
    else:
        snapshots = [{"kind": "guideline", "id": g.id, "version": g.version,
                      "hash": g.content_hash, "g": "", "of": g.iri}
                     for g in knowledge.guidelines]
    g = deps.g
    for cit in deps.citations("retracted"):
        data = g.nodes[cit]
        affects = deps.resting_on(cit)
        kinds = _tally(affects)
        findings.append(Finding(
            "error", "retracted-citation", data["id"],
            f"retracted reference: {data['label']}; {kinds} rest on it",
            affects, cit))
    for cit in deps.citations("unresolved"):
        data = g.nodes[cit]
        affects = deps.resting_on(cit)
        findings.append(Finding(
            "warning", "unresolved-citation", data["id"],
            f"reference {data['id']} is cited in the text but missing from the reference list; "
            f"{_tally(affects)} rest on it", affects, cit))
    findings += _grading_findings(knowledge, g)
    findings += _source_quality_findings(knowledge, g)
    findings += _run_findings(store, runs, snapshots, deps) if store is not None else []
    for case_id, result in case_results:
        for conflict in result.conflicts:  # actions whose verdict is conflict
            findings.append(Finding(
                "warning", "conflict-in-case", case_id,
                f"case {case_id}: the verdict on {conflict['action']} is a conflict: for "
                f"({', '.join(conflict['for'])}) and against ({', '.join(conflict['against'])}) "
                "both stand and no precedence rule of the guideline orders them",
                iri=result.case))
    order = {s: i for i, s in enumerate(SEVERITIES)}
    findings.sort(key=lambda f: (order[f.severity], f.kind, f.subject))
    return AuditReport(findings, started, timestamp(),
                       snapshots, len({r['run'] for r in runs}))


def _tally(affects: list[Affected]) -> str:
    counts: dict[str, int] = {}
    for a in affects:
        counts[a.kind] = counts.get(a.kind, 0) + 1
    if not counts:
        return "nothing"
    plural = {"criterion": "criteria"}
    return ", ".join(f"{n} {k if n == 1 else plural.get(k, k + 's')}" for k, n in counts.items())


def _grading_findings(knowledge: Knowledge, g: nx.DiGraph) -> list[Finding]:
    out = []
    ungraded, no_evidence = [], []
    rows: dict[str, dict[str, Any]] = {}
    for row in knowledge.store.query(_GRADES):
        entry = rows.setdefault(row["rec"].value, {"id": row["id"].value, "evidence": False})
        for key in ("strength", "system", "implied", "direction", "level"):
            if row[key] is not None:
                entry[key] = row[key].value
        entry["evidence"] = entry["evidence"] or row["evidence"] is not None
    for iri, rec in sorted(rows.items(), key=lambda kv: kv[1]["id"]):
        if "strength" not in rec:
            out.append(Finding("error", "no-grade", rec["id"],
                               f"recommendation {rec['id']} has no grade (gg:strength)",
                               iri=iri))
        elif rec.get("system") == "not graded":
            ungraded.append(Affected("recommendation", rec["id"], iri, [rec["id"]]))
        if rec.get("implied") and rec.get("direction") and rec["implied"] != rec["direction"]:
            out.append(Finding(
                "error", "grade-contradicts-direction", rec["id"],
                f"recommendation {rec['id']}: its grade implies direction "
                f"{rec['implied'].rsplit('#', 1)[-1]} but it says "
                f"{rec['direction'].rsplit('#', 1)[-1]}", iri=iri))
        if not rec["evidence"] and "level" not in rec:
            no_evidence.append(Affected("recommendation", rec["id"], iri, [rec["id"]]))
    if ungraded:
        out.append(Finding("warning", "not-graded", f"{len(ungraded)} recommendations",
                           f"{len(ungraded)} recommendations carry no class, strength or vote "
                           "from the source (graded 'not graded')", ungraded))
    if no_evidence:
        out.append(Finding("warning", "no-evidence", f"{len(no_evidence)} recommendations",
                           f"{len(no_evidence)} recommendations have neither an evidence "
                           "statement nor a level of evidence", no_evidence))
    return out


def _knowledge_rows(knowledge: Knowledge, name: str) -> list[dict[str, Any]]:
    """Rows of a named query of queries/audit over the current knowledge, values as text."""
    from guidegraph.store.named_queries import library

    solutions = knowledge.store.query(library()[name].text)
    names = [v.value for v in solutions.variables]
    return [{n: (row[n].value if row[n] is not None else None) for n in names}
            for row in solutions]


def _source_quality_findings(knowledge: Knowledge, g: nx.DiGraph) -> list[Finding]:
    """What the encoder recorded about the quality of the source (info: reported, never a
    failure by itself): quoted society grades whose only citations are secondary sources
    (grades-on-secondary-sources.rq, one finding per guideline), data quality notes
    (data-quality-notes.rq) and source inconsistencies (source-inconsistencies.rq), one
    finding per note."""
    out = []
    by_guideline: dict[str, list[dict[str, Any]]] = {}
    for row in _knowledge_rows(knowledge, "grades-on-secondary-sources"):
        by_guideline.setdefault(row["guideline"], []).append(row)
    for guideline, rows in sorted(by_guideline.items()):
        affects = [Affected("recommendation", r["rec"], r["recommendation"],
                            [r["rec"], f"grade {r['grade']} quoted from {r['origin']}",
                             r["sources"]]) for r in rows]
        n = len(rows)
        out.append(Finding(
            "info", "grade-on-secondary-source", guideline,
            f"{guideline}: {count_text(n, 'quoted society grade')} "
            f"{'rests' if n == 1 else 'rest'} on a secondary source with no primary citation: "
            + ", ".join(r["rec"] for r in rows), affects))
    for name, kind, what in (("data-quality-notes", "data-quality-note", "data quality note"),
                             ("source-inconsistencies", "source-inconsistency",
                              "source inconsistency")):
        for row in _knowledge_rows(knowledge, name):
            node = g.nodes.get(row["item"])
            label = node["kind"] if node else "item"
            ident = node["id"] if node else row["id"]
            out.append(Finding("info", kind, ident, f"{what} on {label} {ident}: {row['note']}",
                               iri=row["item"]))
    return out


def _run_findings(store: Store, runs: list[dict[str, str]], snapshots: list[dict[str, str]],
                  deps: DependencyGraph) -> list[Finding]:
    out = []
    current = {s["g"] for s in versions.current_snapshots(store)}
    known = {s["g"]: s for s in snapshots}
    by_run: dict[str, dict[str, Any]] = {}
    for r in runs:
        entry = by_run.setdefault(r["run"], {"case": r["case"], "snaps": set()})
        if r["snapshot"]:
            entry["snaps"].add(r["snapshot"])
    stale, dangling = [], []
    for run, info in sorted(by_run.items()):
        case_id = info["case"].rsplit("/", 1)[-1]
        for snap in sorted(info["snaps"]):
            if snap not in known:
                dangling.append(Affected("stored run", f"run of case {case_id}", run,
                                         [f"run of case {case_id}", snap]))
            elif snap not in current:
                old = known[snap]
                stale.append(Affected("stored run", f"run of case {case_id}", run,
                                      [f"run of case {case_id}",
                                       f"{old['id']} {old['version']} ({old['hash'][:19]}...)"]))
    if stale:
        out.append(Finding("warning", "stale-runs", f"{len(stale)} stored runs",
                           f"{len(stale)} stored runs were computed with a guideline version "
                           "that is no longer current; re-run them (guidegraph diff shows "
                           "what changes)", stale))
    if dangling:
        out.append(Finding("error", "dangling-runs", f"{len(dangling)} stored runs",
                           f"{len(dangling)} stored runs name a guideline version the store "
                           "does not hold", dangling))
    for c in _stored_conflicts(store):
        out.append(Finding(
            "warning", "conflict-in-run", f"run of case {c['case']}",
            f"stored run for case {c['case']}: the verdict on {c['action']} is a conflict: "
            f"for ({', '.join(c['for'])}) and against ({', '.join(c['against'])}) both stand "
            "and no precedence rule of the guideline orders them", iri=c["run"]))
    out += _verdicts_on_retracted(store, deps)
    return out


def render_text(report: AuditReport) -> str:
    counts = report.counts()
    lines = ["guidegraph audit",
             "Guidelines: " + (", ".join(f"{s['id']} {s['version']} ({s['hash'][:19]}...)"
                                         for s in report.snapshots
                                         if s.get("kind") == "guideline" and s.get("id"))
                               or "none"),
             f"Stored runs checked: {report.runs}",
             f"{counts['error']} errors, {counts['warning']} warnings, {counts['info']} info",
             ""]
    for finding in report.findings:
        lines.append(f"[{finding.severity.upper()}] {finding.kind}: {finding.message}")
        for a in finding.affects:
            path = " -> ".join(a.path)
            lines.append(f"    {a.kind:18} {a.id:36} {path}")
        lines.append("")
    return "\n".join(lines)


def to_triples(report: AuditReport) -> list[ox.Triple]:
    """The audit as PROV-O: an activity and one entity per finding."""
    import hashlib

    def n(iri: str) -> ox.NamedNode:
        return ox.NamedNode(iri)

    digest = hashlib.sha256(report.started.encode()).hexdigest()[:24]
    act = n(f"{AUDIT_BASE}{digest}")
    rdf_type = n(RDF_TYPE)
    dt = n(XSD + "dateTime")
    out = [ox.Triple(act, rdf_type, n(GG + "AuditRun")),
           ox.Triple(act, rdf_type, n(PROV + "Activity")),
           ox.Triple(act, n(PROV + "startedAtTime"), ox.Literal(report.started, datatype=dt)),
           ox.Triple(act, n(PROV + "endedAtTime"), ox.Literal(report.ended, datatype=dt))]
    for snap in report.snapshots:
        if snap.get("g"):
            out.append(ox.Triple(act, n(PROV + "used"), n(snap["g"])))
    for index, finding in enumerate(report.findings):
        node = n(f"{act.value}/finding/{index}")
        out += [ox.Triple(node, rdf_type, n(GG + "AuditFinding")),
                ox.Triple(node, n(PROV + "wasGeneratedBy"), act),
                ox.Triple(node, n(GG + "severity"), ox.Literal(finding.severity)),
                ox.Triple(node, n(GG + "findingKind"), ox.Literal(finding.kind)),
                ox.Triple(node, n(RDFS + "comment"),
                          ox.Literal(finding.message))]
        if finding.iri:
            out.append(ox.Triple(node, n(PROV + "wasDerivedFrom"), n(finding.iri)))
        for a in finding.affects:
            out.append(ox.Triple(node, n(GG + "concerns"), n(a.iri)))
            out.append(ox.Triple(node, n(GG + "dependencyPath"),
                                 ox.Literal(" -> ".join(a.path))))
    return out


def case_results(reasoner: Reasoner, cases: Iterable[Any]) -> list[tuple[str, Any]]:
    return [(case.id, reasoner.reason(case)) for case in cases]
