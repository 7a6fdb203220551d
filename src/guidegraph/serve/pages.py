"""The audit pages of ``guidegraph serve``: plain server-side HTML for a person reviewing a
store (guideline versions, audit findings, citation status, the audit log, stored runs with
their verdicts) and one run's verdicts, then its recommendations with why / why-not, grade,
warnings, evidence and citations.

Everything is read through the server's :class:`~guidegraph.store.base.Store` (for an embedded
store, the killable worker), with read-only operations only. This module gathers the data;
the Jinja2 templates in ``templates/`` (autoescaped, strict about undefined names) lay it out,
so every value reaching a page is escaped; the pages carry no script.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pyoxigraph as ox
from jinja2 import Environment, PackageLoader, StrictUndefined

from guidegraph.audit.findings import (
    SEVERITIES,
    Affected,
    AuditReport,
    DependencyGraph,
    Finding,
    audit,
    stored_runs,
)
from guidegraph.audit.findings import count_text as _count
from guidegraph.knowledge.loading import Knowledge, KnowledgePart
from guidegraph.provenance import record as provenance
from guidegraph.provenance.explain import STATUS_SIGN, STATUS_TEXT, WHY, render_explanation
from guidegraph.provenance.picture import Citation, Support, citations, support
from guidegraph.provenance.runs import run_record
from guidegraph.reasoning.reasoner import Reasoner, ReasonerCache
from guidegraph.reasoning.result import Conclusion, RecommendationOutcome, grade_text
from guidegraph.store import versions
from guidegraph.store.base import Store
from guidegraph.store.log import check
from guidegraph.store.versions import KnowledgeSource
from guidegraph.vocab import CASE_GRAPH, GG, PROV, SKOS, SNAPSHOT_BASE

PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
_CACHE = 8
#: Order of verdicts in a run's summary: what needs attention first.
VERDICT_ORDER = {"conflict": 0, "against": 1, "for": 2, "uncertain": 3, "undecided": 4}


def _time(stamp: str) -> str:
    return stamp[:19].replace("T", " ") if stamp else "—"


def _warning_class(warning: str) -> str:
    """The style of a warning: a retracted source and a conflict stand out from the rest."""
    if "retracted" in warning:
        return "retracted"
    return "conflict" if warning.startswith("conflict") else "warn"


_ENV = Environment(loader=PackageLoader("guidegraph.serve", "templates"), autoescape=True,
                   undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                   keep_trailing_newline=True)
_ENV.filters["time"] = _time
_ENV.globals.update(count=_count, grade_text=grade_text, warning_class=_warning_class,
                    status_text=STATUS_TEXT, why=WHY, status_sign=STATUS_SIGN)


def render(template: str, **context: Any) -> str:
    """``template`` filled in; a name the template uses but the context lacks is an error."""
    return _ENV.get_template(template).render(**context)


@dataclass
class RunRow:
    iri: str
    case_id: str
    ended: str
    derived: int
    snapshots: list[str]
    stale: bool


# What the templates are given: objects rather than dicts, since in a template ``row.items``
# would find the dict's method before its key.
@dataclass
class FindingView:
    """A finding with what it affects, the knowledge items apart from the stored runs."""
    finding: Finding
    items: list[Affected]
    runs: list[Affected]
    n_runs: int  # a run can be listed once per verdict: the runs, not the paths


@dataclass
class RunView:
    """A row of the run table: the run, its link, its stored verdicts decided or not."""
    run: RunRow
    href: str
    decided: list[tuple[str, str, str]]
    undecided: list[tuple[str, str, str]]


@dataclass
class VerdictView:
    """A verdict with the statements that decided it and those it set aside, by rule."""
    conclusion: Conclusion
    decided: list[tuple[str, RecommendationOutcome | None]]
    rules: list[tuple[str, list[str]]]
    total: int  # distinct statements set aside


class AuditPages:
    """Renders the pages; keeps a few reasoners, keyed by the guideline versions they hold,
    so that a run made with a superseded version is read with that version's text."""

    def __init__(self, store: Store, current: Callable[[], tuple[KnowledgeSource, Reasoner]],
                 url: Callable[..., str]) -> None:
        """``current``: the knowledge to audit with and its reasoner, as the endpoint decides
        it for every request (:func:`~guidegraph.store.versions.current_knowledge`)."""
        self.store = store
        self._current = current
        self.url = url  # flask.url_for, so links work under any mount point
        self._reasoners = ReasonerCache()  # past versions that stored runs used

    # -- knowledge ------------------------------------------------------------------
    def current(self) -> tuple[Reasoner, bool, set[str]]:
        """The reasoner for the current knowledge, whether it is the store's, and the
        current snapshot graph names."""
        source, reasoner = self._current()
        return reasoner, source.stored, set(source.graphs)

    def _reasoner_for_run(self, used: set[str], current: set[str], reasoner: Reasoner
                          ) -> Reasoner:
        if used <= current or not used:
            return reasoner
        from guidegraph.audit.diff import version_parts

        def build() -> Knowledge:
            parts: list[KnowledgePart] = []
            for snap in sorted(used):
                got = version_parts(snap, self.store)
                if not parts:
                    parts += [p for p in got if p.kind == "ontology"]
                parts += [p for p in got if p.kind == "guideline"]
            return Knowledge.from_parts(parts)

        return self._reasoners.get(tuple(sorted(used)), build)

    # -- data -----------------------------------------------------------------------
    def runs(self, current: set[str]) -> list[RunRow]:
        """Every stored run, newest first."""
        by_run: dict[str, dict[str, Any]] = {}
        for row in stored_runs(self.store):
            entry = by_run.setdefault(row["run"], {"case": row["case"], "snaps": set()})
            if row["snapshot"]:
                entry["snaps"].add(row["snapshot"])
        if not by_run:
            return []
        table = self.store.query(f"""PREFIX gg: <{GG}> PREFIX prov: <{PROV}>
            SELECT ?run ?ended (COUNT(DISTINCT ?e) AS ?derived) WHERE {{
              GRAPH ?run {{ ?run a gg:ReasoningRun . OPTIONAL {{ ?run prov:endedAtTime ?ended }}
                OPTIONAL {{ ?e a gg:DerivedRecommendation ; prov:wasGeneratedBy ?run }} }}
            }} GROUP BY ?run ?ended""").table
        info = {r[0].value: (r[1].value if r[1] else "", int(r[2].value)) for r in table.rows}
        ids = self.store.query(f"""PREFIX skos: <{SKOS}>
            SELECT ?case ?id WHERE {{ GRAPH ?g {{ ?case skos:notation ?id }}
              FILTER(STRSTARTS(STR(?g), "{CASE_GRAPH}")) }}""").table
        case_ids = {r[0].value: r[1].value for r in ids.rows}
        out = []
        for run, entry in by_run.items():
            ended, derived = info.get(run, ("", 0))
            case_id = case_ids.get(entry["case"]) or urllib.parse.unquote(
                entry["case"].rsplit("/", 1)[-1])
            snaps = sorted(entry["snaps"])
            out.append(RunRow(run, case_id, ended, derived, snaps,
                              bool(current) and any(s not in current for s in snaps)))
        return sorted(out, key=lambda r: (r.ended, r.case_id, r.iri), reverse=True)

    def verdicts(self, runs: list[str]) -> dict[str, list[tuple[str, str, str]]]:
        """(guideline, action, verdict) of each given run, read from its stored verdicts;
        only the runs a page shows are asked for, so the list costs one small query."""
        if not runs:
            return {}
        values = " ".join(str(ox.NamedNode(r)) for r in runs)  # validated IRIs, no injection
        table = self.store.query(f"""PREFIX gg: <{GG}> PREFIX prov: <{PROV}>
            SELECT ?run ?v ?verdict WHERE {{ VALUES ?run {{ {values} }}
              GRAPH ?run {{ ?v a gg:ActionVerdict ; prov:wasGeneratedBy ?run ;
                             gg:verdict ?verdict }} }}""").table
        out: dict[str, list[tuple[str, str, str]]] = {}
        for run, node, verdict in table.rows:
            # <run>/verdict/<guideline>/<action>, as provenance.verdict_iri writes it
            guideline, _, action = node.value.rsplit("/verdict/", 1)[-1].partition("/")
            out.setdefault(run.value, []).append(
                (guideline, action, verdict.value.removeprefix(GG + "verdict-")))
        for found in out.values():
            found.sort(key=lambda v: (VERDICT_ORDER.get(v[2], 9), v[1], v[0]))
        return out

    # -- pages ----------------------------------------------------------------------
    def summary(self, page: int, per: int = PAGE_SIZE) -> str:
        """``GET /audit``: the store's versions, findings, citations, log and one page of
        its runs (``page`` and ``per`` clamped to what exists)."""
        reasoner, stored, current = self.current()
        knowledge = reasoner.knowledge
        report = audit(knowledge, self.store if stored else None)
        snapshots = versions.snapshots(self.store) if stored else []
        runs = self.runs(current)
        per = min(max(per, 1), MAX_PAGE_SIZE)
        page = min(max(page, 1), max(1, -(-len(runs) // per)))
        guideline_snaps = sorted((s for s in snapshots if s["kind"] == "guideline"),
                                 key=lambda s: (s["id"], s["loaded"]), reverse=True)
        cits = _citation_rows(knowledge)
        return render(
            "summary.html", title="guidegraph audit", location=self.store.location,
            audited=report.ended[:19].replace("T", " ") + " UTC", stored=stored,
            severities=SEVERITIES, counts=report.counts(), stale=sum(r.stale for r in runs),
            current=current, snapshots=guideline_snaps,
            shipped=[] if stored else knowledge.guidelines, findings=_findings(report),
            citations=cits, several=len({c.guideline for c, _, _ in cits}) > 1,
            log=check(self.store), snapshots_by_graph={s["g"]: s for s in snapshots},
            **self._runs(runs, page, per))

    def run(self, iri: str) -> str:
        """``GET /audit/run``: one run, read with the guideline versions it used."""
        reasoner, _stored, current = self.current()
        triples = run_record(self.store, iri)  # KeyError: no such run
        used = {t.object.value for t in triples if t.subject.value == iri
                and t.predicate.value == PROV + "used"
                and t.object.value.startswith(SNAPSHOT_BASE)}
        run_reasoner = self._reasoner_for_run(used, current, reasoner)
        result = provenance.from_triples(triples, run_reasoner, iri)
        sources = support(run_reasoner.knowledge)
        derived = {(r.guideline, r.id): r for r in result.recommendations}
        outcomes = sorted(result.not_applicable, key=lambda r: (r.guideline, r.action, r.id))
        cards = [(d, [(r, sources.get(r.iri, Support())) for r in result.recommendations
                      if r.direction == d]) for d in ("for", "against", "uncertain")]
        guidelines = [(g, bool(current) and SNAPSHOT_BASE + g["content_hash"].split(":", 1)[-1]
                       not in current) for g in result.guidelines]
        return render(
            "run.html", title=f"Run of case {result.case_id}", result=result,
            home=self.url("audit_summary"), guidelines=guidelines,
            stale=bool(current) and any(u not in current for u in used),
            verdicts=[_verdict(c, derived) for c in result.conclusions],
            several_verdicts=len({c.guideline for c in result.conclusions}) > 1,
            # Runs saved before verdicts were recorded hold outcomes but no verdict.
            unrecorded=bool(result.recommendations) or any(
                r.status == "unknown" for r in result.not_applicable),
            derived=[(d, found) for d, found in cards if found],
            undecided=[r for r in outcomes if r.status == "unknown"],
            rejected=[r for r in outcomes if r.status == "unmet"],
            several=len({r.guideline for r in result.all_outcomes()}) > 1,
            explanation=render_explanation(result, run_reasoner))

    def _runs(self, runs: list[RunRow], page: int, per: int) -> dict[str, Any]:
        """One page of the run table: its rows with their verdicts, its place, its links."""
        shown = runs[(page - 1) * per: page * per]
        verdicts = self.verdicts([r.iri for r in shown])
        rows = []
        for r in shown:
            found = verdicts.get(r.iri, [])
            rows.append(RunView(r, self.url("audit_run", iri=r.iri),
                                [v for v in found if v[2] != "undecided"],
                                [v for v in found if v[2] == "undecided"]))
        pages = max(1, -(-len(runs) // per))
        links = [(n, None if n == page else self._page_url(n, per))
                 for n in range(1, pages + 1)] if pages > 1 else []
        first = (page - 1) * per + 1 if runs else 0
        return {"rows": rows, "total": len(runs), "first": first,
                "last": first + len(shown) - 1 if shown else 0, "links": links}

    def _page_url(self, page: int, per: int) -> str:
        extra = {} if per == PAGE_SIZE else {"per": per}
        return self.url("audit_summary", page=page, **extra) + "#runs"


def _findings(report: AuditReport) -> list[tuple[str, list[FindingView]]]:
    """The findings by severity, each with the knowledge items it affects apart from the
    stored runs: items stay few, runs can be hundreds (and are folded when many)."""
    out = []
    for severity in SEVERITIES:
        found = []
        for f in report.findings:
            if f.severity == severity:
                runs = [a for a in f.affects if a.kind == "stored run"]
                found.append(FindingView(f, [a for a in f.affects if a.kind != "stored run"],
                                         runs, len({a.iri for a in runs})))
        out.append((severity, found))
    return out


def _citation_rows(knowledge: Knowledge) -> list[tuple[Citation, list[str], int]]:
    """Each citation with the recommendations and the number of evidence statements resting
    on it."""
    deps = DependencyGraph(knowledge)
    rows = []
    for iri, cit in citations(knowledge).items():
        resting = deps.resting_on(iri) if iri in deps.g else []
        recs = sorted({a.id for a in resting if a.kind == "recommendation"})
        rows.append((cit, recs, sum(a.kind == "evidence statement" for a in resting)))
    return rows


def _verdict(c: Conclusion, derived: dict[tuple[str, str], RecommendationOutcome]
             ) -> VerdictView:
    by_rule: dict[str, list[str]] = {}
    for o in c.overridden:
        ids = by_rule.setdefault(o.rule, [])
        if o.id not in ids:
            ids.append(o.id)
    return VerdictView(c, [(i, derived.get((c.guideline, i))) for i in c.decided_by],
                       sorted(by_rule.items()), len({o.id for o in c.overridden}))


def landing_page(sparql: str, audit: str, health: str, read_only: bool) -> str:
    """``GET /``: what this server offers, with links."""
    return render("landing.html", title="guidegraph", sparql=sparql, audit=audit,
                  health=health, read_only=read_only)


def error_page(status: int, message: str, home: str) -> str:
    return render("error.html", title=f"guidegraph audit: {status}", status=status,
                  message=message, home=home)
