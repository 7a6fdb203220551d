"""Decisions: one verdict per action, from recommendation outcomes and precedence rules as data.

The per-recommendation evaluation stays the audit trail; this layer forms, for each action of
each guideline, the verdict a clinician acts on. Semantics are defined by the SPARQL in
queries/decide/ (precedence.rq, support.rq, standing.rq, verdict.rq, verdict-criteria.rq);
:class:`DecisionPlan` is the compiled form, held identical to them by differential tests on
every golden case and on generated cases (``Reasoner(engine="sparql")`` runs the queries).

Three-valued values: 2 met / stands, 1 unknown, 0 unmet / does not stand. A recommendation
stands as far as it applies, gives support, and no supported recommendation that prevails over
it applies; the verdict is team defeat over the standing values (see verdict.rq).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from guidegraph.errors import ConfigurationError
from guidegraph.knowledge.loading import Knowledge
from guidegraph.knowledge.rows import select_rows, text
from guidegraph.reasoning.plan import STATUS_CODE, Criterion, Group, Plan, RecommendationSpec
from guidegraph.reasoning.result import (
    Conclusion,
    Overridden,
    Pending,
    RecommendationOutcome,
    grade_text,
)
from guidegraph.vocab import GG

VERDICT_IRI = {name: GG + "verdict-" + name
               for name in ("for", "against", "uncertain", "undecided", "conflict")}
VERDICT_NAME = {iri: name for name, iri in VERDICT_IRI.items()}


def verdict_from(f: int, a: int, u: int, n: int, any_: int) -> str | None:
    """The verdict of verdict.rq from the highest standing per direction (None: no verdict)."""
    if f == 2 and a == 2:
        return "conflict"
    if f == 2 and a == 0:
        return "for"
    if a == 2 and f == 0:
        return "against"
    if f == 0 and a == 0:
        if u == 2:
            return "uncertain"
        if u == 1:
            return "undecided"
        if n == 2:
            return "uncertain"
        if n == 1:
            return "undecided"
        return "conflict" if any_ == 2 else None
    return "undecided"


@dataclass(frozen=True)
class Defeat:
    """One recommendation that prevails over another, and the rule that orders them."""

    winner: str  # recommendation IRI
    rule: str  # rule IRI


@dataclass
class ActionGroup:
    """The recommendations of one guideline on one action, decided together."""

    guideline: str
    guideline_iri: str
    action: str
    action_iri: str
    specs: list[RecommendationSpec]
    index: int = 0
    #: The actions (by group key) whose verdicts this group's criteria test.
    parents: set[tuple[str, str]] = field(default_factory=set)
    #: Whether a dependent-action criterion tests this group's verdict.
    tested: bool = False
    key: tuple[str, str] = ("", "")  # (guideline IRI, action IRI)

    def __post_init__(self) -> None:
        self.key = (self.guideline_iri, self.action_iri)


class DecisionPlan:
    """Precedence, support and dependency order of every action, compiled from the data."""

    def __init__(self, knowledge: Knowledge, plan: Plan,
                 specs: Sequence[RecommendationSpec]) -> None:
        rules = select_rows(knowledge.store.query(
            "PREFIX gg: <" + GG + "> PREFIX skos: <http://www.w3.org/2004/02/skos/core#> "
            "SELECT ?rule ?id ?definition WHERE { ?rule a gg:PrecedenceRule ; skos:notation ?id "
            "OPTIONAL { ?rule skos:definition ?definition } }"))
        self.rule_notation = {text(r["rule"]): text(r["id"]) for r in rules}
        self.rule_definition = {text(r["rule"]): text(r["definition"]) if r["definition"]
                                else "" for r in rules}
        self.unsupported = frozenset(text(r["rec"]) for r in
                                     knowledge.rows("support", "decide"))
        #: recommendations the verdict does not wait for (not-awaited.rq): undecided, they
        #: count as not applying
        self.not_awaited = frozenset(text(r["rec"]) for r in
                                     knowledge.rows("not-awaited", "decide"))
        compiled = {s.iri for s in specs}
        self.defeaters, self.unordered = reduce_precedence(
            (text(r["winner"]), text(r["loser"]), text(r["rule"]), int(text(r["order"])))
            for r in knowledge.rows("precedence", "decide")
            if text(r["winner"]) in compiled and text(r["loser"]) in compiled)
        iri_of = {g.id: g.iri for g in knowledge.guidelines}
        self.direction = {(s.guideline, s.id): s.direction for s in specs}
        groups: dict[tuple[str, str], ActionGroup] = {}
        for spec in specs:
            if not spec.guideline:
                raise ConfigurationError(
                    f"recommendation {spec.id}: belongs to no guideline; add gg:partOfGuideline "
                    "(or list it with the guideline's gg:hasRecommendation)")
            g_iri = iri_of.get(spec.guideline, spec.guideline)
            group = groups.get((g_iri, spec.action_iri))
            if group is None:
                group = groups[(g_iri, spec.action_iri)] = ActionGroup(
                    spec.guideline, g_iri, spec.action, spec.action_iri, [])
            group.specs.append(spec)
        self.verdict_criteria: list[Criterion] = list(plan.verdict_criteria)
        self.by_action: dict[tuple[str, str], list[Criterion]] = {}
        for crit in self.verdict_criteria:
            self.by_action.setdefault((crit.verdict_guideline or "", crit.verdict_of or ""),
                                      []).append(crit)
        for group in groups.values():
            for spec in group.specs:
                for crit in _verdict_leaves(spec.conditions):
                    parent = (crit.verdict_guideline or "", crit.verdict_of or "")
                    if parent[0] != group.guideline_iri:
                        raise ConfigurationError(
                            f"criterion {crit.id}: tests a verdict of another guideline than "
                            f"that of recommendation {spec.id}")
                    group.parents.add(parent)
        for key, group in groups.items():
            group.tested = key in self.by_action
        self.groups = [groups[k] for k in sorted(groups, key=lambda k: (
            groups[k].guideline, groups[k].action))]
        for i, group in enumerate(self.groups):
            group.index = i
        self.stages = dependency_stages(self.groups)
        self.has_dependencies = bool(self.verdict_criteria)

    # -- one group -----------------------------------------------------------------------
    def value_of(self, rec: str, status: str) -> int:
        """The value a recommendation's status gives in a decision (2 / 1 / 0): an undecided
        recommendation the verdict does not wait for counts as not applying."""
        if status == "unknown" and rec in self.not_awaited:
            return 0
        return STATUS_CODE[status]

    def standing(self, group: ActionGroup, value: Mapping[str, int]) -> dict[str, int]:
        """standing.rq: min(status, 2 - max status of supported defeaters); 0 if unsupported."""
        unsupported = self.unsupported
        out = {}
        for spec in group.specs:
            if spec.iri in unsupported:
                out[spec.iri] = 0
                continue
            defeat = max((value[d.winner] for d in self.defeaters.get(spec.iri, ())
                          if d.winner not in unsupported), default=0)
            out[spec.iri] = min(value[spec.iri], 2 - defeat)
        return out

    def evaluate(self, group: ActionGroup, value: Mapping[str, int]
                 ) -> tuple[dict[str, int], str | None]:
        """Standing of each recommendation and the verdict (verdict.rq; None: no verdict)."""
        standing = self.standing(group, value)
        top = {"for": 0, "against": 0, "uncertain": 0}
        n = any_ = 0
        for spec in group.specs:
            top[spec.direction] = max(top[spec.direction], standing[spec.iri])
            any_ = max(any_, value[spec.iri])
            if spec.iri in self.unsupported:
                n = max(n, value[spec.iri])
        return standing, verdict_from(top["for"], top["against"], top["uncertain"], n, any_)

    def conclusion(self, group: ActionGroup, verdict: str,
                   outcomes: Mapping[str, RecommendationOutcome | None],
                   value: Mapping[str, int], standing: Mapping[str, int],
                   key_order: Mapping[str, int],
                   live: Sequence[RecommendationSpec] | None = None) -> Conclusion:
        """What decided the verdict, what was set aside by which rule, and what is pending.

        Only statements that apply or are undecided shape it; ``live`` may list just those
        (in the group's order), with ``value`` and ``standing`` given for them alone.
        """
        specs = group.specs if live is None else live
        deciding = self._deciding(verdict, specs, value, standing)
        overridden, set_aside = self._set_aside(specs, value, standing)
        pending = self._pending(specs, value, standing, outcomes) if verdict == "undecided" else []
        missing = {k for p in pending for k in p.missing_facts}
        warnings = self._warnings(group, verdict, deciding, specs, value, standing, outcomes)
        strength = grade_text(deciding[0]) if deciding and verdict != "undecided" else None
        return Conclusion(
            action=group.action, action_iri=group.action_iri, guideline=group.guideline,
            guideline_iri=group.guideline_iri, direction=verdict,
            decided_by=[s.id for s in deciding], strength=strength, overridden=overridden,
            pending=pending,
            missing_facts=sorted(missing, key=lambda k: (key_order.get(k, len(key_order)), k)),
            warnings=sorted(warnings), set_aside=set_aside)

    def _deciding(self, verdict: str, specs: Sequence[RecommendationSpec],
                  value: Mapping[str, int], standing: Mapping[str, int]
                  ) -> list[RecommendationSpec]:
        """The statements that carry the verdict, strongest first (both sides of a conflict;
        for a conflict from a precedence cycle, every supported statement that applies)."""
        standing_ids = [s for s in specs if standing[s.iri] == 2]
        if verdict in ("for", "against", "uncertain"):
            deciding = [s for s in standing_ids if s.direction == verdict]
        elif verdict == "conflict" and not standing_ids:
            deciding = [s for s in specs if value[s.iri] == 2 and s.iri not in self.unsupported]
        else:
            deciding = standing_ids
        return sorted(deciding, key=strength_key)

    def _set_aside(self, specs: Sequence[RecommendationSpec], value: Mapping[str, int],
                   standing: Mapping[str, int]
                   ) -> tuple[list[Overridden], list[tuple[str, str, str]]]:
        """Each applicable, supported statement a rule set aside: one entry per statement and
        rule with the statements that prevailed, and every (set aside, prevailing, rule)."""
        unsupported = self.unsupported
        by_iri = {s.iri: s for s in specs}
        overridden: list[Overridden] = []
        set_aside: list[tuple[str, str, str]] = []
        for spec in specs:
            if value[spec.iri] != 2 or spec.iri in unsupported or standing[spec.iri] != 0:
                continue
            by_rule: dict[str, list[str]] = {}
            for d in self.defeaters.get(spec.iri, ()):
                if value.get(d.winner, 0) == 2 and d.winner not in unsupported:
                    by_rule.setdefault(d.rule, []).append(by_iri[d.winner].id)
                    set_aside.append((spec.id, by_iri[d.winner].id, d.rule))
            for rule, winners in sorted(by_rule.items()):
                overridden.append(Overridden(spec.id, spec.direction, sorted(winners),
                                             self.rule_notation.get(rule, rule), rule))
        return overridden, set_aside

    def _pending(self, specs: Sequence[RecommendationSpec], value: Mapping[str, int],
                 standing: Mapping[str, int],
                 outcomes: Mapping[str, RecommendationOutcome | None]) -> list[Pending]:
        """The undecided statements that could change an undecided verdict: those that may
        stand, and the possible defeaters of applicable statements that may be set aside
        (or, when nothing supported could stand, the unsupported ones that may apply)."""
        unsupported = self.unsupported
        nothing_stands = max((standing[s.iri] for s in specs), default=0) == 0
        chosen: set[str] = set()
        for spec in specs:
            if spec.iri in unsupported:
                if value[spec.iri] == 1 and nothing_stands:
                    chosen.add(spec.iri)
            elif value[spec.iri] == 1 and standing[spec.iri] == 1:
                chosen.add(spec.iri)
            elif value[spec.iri] == 2 and standing[spec.iri] == 1:
                chosen.update(d.winner for d in self.defeaters.get(spec.iri, ())
                              if value.get(d.winner, 0) == 1 and d.winner not in unsupported)
        return [Pending(s.id, list(outcomes[s.iri].missing))  # type: ignore[union-attr]
                for s in specs if s.iri in chosen]

    def _warnings(self, group: ActionGroup, verdict: str, deciding: list[RecommendationSpec],
                  specs: Sequence[RecommendationSpec], value: Mapping[str, int],
                  standing: Mapping[str, int],
                  outcomes: Mapping[str, RecommendationOutcome | None]) -> list[str]:
        out: list[str] = []
        for spec in specs:
            outcome = outcomes.get(spec.iri) if spec.iri in self.not_awaited else None
            if outcome is not None and outcome.status == "unknown":
                out.append(f"not awaited: {spec.id} ({spec.direction}) is undecided, needing "
                           f"{', '.join(outcome.missing)}; the guideline does not hold the "
                           "verdict back for it, and it prevails if those facts come to meet it")
        if verdict == "conflict":
            sides = {d: [s.id for s in deciding if s.direction == d] for d in ("for", "against")}
            out.append(f"conflict: for ({', '.join(sides['for']) or 'none'}) and against "
                       f"({', '.join(sides['against']) or 'none'}) both stand and no declared "
                       "precedence rule orders them")
        for spec in deciding:
            if spec.cautions:
                out.append(f"{spec.id}: caution {', '.join(spec.cautions)}")
        for spec in specs:
            if spec.iri in self.unsupported and value[spec.iri] == 2:
                out.append(f"{spec.id} applies but every source it rests on is retracted "
                           f"({', '.join(c for c in spec.cautions if c.startswith('retracted'))}"
                           "): it gives no support to this verdict")
            elif (verdict in ("for", "against") and spec.direction == "uncertain"
                  and standing[spec.iri] == 2):
                out.append(f"{spec.id} also applies: usefulness uncertain")
        return out

    # -- dependent actions ---------------------------------------------------------------
    def verdict_statuses(self, group: ActionGroup, conclusion: Conclusion | None
                         ) -> Iterable[tuple[Criterion, str, list[str]]]:
        """verdict-criteria.rq: status of each criterion testing this group's verdict, and
        the facts that would settle it when unknown."""
        verdict = conclusion.direction if conclusion is not None else None
        for crit in self.by_action.get(group.key, ()):
            if verdict == "undecided":
                assert conclusion is not None
                yield crit, "unknown", list(conclusion.missing_facts)
            else:
                inside = verdict is not None and VERDICT_IRI[verdict] in crit.allowed
                met = inside if crit.comparator == "oneOf" else not inside
                yield crit, "met" if met else "unmet", []


def reduce_precedence(rows: Iterable[tuple[str, str, str, int]]
                      ) -> tuple[dict[str, list[Defeat]], list[tuple[str, str]]]:
    """Per pair of recommendations, the rule with the lowest position decides.

    ``rows`` are precedence.rq's (winner, loser, rule, position). If the deciding position
    orders the pair both ways (two explicit overrides of each other), the pair stays unordered
    and is returned in the second list for validation to report.
    """
    best: dict[frozenset[str], tuple[int, set[tuple[str, str, str]]]] = {}
    for winner, loser, rule, order in rows:
        pair = frozenset((winner, loser))
        current = best.get(pair)
        if current is None or order < current[0]:
            best[pair] = (order, {(winner, loser, rule)})
        elif order == current[0]:
            current[1].add((winner, loser, rule))
    defeaters: dict[str, list[Defeat]] = {}
    unordered: list[tuple[str, str]] = []
    for pair, (_order, found) in best.items():
        winners = {w for w, _, _ in found}
        if len(winners) > 1:
            unordered.append(tuple(sorted(pair)))  # type: ignore[arg-type]
            continue
        for winner, loser, rule in sorted(found):
            defeaters.setdefault(loser, []).append(Defeat(winner, rule))
            break
    for items in defeaters.values():
        items.sort(key=lambda d: (d.winner, d.rule))
    return defeaters, sorted(unordered)


def dependency_stages(groups: Sequence[ActionGroup]) -> list[list[ActionGroup]]:
    """Groups in dependency order (parents first); a cycle is an authoring error."""
    import networkx as nx  # only a compile orders groups: a start from the plan cache skips it

    graph = nx.DiGraph()
    by_key = {g.key: g for g in groups}
    for group in groups:
        graph.add_node(group.key)
        for parent in group.parents:
            if parent not in by_key:
                raise ConfigurationError(
                    f"action {group.action}: depends on the verdict of <{parent[1]}>, which no "
                    "recommendation of its guideline is about")
            graph.add_edge(parent, group.key)
    try:
        generations = list(nx.topological_generations(graph))
    except nx.NetworkXUnfeasible:
        cycle = nx.find_cycle(graph)
        names = " -> ".join(by_key[a].action for a, _ in cycle)
        raise ConfigurationError(f"dependent actions form a cycle: {names} -> "
                                 f"{by_key[cycle[0][0]].action}") from None
    return [sorted((by_key[k] for k in gen), key=lambda g: g.index) for gen in generations]


def strength_key(spec: RecommendationSpec) -> tuple:
    """Strongest first: graded before not graded, higher strength rank, then by id."""
    return (spec.grading == "not graded", -(spec.strength_rank or 0), spec.id)


def _verdict_leaves(conditions: Sequence[Criterion | Group]) -> list[Criterion]:
    out: list[Criterion] = []
    for cond in conditions:
        if isinstance(cond, Group):
            out.extend(_verdict_leaves(cond.members))
        elif cond.kind == "verdict":
            out.append(cond)
    return out


def conflicts_of(conclusions: Iterable[Conclusion],
                 direction: Mapping[tuple[str, str], str]) -> list[dict[str, object]]:
    """The actions whose verdict is conflict, with the statements standing on each side
    (the result's ``conflicts``; each involved statement also carries a warning).
    ``direction``: (guideline, recommendation id) -> direction (DecisionPlan.direction)."""
    chosen = [c for c in conclusions if c.direction == "conflict"]
    if not chosen:
        return []
    return [{"action": c.action,
             "for": sorted(i for i in c.decided_by
                           if direction.get((c.guideline, i)) == "for"),
             "against": sorted(i for i in c.decided_by
                               if direction.get((c.guideline, i)) == "against")}
            for c in sorted(chosen, key=lambda c: (c.action, c.guideline))]
