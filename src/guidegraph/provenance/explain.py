"""Why and why-not for each recommendation, rendered from a run's provenance RDF."""

from __future__ import annotations

from typing import TYPE_CHECKING

from guidegraph.reasoning.plan import MET, UNKNOWN, UNMET
from guidegraph.reasoning.result import RecommendationOutcome, Result, grade_text, printable

if TYPE_CHECKING:
    from guidegraph.intake.cases import Case
    from guidegraph.reasoning.reasoner import Reasoner

#: A recommendation's status in words, as every rendering (text, pages, picture) says it.
STATUS_TEXT = {MET: "applies", UNKNOWN: "undecided", UNMET: "does not apply"}
#: What the criteria listed under a status explain.
WHY = {MET: "why", UNMET: "why not", UNKNOWN: "why not yet"}
#: A criterion's status as a mark in plain text, and as pages and pictures draw it.
STATUS_MARK = {MET: "+", UNMET: "-", UNKNOWN: "?"}
STATUS_SIGN = {**STATUS_MARK, UNMET: "\u2212"}


def scope_notes(reasoner: Reasoner) -> list[str]:
    """Recorded mismatches between a guideline's question and its content."""
    rows = reasoner.knowledge.store.query("""
        PREFIX gg: <https://w3id.org/guidegraph/ontology#>
        PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
        PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
        SELECT ?id ?label ?note WHERE {
          ?g gg:hasScopeDiscrepancy ?d ; skos:notation ?id .
          ?d rdfs:label ?label . OPTIONAL { ?d skos:note ?note } } ORDER BY ?id ?label""")
    return [f"{r['id'].value}: {r['label'].value}. {r['note'].value if r['note'] else ''}".strip()
            for r in rows]


def review_lines(result: Result) -> list[str]:
    """One line per guideline with its own review status, as every text result shows it."""
    return [f"Guideline {gid} review status: {app.review_status or 'not stated'}"
            for gid, app in result.applicability.items()]


def explain_outcome(rec: RecommendationOutcome, facts: dict[str, str],
                    warnings: list[str] | None = None) -> list[str]:
    """Lines explaining one recommendation's status for the case."""
    grade = grade_text(rec)
    status = STATUS_TEXT[rec.status].upper()
    lines = [f"{rec.id} [{rec.action}, {rec.direction}; {grade}] — {status}", f"  {rec.label}"]
    lines.append(f"  {WHY[rec.status]}:")
    for crit in rec.criteria:
        via = " > ".join(crit.via)
        via = f"{via} > " if via else ""
        if crit.fact_keys:
            evidence = ", ".join(crit.facts_text(facts))
        else:
            evidence = ", ".join(f"{k} missing" for k in crit.missing) or "no fact needed"
        section = f"  [source: {crit.section}]" if crit.section else ""
        lines.append(f"    {STATUS_MARK[crit.status]} {via}{crit.label}: {crit.status} ({evidence})"
                     f"{section}")
    if rec.status == "unknown":
        lines.append(f"  would be decided by: {', '.join(rec.missing)}")
    if rec.status == "met":
        lines.append(f"  sources: {', '.join(rec.sources) or 'none'}"
                     + (f"; source section: {rec.section}" if rec.section else ""))
        for warning in rec.warnings if warnings is None else warnings:
            lines.append(f"  ! {warning}")
    return lines


def render_explanation(result: Result, reasoner: Reasoner, rec_id: str | None = None) -> str:
    """Explain every recommendation (or one) for the case, derived first."""
    outcomes = result.all_outcomes()
    if rec_id is not None:
        outcomes = [r for r in outcomes if r.id == rec_id]
    lines = [f"Why and why not for case {printable(result.case_id)} <{printable(result.case)}>",
             f"Run: {result.provenance}"]
    for note in scope_notes(reasoner):
        lines.append(f"Scope note: {note}")
    facts = ", ".join(f"{k}={v}" + (" (default)" if k in result.defaulted else "")
                      for k, v in result.facts.items())
    lines.append(f"Facts: {facts or 'none'}")
    lines.extend(review_lines(result))
    for gid, app in result.applicability.items():
        if app.applies == "no":
            lines.append(f"Guideline {gid}: not applicable to this case: "
                         f"{app.reason_text(result.facts)}; none of its recommendations is "
                         "evaluated")
        elif app.applies == "undecided":
            lines.append(f"Guideline {gid}: population undecided: "
                         f"{app.reason_text(result.facts)}; its recommendations are evaluated "
                         "once that is known")
    order = {"met": 0, "unknown": 1, "unmet": 2}
    for rec in sorted(outcomes, key=lambda r: (order[r.status], r.action, r.id)):
        lines.append("")
        lines.extend(explain_outcome(rec, result.facts, result.warnings_of(rec)))
    evaluated = {s.guideline for s in reasoner.recommendations if s.id == rec_id} & {
        g for g, app in result.applicability.items() if app.applies == "yes"}
    if evaluated and not outcomes and (result.rejected or result.undecided_unlisted):
        lines += ["", f"{rec_id}: not listed by this run, which counted what it did not "
                  "list (reason --why-not undecided or none): it did not apply (unmet, or "
                  "undecided with no verdict waiting on it); `guidegraph explain CASE --rec "
                  f"{rec_id}` reasons the case again and says why not"]
    return "\n".join(lines) + "\n"


def render_action(result: Result, reasoner: Reasoner, action: str, case: Case) -> str:
    """Why the verdict on one action holds, what was set aside by which rule, and what would
    change it (single-fact changes, each checked by re-running the case)."""
    from guidegraph.reasoning import counterfactual

    lines = [f"Verdict on {action} for case {printable(result.case_id)} "
             f"<{printable(result.case)}>",
             f"Run: {result.provenance}", *review_lines(result)]
    outcomes = {(r.guideline, r.id): r for r in result.all_outcomes()}
    groups = [g for g in reasoner.decisions.groups if g.action == action]
    rules = reasoner.decisions.rule_definition
    for group in groups:
        conclusion = next((c for c in result.conclusions if c.guideline == group.guideline
                           and c.action == action), None)
        lines.append("")
        app = result.applicability.get(group.guideline)
        if app is not None and app.applies == "no":
            lines.append(f"[{group.guideline}] NOT APPLICABLE to this case: "
                         f"{app.reason_text(result.facts)}")
        elif conclusion is None:
            lines.append(f"[{group.guideline}] NO VERDICT: none of its "
                         f"{len(group.specs)} statements on {action} can apply")
        else:
            lines.append(f"[{group.guideline}] {conclusion.direction.upper()}"
                         + (f" — {conclusion.strength}" if conclusion.strength else ""))
            if conclusion.decided_by:
                lines.append("decided by:")
                for rec_id in conclusion.decided_by:
                    lines.extend("  " + x for x in explain_outcome(
                        outcomes[(group.guideline, rec_id)], result.facts))
            for o in conclusion.overridden:
                lines.append(f"set aside: {o.id} ({o.direction}) by {', '.join(o.by)} — rule "
                             f"{o.rule}: {rules.get(o.rule_iri, '')}".rstrip(": "))
            for pend in conclusion.pending:
                lines.append(f"pending: {pend.id} needs {', '.join(pend.missing_facts)}")
            if conclusion.missing_facts:
                lines.append(f"would be settled by: {', '.join(conclusion.missing_facts)}")
            for warning in conclusion.warnings:
                lines.append(f"! {warning}")
        found = counterfactual.changes(reasoner, case, group)
        lines.append("what would change it:" if found else
                     "what would change it: no change of a single fact")
        lines.extend(f"  {c.text()}" for c in found)
    return "\n".join(lines) + "\n"
