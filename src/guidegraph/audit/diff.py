"""What changed between two versions of a guideline, and whose results change with it.

Versions are compared as compiled plans (so a change shows up the way the reasoner sees it:
grade, direction, statement, citations, evidence, and every criterion in words), then the
given cases and the store's runs made with the old version are reasoned under both versions
and compared case by case: first the verdicts (one per action, what a clinician acts on),
then the recommendation outcomes behind them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from guidegraph.errors import GuidegraphError
from guidegraph.knowledge.loading import Knowledge, KnowledgePart, read_parts
from guidegraph.reasoning.criteria import leaves
from guidegraph.reasoning.plan import RecommendationSpec
from guidegraph.reasoning.reasoner import Reasoner
from guidegraph.store import versions

if TYPE_CHECKING:
    from guidegraph.intake.cases import Case
    from guidegraph.reasoning.result import Result
    from guidegraph.store.base import Store




class DiffError(GuidegraphError):
    exit_code = 2


@dataclass
class RecommendationChange:
    id: str
    status: str  # added | removed | changed
    fields: dict[str, tuple[Any, Any]] = field(default_factory=dict)


@dataclass
class VerdictChange:
    """One action whose verdict differs between the versions. A verdict of None means no
    verdict: nothing on the action could apply under that version."""

    guideline: str
    action: str
    old: str | None
    new: str | None
    old_decided_by: list[str] = field(default_factory=list)
    new_decided_by: list[str] = field(default_factory=list)
    #: facts an undecided verdict waits for (empty for a decided one)
    old_missing_facts: list[str] = field(default_factory=list)
    new_missing_facts: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"guideline": self.guideline, "action": self.action, "old": self.old,
                "new": self.new, "old_decided_by": self.old_decided_by,
                "new_decided_by": self.new_decided_by,
                "old_missing_facts": self.old_missing_facts,
                "new_missing_facts": self.new_missing_facts}


@dataclass
class OutcomeChange:
    case: str
    source: str  # "case file" | "stored run"
    added: dict[str, str]  # derived under NEW only: id -> direction
    removed: dict[str, str]  # derived under OLD only
    changed: dict[str, tuple[str, str]] = field(default_factory=dict)
    verdicts: list[VerdictChange] = field(default_factory=list)


@dataclass
class GuidelineDiff:
    old: dict[str, str]
    new: dict[str, str]
    changes: list[RecommendationChange]
    outcomes: list[OutcomeChange]
    cases_checked: int
    runs_checked: int

    def to_json(self) -> dict[str, Any]:
        return {
            "old": self.old, "new": self.new,
            "recommendations": [
                {"id": c.id, "status": c.status,
                 "fields": {k: {"old": o, "new": n} for k, (o, n) in c.fields.items()}}
                for c in self.changes],
            "outcomes": [{"case": o.case, "source": o.source,
                          "verdict_changed": [v.to_json() for v in o.verdicts],
                          "now_derived": o.added, "no_longer_derived": o.removed,
                          "direction_changed": {k: {"old": a, "new": b}
                                                for k, (a, b) in o.changed.items()}}
                         for o in self.outcomes],
            "verdicts_changed": self.verdicts_changed(),
            "cases_checked": self.cases_checked, "runs_checked": self.runs_checked,
        }

    def verdicts_changed(self) -> int:
        """Verdict changes over all cases and runs (one per case or run and action)."""
        return sum(len(o.verdicts) for o in self.outcomes)


def _signature(spec: RecommendationSpec) -> dict[str, Any]:
    crits = sorted({f"{c.id}: {c.text}" for cond in spec.conditions for c in leaves(cond)})
    return {
        "statement": spec.text, "action": spec.action, "direction": spec.direction,
        "strength": spec.strength, "evidence level": spec.evidence, "grading": spec.grading,
        "votes": spec.votes, "origin": spec.origin, "citations": sorted(spec.sources),
        "rests on": sorted(spec.cautions), "criteria": crits,
        "section": spec.section,
    }


def version_parts(spec: str, store: Store | None) -> list[KnowledgePart]:
    """A guideline version from a folder or file, or a stored snapshot (hash or IRI)."""
    path = Path(spec)
    if path.exists():
        return read_parts([path])
    if store is None:
        raise DiffError(f"{spec}: no such file or folder (give --store to name a stored "
                        "version by its content hash or snapshot IRI)")
    snaps = [s for s in versions.snapshots(store) if s["kind"] == "guideline"
             and (spec in (s["g"], s["hash"]) or s["hash"].endswith(spec.removeprefix("sha256:")))]
    if len(snaps) != 1:
        raise DiffError(f"{spec}: matches {len(snaps)} stored guideline versions; give a file, "
                        "folder, full content hash or snapshot IRI")
    from guidegraph.knowledge.loading import GuidelineInfo

    snap = snaps[0]
    triples = [t for t in store.graph_triples(snap["g"]) if t.subject.value != snap["g"]]
    info = GuidelineInfo(iri=snap["of"], id=snap["id"], version=snap["version"], title="",
                         content_hash=snap["hash"], files=())
    ontology = [p for p in read_parts([]) if p.kind == "ontology"]
    return [*ontology, KnowledgePart("guideline", triples, snap["hash"], info)]


def reasoner_for(parts: list[KnowledgePart]) -> Reasoner:
    return Reasoner(Knowledge.from_parts(parts))


def runs_made_with(store: Store, parts: list[KnowledgePart], reasoner: Reasoner
                   ) -> list[tuple[str, Case]]:
    """The cases of the store's runs that used this guideline version, rebuilt from the
    facts their provenance recorded (defaults left out, so they apply again)."""
    from guidegraph.audit.findings import stored_runs
    from guidegraph.provenance import record as provenance
    from guidegraph.provenance.runs import run_record

    digest = next(p.content_hash for p in parts if p.kind == "guideline").split(":", 1)[-1]
    out = []
    for row in stored_runs(store):
        if not row["snapshot"].endswith(digest):
            continue
        record = provenance.from_triples(run_record(store, row["run"]), reasoner,
                                         known_only=True)
        contract = reasoner.contract.facts
        facts = {k: contract[k].to_json(contract[k].from_display(v))
                 for k, v in record.facts.items()
                 if k not in record.defaulted and k in contract}
        case = reasoner.intake.from_object({"id": record.case_id, **facts})
        out.append((f"{record.case_id} <{row['run']}>", case))
    return out


def diff(old: list[KnowledgePart], new: list[KnowledgePart], *,
         cases: Iterable[Case] = (), runs: Iterable[tuple[str, Case]] = ()) -> GuidelineDiff:
    """Recommendation changes and the outcome changes they cause."""
    before = Reasoner(Knowledge.from_parts(old))
    after = Reasoner(Knowledge.from_parts(new))
    old_specs = {s.iri: s for s in before.recommendations}
    new_specs = {s.iri: s for s in after.recommendations}
    changes: list[RecommendationChange] = []
    for iri in sorted(old_specs.keys() | new_specs.keys(),
                      key=lambda i: (old_specs.get(i) or new_specs[i]).id):
        if iri not in new_specs:
            changes.append(RecommendationChange(old_specs[iri].id, "removed"))
        elif iri not in old_specs:
            changes.append(RecommendationChange(new_specs[iri].id, "added"))
        else:
            a, b = _signature(old_specs[iri]), _signature(new_specs[iri])
            fields = {k: (a[k], b[k]) for k in a if a[k] != b[k]}
            if fields:
                changes.append(RecommendationChange(new_specs[iri].id, "changed", fields))
    outcomes: list[OutcomeChange] = []
    n_cases = n_runs = 0
    for source, items in (("case file", [(c.id, c) for c in cases]), ("stored run", runs)):
        for label, case in items:
            if source == "case file":
                n_cases += 1
            else:
                n_runs += 1
            change = _outcome(before, after, case, label, source)
            if change is not None:
                outcomes.append(change)
    return GuidelineDiff(_describe(before), _describe(after), changes, outcomes, n_cases,
                         n_runs)


def _describe(reasoner: Reasoner) -> dict[str, str]:
    g = reasoner.guidelines[0] if reasoner.guidelines else {}
    return {k: g.get(k, "") for k in ("id", "version", "content_hash")}


def _outcome(before: Reasoner, after: Reasoner, case: Case, label: str, source: str
             ) -> OutcomeChange | None:
    first, second = before.reason(case), after.reason(case)
    old = {r.id: r.direction for r in first.recommendations}
    new = {r.id: r.direction for r in second.recommendations}
    added = {k: v for k, v in new.items() if k not in old}
    removed = {k: v for k, v in old.items() if k not in new}
    changed = {k: (old[k], new[k]) for k in old.keys() & new.keys() if old[k] != new[k]}
    verdicts = _verdict_changes(first, second)
    if not (added or removed or changed or verdicts):
        return None
    return OutcomeChange(label, source, added, removed, changed, verdicts)


def _verdict_changes(first: Result, second: Result) -> list[VerdictChange]:
    """Actions whose verdict differs, in the order the new version decides them (then the
    actions only the old one decided). A change of only the deciding statements under the
    same verdict shows in the recommendation outcomes, not here."""
    old = {(c.guideline, c.action): c for c in first.conclusions}
    new = {(c.guideline, c.action): c for c in second.conclusions}
    keys = [*new, *(k for k in old if k not in new)]
    out = []
    for key in keys:
        a, b = old.get(key), new.get(key)
        if a is not None and b is not None and a.direction == b.direction:
            continue
        out.append(VerdictChange(
            key[0], key[1], a.direction if a else None, b.direction if b else None,
            list(a.decided_by) if a else [], list(b.decided_by) if b else [],
            list(a.missing_facts) if a else [], list(b.missing_facts) if b else []))
    return out


def _few(items: list[str], n: int = 3) -> str:
    return ", ".join(items[:n]) + (f" +{len(items) - n} more" if len(items) > n else "")


def _verdict_text(direction: str | None, decided_by: list[str], missing: list[str]) -> str:
    """A verdict in a few words. An undecided verdict has no deciding side: its decided_by
    are the statements standing so far, and what it waits for matters more."""
    if direction is None:
        return "no verdict"
    if direction == "undecided":
        parts = [f"needs {_few(missing, 4)}"] if missing else []
        parts += [f"standing: {_few(decided_by)}"] if decided_by else []
        return f"undecided ({'; '.join(parts)})" if parts else "undecided"
    if not decided_by:
        return f"{direction} (no supported statement)"
    return f"{direction} (decided by {_few(decided_by)})"


def render_text(d: GuidelineDiff) -> str:
    lines = [f"guideline {d.old.get('id')}: {d.old.get('version')} "
             f"({d.old.get('content_hash', '')[:19]}...) -> {d.new.get('version')} "
             f"({d.new.get('content_hash', '')[:19]}...)", ""]
    lines.append(f"Recommendations changed: {len(d.changes)}")
    for c in d.changes:
        lines.append(f"  {c.status.upper():8} {c.id}")
        for name, (old, new) in c.fields.items():
            if isinstance(old, list):
                gone = [x for x in old if x not in new]
                came = [x for x in new if x not in old]
                for x in gone:
                    lines.append(f"      {name}: - {x}")
                for x in came:
                    lines.append(f"      {name}: + {x}")
            else:
                lines.append(f"      {name}: {old!r} -> {new!r}")
    lines.append("")
    from guidegraph.audit.findings import count_text

    checked = (f"{count_text(d.cases_checked, 'case')} and "
               f"{count_text(d.runs_checked, 'stored run')}")
    with_verdicts = sum(bool(o.verdicts) for o in d.outcomes)
    lines.append(f"Verdicts changed: {d.verdicts_changed()} in {with_verdicts} of {checked}")
    lines.append(f"Outcomes changed: {len(d.outcomes)} of {checked} (verdicts or "
                 "recommendation outcomes)")
    for o in d.outcomes:
        lines.append(f"  {o.source}: {o.case}")
        for v in o.verdicts:
            lines.append(f"      verdict:           {v.action} [{v.guideline}]: "
                         f"{_verdict_text(v.old, v.old_decided_by, v.old_missing_facts)} -> "
                         f"{_verdict_text(v.new, v.new_decided_by, v.new_missing_facts)}")
        for k, v in sorted(o.added.items()):
            lines.append(f"      now derived:       {k} ({v})")
        for k, v in sorted(o.removed.items()):
            lines.append(f"      no longer derived: {k} ({v})")
        for k, (a, b) in sorted(o.changed.items()):
            lines.append(f"      direction:         {k} {a} -> {b}")
    return "\n".join(lines) + "\n"
