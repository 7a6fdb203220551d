"""The audit pages of ``guidegraph serve``: plain server-side HTML for a person reviewing a
store (guideline versions, audit findings, citation status, the audit log, stored runs with
their verdicts) and one run's verdicts, then its recommendations with why / why-not, grade,
warnings, evidence and citations.

Everything is read through the server's :class:`~guidegraph.store.base.Store` (for an embedded
store, the killable worker), with read-only operations only. Every value is escaped by
:class:`markupsafe.Markup`; the pages carry no script.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import pyoxigraph as ox
from markupsafe import Markup, escape

from guidegraph.audit.findings import (
    SEVERITIES,
    AuditReport,
    DependencyGraph,
    audit,
    stored_runs,
)
from guidegraph.audit.findings import count_text as _count
from guidegraph.knowledge.loading import Knowledge, KnowledgePart
from guidegraph.provenance import record as provenance
from guidegraph.provenance.explain import render_explanation
from guidegraph.provenance.picture import Citation, Support, citations, support
from guidegraph.provenance.runs import run_record
from guidegraph.reasoning.reasoner import Reasoner, ReasonerCache
from guidegraph.reasoning.result import (
    Conclusion,
    CriterionOutcome,
    RecommendationOutcome,
    Result,
    grade_text,
)
from guidegraph.store import versions
from guidegraph.store.base import Store
from guidegraph.store.log import check
from guidegraph.store.versions import KnowledgeSource
from guidegraph.vocab import CASE_GRAPH, GG, PROV, SKOS, SNAPSHOT_BASE

PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
_CACHE = 8


def h(template: str, *args: Any, **kwargs: Any) -> Markup:
    """``template`` with every argument escaped (unless already Markup)."""
    return Markup(template).format(*args, **kwargs)


def join(items: Iterable[Markup | str], sep: str = "") -> Markup:
    return Markup(sep).join(escape(i) for i in items)


#: Order of verdicts in a run's summary: what needs attention first.
VERDICT_ORDER = {"conflict": 0, "against": 1, "for": 2, "uncertain": 3, "undecided": 4}


@dataclass
class RunRow:
    iri: str
    case_id: str
    ended: str
    derived: int
    snapshots: list[str]
    stale: bool


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
        reasoner, stored, current = self.current()
        knowledge = reasoner.knowledge
        report = audit(knowledge, self.store if stored else None)
        snapshots = versions.snapshots(self.store) if stored else []
        runs = self.runs(current)
        log = check(self.store)
        per = min(max(per, 1), MAX_PAGE_SIZE)
        pages = max(1, -(-len(runs) // per))
        page = min(max(page, 1), pages)
        body = [
            self._summary_head(report, snapshots, current, runs, stored),
            self._versions(snapshots, current, stored, knowledge),
            self._findings(report),
            self._citations(knowledge),
            self._log(log.problems, len(log.entries), log.notes),
            self._runs(runs, page, pages, per, {s["g"]: s for s in snapshots}, current),
        ]
        return _page("guidegraph audit", join(body))

    def run(self, iri: str) -> str:
        reasoner, _stored, current = self.current()
        triples = run_record(self.store, iri)  # KeyError: no such run
        used = {t.object.value for t in triples if t.subject.value == iri
                and t.predicate.value == PROV + "used"
                and t.object.value.startswith(SNAPSHOT_BASE)}
        run_reasoner = self._reasoner_for_run(used, current, reasoner)
        result = provenance.from_triples(triples, run_reasoner, iri)
        stale = bool(current) and any(u not in current for u in used)
        sources = support(run_reasoner.knowledge)
        body = [self._run_head(result, stale, used, current),
                self._run_verdicts(result),
                self._run_recommendations(result, sources),
                h('<section><h2>Plain-text explanation</h2><details><summary>As '
                  '<code>guidegraph explain --run</code> prints it</summary><pre>{}</pre>'
                  '</details></section>', render_explanation(result, run_reasoner))]
        return _page(f"Run of case {result.case_id}", join(body))

    # -- summary sections --------------------------------------------------------------
    def _summary_head(self, report: AuditReport, snapshots: list[dict[str, str]],
                      current: set[str], runs: list[RunRow], stored: bool) -> Markup:
        counts = report.counts()
        stale = sum(r.stale for r in runs)
        note = Markup("") if stored else h(
            '<p class="note">The store holds no guidelines; the shipped files are audited.</p>')
        chips = join(h('<a class="chip sev-{0}" href="#sev-{0}">{1} {2}</a>', s, counts[s],
                       s + ("s" if counts[s] != 1 and s != "info" else ""))
                     for s in SEVERITIES)
        return h('<header><h1>Provenance audit</h1><p class="sub">store {} · audited {}</p>'
                 '{}<p class="chips">{}<span class="chip">{} stored runs</span>{}</p>'
                 '<nav><a href="#versions">Guideline versions</a> · <a href="#findings">'
                 'Findings</a> · <a href="#citations">Citations</a> · <a href="#log">Audit log'
                 '</a> · <a href="#runs">Stored runs</a></nav></header>',
                 self.store.location, report.ended[:19].replace("T", " ") + " UTC", note, chips,
                 len(runs), h(' <span class="chip stale">{} stale</span>', stale)
                 if stale else "")

    def _versions(self, snapshots: list[dict[str, str]], current: set[str], stored: bool,
                  knowledge: Knowledge) -> Markup:
        rows = []
        if stored:
            for s in sorted((s for s in snapshots if s["kind"] == "guideline"),
                            key=lambda s: (s["id"], s["loaded"]), reverse=True):
                live = s["g"] in current
                rows.append(h('<tr><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td>'
                              '<td><span class="badge {}">{}</span></td></tr>',
                              s["id"], s["version"], s["hash"][:19] + "…", _time(s["loaded"]),
                              "ok" if live else "stale", "current" if live else "superseded"))
        else:
            for g in knowledge.guidelines:
                rows.append(h('<tr><td>{}</td><td>{}</td><td><code>{}</code></td><td>—</td>'
                              '<td><span class="badge">shipped files</span></td></tr>',
                              g.id, g.version, g.content_hash[:19] + "…"))
        return h('<section id="versions"><h2>Guideline versions</h2><table><thead><tr>'
                 '<th>guideline</th><th>version</th><th>content hash</th><th>loaded</th>'
                 '<th>status</th></tr></thead><tbody>{}</tbody></table></section>', join(rows))

    def _findings(self, report: AuditReport) -> Markup:
        parts = []
        for severity in SEVERITIES:
            found = [f for f in report.findings if f.severity == severity]
            items = []
            for f in found:
                # Knowledge items stay few; stored runs can be hundreds: list them apart.
                items_ = [a for a in f.affects if a.kind != "stored run"]
                runs = [a for a in f.affects if a.kind == "stored run"]
                # A run can be listed once per verdict: count the runs, not the paths.
                n_runs = len({a.iri for a in runs})
                paths = f" ({len(runs)} paths)" if len(runs) != n_runs else ""
                affects = join([
                    _affected(items_, _count(len(items_), "item") + " affected",
                              severity == "error" or len(items_) <= 12),
                    _affected(runs, _count(n_runs, "stored run") + " affected" + paths,
                              len(runs) <= 12)])
                items.append(h('<li class="finding"><span class="badge sev-{}">{}</span> '
                               '<strong>{}</strong> <span class="subject">{}</span><p>{}</p>{}'
                               '</li>', severity, severity, f.kind, f.subject, f.message,
                               affects))
            body = h("<ul class=findings>{}</ul>", join(items)) if items else h(
                '<p class="none">none</p>')
            parts.append(h('<h3 id="sev-{}">{} ({})</h3>{}', severity,
                           severity.capitalize() + ("s" if severity != "info" else ""),
                           len(found), body))
        return h('<section id="findings"><h2>Audit findings</h2>{}</section>', join(parts))

    def _citations(self, knowledge: Knowledge) -> Markup:
        deps = DependencyGraph(knowledge)
        cits = citations(knowledge)
        several = len({c.guideline for c in cits.values()}) > 1
        rows = []
        for iri, cit in cits.items():
            resting = deps.resting_on(iri) if iri in deps.g else []
            recs = sorted({a.id for a in resting if a.kind == "recommendation"})
            evidence = sum(a.kind == "evidence statement" for a in resting)
            rows.append(h('<tr class="{}">{}<td class="num">{}</td><td>{}</td><td>{}</td>'
                          '<td class="num" title="{}">{}</td><td class="num">{}</td></tr>',
                          cit.status, h("<td>{}</td>", cit.guideline) if several else "",
                          cit.ref, cit.title, _citation_badge(cit, full=False),
                          ", ".join(recs), len(recs), evidence))
        return h('<section id="citations"><h2>Citation status</h2><table><thead><tr>{}'
                 '<th>ref.</th><th>title</th><th>status</th><th>recommendations resting on it'
                 '</th><th>evidence statements</th></tr></thead><tbody>{}</tbody></table>'
                 '</section>', Markup("<th>guideline</th>") if several else "", join(rows))

    def _log(self, problems: list[str], entries: int, notes: list[str]) -> Markup:
        """The log check: problems, or intact; and what could not be checked (entries that
        predate content hashes), never left out."""
        unchecked = h('<p>Not checked:</p><ul class="notes">{}</ul>',
                      join(h("<li>{}</li>", n) for n in notes)) if notes else Markup("")
        if not problems:
            return h('<section id="log"><h2>Audit log</h2><p><span class="badge ok">intact'
                     '</span> {}, hash chain whole, {}.</p>{}</section>',
                     _count(entries, "entry"), "the stored graphs checked against it" if notes
                     else "every stored graph as the log last recorded it", unchecked)
        items = join(h("<li>{}</li>", p) for p in problems)
        return h('<section id="log"><h2>Audit log</h2><p><span class="badge sev-error">'
                 '{}</span> in {}:</p><ul class="problems">{}</ul>{}</section>',
                 _count(len(problems), "problem"), _count(entries, "entry"), items, unchecked)

    def _runs(self, runs: list[RunRow], page: int, pages: int, per: int,
              snapshots: dict[str, dict[str, str]], current: set[str]) -> Markup:
        shown = runs[(page - 1) * per: page * per]
        verdicts = self.verdicts([r.iri for r in shown])
        rows = []
        for r in shown:
            versions = join((_version(snapshots.get(s), s, current) for s in r.snapshots),
                            Markup("<br>"))
            mark = h(' <span class="badge stale">stale</span>') if r.stale else Markup("")
            rows.append(h('<tr class="{}"><td><a href="{}">{}</a>{}</td><td class="verdicts">'
                          '{}</td><td>{}</td><td>{}</td><td class="num">{}</td></tr>',
                          "stale" if r.stale else "", self.url("audit_run", iri=r.iri),
                          r.case_id, mark, _verdict_summary(verdicts.get(r.iri, [])),
                          _time(r.ended), versions or "—", r.derived))
        if not runs:
            table = h('<p class="none">No stored runs. Save some with <code>guidegraph reason '
                      'CASES --save</code>.</p>')
        else:
            table = h('<table class="runs"><thead><tr><th>case</th><th>verdicts</th>'
                      '<th>time (UTC)</th><th>guideline version</th><th>derived</th></tr>'
                      '</thead><tbody>{}</tbody></table>', join(rows))
        nav = Markup("")
        if pages > 1:
            links = []
            for n in range(1, pages + 1):
                links.append(h('<strong aria-current="page">{}</strong>', n) if n == page
                             else h('<a href="{}">{}</a>', self._page_url(n, per), n))
            nav = h('<nav class="pages">Page {}</nav>', join(links, " "))
        first = (page - 1) * per + 1 if runs else 0
        return h('<section id="runs"><h2>Stored runs</h2><p class="sub">{}–{} of {}, newest '
                 'first; stale: made with a guideline version that is no longer current.</p>'
                 '{}{}</section>', first, first + len(shown) - 1 if shown else 0, len(runs),
                 table, nav)

    def _page_url(self, page: int, per: int) -> str:
        extra = {} if per == PAGE_SIZE else {"per": per}
        return self.url("audit_summary", page=page, **extra) + "#runs"

    # -- run page --------------------------------------------------------------------
    def _run_head(self, result: Result, stale: bool, used: set[str], current: set[str]
                  ) -> Markup:
        versions = []
        for g in result.guidelines:
            snap = SNAPSHOT_BASE + g["content_hash"].split(":", 1)[-1]
            old = bool(current) and snap not in current
            versions.append(h('{} {} <code>{}</code>{}', g["id"], g["version"],
                              g["content_hash"][:19] + "…",
                              h(' <span class="badge stale">superseded</span>') if old else ""))
        facts = join(h('<li><span class="muted">{}</span> <strong>{}</strong>{}</li>', k, v,
                       h(' <span class="muted">(default)</span>') if k in result.defaulted
                       else "") for k, v in result.facts.items())
        warn = h('<p class="note stale">This run was made with a guideline version that is '
                 'no longer current: re-run the case (guidegraph diff shows what changes).</p>'
                 ) if stale else Markup("")
        conflicts = join(h('<p class="note conflict"><strong>Conflict</strong> on {}: for {}; '
                           'against {}</p>', c["action"], ", ".join(c["for"]),
                           ", ".join(c["against"])) for c in result.conflicts)
        return h('<header><p class="crumbs"><a href="{}">← audit</a></p><h1>Run of case {}</h1>'
                 '<p class="sub"><code>{}</code></p>{}{}<dl class="meta"><dt>started</dt><dd>{}'
                 '</dd><dt>ended</dt><dd>{}</dd><dt>guideline</dt><dd>{}</dd><dt>case</dt><dd>'
                 '<code>{}</code></dd></dl><details open><summary>Facts ({})</summary>'
                 '<ul class="facts">{}</ul></details></header>',
                 self.url("audit_summary"), result.case_id, result.provenance, warn, conflicts,
                 _time(result.started), _time(result.ended), join(versions, "; "),
                 result.case, len(result.facts), facts)

    def _run_verdicts(self, result: Result) -> Markup:
        """One row per action: what a clinician acts on, ahead of the statements behind it."""
        several = len({c.guideline for c in result.conclusions}) > 1
        derived = {(r.guideline, r.id): r for r in result.recommendations}
        rows = [_verdict_row(c, derived, several) for c in result.conclusions]
        if not rows and (result.recommendations or any(
                r.status == "unknown" for r in result.not_applicable)):
            # Runs saved before verdicts were recorded hold outcomes but no verdict.
            table = h('<p class="note">This run records no verdict, though recommendations '
                      'applied or are undecided: re-run the case to decide its actions.</p>')
        elif not rows:
            table = h('<p class="none">No verdict: no recommendation could apply.</p>')
        else:
            head = h('<tr>{}<th>action</th><th>verdict</th><th>decided by</th>'
                     '<th>sets aside</th><th>pending, missing facts, notes</th></tr>',
                     Markup("<th>guideline</th>") if several else "")
            table = h('<table class="verdicts"><thead>{}</thead><tbody>{}</tbody></table>',
                      head, join(rows))
        return h('<section id="verdicts"><h2>Verdicts ({})</h2><p class="sub">One verdict '
                 'per action, from the guideline\'s precedence rules; the recommendations '
                 'below are the trail behind them.</p>{}</section>', len(rows), table)

    def _run_recommendations(self, result: Result, sources: dict[str, Support]) -> Markup:
        parts = []
        for direction, title in (("for", "For"), ("against", "Against"),
                                 ("uncertain", "Uncertain")):
            recs = [r for r in result.recommendations if r.direction == direction]
            if recs:
                parts.append(h('<h3>{} ({})</h3>{}', title, len(recs),
                               join(self._card(r, result, sources) for r in recs)))
        derived = h('<section id="derived"><h2>Derived recommendations ({})</h2>{}</section>',
                    len(result.recommendations), join(parts) if parts else h(
                        '<p class="none">none</p>'))
        undecided = [r for r in result.not_applicable if r.status == "unknown"]
        rejected = [r for r in result.not_applicable if r.status == "unmet"]
        missing = h('<p>Missing facts: {}</p>', ", ".join(result.missing_facts)
                    ) if result.missing_facts else Markup("")
        several = len({r.guideline for r in result.all_outcomes()}) > 1
        return join([
            derived,
            h('<section id="undecided"><h2>Undecided ({})</h2><p class="sub">No criterion unmet,'
              ' some facts missing.</p>{}{}</section>', len(undecided), missing,
              _outcome_table(undecided, result, several)),
            h('<section id="not-applicable"><h2>Does not apply ({})</h2><p class="sub">At '
              'least one criterion unmet; the deciding ones are listed.</p>{}</section>',
              len(rejected), _outcome_table(rejected, result, several)),
        ])

    def _card(self, rec: RecommendationOutcome, result: Result,
              sources: dict[str, Support]) -> Markup:
        verdict = {"met": "applies", "unmet": "does not apply", "unknown": "undecided"}
        head = {"met": "Why", "unmet": "Why not", "unknown": "Why not yet"}[rec.status]
        crits = join(_criterion(c, result.facts) for c in rec.criteria)
        extra = []
        if rec.status == "unknown":
            extra.append(h('<p>Would be decided by: {}</p>', ", ".join(rec.missing)))
        if rec.status == "met":
            for w in rec.warnings:
                cls = "retracted" if "retracted" in w else (
                    "conflict" if w.startswith("conflict") else "warn")
                extra.append(h('<p class="warning {}">⚠ {}</p>', cls, w))
            extra.append(self._evidence(sources.get(rec.iri, Support())))
        origin = h(' · {}', rec.origin) if rec.origin else ""
        return h('<article class="rec {}" id="rec-{}"><h4><span class="rid">{}</span> '
                 '<span class="badge {}">{}</span> <span class="dir">{} {}</span></h4>'
                 '<p class="grade">Grade: <strong>{}</strong>{}</p><p class="label">{}</p>{}'
                 '<h5>{}</h5><ul class="criteria">{}</ul>{}</article>',
                 rec.status, rec.id, rec.id, rec.status, verdict[rec.status], rec.direction,
                 rec.action, grade_text(rec), origin, rec.label,
                 h('<blockquote>{}</blockquote>', rec.text) if rec.status == "met" else "",
                 head, crits, join(extra))

    def _evidence(self, sup: Support) -> Markup:
        items = [h('<li><strong>{}</strong> {}{}<div class="cites">{}</div></li>', ev.id,
                   ev.label, h('<div class="statement">{}</div>', ev.statement)
                   if ev.statement else "", join((_citation_badge(c) for c in ev.citations),
                                                 " ") or "no citation")
                 for ev in sup.evidence]
        direct = join((_citation_badge(c) for c in sup.citations), " ")
        return h('<h5>Evidence</h5>{}<p class="cites">Cites directly: {}</p>',
                 h('<ul class="evidence">{}</ul>', join(items)) if items else h(
                     '<p class="none">no evidence statements</p>'), direct or "nothing")


def _verdict_summary(verdicts: list[tuple[str, str, str]]) -> Markup:
    """A run's verdicts in one cell: each decided one as "action: verdict", the undecided
    ones counted (named in the tooltip), so a page of runs stays readable."""
    if not verdicts:
        return Markup('<span class="muted">—</span>')
    decided = [v for v in verdicts if v[2] != "undecided"]
    undecided = [v for v in verdicts if v[2] == "undecided"]
    chips = [h('<span class="v v-{}" title="{}">{}: {}</span>', d, g, a, d)
             for g, a, d in decided]
    if undecided:
        chips.append(h('<span class="v v-undecided" title="{}">{} undecided</span>',
                       ", ".join(a for _, a, _ in undecided), len(undecided)))
    return join(chips, " ")


def _verdict_row(c: Conclusion, derived: dict[tuple[str, str], RecommendationOutcome],
                 several: bool) -> Markup:
    """A verdict with what decided it, what it set aside and by which rule, what it awaits."""
    def statement(rec_id: str) -> Markup:
        rec = derived.get((c.guideline, rec_id))
        side = h(' <span class="dir">{}</span>', rec.direction) if rec is not None and (
            c.direction in ("conflict", "undecided")) else ""
        grade = h(' <span class="muted">{}</span>', grade_text(rec)) if rec else ""
        return h('<li><a class="rid" href="#rec-{}">{}</a>{}{}</li>', rec_id, rec_id, side,
                 grade)

    if c.decided_by:
        title = h('<p class="muted">standing so far:</p>') if c.direction == "undecided" else ""
        decided = h('{}<ul class="plain">{}</ul>', title, join(statement(i) for i in c.decided_by))
    else:
        decided = h('<span class="muted">{}</span>', "none yet" if c.direction == "undecided"
                    else "no supported statement applies")
    by_rule: dict[str, list[str]] = {}
    for o in c.overridden:
        ids = by_rule.setdefault(o.rule, [])
        if o.id not in ids:
            ids.append(o.id)
    total = len({o.id for o in c.overridden})
    if by_rule:
        rules = join(h('<li>{} by <strong>{}</strong>: <span class="muted">{}</span></li>',
                       _count(len(ids), "statement"), rule, ", ".join(ids))
                     for rule, ids in sorted(by_rule.items()))
        # one statement can be set aside by two rules: then the distinct total comes first
        total_line = h('<p>{} in all</p>', _count(total, "statement")) if len(by_rule) > 1 \
            else ""
        overrides = h('{}<ul class="plain">{}</ul>', total_line, rules)
    else:
        overrides = h('<span class="muted">—</span>')
    notes = []
    if c.direction == "undecided":
        notes.append(h('<p>needs: <strong>{}</strong></p>',
                       ", ".join(c.missing_facts) or "nothing listed"))
        if c.pending:
            items = join(h('<li><span class="rid">{}</span> <span class="muted">({})</span>'
                           '</li>', p.id, ", ".join(p.missing_facts)) for p in c.pending)
            # A guideline nothing applied from can leave dozens pending: fold them.
            notes.append(h('<details{}><summary>pending on {}</summary><ul class="plain '
                           'pending">{}</ul></details>', Markup(" open") if len(c.pending) <= 3
                           else "", _count(len(c.pending), "statement"), items))
    for w in c.warnings:
        cls = "retracted" if "retracted" in w else ("conflict" if w.startswith("conflict")
                                                   else "warn")
        notes.append(h('<p class="warning {}">⚠ {}</p>', cls, w))
    return h('<tr id="verdict-{}-{}" class="verdict {}">{}<td class="action"><strong>{}'
             '</strong></td><td class="verdict"><span class="badge v-{}">{}</span></td>'
             '<td class="decided">{}</td><td class="sets-aside">{}</td><td class="notes">{}'
             '</td></tr>',
             c.guideline, c.action, c.direction,
             h("<td>{}</td>", c.guideline) if several else "", c.action, c.direction,
             c.direction, decided, overrides, join(notes) or h('<span class="muted">—</span>'))


def _affected(affects: list[Any], title: str, open_: bool) -> Markup:
    """Affected items with their dependency paths, in a disclosure."""
    if not affects:
        return Markup("")
    rows = join(h('<tr><td>{}</td><td>{}</td><td class="path">{}</td></tr>', a.kind, a.id,
                  join((h("<span>{}</span>", p) for p in a.path), " → ")) for a in affects)
    return h('<details{}><summary>{}</summary><table class="affects"><thead><tr><th>kind</th>'
             '<th>item</th><th>dependency path</th></tr></thead><tbody>{}</tbody></table>'
             '</details>', Markup(" open") if open_ else "", title, rows)


def _outcome_table(recs: list[RecommendationOutcome], result: Result, several: bool
                   ) -> Markup:
    """Recommendations that were not derived, one compact row each with their why-not."""
    if not recs:
        return h('<p class="none">none</p>')
    rows = []
    for rec in sorted(recs, key=lambda r: (r.guideline, r.action, r.id)):
        decide = h('<p class="muted">would be decided by: {}</p>', ", ".join(rec.missing)
                   ) if rec.status == "unknown" and rec.missing else ""
        rows.append(h('<tr id="rec-{}" class="rec-row {}">{}<td><span class="rid">{}</span>'
                      '<div class="muted">{}</div></td><td>{} {}<div class="muted">{}</div>'
                      '</td><td><ul class="criteria">{}</ul>{}</td></tr>', rec.id, rec.status,
                      h("<td>{}</td>", rec.guideline) if several else "", rec.id, rec.label,
                      rec.direction, rec.action, grade_text(rec),
                      join(_criterion(c, result.facts) for c in rec.criteria), decide))
    head = h('<tr>{}<th>recommendation</th><th>direction, action, grade</th><th>why not</th>'
             '</tr>', Markup("<th>guideline</th>") if several else "")
    return h('<table class="outcomes"><thead>{}</thead><tbody>{}</tbody></table>', head,
             join(rows))


def _criterion(c: CriterionOutcome, facts: dict[str, str]) -> Markup:
    via = " > ".join(c.via)
    if c.fact_keys:
        used = ", ".join(c.facts_text(facts))
    else:
        used = ", ".join(f"{k} missing" for k in c.missing) or "no fact needed"
    mark = {"met": "+", "unmet": "−", "unknown": "?"}[c.status]
    return h('<li class="{}"><span class="mark">{}</span> {}{}: <strong>{}</strong> '
             '<span class="facts">({})</span>{}</li>', c.status, mark,
             h('<span class="via">{} &gt; </span>', via) if via else "", c.label, c.status,
             used, h(' <span class="muted">[source: {}]</span>', c.section) if c.section else "")


def _citation_badge(cit: Citation, full: bool = True) -> Markup:
    if cit.status == "retracted":
        return h('<span class="cite retracted" title="{}">{} RETRACTED</span>', cit.title,
                 cit.ref if full else "")
    if cit.status == "unresolved":
        return h('<span class="cite unresolved">{} not in reference list</span>',
                 cit.ref if full else "")
    return h('<span class="cite {}" title="{}">{}</span>', cit.status, cit.title,
             cit.ref if full else cit.status)


def _version(snap: dict[str, str] | None, iri: str, current: set[str]) -> Markup:
    if snap is None:
        return h('<span class="badge sev-error" title="{}">unknown version</span>', iri)
    if current and iri not in current:
        return h('<span class="old">{} {} <code>{}</code> superseded</span>', snap["id"],
                 snap["version"], snap["hash"][7:15])
    return h('{} {} <code>{}</code>', snap["id"], snap["version"], snap["hash"][7:15])


def _time(stamp: str) -> str:
    return stamp[:19].replace("T", " ") if stamp else "—"


def landing_page(sparql: str, audit: str, health: str, read_only: bool) -> str:
    """``GET /``: what this server offers, with links."""
    mode = ("read-only: updates are refused" if read_only
            else "updates need the server's bearer token")
    return _page("guidegraph", h(
        '<header><h1>guidegraph</h1><p class="note">A knowledge-graph reasoner for clinical '
        'practice guidelines ({}).</p></header><section><ul>'
        '<li><a href="{}">{}</a>: SPARQL 1.1 query endpoint (GET or POST <code>query</code>; '
        'without one, the service description)</li>'
        '<li><a href="{}">{}</a>: audit pages (guideline versions, findings, the audit log, '
        'stored runs)</li>'
        '<li><a href="{}">{}</a>: health, limits and the query worker\'s isolation</li>'
        '<li><code>POST /reason</code>: a case in, the result contract out</li>'
        '</ul></section>', mode, sparql, sparql, audit, audit, health, health))


def error_page(status: int, message: str, home: str) -> str:
    return _page(f"guidegraph audit: {status}", h(
        '<header><p class="crumbs"><a href="{}">← audit</a></p><h1>{}</h1>'
        '<p class="note">{}</p></header>', home, status, message))


def _page(title: str, body: Markup) -> str:
    return str(h('<!doctype html><html lang="en"><head><meta charset="utf-8">'
                 '<meta name="viewport" content="width=device-width, initial-scale=1">'
                 '<title>{}</title><style>{}</style></head><body><main>{}</main></body></html>\n',
                 title, Markup(_CSS), body))


_CSS = """
:root { --ink:#1f2933; --muted:#5f6b7a; --line:#d9dee5; --bg:#f6f7f9; --ok:#2e7d32;
  --err:#c62828; --warn:#b26a00; --info:#1565c0; }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--ink);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 28px 60px; }
h1 { font-size: 26px; margin: 0 0 4px; } h2 { font-size: 20px; margin: 0 0 12px; }
h3 { font-size: 16px; margin: 18px 0 8px; } h4 { font-size: 15px; margin: 0 0 6px; }
h5 { font-size: 13px; margin: 12px 0 4px; text-transform: uppercase; letter-spacing: .04em;
  color: var(--muted); }
section, header { background:#fff; border:1px solid var(--line); border-radius:8px;
  padding: 18px 22px; margin: 0 0 18px; }
a { color: #0b57d0; } code { font-size: 13px; background:#f0f2f5; padding:1px 4px;
  border-radius:4px; word-break: break-all; }
.sub, .muted { color: var(--muted); } .sub { margin: 0 0 8px; }
nav { margin-top: 8px; font-size: 14px; }
table { border-collapse: collapse; width: 100%; font-size: 14px; }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--line);
  vertical-align: top; }
thead th { background: #f0f2f5; font-weight: 600; }
td.num { text-align: right; white-space: nowrap; }
tr.retracted td { background: #fdecea; } tr.unresolved td { color: var(--muted); }
tr.stale td { background: #fff6e5; }
.badge, .chip, .cite { display:inline-block; border-radius: 999px; padding: 1px 9px;
  font-size: 12px; font-weight: 600; border: 1px solid transparent; white-space: nowrap; }
.chip { font-size: 13px; padding: 3px 12px; margin-right: 6px; background:#eef1f5;
  color: var(--ink); text-decoration: none; }
.badge.ok { background:#e6f4ea; color: var(--ok); }
.badge.stale, .chip.stale { background:#fff0d6; color:#8a4b00; border-color:#f3c27a; }
.sev-error { background:#fdecea; color: var(--err); border-color:#f5b5b0; }
.sev-warning { background:#fff4e0; color: var(--warn); border-color:#f3cf8f; }
.sev-info { background:#e8f0fe; color: var(--info); border-color:#b5cdf7; }
.badge.met { background:#e6f4ea; color: var(--ok); }
.badge.unmet { background:#fdecea; color: var(--err); }
.badge.unknown { background:#fff4e0; color: var(--warn); }
.badge.v-for, .v.v-for { background:#e6f4ea; color: var(--ok); }
.badge.v-against, .v.v-against { background:#fdecea; color: var(--err); }
.badge.v-conflict, .v.v-conflict { background: var(--err); color:#fff; }
.badge.v-uncertain, .v.v-uncertain { background:#eef1f5; color: var(--ink); }
.badge.v-undecided, .v.v-undecided { background:#fff4e0; color: var(--warn); }
.v { display:inline-block; border-radius: 4px; padding: 0 6px; margin: 1px 0; font-size: 12px;
  white-space: nowrap; }
td.verdicts { max-width: 440px; line-height: 1.9; }
table.verdicts td { padding: 8px 10px; } table.verdicts p { margin: 2px 0; font-size: 13px; }
ul.plain { list-style: none; padding: 0; margin: 0; font-size: 13px; }
tr.verdict.conflict td { background: #fdecea; }
.cite.retracted { background: var(--err); color:#fff; }
.cite.unresolved { background:#f1f1f1; color:#616161; border:1px dashed #9e9e9e; }
.cite.active { background:#e8f0fe; color: var(--info); }
ul.findings { list-style: none; padding: 0; margin: 0; }
li.finding { border-top: 1px solid var(--line); padding: 10px 0; }
li.finding p { margin: 4px 0; } .subject { color: var(--muted); }
details summary { cursor: pointer; color: #0b57d0; margin: 4px 0; }
table.affects { font-size: 13px; } td.path span { white-space: nowrap; }
.note { background:#fff8e1; border-left: 4px solid #f0b400; padding: 8px 12px;
  border-radius: 4px; }
.note.stale { background:#fff0d6; border-color:#e08a00; }
.note.conflict { background:#fdecea; border-color: var(--err); }
.none { color: var(--muted); font-style: italic; }
.crumbs { margin: 0 0 6px; font-size: 14px; }
dl.meta { display:grid; grid-template-columns: max-content 1fr; gap: 2px 14px; font-size:14px; }
dl.meta dt { color: var(--muted); } dl.meta dd { margin: 0; }
ul.facts { columns: 3 220px; list-style: none; padding: 0; margin: 6px 0; font-size: 14px; }
ul.facts li { padding: 2px 0; break-inside: avoid; }
table.outcomes ul.criteria { font-size: 13px; } table.outcomes td { padding: 8px 10px; }
table.outcomes p { margin: 4px 0 0; font-size: 13px; }
article.rec { border:1px solid var(--line); border-left: 5px solid #90a4ae; border-radius:6px;
  padding: 12px 16px; margin: 10px 0; }
article.rec.met { border-left-color: var(--ok); }
article.rec.unmet { border-left-color: var(--err); }
article.rec.unknown { border-left-color: #e0a800; }
.rid { font-family: ui-monospace, "DejaVu Sans Mono", monospace; }
.dir { color: var(--muted); font-weight: 500; } .grade, .label { margin: 2px 0; }
blockquote { margin: 6px 0; padding: 4px 12px; border-left: 3px solid var(--line);
  color: #333; }
ul.criteria { list-style: none; padding-left: 4px; margin: 0; font-size: 14px; }
ul.criteria li { padding: 2px 0; } .mark { display:inline-block; width: 1.2em;
  font-weight: 700; } li.met .mark { color: var(--ok); } li.unmet .mark { color: var(--err); }
li.unknown .mark { color: var(--warn); } .via { color: var(--muted); }
.facts { color: var(--muted); }
.warning { margin: 6px 0; padding: 6px 10px; border-radius: 4px; background:#fff4e0;
  font-size: 14px; } .warning.retracted { background:#fdecea; color:#8e0000;
  font-weight: 600; } .warning.conflict { background:#fce4ec; }
ul.evidence { padding-left: 18px; margin: 4px 0; font-size: 14px; }
ul.evidence li { margin: 4px 0; } .statement { color:#444; } .cites { margin: 3px 0; }
pre { white-space: pre-wrap; font-size: 13px; background:#f6f8fa; padding: 12px;
  border-radius: 6px; }
td code, td.nowrap, table.runs td:nth-child(3) { white-space: nowrap; }
#citations td:first-child { white-space: nowrap; }
.old { color: #8a4b00; font-weight: 600; }
.pages a, .pages strong { display:inline-block; padding: 2px 8px; }
"""
