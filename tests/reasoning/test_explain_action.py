"""``explain --action``: why a verdict holds, what was set aside, and what would change it.

Every reported change is checked by re-running the case with the changed fact through the
plain JSON intake (as a user would), and every threshold neighbour of every fact the action
reads is checked to be either reported (with the verdict it gives) or not to change the
verdict, so the list is neither invented nor incomplete.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from guidegraph.cli import main
from guidegraph.reasoning.counterfactual import NOT_APPLICABLE, FactChange, changes, fact_keys
from guidegraph.reasoning.reasoner import Reasoner

GOLDEN = Path(__file__).parents[1] / "golden"
LATE = {"id": "late", "minutes_since_onset": 420, "evt_passes": 3, "tici": "2a",
        "occlusion_site": "M1", "stenosis_percent": 80, "icad_suspected": True,
        "fixed_focal_stenosis": True, "etiology": "atherosclerotic", "reocclusion": False,
        "flow_limitation": False, "bleeding_risk": "low"}


def _verdict(reasoner: Reasoner, obj: dict, action: str) -> str | None:
    """The verdict on the action, "not applicable" when its guideline's population leaves
    the case out (the rescue-stenting guideline holds every action tested here)."""
    result = reasoner.reason(reasoner.intake.from_object(obj))
    if result.applicability["rescue-stenting"].applies == "no":
        return NOT_APPLICABLE
    return next((c.direction for c in result.conclusions if c.action == action), None)


def _json_value(reasoner: Reasoner, key: str, shown: str):
    spec = reasoner.contract.facts[key]
    return spec.to_json(spec.from_display(shown))


def _holds(reasoner: Reasoner, change: FactChange, value) -> bool:
    """Whether ``value`` satisfies the change's condition, read from its text."""
    key = change.key
    cond = change.condition.removeprefix(f"{key} ")
    if cond.startswith("in {"):
        return str(value) in cond[4:-1].split(", ")
    if cond == "takes any value":
        return True
    parts = [p.strip().removeprefix(f"{key} ") for p in cond.split(" and ")]
    ops = {"<=": lambda a, b: a <= b, "<": lambda a, b: a < b, ">=": lambda a, b: a >= b,
           ">": lambda a, b: a > b, "=": lambda a, b: a == b}
    for part in parts:
        op, _, rhs = part.partition(" ")
        if reasoner.contract.facts[key].kind in ("integer", "decimal"):
            if not ops[op](Decimal(str(value)), Decimal(rhs)):
                return False
        elif str(value).lower() != rhs:
            return False
    return True


def test_cli_prints_the_counterfactual_and_it_holds(reasoner: Reasoner, tmp_path: Path) -> None:
    path = tmp_path / "late.json"
    path.write_text(json.dumps(LATE))
    res = CliRunner().invoke(main, ["explain", str(path), "--action", "rescue-stenting"])
    assert res.exit_code == 0, res.output
    out = res.stdout
    assert "[rescue-stenting] AGAINST" in out
    # every statement for stenting but the basilar consensus carries the 6-hour window
    # itself, so nothing is set aside here; the basilar tension is one change away
    assert "set aside:" not in out
    assert ("would be UNCERTAIN if occlusion_site = basilar "
            "(checked with occlusion_site=basilar)") in out
    line = ("would be FOR if minutes_since_onset <= 360 "
            "(checked with minutes_since_onset=360)")
    assert line in out
    # the same change through `guidegraph reason`
    path.write_text(json.dumps({**LATE, "minutes_since_onset": 360}))
    doc = json.loads(CliRunner().invoke(main, ["reason", str(path), "--format", "json"]).stdout)
    [verdict] = [c for c in doc["conclusions"] if c["action"] == "rescue-stenting"]
    assert verdict["direction"] == "for"


def test_unknown_action_is_refused_with_the_known_ones(tmp_path: Path) -> None:
    path = tmp_path / "late.json"
    path.write_text(json.dumps(LATE))
    res = CliRunner().invoke(main, ["explain", str(path), "--action", "rescue-stentin"])
    assert res.exit_code == 2 and res.stdout == ""
    assert "--action 'rescue-stentin': no such action; known: " in res.stderr
    assert "rescue-stenting" in res.stderr


def test_undecided_verdict_names_what_settles_it(reasoner: Reasoner, tmp_path: Path) -> None:
    obj = {k: v for k, v in LATE.items() if k != "stenosis_percent"}
    obj["minutes_since_onset"] = 250
    path = tmp_path / "no-stenosis.json"
    path.write_text(json.dumps(obj))
    out = CliRunner().invoke(main, ["explain", str(path), "--action", "rescue-stenting"]).stdout
    assert "[rescue-stenting] UNDECIDED" in out
    assert "pending: acute-reserve-for-severe-stenosis needs stenosis_percent" in out
    assert "would be FOR if stenosis_percent >= 70 (checked with stenosis_percent=70)" in out
    assert "would be AGAINST if stenosis_percent < 70" in out


CASES = [p for p in sorted((GOLDEN / "rescue-stenting" / "cases").iterdir()) if p.suffix == ".json"]


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_every_reported_change_is_real_and_none_is_missing(reasoner: Reasoner,
                                                           path: Path) -> None:
    obj = json.loads(path.read_text())
    case = reasoner.intake.from_object(obj)
    for group in (g for g in reasoner.decisions.groups if g.guideline == "rescue-stenting"):
        current = _verdict(reasoner, obj, group.action)
        found = changes(reasoner, case, group)
        for change in found:
            changed = {**obj, change.key: _json_value(reasoner, change.key, change.example)}
            assert _verdict(reasoner, changed, group.action) == change.verdict, change.text()
            assert change.verdict != current
        # every threshold neighbour: reported with its verdict, or the verdict stays
        for key in fact_keys(reasoner, group):
            spec = reasoner.contract.facts[key]
            if spec.kind == "concept":
                values = list(spec.allowed)
            elif spec.kind == "boolean":
                values = [False, True]
            else:
                values = []
                for crit in reasoner.plan.criteria:
                    if crit.key == key and crit.threshold is not None:
                        t = Decimal(str(crit.threshold))
                        values += [t - 1, t, t + 1]
                values = [int(v) if spec.kind == "integer" else float(v) for v in values
                          if spec.minimum <= v <= spec.maximum]
            for value in values:
                if obj.get(key) == value:
                    continue
                verdict = _verdict(reasoner, {**obj, key: value}, group.action)
                covering = [c for c in found if c.key == key and _holds(reasoner, c, value)]
                if verdict == current:
                    assert not covering, (key, value, [c.text() for c in covering])
                else:
                    assert [c.verdict for c in covering] == [verdict], (
                        group.action, key, value, verdict, [c.text() for c in found])


def test_regions_follow_the_criteria_thresholds(reasoner: Reasoner) -> None:
    from guidegraph.reasoning.counterfactual import fact_regions

    cuts = [r.low for r in fact_regions(reasoner, "minutes_since_onset") if r.low == r.high]
    thresholds = sorted({Decimal(str(c.threshold)) for c in reasoner.plan.criteria
                         if c.key == "minutes_since_onset"})
    assert cuts == thresholds
    assert re.fullmatch(r"\d+", str(fact_regions(reasoner, "evt_passes")[0].pick(True, None)))


def test_regions_of_an_integer_fact_with_decimal_thresholds() -> None:
    """Every integer between thresholds is reachable, and a fact no threshold cuts is one
    region described as any value."""
    from types import SimpleNamespace

    from guidegraph.intake.contract import FactSpec
    from guidegraph.reasoning.counterfactual import _condition, regions

    spec = FactSpec("k", "urn:k", "integer", Decimal(0), Decimal(10))
    cuts = [SimpleNamespace(threshold=Decimal(t)) for t in ("1.5", "3")]
    picks = [r.pick(True, None) for r in regions(spec, cuts)]
    assert picks == [1, None, 2, 3, 4]  # {1.5} holds no integer
    [whole] = regions(spec, [])
    assert _condition("k", spec, [whole]) == "k takes any value"
