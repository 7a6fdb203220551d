"""Vectorised evaluation of every criterion and recommendation of a large guideline.

For guidelines of thousands of recommendations a Python loop over criteria dominates the
cost of a case. Here the compiled plan becomes numpy arrays once: per fact, the criteria on
it grouped by comparator with their thresholds; the groups and recommendations as index
arrays reduced level by level. Kleene logic maps to integers: unmet 0, unknown 1, met 2,
so all-of is a minimum, any-of a maximum, none-of two minus the maximum. Decimal facts and
thresholds compare as binary floats, which agrees with exact comparison for values written
with fewer than 15 significant digits; tests hold this engine to the others.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import numpy as np

from guidegraph.reasoning.criteria import leaves
from guidegraph.reasoning.plan import (
    STATUS_CODE,
    STATUS_ORDER,
    Criterion,
    Group,
    Plan,
    RecommendationSpec,
)

if TYPE_CHECKING:
    from guidegraph.intake.contract import CaseContract

#: Status codes in the arrays (see plan.STATUS_CODE).
UNMET_CODE, UNKNOWN_CODE, MET_CODE = (STATUS_CODE[name] for name in STATUS_ORDER)
_OPS = {"lt": np.less, "le": np.less_equal, "gt": np.greater, "ge": np.greater_equal,
        "eq": np.equal, "ne": np.not_equal}
_KINDS = {"all": 0, "any": 1, "none": 2}


def _number(value: Any) -> float:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, Decimal | int | float):
        return float(value)
    raise TypeError(value)


class VectorPlan:
    """Arrays for one compiled plan; ``evaluate`` gives every status for a case."""

    def __init__(self, plan: Plan, specs: Sequence[RecommendationSpec],
                 contract: CaseContract) -> None:
        self.criteria: list[Criterion] = list(plan.criteria)
        self.index = {c.iri: i for i, c in enumerate(self.criteria)}
        n = len(self.criteria)
        self.ranks = plan.ranks
        # Per fact: concept tables and "known" tests; threshold tests are flattened below.
        self.tables: dict[str, tuple[np.ndarray, dict[str, np.ndarray]]] = {}
        self.known: dict[str, np.ndarray] = {}
        self.fallback: list[tuple[int, Criterion]] = []
        self.key_of = np.empty(n, dtype=object)
        grouped: dict[tuple[str, str, bool], list[tuple[int, float]]] = {}
        concept_crits: dict[str, list[int]] = {}
        for i, crit in enumerate(self.criteria):
            self.key_of[i] = crit.key
            spec = contract.facts[crit.key]
            if crit.comparator == "known":
                self.known.setdefault(crit.key, [])
                self.known[crit.key].append(i)  # type: ignore[attr-defined]
            elif crit.comparator in ("oneOf", "notOneOf", "within"):
                concept_crits.setdefault(crit.key, []).append(i)
            elif crit.threshold_rank is not None:
                grouped.setdefault((crit.key, crit.comparator, True), []).append(
                    (i, float(crit.threshold_rank)))
            elif crit.threshold is not None and spec.kind != "concept":
                grouped.setdefault((crit.key, crit.comparator, False), []).append(
                    (i, _number(crit.threshold)))
            else:
                self.fallback.append((i, crit))
        # All threshold tests in one flat set of arrays: which criterion, which fact (by
        # position in ``self.fact_keys``), whether the fact is compared by rank, threshold.
        flat = [(i, key, op, by_rank, t) for (key, op, by_rank), items in grouped.items()
                for i, t in items]
        self.fact_keys = sorted({key for _, key, _, _, _ in flat})
        position = {k: j for j, k in enumerate(self.fact_keys)}
        self.num_idx = np.array([i for i, *_ in flat], dtype=np.int64)
        self.num_fact = np.array([position[k] for _, k, *_ in flat], dtype=np.int64)
        self.num_thr = np.array([t for *_, t in flat], dtype=np.float64)
        self.num_ops = [(_OPS[op], np.flatnonzero(np.array([o == op for _, _, o, _, _ in flat],
                                                           dtype=bool)))
                        for op in sorted({o for _, _, o, _, _ in flat})]
        self.rank_keys = {k for _, k, _, by_rank, _ in flat if by_rank}
        for key, idxs in concept_crits.items():
            idx = np.array(idxs, dtype=np.int64)
            table = {}
            for value in contract.facts[key].allowed.values():
                row = []
                for i in idxs:
                    crit = self.criteria[i]
                    inside = value in crit.allowed
                    met = inside != (crit.comparator == "notOneOf")
                    row.append(MET_CODE if met else UNMET_CODE)
                table[value] = np.array(row, dtype=np.int8)
            self.tables[key] = (idx, table)
        self.known = {k: np.array(v, dtype=np.int64) for k, v in self.known.items()}
        self.all_keys = {c.key for c in self.criteria}
        #: each recommendation's guideline, by position in ``guideline_ids`` (for tallies)
        self.guideline_ids = sorted({s.guideline for s in specs})
        where = {g: j for j, g in enumerate(self.guideline_ids)}
        self.guideline_index = np.array([where[s.guideline] for s in specs], dtype=np.int64)
        self._compile_structure(plan, specs, n)

    def _compile_structure(self, plan: Plan, specs: Sequence[RecommendationSpec], n: int
                           ) -> None:
        groups = [c for c in plan.conditions.values() if isinstance(c, Group)]
        depth: dict[str, int] = {}

        def depth_of(cond: Criterion | Group) -> int:
            if isinstance(cond, Criterion):
                return 0
            if cond.iri not in depth:
                depth[cond.iri] = 1 + max(depth_of(m) for m in cond.members)
            return depth[cond.iri]

        for g in groups:
            depth_of(g)
        order = sorted(groups, key=lambda g: (depth[g.iri], g.iri))
        self.node = dict(self.index)
        for offset, g in enumerate(order):
            self.node[g.iri] = n + offset
        # Dependent-action criteria are nodes too, left unknown here: the reasoner decides
        # guidelines that use them stage by stage (see decide.DecisionPlan).
        for offset, crit in enumerate(plan.verdict_criteria):
            self.node[crit.iri] = n + len(order) + offset
        self.size = n + len(order) + len(plan.verdict_criteria)
        self.levels: list[list[tuple[int, np.ndarray, np.ndarray, np.ndarray]]] = []
        for level in sorted({depth[g.iri] for g in order}):
            at = [g for g in order if depth[g.iri] == level]
            per_kind = []
            for kind, code in _KINDS.items():
                chosen = [g for g in at if g.kind == kind]
                if not chosen:
                    continue
                members, offsets, targets = [], [], []
                for g in chosen:
                    offsets.append(len(members))
                    members.extend(self.node[m.iri] for m in g.members)
                    targets.append(self.node[g.iri])
                per_kind.append((code, np.array(members, dtype=np.int64),
                                 np.array(offsets, dtype=np.int64),
                                 np.array(targets, dtype=np.int64)))
            self.levels.append(per_kind)
        members, offsets = [], []
        for spec in specs:
            offsets.append(len(members))
            members.extend(self.node[c.iri] for c in spec.conditions)
        self.rec_members = np.array(members, dtype=np.int64)
        self.rec_offsets = np.array(offsets, dtype=np.int64)
        self.rec_leaves = [np.array(sorted(self.node[c.iri] for cond in spec.conditions
                                           for c in leaves(cond)), dtype=np.int64)
                           for spec in specs]
        # One gather gives every recommendation's leaf statuses; slices of its bytes are
        # the cache keys (much cheaper than indexing per recommendation).
        self.leaf_flat = (np.concatenate(self.rec_leaves) if self.rec_leaves
                          else np.zeros(0, dtype=np.int64))
        ends = np.cumsum([len(x) for x in self.rec_leaves])
        self.leaf_bounds = list(zip([0, *ends[:-1].tolist()], ends.tolist(), strict=True))

    def evaluate(self, facts: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray]:
        """(status of every condition node, status of every recommendation)."""
        status = np.full(self.size, UNKNOWN_CODE, dtype=np.int8)
        if len(self.num_idx):
            values = np.full(len(self.fact_keys), np.nan)
            for j, key in enumerate(self.fact_keys):
                value = facts.get(key)
                if value is None:
                    continue
                if key in self.rank_keys:
                    rank = self.ranks.get(value)
                    values[j] = float(rank) if rank is not None else -np.inf
                else:
                    values[j] = _number(value)
            v = values[self.num_fact]
            met = np.zeros(len(v), dtype=bool)
            for op, where in self.num_ops:
                met[where] = op(v[where], self.num_thr[where])
            status[self.num_idx] = np.where(np.isnan(v), UNKNOWN_CODE,
                                            np.where(met, MET_CODE, UNMET_CODE)).astype(np.int8)
        for key in self.all_keys:
            value = facts.get(key)
            if value is None:
                continue
            table = self.tables.get(key)
            if table is not None:
                idx, rows = table
                status[idx] = rows[value]
            known = self.known.get(key)
            if known is not None:
                status[known] = MET_CODE
        for i, crit in self.fallback:
            status[i] = ("unmet", "unknown", "met").index(crit.evaluate(facts))
        for per_kind in self.levels:
            for code, members, offsets, targets in per_kind:
                values = status[members]
                if code == 0:
                    status[targets] = np.minimum.reduceat(values, offsets)
                elif code == 1:
                    status[targets] = np.maximum.reduceat(values, offsets)
                else:
                    status[targets] = MET_CODE - np.maximum.reduceat(values, offsets)
        recs = np.minimum.reduceat(status[self.rec_members], self.rec_offsets)
        return status, recs


class VectorDecisions:
    """The decision layer (decide.DecisionPlan) over numpy arrays, for large guidelines.

    Same semantics as the closure path, held identical to it (and so to queries/decide/) by
    tests: standing is ``min(status, 2 - max status of supported defeaters)`` (0 when the
    statement gives no support), per action the highest standing per direction gives the
    verdict, and what a conclusion lists is read off boolean masks, so a verdict over
    thousands of statements costs a few array operations instead of a Python loop. Used only
    for guidelines without dependent actions (they are decided stage by stage).
    """

    def __init__(self, decisions: Any, specs: Sequence[RecommendationSpec]) -> None:
        self.decisions = decisions
        self.specs = list(specs)
        index = {s.iri: i for i, s in enumerate(self.specs)}
        unsupported = decisions.unsupported
        self.unsupported = np.array([s.iri in unsupported for s in self.specs], dtype=bool)
        self.not_awaited = np.array([s.iri in decisions.not_awaited for s in self.specs],
                                    dtype=bool)
        pairs = [(index[loser], index[d.winner]) for loser, found in decisions.defeaters.items()
                 for d in found if loser in index and d.winner in index
                 and d.winner not in unsupported]
        self.losers = np.array([p[0] for p in pairs], dtype=np.int64)
        self.winners = np.array([p[1] for p in pairs], dtype=np.int64)
        self.has_defeats = bool(pairs)
        # Every group's statements laid end to end, so that one reduceat per quantity gives
        # the highest standing per direction (and the highest status) of every group at once.
        self.groups = [g for g in decisions.groups if g.specs]
        self.orders = [np.array([index[s.iri] for s in g.specs], dtype=np.int64)
                       for g in self.groups]
        self.cat = (np.concatenate(self.orders) if self.orders
                    else np.zeros(0, dtype=np.int64))
        self.offsets = np.cumsum([0] + [len(o) for o in self.orders[:-1]]).astype(np.int64)
        direction = np.array([self.specs[i].direction for i in self.cat], dtype=object)
        self.masks = {d: (direction == d) for d in ("for", "against", "uncertain")}
        self.cat_unsupported = self.unsupported[self.cat]

    def decide(self, recs: np.ndarray, outcome_of: Any, key_order: Mapping[str, int]
               ) -> list[Any]:
        """Every verdict for one case; ``outcome_of(i)`` gives the outcome of spec i."""
        from guidegraph.reasoning.decide import verdict_from

        value = recs.astype(np.int8)
        waived = self.not_awaited & (value == 1)  # undecided, but not waited for: counts 0
        if waived.any():
            value[waived] = 0
        defeat = np.zeros(len(value), dtype=np.int8)
        if self.has_defeats:
            np.maximum.at(defeat, self.losers, value[self.winners])
        standing = np.where(self.unsupported, 0, np.minimum(value, 2 - defeat)).astype(np.int8)
        if not self.groups:
            return []
        v, st = value[self.cat], standing[self.cat]
        offsets = self.offsets
        top = {d: np.maximum.reduceat(np.where(mask, st, 0), offsets)
               for d, mask in self.masks.items()}
        n = np.maximum.reduceat(np.where(self.cat_unsupported, v, 0), offsets)
        any_ = np.maximum.reduceat(v, offsets)
        out = []
        for k, group in enumerate(self.groups):
            verdict = verdict_from(int(top["for"][k]), int(top["against"][k]),
                                   int(top["uncertain"][k]), int(n[k]), int(any_[k]))
            if verdict is None:
                continue
            order = self.orders[k]
            gv = value[order]
            # only applicable statements (and, for an undecided verdict, undecided ones)
            # shape a conclusion, and undecided ones not waited for (named in its warnings)
            live = order[((gv > 0) if verdict == "undecided" else (gv == 2)) | waived[order]]
            values = {self.specs[i].iri: int(value[i]) for i in live}
            stands = {self.specs[i].iri: int(standing[i]) for i in live}
            outcomes = {self.specs[i].iri: outcome_of(i) for i in live}
            out.append(self.decisions.conclusion(group, verdict, outcomes, values, stands,
                                                 key_order,
                                                 live=[self.specs[i] for i in live]))
        return out
