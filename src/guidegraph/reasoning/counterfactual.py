"""What would change a verdict: single-fact changes found from the criteria's own thresholds.

For one action, every fact its recommendations read (directly, or through the actions its
dependent-action criteria test) is tried over the regions its criteria cut the fact's range
into: each threshold value itself and the open intervals between thresholds, every allowed
concept, both booleans. A criterion's status is constant inside a region, so one
representative value per region decides it; adjacent regions with the same verdict are
merged, and every range whose verdict differs from the current one is reported with the value
that was re-run. Nothing is guessed: each reported change is the reasoner's own answer.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import TYPE_CHECKING, Any

from guidegraph.intake.cases import Case

if TYPE_CHECKING:
    from guidegraph.intake.contract import FactSpec
    from guidegraph.reasoning.decide import ActionGroup
    from guidegraph.reasoning.reasoner import Reasoner
    from guidegraph.reasoning.result import Result

_HALF = Decimal("0.5")


NOT_APPLICABLE = "not applicable"


@dataclass(frozen=True)
class Region:
    """A set of values of one fact on which every criterion on it has one status: a concept
    or boolean ``value``, or an interval of numbers between thresholds (or range ends)."""

    low: Decimal | None = None
    high: Decimal | None = None
    low_closed: bool = True
    high_closed: bool = True
    low_is_cut: bool = False  # the lower end is a criterion threshold, not the range end
    high_is_cut: bool = False
    value: Any = None

    def pick(self, integer: bool, current: Any) -> Any:
        """The value of the region nearest the current one (a threshold's neighbour when the
        fact is missing), or None when the region holds no value of the fact's kind."""
        if self.low is None or self.high is None:
            return self.value
        if integer:  # the integers inside the interval, whatever the thresholds' type
            first = (self.low.to_integral_value(ROUND_CEILING) if self.low_closed
                     else self.low.to_integral_value(ROUND_FLOOR) + 1)
            last = (self.high.to_integral_value(ROUND_FLOOR) if self.high_closed
                    else self.high.to_integral_value(ROUND_CEILING) - 1)
        else:
            step = min(_HALF, (self.high - self.low) / 2)
            first = self.low if self.low_closed else self.low + step
            last = self.high if self.high_closed else self.high - step
        if first > last or (not self.low_closed and first <= self.low):
            return None
        if current is None or isinstance(current, bool):
            chosen = first if self.low_is_cut else last
        else:
            chosen = min(max(Decimal(str(current)), first), last)
        return int(chosen) if integer else chosen


@dataclass
class FactChange:
    """One single-fact change and the verdict it gives."""

    key: str
    condition: str  # e.g. "key <= 10", "key in {a, b}"
    example: str  # the value that was re-run, as shown in results
    #: None: the action would get no verdict (nothing could apply); NOT_APPLICABLE: the
    #: guideline's population would not include the case
    verdict: str | None

    def text(self) -> str:
        result = (self.verdict.upper() if self.verdict and self.verdict != NOT_APPLICABLE
                  else "NOT APPLICABLE (outside the guideline's population)" if self.verdict
                  else "NO VERDICT (nothing applies)")
        return f"would be {result} if {self.condition} (checked with {self.key}={self.example})"


def case_from_result(result: Result, reasoner: Reasoner) -> Case:
    """The case a result was reasoned from, rebuilt from its recorded facts."""
    facts = {key: reasoner.contract.facts[key].from_display(shown)
             for key, shown in result.facts.items()}
    return Case(id=result.case_id, iri=result.case, facts=facts,
                defaulted=frozenset(result.defaulted))


def fact_keys(reasoner: Reasoner, group: ActionGroup) -> list[str]:
    """The facts the action's recommendations read, those of the actions they depend on,
    and those of the guideline's population."""
    by_key = {g.key: g for g in reasoner.decisions.groups}
    seen: set[tuple[str, str]] = set()
    keys: set[str] = {c.key for c in reasoner.population_leaves(group.guideline) if c.key}
    todo = [group]
    while todo:
        g = todo.pop()
        if g.key in seen:
            continue
        seen.add(g.key)
        for spec in g.specs:
            keys.update(spec.keys)
        todo.extend(by_key[p] for p in g.parents if p in by_key)
    order = {k: i for i, k in enumerate(reasoner.contract.keys())}
    return sorted(keys, key=lambda k: order.get(k, len(order)))


def regions(spec: FactSpec, criteria: Iterable[Any]) -> list[Region]:
    """The regions the thresholds of ``criteria`` (on the fact ``spec``) cut its allowed
    values into, in order: each threshold inside the contract's range is a region of its
    own, and so is each open interval between thresholds (or range ends) that holds a value."""
    if spec.kind == "concept":
        return [Region(value=iri) for iri in spec.allowed.values()]
    if spec.kind == "boolean":
        return [Region(value=v) for v in (False, True)]
    cuts = sorted({Decimal(str(c.threshold)) for c in criteria
                   if c.threshold is not None and not isinstance(c.threshold, bool)})
    low = spec.minimum if spec.minimum is not None else (cuts[0] - 1 if cuts else Decimal(0))
    high = spec.maximum if spec.maximum is not None else (cuts[-1] + 1 if cuts else low)
    cuts = [c for c in cuts if low <= c <= high]
    out: list[Region] = []
    below, closed, is_cut = low, True, False
    for cut in cuts:
        if below < cut:
            out.append(Region(below, cut, closed, False, is_cut, True))
        out.append(Region(cut, cut, True, True, True, True))
        below, closed, is_cut = cut, False, True
    if below < high or (closed and below == high):
        out.append(Region(below, high, closed, True, is_cut, False))
    return out


def fact_regions(reasoner: Reasoner, key: str) -> list[Region]:
    """:func:`regions` of one case key under every criterion of the loaded guidelines."""
    return regions(reasoner.contract.facts[key],
                   [c for c in reasoner.plan.criteria if c.key == key])


def _verdict(reasoner: Reasoner, case: Case, group: ActionGroup) -> str | None:
    result = reasoner.reason(case)
    app = result.applicability.get(group.guideline)
    if app is not None and app.applies == "no":
        return NOT_APPLICABLE
    return next((c.direction for c in result.conclusions
                 if (c.guideline_iri, c.action_iri) == group.key), None)


def changes(reasoner: Reasoner, case: Case, group: ActionGroup) -> list[FactChange]:
    """Every single-fact change that gives the action another verdict, per fact in order."""
    current = _verdict(reasoner, case, group)
    out: list[FactChange] = []
    for key in fact_keys(reasoner, group):
        spec = reasoner.contract.facts[key]
        integer = spec.kind == "integer"
        now = case.facts.get(key)
        tried: list[tuple[Region, Any, str | None]] = []
        for region in fact_regions(reasoner, key):
            value = region.pick(integer, now)
            if value is None:
                continue
            if now is not None and value == now:
                verdict = current
            else:
                changed = replace(case, facts={**case.facts, key: value},
                                  defaulted=case.defaulted - {key})
                verdict = _verdict(reasoner, changed, group)
            tried.append((region, value, verdict))
        for merged, verdict in _merge(tried, spec.kind in ("integer", "decimal")):
            if verdict == current:
                continue
            example = _nearest(merged, now)
            out.append(FactChange(key, _condition(key, spec, [r for r, _, _ in merged]),
                              reasoner.intake.display(key, example), verdict))
    return out


def _nearest(merged: list[tuple[Region, Any, Any]], now: Any) -> Any:
    """The re-run value closest to the current one (next to a threshold when missing)."""
    values = [v for _, v, _ in merged]
    if now is None or isinstance(now, bool) or not isinstance(values[0], int | Decimal):
        cut_side = [v for r, v, _ in merged if r.low_is_cut]
        return cut_side[0] if cut_side and merged[0][0].low_is_cut else values[-1]
    return min(values, key=lambda v: abs(Decimal(str(v)) - Decimal(str(now))))


def _merge(tried: list[tuple[Region, Any, str | None]], numeric: bool
           ) -> list[tuple[list[tuple[Region, Any, str | None]], str | None]]:
    """Adjacent numeric regions with the same verdict form one range; concept values and
    booleans with the same verdict form one set."""
    if not numeric:
        by_verdict: dict[str | None, list[tuple[Region, Any, str | None]]] = {}
        for item in tried:
            by_verdict.setdefault(item[2], []).append(item)
        return [(items, verdict) for verdict, items in by_verdict.items()]
    out: list[tuple[list[tuple[Region, Any, str | None]], str | None]] = []
    for item in tried:
        if out and out[-1][1] == item[2]:
            out[-1][0].append(item)
        else:
            out.append(([item], item[2]))
    return out


def _condition(key: str, spec: FactSpec, merged: list[Region]) -> str:
    if spec.kind == "concept":
        names = [spec.notations[r.value] for r in merged]
        return f"{key} = {names[0]}" if len(names) == 1 else (
            f"{key} in {{{', '.join(names)}}}")
    if spec.kind == "boolean":
        return f"{key} = {'true' if merged[0].value else 'false'}"
    first, last = merged[0], merged[-1]
    low, high = first.low, last.high
    if not first.low_is_cut and not last.high_is_cut:
        return f"{key} takes any value"
    if low is not None and high is not None and low == high:
        return f"{key} = {_num(low)}"
    at_min = not first.low_is_cut or (first.low == spec.minimum and first.low_closed)
    at_max = not last.high_is_cut or (last.high == spec.maximum and last.high_closed)
    lower = f"{key} {'>=' if first.low_closed else '>'} {_num(low)}"
    upper = f"{key} {'<=' if last.high_closed else '<'} {_num(high)}"
    if at_min and at_max:
        return f"{key} takes any value"
    if at_min:
        return upper
    if at_max:
        return lower
    return f"{lower} and {'<=' if last.high_closed else '<'} {_num(high)}"


def _num(value: Decimal | None) -> str:
    text = format(value, "f") if value is not None else ""
    return text.rstrip("0").rstrip(".") if "." in text else text


