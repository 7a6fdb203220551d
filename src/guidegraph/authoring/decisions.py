"""Witness cases for decision properties: a case that shows a property, or proof there is none.

Why: the decision layer (decide.py) turns a guideline's recommendations into one verdict per
action from precedence rules that are data. An author can leave a gap that no single file
shows — a *for* and an *against* statement that can both stand (verdict ``conflict``), a
statement whose criteria contradict each other (it never applies), or one that is always set
aside (it never prevails). Such gaps are properties over *all* cases, so they are checked by
searching for a case that shows them; a case found is the most useful report an author can
get, because it can be run (``guidegraph reason``) and explained.

How: every property here has the same shape — a set of recommendations that must be *met*
and a set that must be *unmet* (a conflict: both sides met and every supported defeater of
either unmet). The search assigns case facts one at a time, depth first, from the values at
which the criteria's outcome can change (:func:`candidate_values`: each threshold, one step
either side, every allowed concept, both booleans, inside the contract's range). After each
assignment every involved recommendation is evaluated under Kleene logic with the missing
facts unknown — exactly as the reasoner does — which is monotone: a status that is decided
stays decided whatever facts are added. So the branch is cut as soon as a required statement
is unmet or a forbidden one met, and facts that only decided statements read are never
assigned. Because the candidate values cover every region the thresholds cut, an exhausted
search proves that no case has the property.

Work is counted in evaluations with a fixed budget per search, never in seconds, so a report
is the same on every machine; a search that runs out says so (``complete`` is False) instead
of claiming anything. Every witness is re-run through the real :class:`Reasoner` before it is
reported, so a report never rests on this module's model of the semantics alone.

The validation glue at the end (:func:`decision_search_checks`) groups the validated files
into guidelines, builds one reasoner per guideline and turns its findings into report
findings; it sits here, not in the orchestration, because which files form a guideline and
when a refusal to load is worth reporting are questions of this check family alone.

Nothing here is clinical: facts, thresholds and identifiers all come from the loaded data.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import rdflib
from rdflib import RDF, SKOS, URIRef

from guidegraph.authoring.report import GG, GGSH, Finding
from guidegraph.knowledge import files as graphs
from guidegraph.reasoning.counterfactual import regions
from guidegraph.reasoning.criteria import evaluate, leaves
from guidegraph.reasoning.decide import VERDICT_IRI, ActionGroup
from guidegraph.reasoning.plan import MET, UNKNOWN, UNMET, Criterion, Group

if TYPE_CHECKING:
    from guidegraph.intake.contract import FactSpec
    from guidegraph.knowledge.loading import KnowledgePart
    from guidegraph.reasoning.plan import RecommendationSpec
    from guidegraph.reasoning.reasoner import Reasoner
    from guidegraph.reasoning.result import Result

#: Evaluations one search may spend (one evaluation = every involved recommendation evaluated
#: once under a partial case). Large enough to exhaust the shipped guidelines' searches many
#: times over; a search that needs more reports itself incomplete.
DEFAULT_BUDGET = 20_000
#: At most this many precedence cycles are searched per action (a dense defeat graph can have
#: exponentially many simple cycles; the first ones already show the problem).
MAX_CYCLES = 20

CONFLICT = "conflict"
NEVER_APPLIES = "never-applies"
NEVER_PREVAILS = "never-prevails"
INCOMPLETE = "search-incomplete"

_HALF = Decimal("0.5")


@dataclass(frozen=True)
class SearchResult:
    """Outcome of one search: a verified witness, or none (proved when ``complete``)."""

    witness: dict[str, Any] | None  # plain JSON case: "id" and fact keys
    complete: bool  # False: the budget ran out before a witness or the end of the search
    evaluations: int


@dataclass(frozen=True)
class DecisionFinding:
    """One finding of :func:`check_decisions`, ready for a validation report."""

    kind: str  # CONFLICT | NEVER_APPLIES | NEVER_PREVAILS | INCOMPLETE
    severity: str  # "Violation" | "Warning" | "Info"
    focus: str  # IRI of the recommendation, or of the guideline for action-level findings
    message: str
    witness: dict[str, Any] | None = None


class _BudgetSpent(Exception):
    pass


def candidate_values(spec: FactSpec, criteria: Iterable[Criterion]) -> list[Any]:
    """The values of one fact at which the given criteria can change outcome: one value in
    each region their thresholds cut the contract's range into (counterfactual.regions), every
    allowed concept (rank comparisons and ``within`` are then covered too), both booleans."""
    integer = spec.kind == "integer"
    picked = [r.pick(integer, None) for r in regions(spec, criteria)]
    return [v for v in picked if v is not None]


class WitnessSearch:
    """Depth-first search for a case meeting one set of recommendations and failing another.

    Built once per reasoner; :meth:`find` runs one search with its own budget.
    """

    def __init__(self, reasoner: Reasoner, budget: int = DEFAULT_BUDGET) -> None:
        self.reasoner = reasoner
        self.budget = budget
        self.decisions = reasoner.decisions
        self.contract = reasoner.contract
        self.specs = reasoner.spec_by_iri
        self.group_of: dict[str, ActionGroup] = {
            s.iri: g for g in self.decisions.groups for s in g.specs}
        self.group_by_key = {g.key: g for g in self.decisions.groups}
        self.stage_of = {g.key: i for i, stage in enumerate(self.decisions.stages)
                         for g in stage}
        # A statement can only take part in a verdict inside its guideline's population, so
        # the model reads the population conditions as part of every statement's criteria.
        self._conditions = {s.iri: [*s.conditions, *reasoner.populations.get(s.guideline, ())]
                            for s in reasoner.recommendations}
        self._leaves: dict[str, list[Criterion]] = {
            s.iri: list({c.iri: c for cond in self._conditions[s.iri]
                         for c in leaves(cond)}.values())
            for s in reasoner.recommendations}

    # -- the model: Kleene evaluation under a partial case --------------------------------
    def _closure(self, recs: Iterable[str]) -> list[ActionGroup]:
        """Groups to evaluate, parents first: those of ``recs`` and, for every verdict a
        criterion reads, the whole parent group (its verdict needs all its statements)."""
        keys: set[tuple[str, str]] = set()
        todo = [self.group_of[r].key for r in recs]
        while todo:
            key = todo.pop()
            if key in keys:
                continue
            keys.add(key)
            todo.extend(self.group_by_key[key].parents)
        return sorted((self.group_by_key[k] for k in keys),
                      key=lambda g: (self.stage_of[g.key], g.index))

    def _evaluate(self, plan: _Plan, facts: dict[str, Any]
                  ) -> tuple[dict[str, int], dict[str, str]]:
        """Value (2/1/0) of every recommendation in the plan and status of every leaf.

        A verdict that is still ``undecided`` makes the criteria reading it unknown. So does
        "no verdict" while some statement on the action is unknown: it could still apply
        and give a verdict, so that case is left undecided here (sound for pruning); the
        reasoner's final word is checked on every witness anyway.
        """
        leaf: dict[str, str] = {}
        memo: dict[str, str] = {}
        value: dict[str, int] = {}
        for group, specs, is_parent in plan.groups:
            for spec in specs:
                for crit in plan.fact_leaves[spec.iri]:
                    if crit.iri not in leaf:
                        leaf[crit.iri] = crit.evaluate(facts)
                statuses = [evaluate(c, leaf, memo) for c in self._conditions[spec.iri]]
                value[spec.iri] = (0 if UNMET in statuses else 1 if UNKNOWN in statuses
                                   else 2)
            if is_parent:
                waived = self.decisions.not_awaited
                group_value = {s.iri: 0 if value[s.iri] == 1 and s.iri in waived
                               else value[s.iri] for s in group.specs}
                _standing, verdict = self.decisions.evaluate(group, group_value)
                open_ = verdict == "undecided" or (
                    verdict is None and max(group_value.values(), default=0) == 1)
                for crit in self.decisions.by_action.get(group.key, ()):
                    if open_:
                        leaf[crit.iri] = UNKNOWN
                        continue
                    inside = verdict is not None and VERDICT_IRI[verdict] in crit.allowed
                    met = inside if crit.comparator == "oneOf" else not inside
                    leaf[crit.iri] = MET if met else UNMET
        return value, leaf

    def values(self, recs: Sequence[str], facts: dict[str, Any]) -> dict[str, int]:
        """The model's value (2 met, 1 unknown, 0 unmet) of each recommendation under a
        possibly partial case: what the search prunes on, so tests hold it to the reasoner."""
        value, _leaf = self._evaluate(self._plan(recs, []), dict(facts))
        return {r: value[r] for r in recs}

    # -- one search -----------------------------------------------------------------------
    def find(self, met: Sequence[str], unmet: Sequence[str],
             accept: Callable[[Result], bool], case_id: str) -> SearchResult:
        """A case on which every recommendation in ``met`` is met and every one in ``unmet``
        is unmet, accepted by ``accept`` on the reasoner's own result for it.

        ``met`` and ``unmet`` are recommendation IRIs. Returns the first witness found in a
        fixed order (the same on every run), or None with ``complete`` telling whether the
        whole space was searched.
        """
        plan = self._plan(met, unmet)
        spent = 0
        facts: dict[str, Any] = {}

        def visit() -> dict[str, Any] | None:
            nonlocal spent
            if spent >= self.budget:
                raise _BudgetSpent
            spent += 1
            value, leaf = self._evaluate(plan, facts)
            if any(value[r] == 0 for r in plan.met) or any(value[r] == 2 for r in plan.unmet):
                return None
            if all(value[r] == 2 for r in plan.met) and all(value[r] == 0 for r in plan.unmet):
                return self._verified(facts, accept, case_id)
            key = self._next_key(plan, facts, value, leaf)
            if key is None:
                return None
            for candidate in plan.domains[key]:
                facts[key] = candidate
                found = visit()
                if found is not None:
                    return found
            del facts[key]
            return None

        try:
            witness = visit()
        except _BudgetSpent:
            return SearchResult(None, False, spent)
        return SearchResult(witness, True, spent)

    def _verified(self, facts: dict[str, Any], accept: Callable[[Result], bool],
                  case_id: str) -> dict[str, Any] | None:
        """The plain JSON case for ``facts`` if the reasoner, run on it, accepts it."""
        facts_spec = self.contract.facts
        case = {"id": case_id}
        for key in facts_spec:  # contract order
            if key in facts:
                case[key] = facts_spec[key].to_json(facts[key])
        result = self.reasoner.reason(self.reasoner.intake.from_object(case))
        return case if accept(result) else None

    def _next_key(self, plan: _Plan, facts: dict[str, Any], value: dict[str, int],
                  leaf: dict[str, str]) -> str | None:
        """The first unassigned fact read by a statement whose value could still change the
        answer: an undecided required or forbidden statement, or, when a verdict it reads is
        still open, an undecided statement on that parent action."""
        todo = [r for r in (*plan.met, *plan.unmet) if value[r] == 1]
        seen: set[str] = set()
        while todo:
            rec = todo.pop(0)
            if rec in seen:
                continue
            seen.add(rec)
            for key in plan.keys[rec]:
                if key not in facts:
                    return key
            for crit in plan.verdict_leaves[rec]:
                if leaf.get(crit.iri) == UNKNOWN:
                    parent = self.group_by_key[(crit.verdict_guideline or "",
                                                crit.verdict_of or "")]
                    todo.extend(s.iri for s in parent.specs if value[s.iri] == 1)
        return None

    def _plan(self, met: Sequence[str], unmet: Sequence[str]) -> _Plan:
        groups = self._closure([*met, *unmet])
        wanted = set(met) | set(unmet)
        parents = {p for g in groups for p in g.parents}
        rows = []
        involved: list[RecommendationSpec] = []
        for group in groups:
            is_parent = group.key in parents
            specs = [s for s in group.specs if is_parent or s.iri in wanted]
            rows.append((group, specs, is_parent))
            involved.extend(specs)
        fact_leaves = {s.iri: [c for c in self._leaves[s.iri] if c.kind != "verdict"]
                       for s in involved}
        verdict_leaves = {s.iri: [c for c in self._leaves[s.iri] if c.kind == "verdict"]
                          for s in involved}
        by_key: dict[str, list[Criterion]] = {}
        for s in involved:
            for crit in fact_leaves[s.iri]:
                by_key.setdefault(crit.key, []).append(crit)
        # How often each key is read: keys many statements read are assigned first.
        weight = {k: len(v) for k, v in by_key.items()}
        keys = {s.iri: sorted({c.key for c in fact_leaves[s.iri]},
                              key=lambda k: (-weight[k], k)) for s in involved}
        want = _polarity(self.specs, met, unmet)
        domains = {}
        for key, crits in by_key.items():
            unique = list({c.iri: c for c in crits}.values())
            values = candidate_values(self.contract.facts[key], unique)
            # Values that move required statements towards met and forbidden ones towards
            # unmet first: a witness, when there is one, is usually found at once.
            domains[key] = sorted(values, key=lambda v: -sum(
                1 for c in unique if c.iri in want and c.test(v) == want[c.iri]))
        return _Plan(rows, fact_leaves, verdict_leaves, keys, domains, tuple(met),
                     tuple(unmet))


@dataclass
class _Plan:
    """One search, compiled: groups in evaluation order and each fact's candidate values."""

    groups: list[tuple[ActionGroup, list[RecommendationSpec], bool]]
    fact_leaves: dict[str, list[Criterion]]
    verdict_leaves: dict[str, list[Criterion]]
    keys: dict[str, list[str]]
    domains: dict[str, list[Any]]
    met: tuple[str, ...]
    unmet: tuple[str, ...]


def _polarity(specs: dict[str, RecommendationSpec], met: Sequence[str],
              unmet: Sequence[str]) -> dict[str, bool]:
    """For each leaf criterion of the required (forbidden) statements, whether meeting it
    helps: True under all-of/any-of of a required statement, flipped under none-of and for
    a forbidden one. Only orders the candidate values; correctness never depends on it."""
    out: dict[str, bool] = {}

    def walk(cond: Criterion | Group, want: bool) -> None:
        if isinstance(cond, Group):
            for member in cond.members:
                walk(member, not want if cond.kind == "none" else want)
        elif cond.kind != "verdict":
            out.setdefault(cond.iri, want)

    for rec, want in [*((r, True) for r in met), *((r, False) for r in unmet)]:
        for cond in specs[rec].conditions:
            walk(cond, want)
    return out


# ----------------------------------------------------------------------------------------
# The checks
# ----------------------------------------------------------------------------------------
def check_decisions(reasoner: Reasoner, budget: int = DEFAULT_BUDGET) -> list[DecisionFinding]:
    """Conflicts per action, then recommendations that never apply or never prevail.

    Every finding with a case carries it as ``witness``, already re-run through the
    reasoner. A search that runs out of budget is reported as Info, never as a finding.
    """
    search = WitnessSearch(reasoner, budget)
    out: list[DecisionFinding] = []
    for group in reasoner.decisions.groups:
        out.extend(_conflicts(search, group))
    for group in reasoner.decisions.groups:
        for spec in group.specs:
            out.extend(_reachability(search, group, spec))
    return out


def _supported_defeaters(search: WitnessSearch, rec: str) -> list[str]:
    unsupported = search.decisions.unsupported
    return sorted({d.winner for d in search.decisions.defeaters.get(rec, ())
                   if d.winner not in unsupported})


def _verdict_is(group: ActionGroup, verdict: str) -> Callable[[Result], bool]:
    def accept(result: Result) -> bool:
        return any(c.direction == verdict for c in result.conclusions
                   if c.action_iri == group.action_iri and c.guideline_iri == group.guideline_iri)
    return accept


def _conflicts(search: WitnessSearch, group: ActionGroup) -> list[DecisionFinding]:
    """A conflict verdict: a supported for and a supported against statement both stand
    (both met, every supported defeater of either unmet) — searched for every pair that no
    rule orders — or every applicable statement is set aside by another, which needs a
    cycle of precedence among the action's statements."""
    decisions = search.decisions
    supported = [s for s in group.specs if s.iri not in decisions.unsupported]
    beaten = {(s.iri, d) for s in supported for d in _supported_defeaters(search, s.iri)}
    out: list[DecisionFinding] = []
    accept = _verdict_is(group, "conflict")
    for pro in (s for s in supported if s.direction == "for"):
        for con in (s for s in supported if s.direction == "against"):
            if (pro.iri, con.iri) in beaten or (con.iri, pro.iri) in beaten:
                continue  # one prevails over the other: they never both stand
            unmet = sorted(set(_supported_defeaters(search, pro.iri))
                           | set(_supported_defeaters(search, con.iri)))
            what = f"a conflict between {pro.id} and {con.id} on {group.action}"
            result = search.find([pro.iri, con.iri], unmet, accept,
                                 f"conflict-{group.action}-{pro.id}-{con.id}")
            if result.witness is not None:
                out.append(DecisionFinding(
                    CONFLICT, "Violation", group.guideline_iri,
                    f"Action {group.action}: {pro.id} (for) and {con.id} (against) can both "
                    "apply and stand, and no declared rule orders them, so the verdict is "
                    "conflict on a case such as the witness case shown. Declare a precedence rule "
                    "that orders them (gg:precedence on the guideline) or gg:overrides between "
                    f"the two (for example {con.id} gg:overrides {pro.id}).",
                    result.witness))
            elif not result.complete:
                out.append(_incomplete(group.guideline_iri, what, result))
    out.extend(_cycle_conflicts(search, group, supported, accept))
    return out


def _cycle_conflicts(search: WitnessSearch, group: ActionGroup,
                     supported: list[RecommendationSpec],
                     accept: Callable[[Result], bool]) -> list[DecisionFinding]:
    """Nothing stands though something applies: every statement of a precedence cycle is
    met (each sets the next aside) and every other statement is unmet or set aside by one
    of them. Without a cycle among the action's statements this cannot happen."""
    import networkx as nx

    graph = nx.DiGraph()
    ids = {s.iri: s.id for s in group.specs}
    for spec in supported:
        for winner in _supported_defeaters(search, spec.iri):
            graph.add_edge(winner, spec.iri)
    out: list[DecisionFinding] = []
    for n, cycle in enumerate(nx.simple_cycles(graph)):
        if n >= MAX_CYCLES:
            break
        start = cycle.index(min(cycle, key=lambda r: ids[r]))
        cycle = cycle[start:] + cycle[:start]
        members = set(cycle)
        covered = {loser for w in cycle for loser in graph.successors(w)}
        unmet = sorted(s.iri for s in group.specs if s.iri not in members and (
            s.iri in search.decisions.unsupported or s.iri not in covered))
        names = ", ".join(f"{ids[w]} over {ids[lo]}"
                          for w, lo in zip(cycle, [*cycle[1:], cycle[0]], strict=True))
        what = f"a precedence cycle on {group.action} ({names})"
        result = search.find(cycle, unmet, accept, f"conflict-{group.action}-cycle-{n + 1}")
        if result.witness is not None:
            out.append(DecisionFinding(
                CONFLICT, "Violation", group.guideline_iri,
                f"Action {group.action}: {', '.join(ids[r] for r in cycle)} all apply and each "
                f"is set aside by another ({names}), so nothing stands and the verdict "
                "is conflict on a case such as the witness case shown. Declare a precedence rule "
                "or gg:overrides that breaks the cycle.", result.witness))
        elif not result.complete:
            out.append(_incomplete(group.guideline_iri, what, result))
    return out


def _reachability(search: WitnessSearch, group: ActionGroup,
                  spec: RecommendationSpec) -> list[DecisionFinding]:
    """Never applies: no case meets all its criteria. Never prevails: on every case where it
    applies a supported statement that prevails over it applies too (only asked of
    statements that give support: the others never stand by the guideline's policy)."""
    def applies(result: Result) -> bool:
        return any(o.iri == spec.iri for o in result.recommendations)

    found = search.find([spec.iri], [], applies, f"applies-{spec.id}")
    if found.witness is None:
        if not found.complete:
            return [_incomplete(spec.iri, f"a case where {spec.id} applies", found)]
        texts = "; ".join(sorted({c.text for cond in spec.conditions for c in leaves(cond)}))
        return [DecisionFinding(
            NEVER_APPLIES, "Warning", spec.iri,
            f"Recommendation {spec.id} never applies: no case meets all of its criteria "
            f"({texts}). Check the thresholds for a contradiction (a fact required both "
            "below and above a value, or two values at once), or remove the recommendation.")]
    defeaters = _supported_defeaters(search, spec.iri)
    if spec.iri in search.decisions.unsupported or not defeaters:
        return []
    result = search.find([spec.iri], defeaters, _applies_without(spec, defeaters),
                         f"prevails-{spec.id}")
    if result.witness is not None:
        return []
    if not result.complete:
        return [_incomplete(spec.iri, f"a case where {spec.id} prevails", result)]
    # Name a smallest set that still covers every case: drop each defeater the search
    # shows is not needed (a defeater kept when its search runs out).
    needed = list(defeaters)
    for rec in defeaters:
        rest = [d for d in needed if d != rec]
        trial = search.find([spec.iri], rest, _applies_without(spec, rest),
                            f"prevails-{spec.id}")
        if trial.witness is None and trial.complete:
            needed = rest
    rules = {d.winner: search.decisions.rule_notation.get(d.rule, d.rule)
             for d in search.decisions.defeaters.get(spec.iri, ())}
    names = ", ".join(f"{search.specs[d].id} ({rules[d]})" for d in needed)
    who = names if len(needed) == 1 else f"one of {names}"
    return [DecisionFinding(
        NEVER_PREVAILS, "Warning", spec.iri,
        f"Recommendation {spec.id} never prevails: whenever it applies, {who} applies too "
        f"and prevails over it by the rule named, so {spec.id} never carries the verdict on "
        f"{group.action}. If that is intended the statement adds nothing to decisions; "
        "otherwise narrow the prevailing statement's criteria, or declare gg:overrides.")]


def _applies_without(spec: RecommendationSpec, unmet: Sequence[str]
                     ) -> Callable[[Result], bool]:
    """The reasoner's word: ``spec`` is derived and every one of ``unmet`` does not apply
    (with ``unmet`` all its supported defeaters, this is: it stands)."""
    wanted = set(unmet)

    def accept(result: Result) -> bool:
        derived = {o.iri for o in result.recommendations}
        rejected = {o.iri for o in result.not_applicable if o.status == UNMET}
        return spec.iri in derived and wanted <= rejected
    return accept


def _incomplete(focus: str, what: str, result: SearchResult) -> DecisionFinding:
    return DecisionFinding(
        INCOMPLETE, "Info", focus,
        f"Search incomplete: the search for {what} stopped after {result.evaluations} "
        "evaluations (its fixed budget) without finding a case or ruling one out, so nothing "
        "is claimed. Fewer facts per statement, or fewer statements on the action, make the "
        "search smaller.")



# ---------------------------------------------------------------------------
# Validation glue: one reasoner per guideline the validated files describe
# ---------------------------------------------------------------------------

# Sources of the validation results (described in authoring.ttl).
(DECISION_CONFLICT, DECISION_NEVER_APPLIES, DECISION_NEVER_PREVAILS, DECISION_INCOMPLETE,
 DECISION_NOT_LOADED) = (GGSH["DecisionCheck-" + name] for name in (
    "conflict", "neverApplies", "neverPrevails", "searchIncomplete", "notLoaded"))
_SOURCES = {
    CONFLICT: DECISION_CONFLICT,
    NEVER_APPLIES: DECISION_NEVER_APPLIES,
    NEVER_PREVAILS: DECISION_NEVER_PREVAILS,
    INCOMPLETE: DECISION_INCOMPLETE,
}


def guideline_units(
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


def decision_search_checks(
    paths: Sequence[Path],
    loaded: list[tuple[Path, rdflib.Graph]],
    cyclic: set[rdflib.term.Node],
    violated: bool,
) -> list[Finding]:
    """Conflict and reachability searches, one reasoner per guideline.

    A guideline with a dependent-action cycle is skipped (already reported). One the
    reasoner refuses to load is reported only when nothing else is a violation: otherwise
    the refusal is most likely a consequence of what was reported.
    """
    from guidegraph.errors import GuidegraphError
    from guidegraph.knowledge.loading import read_parts

    graphs_by_file = {path: g for path, g in loaded}
    units = guideline_units(list(paths), graphs_by_file)
    if not units:
        return []
    ontology = read_parts([])
    out: list[Finding] = []
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
            reasoner = _reasoner_for(files, merged, node, name, ontology)
        except (GuidegraphError, ValueError) as exc:
            if not violated:
                out.append((
                    DECISION_NOT_LOADED, "Violation", node,
                    f"Guideline {name}: the reasoner cannot load it ({exc}), so "
                    "`guidegraph reason` would refuse it too and its decisions were not "
                    "checked: fix what the message names.", None))
            continue
        for finding in check_decisions(reasoner, budget=DEFAULT_BUDGET):
            out.append((_SOURCES[finding.kind], finding.severity, URIRef(finding.focus),
                        finding.message, None, finding.witness))
    return out


def _reasoner_for(files: list[Path], merged: rdflib.Graph, node: rdflib.term.Node, name: str,
                  ontology: list[KnowledgePart]) -> Reasoner:
    """A reasoner over the ontology and this one guideline, loaded as the reasoner loads it."""
    from guidegraph.knowledge.loading import (
        GuidelineInfo,
        Knowledge,
        KnowledgePart,
        content_hash,
        parse_file,
    )
    from guidegraph.reasoning.reasoner import Reasoner

    info = GuidelineInfo(
        iri=str(node), id=name, version=str(merged.value(node, GG.version) or ""),
        title=str(merged.value(node, rdflib.DCTERMS.title) or ""),
        content_hash=content_hash(files), files=tuple(files))
    part = KnowledgePart("guideline", [q for f in files for q in parse_file(f)],
                         info.content_hash, info)
    return Reasoner(Knowledge.from_parts([*ontology, part]))
