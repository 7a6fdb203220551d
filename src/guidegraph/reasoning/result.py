"""The result of reasoning over one case, and its JSON and text renderings (BRIEF §4).

The RDF provenance (:mod:`guidegraph.provenance.record`) is the source of truth; this object is
what both the reasoner and the RDF reader produce, so JSON and text rendered from a stored
run equal those of the live run (tested by a round trip on every golden case).
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass, field
from json.encoder import encode_basestring  # json.dumps's own escaping of a str
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from guidegraph.reasoning.plan import RecommendationSpec

#: How much of what does not apply a result lists (Reasoner's ``why_not``, reason --why-not).
WHY_NOT = ("all", "undecided", "none")
_MARK = "\ue000"  # private-use character marking where a fact value goes in cached JSON


def printable(text: str) -> str:
    """``text`` with control and format characters escaped (``\\n``, ``\\u202e``), so
    that a value from a case (an id) cannot start a line of its own or reorder what follows
    in a text report: every free text a report prints from a case goes through here."""
    return "".join(ch if ch.isprintable() and unicodedata.category(ch) != "Cf"
                   else ch.encode("unicode_escape").decode("ascii") for ch in text)


def _keys(rec: RecommendationOutcome) -> set[str]:
    return {k for c in rec.criteria for k in c.fact_keys}


@dataclass
class CriterionOutcome:
    """One criterion as evaluated for a case, with the facts it looked at."""

    criterion: str
    label: str
    status: str
    iri: str = ""
    fact_keys: list[str] = field(default_factory=list)  # present facts it read
    missing: list[str] = field(default_factory=list)  # absent facts it needed
    via: list[str] = field(default_factory=list)
    section: str = ""

    def facts_text(self, facts: dict[str, str]) -> list[str]:
        """The facts it read as ``key=value``, values taken from the case."""
        return [f"{k}={facts[k]}" for k in self.fact_keys]

    def to_json(self, facts: dict[str, str]) -> dict[str, Any]:
        out: dict[str, Any] = {"criterion": self.criterion, "label": self.label,
                               "status": self.status, "facts": self.facts_text(facts)}
        if self.missing:
            out["missing"] = self.missing
        if self.via:
            out["via"] = self.via
        return out


@dataclass
class RecommendationOutcome:
    """One recommendation's result for a case: met (derived), unmet or unknown."""

    id: str
    iri: str
    status: str
    action: str
    direction: str
    strength: str
    evidence: str | None
    grading: str
    text: str
    label: str
    guideline: str
    origin: str | None = None
    votes: str | None = None
    section: str = ""
    sources: list[str] = field(default_factory=list)
    criteria: list[CriterionOutcome] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    cautions: list[str] = field(default_factory=list)  # short form of citation warnings
    #: Cached PROV-O lines of this outcome, split where the run IRI goes (see provenance),
    #: by form (True: the full record, False: the stored form).
    prov_parts: dict[bool, list[str]] = field(default_factory=dict, repr=False, compare=False)
    #: Cached compact JSON of this outcome, split where fact values go (see to_json_text).
    json_parts: list[str] | None = field(default=None, repr=False, compare=False)
    #: What a verdict reads of this outcome (status and missing facts), for its cache key.
    signature: tuple[str, ...] = field(default=(), init=False, repr=False, compare=False)
    #: The missing facts as a set, for the union a result takes over its outcomes.
    missing_set: frozenset[str] = field(default=frozenset(), init=False, repr=False,
                                        compare=False)

    def __post_init__(self) -> None:
        self.signature = (self.status, *self.missing)
        self.missing_set = frozenset(self.missing)

    def json_text(self, escaped: dict[str, str]) -> str:
        """Compact JSON of :meth:`to_json`, from a cached template with fact values filled in.

        Outcomes are shared by every case with the same criterion statuses (see
        Reasoner.reason), so the encoding is done once per outcome, not once per case.
        ``escaped`` holds the case's fact values already escaped for a JSON string.
        """
        parts = self.json_parts
        if parts is None:
            marked = {k: f"{_MARK}{k}{_MARK}" for k in _keys(self)}
            text = json.dumps(self.to_json(marked), ensure_ascii=False, separators=(",", ":"))
            parts = self.json_parts = text.split(_MARK)
        if len(parts) == 1:
            return parts[0]
        out = parts[:]
        for i in range(1, len(out), 2):
            out[i] = escaped[out[i]]
        return "".join(out)

    def to_json(self, facts: dict[str, str], extra_warnings: list[str] = ()) -> dict[str, Any]:
        """JSON of BRIEF §4; ``facts`` are the case's fact values by key, for display;
        ``extra_warnings`` are the run's own (conflicts), added after the outcome's."""
        if self.status == "met":
            out: dict[str, Any] = {
                "id": self.id, "action": self.action, "direction": self.direction,
                "strength": self.strength, "evidence": self.evidence, "grading": self.grading,
                "text": self.text, "guideline": self.guideline, "sources": self.sources,
                "criteria": [c.to_json(facts) for c in self.criteria],
                "warnings": [*self.warnings, *extra_warnings],
                "label": self.label, "section": self.section,
            }
            if self.origin:
                out["origin"] = self.origin
            if self.votes:
                out["votes"] = self.votes
            return out
        return {
            "id": self.id, "action": self.action, "direction": self.direction,
            "status": self.status, "label": self.label, "guideline": self.guideline,
            "criteria": [c.to_json(facts) for c in self.criteria], "missing": self.missing,
        }


def outcome_of(spec: RecommendationSpec, status: str, criteria: list[CriterionOutcome],
               missing: list[str], warnings: list[str] | None = None) -> RecommendationOutcome:
    """A recommendation's outcome from its compiled form: built here alike by the reasoner
    and by the reader of a stored run. ``warnings``: as a run recorded them (default: the
    recommendation's citation warnings, when it applies)."""
    met = status == "met"
    return RecommendationOutcome(
        id=spec.id, iri=spec.iri, status=status, action=spec.action,
        direction=spec.direction, strength=spec.strength, evidence=spec.evidence,
        grading=spec.grading, text=spec.text, label=spec.label, guideline=spec.guideline,
        origin=spec.origin, votes=spec.votes, section=spec.section,
        sources=list(spec.sources), criteria=criteria,
        cautions=list(spec.cautions) if met else [],
        warnings=(sorted(spec.warnings) if met else []) if warnings is None else warnings,
        missing=missing)


@dataclass
class Applicability:
    """Whether a guideline's population (its gg:population conditions) includes the case.

    ``criteria`` are the criteria that decided it (the unmet ones for "no", the unknown ones
    for "undecided", every criterion read for "yes"); ``missing`` the facts an undecided
    population waits for. A guideline that declares no population applies to every case.
    """

    guideline: str
    applies: str  # yes | no | undecided
    declared: bool = False
    criteria: list[CriterionOutcome] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    review_status: str = ""
    #: Cached PROV-O lines, split where the run IRI goes (see provenance), by form.
    prov_parts: dict[bool, list[str]] = field(default_factory=dict, repr=False, compare=False)

    def to_json(self, facts: dict[str, str]) -> dict[str, Any]:
        out: dict[str, Any] = {"review_status": self.review_status or "not stated",
                               "applies": self.applies}
        if self.declared:
            out["population"] = [c.to_json(facts) for c in self.criteria]
            out["missing_facts"] = self.missing
        return out

    def reason_text(self, facts: dict[str, str]) -> str:
        """The deciding criteria in words, e.g. 'unmet: at least one pass (evt_passes=0)'."""
        return "; ".join(
            f"{c.status}: {c.label} ({', '.join(c.facts_text(facts)) or ', '.join(c.missing)})"
            for c in self.criteria)


@dataclass
class Overridden:
    """An applicable recommendation a precedence rule set aside, and what prevailed over it."""

    id: str
    direction: str
    by: list[str]
    rule: str  # rule notation
    rule_iri: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "direction": self.direction, "by": self.by, "rule": self.rule}


@dataclass
class Pending:
    """An undecided recommendation that could change an undecided verdict."""

    id: str
    missing_facts: list[str]

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "missing_facts": self.missing_facts}


@dataclass
class Conclusion:
    """One verdict on one action of one guideline (BRIEF §4 ``conclusions``)."""

    action: str
    action_iri: str
    guideline: str
    guideline_iri: str
    direction: str  # for | against | uncertain | undecided | conflict
    decided_by: list[str]
    strength: str | None
    overridden: list[Overridden] = field(default_factory=list)
    pending: list[Pending] = field(default_factory=list)
    missing_facts: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: Every (set-aside id, prevailing id, rule IRI), for the provenance record.
    set_aside: list[tuple[str, str, str]] = field(default_factory=list)
    #: Cached PROV-O lines, split where the run IRI goes (see provenance), by form.
    prov_parts: dict[bool, list[str]] = field(default_factory=dict, repr=False, compare=False)
    json_cache: str | None = field(default=None, repr=False, compare=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "action": self.action, "direction": self.direction,
            "decided_by": self.decided_by, "strength": self.strength,
            "guideline": self.guideline,
            "overridden": [o.to_json() for o in self.overridden],
            "pending": [p.to_json() for p in self.pending],
            "missing_facts": self.missing_facts, "warnings": self.warnings,
        }

    def json_text(self) -> str:
        """Compact JSON, encoded once: conclusions are shared by cases with equal outcomes."""
        if self.json_cache is None:
            self.json_cache = json.dumps(self.to_json(), ensure_ascii=False,
                                         separators=(",", ":"))
        return self.json_cache

    def overrides_count(self) -> dict[str, int]:
        """How many distinct statements were set aside, by their direction."""
        seen: dict[str, set[str]] = {}
        for o in self.overridden:
            seen.setdefault(o.direction, set()).add(o.id)
        return {d: len(ids) for d, ids in sorted(seen.items())}


@dataclass
class Result:
    """Everything one reasoning run found for one case."""

    case: str
    case_id: str
    guidelines: list[dict[str, str]]
    recommendations: list[RecommendationOutcome]
    not_applicable: list[RecommendationOutcome]
    missing_facts: list[str]
    conflicts: list[dict[str, Any]]
    provenance: str
    facts: dict[str, str] = field(default_factory=dict)  # key -> display value
    defaulted: list[str] = field(default_factory=list)
    started: str = ""
    ended: str = ""
    rejected: int | None = None  # rejected recommendations not listed (why_not), counted
    #: undecided recommendations no verdict waits on, not listed (why_not="none"), counted
    undecided_unlisted: int | None = None
    conclusions: list[Conclusion] = field(default_factory=list)
    #: guideline id -> whether its population includes the case (every loaded guideline)
    applicability: dict[str, Applicability] = field(default_factory=dict)
    #: guideline id -> the guideline's disclaimer, printed once in text output
    disclaimers: dict[str, str] = field(default_factory=dict)
    #: guideline id -> how many of its statements the run derived, left undecided and
    #: rejected, listed or not (zeros for a guideline outside its population)
    tallies: dict[str, tuple[int, int, int]] = field(default_factory=dict)
    _conflict_map: dict[tuple[str, str], str] | None = field(default=None, repr=False,
                                                              compare=False)

    def _unlisted(self) -> dict[str, int]:
        """The counts of what --why-not left out (no key when nothing was)."""
        out = {} if self.rejected is None else {"rejected_not_listed": self.rejected}
        if self.undecided_unlisted is not None:
            out["undecided_not_listed"] = self.undecided_unlisted
        return out

    def guidelines_json(self) -> list[dict[str, Any]]:
        """``guidelines[]``: each loaded guideline version, its review status and whether it
        applies to the case (with the population criteria that decided it)."""
        out = []
        for g in self.guidelines:
            app = self.applicability.get(g["id"])
            out.append({**g, **app.to_json(self.facts)} if app is not None else dict(g))
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "case": self.case,
            "guidelines": self.guidelines_json(),
            "recommendations": [r.to_json(self.facts, self.conflict_warnings(r))
                                for r in self.recommendations],
            "not_applicable": [r.to_json(self.facts) for r in self.not_applicable],
            "missing_facts": self.missing_facts,
            "conclusions": [c.to_json() for c in self.conclusions],
            "conflicts": self.conflicts,
            "provenance": self.provenance,
            **self._unlisted(),
        }

    def to_json_text(self) -> str:
        """Compact JSON text equal, as data, to ``json.dumps(self.to_json())`` but faster."""
        head = json.dumps({"case": self.case, "guidelines": self.guidelines_json()},
                          ensure_ascii=False, separators=(",", ":"))[:-1]
        missing = json.dumps(self.missing_facts, ensure_ascii=False, separators=(",", ":"))
        tail = json.dumps({"conflicts": self.conflicts,
                           "provenance": self.provenance, **self._unlisted()},
                          ensure_ascii=False, separators=(",", ":"))[1:]
        conclusions = ",".join(c.json_text() for c in self.conclusions)
        escaped = {k: encode_basestring(v)[1:-1] for k, v in self.facts.items()}
        recs = ",".join(
            json.dumps(r.to_json(self.facts, extra), ensure_ascii=False, separators=(",", ":"))
            if (extra := self.conflict_warnings(r)) else r.json_text(escaped)
            for r in self.recommendations)
        others = ",".join(r.json_text(escaped) for r in self.not_applicable)
        return (f'{head},"recommendations":[{recs}],"not_applicable":[{others}],'
                f'"missing_facts":{missing},"conclusions":[{conclusions}],{tail}')

    def conflict_warnings(self, rec: RecommendationOutcome) -> list[str]:
        """Warnings a conflict in this run adds to a derived recommendation."""
        if not self.conflicts:
            return []
        if self._conflict_map is None:
            table: dict[tuple[str, str], str] = {}
            for conflict in self.conflicts:
                for side, other in (("for", "against"), ("against", "for")):
                    ids = conflict[other]
                    shown = ", ".join(ids[:5]) + (
                        f" and {len(ids) - 5} more" if len(ids) > 5 else "")
                    text = f"conflict: also derived {other} {conflict['action']} by {shown}"
                    for rec_id in conflict[side]:
                        table[(conflict["action"], rec_id)] = text
            self._conflict_map = table
        text = self._conflict_map.get((rec.action, rec.id))
        return [text] if text is not None and rec.status == "met" else []

    def warnings_of(self, rec: RecommendationOutcome) -> list[str]:
        return [*rec.warnings, *self.conflict_warnings(rec)]

    def all_outcomes(self) -> list[RecommendationOutcome]:
        return [*self.recommendations, *self.not_applicable]


_GROUPS = (("for", "STATEMENTS FOR"), ("against", "STATEMENTS AGAINST"),
           ("uncertain", "STATEMENTS UNCERTAIN"))


def grade_text(rec: RecommendationOutcome) -> str:
    """Grade as a clinician reads it, e.g. 'ACC/AHA Class IIb, LOE B-R' or 'consensus 10/10'."""
    if rec.grading == "ACC/AHA":
        text = f"ACC/AHA Class {rec.strength}"
        return text + (f", LOE {rec.evidence}" if rec.evidence else "")
    if rec.votes:
        return f"{rec.strength} ({rec.votes})"
    text = rec.strength if rec.grading in (rec.strength, "not graded") else (
        f"{rec.grading} {rec.strength}")
    return text + (f", {rec.evidence}" if rec.evidence else "")


def decision_line(c: Conclusion) -> str:
    """One verdict as a clinician reads it: verdict, deciding statement, what it set aside."""
    head = f"  {c.action} [{c.guideline}]: {c.direction.upper()}"
    if c.direction == "undecided":
        keys = c.missing_facts
        needs = ", ".join(keys[:4]) + (f" and {len(keys) - 4} more" if len(keys) > 4 else "")
        ids = [p.id for p in c.pending]
        pending = ", ".join(ids[:2]) + (f" and {len(ids) - 2} more" if len(ids) > 2 else "")
        return (f"{head} — needs {needs or 'nothing listed'}"
                + (f" (pending: {pending})" if ids else ""))
    if c.direction == "conflict":
        note = next((w for w in c.warnings if w.startswith("conflict:")), "")
        return f"{head} — {note.removeprefix('conflict: ') or ', '.join(c.decided_by)}"
    if not c.decided_by:
        return f"{head} — no supported statement applies (see warnings)"
    more = f" +{len(c.decided_by) - 1} more" if len(c.decided_by) > 1 else ""
    counts = c.overrides_count()
    sets = "; overrides " + ", ".join(f"{n} statement{'s' if n > 1 else ''} {d}"
                                       for d, n in counts.items()) if counts else ""
    return f"{head} — {c.decided_by[0]} ({c.strength}){more}{sets}"


def render_text(result: Result) -> str:
    """Plain-text report for a clinician: the verdicts first, then the statements behind them."""
    lines = [f"Case {printable(result.case_id)}  <{printable(result.case)}>"]
    none_apply = bool(result.applicability) and all(
        a.applies == "no" for a in result.applicability.values())
    lines.append(f"DECISIONS ({len(result.conclusions)}): one verdict per action"
                 + ("" if result.conclusions else "; no loaded guideline applies to this case"
                    if none_apply else "; no recommendation could apply"))
    lines.extend(decision_line(c) for c in result.conclusions)
    lines.append("")
    lines += _guideline_lines(result)
    lines.append("")
    lines += _statement_lines(result)
    undecided = [r for r in result.not_applicable if r.status == "unknown"]
    undecided_lines, shown_missing, summarised = _undecided_lines(result, undecided)
    lines += undecided_lines
    lines += _closing_lines(result, undecided, shown_missing, summarised)
    return "\n".join(lines) + "\n"


def _guideline_lines(result: Result) -> list[str]:
    """Each guideline's version and whether it applies; disclaimers; the facts."""
    lines = []
    for g in result.guidelines:
        app = result.applicability.get(g["id"])
        review = f"; review status: {app.review_status or 'not stated'}" if app else ""
        lines.append(f"Guideline {g['id']} version {g['version']} ({g['content_hash'][:19]}..."
                     f"{review})")
        if app is not None and app.applies == "no":
            lines.append(f"  not applicable to this case: {app.reason_text(result.facts)}")
        elif app is not None and app.applies == "undecided":
            lines.append(f"  population undecided: {app.reason_text(result.facts)}; every action"
                         " of this guideline waits for " + ", ".join(app.missing))
    for gid, text in sorted(result.disclaimers.items()):
        app = result.applicability.get(gid)
        if app is None or app.applies != "no":
            lines.append(f"Disclaimer ({gid}): {text}")
    if result.facts:
        shown = ", ".join(
            f"{k}={v}" + (" (default)" if k in result.defaulted else "")
            for k, v in result.facts.items())
        lines.append(f"Facts: {shown}")
    return lines


def _statement_lines(result: Result) -> list[str]:
    """The statements that apply, by direction and action, and the conflicts among them."""
    lines = []
    for direction, title in _GROUPS:
        recs = [r for r in result.recommendations if r.direction == direction]
        lines.append(f"{title} ({len(recs)})")
        for action in sorted({r.action for r in recs}):
            lines.append(f"  {action}")
            for rec in (r for r in recs if r.action == action):
                origin = f"; {rec.origin}" if rec.origin else ""
                lines.append(f"    {rec.id} — {grade_text(rec)}{origin}")
                lines.append(f"        {rec.text}")
                caution = f"; caution: {', '.join(rec.cautions)}" if rec.cautions else ""
                lines.append(f"        sources: {', '.join(rec.sources) or 'none'}{caution}")
        lines.append("")
    if result.conflicts:
        lines.append(f"CONFLICTS ({len(result.conflicts)})")
        for conflict in result.conflicts:
            lines.append(f"  {conflict['action']}: for {', '.join(conflict['for'])}; "
                         f"against {', '.join(conflict['against'])}")
        lines.append("")
    return lines


def _undecided_lines(result: Result, undecided: list[RecommendationOutcome]
                     ) -> tuple[list[str], list[str], bool]:
    """The undecided statements with the facts each needs; a guideline nothing was derived
    from in one line, since listing all its undecided statements would bury what does apply
    (JSON keeps them all). Also the facts named, and whether a guideline was summarised."""
    active = {r.guideline for r in result.recommendations}
    count = len(undecided) + (result.undecided_unlisted or 0)
    lines = [f"STATEMENTS UNDECIDED ({count}): no criterion unmet, some facts "
             "missing"]
    shown_missing: list[str] = []
    quiet: dict[str, list[RecommendationOutcome]] = {}
    for rec in undecided:
        if rec.guideline in active:
            lines.append(f"  {rec.id} [{rec.action}, {rec.direction}] needs: "
                         f"{', '.join(rec.missing)}")
            shown_missing += [k for k in rec.missing if k not in shown_missing]
        else:
            quiet.setdefault(rec.guideline, []).append(rec)
    listed = "them" if result.undecided_unlisted is None else "those a verdict waits on"
    for guideline, recs in sorted(quiet.items()):
        keys = sorted({k for r in recs for k in r.missing})
        lines.append(f"  {guideline}: {len(recs)} recommendations undecided, none derived; "
                     f"it needs {len(keys)} facts the case does not give "
                     f"({', '.join(keys[:4])}{', ...' if len(keys) > 4 else ''}; "
                     f"--format json lists {listed})")
    if result.undecided_unlisted:
        lines.append(f"  {result.undecided_unlisted} more that no verdict waits for, not "
                     "listed (--why-not none)")
    lines.append("")
    return lines, shown_missing, bool(quiet)


def _closing_lines(result: Result, undecided: list[RecommendationOutcome],
                   shown_missing: list[str], summarised: bool) -> list[str]:
    """Missing facts, citation cautions, the count of what does not apply, the run."""
    lines = []
    if result.missing_facts:
        listed = [k for k in result.missing_facts if k in shown_missing] if summarised else (
            result.missing_facts)
        extra = len(result.missing_facts) - len(listed)
        if listed:
            lines.append("Missing facts: " + ", ".join(listed)
                         + (f" (and {extra} more for guidelines summarised above)"
                            if extra else ""))
        else:
            lines.append(f"Missing facts: none for what applies ({extra} for guidelines "
                         "summarised above)")
    cautions = sorted({c for r in result.recommendations for c in r.cautions})
    if cautions:
        lines.append("Citation cautions: " + ", ".join(cautions)
                     + " (retracted: withdrawn study; unresolved: cited but not in the reference "
                     "list; see --format json warnings)")
    rejected = len(result.not_applicable) - len(undecided) + (result.rejected or 0)
    lines.append(f"Not applicable: {rejected} recommendations with an unmet criterion "
                 "(guidegraph explain shows why not)")
    lines.append(f"Provenance: {result.provenance}")
    return lines
