"""Golden cases of the decision layer: one verdict per action, from precedence rules as data.

``decisions/guideline`` is a synthetic guideline that exercises every part of the model
(explicit override, more-specific, stronger-grade, retracted-only support, a dependent action,
an unordered pair, an uncertain-only action); ``decisions/cases`` are cases over the stroke
vocabulary and ``decisions/expected`` the full reviewed conclusions. The rescue-stenting
goldens (tests/golden/rescue-stenting/expected) hold the prohibition rule on the shipped guideline.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from guidegraph.cli import main
from guidegraph.knowledge.loading import Knowledge
from guidegraph.provenance import record as provenance
from guidegraph.reasoning.reasoner import Reasoner
from guidegraph.reasoning.result import render_text

ROOT = Path(__file__).parent / "decisions"
CASES = sorted((ROOT / "cases").iterdir())
EXAMPLES = sorted((Path(__file__).parents[2] / "examples").iterdir())
VERDICTS = {"for", "against", "uncertain", "undecided", "conflict"}
#: Examples outside every shipped guideline's population: failed IV thrombolysis and no
#: thrombectomy pass is after the IVT decision and before any rescue after thrombectomy.
OUTSIDE_EVERY_POPULATION = {"failed-thrombolysis-no-evt"}


@pytest.fixture(scope="module")
def demo() -> Reasoner:
    return Reasoner(Knowledge.load([ROOT / "guideline"]))


@pytest.fixture(scope="module")
def demo_sparql(demo: Reasoner) -> Reasoner:
    return Reasoner(demo.knowledge, engine="sparql")


def _case(reasoner: Reasoner, path: Path):
    [case] = list(reasoner.intake.read(path))
    return case


def _conclusions(result) -> dict[str, dict]:
    return {c.action: {k: v for k, v in c.to_json().items()
                       if k in ("decided_by", "overridden", "pending", "missing_facts",
                                "warnings")} | {"verdict": c.direction}
            for c in result.conclusions}


def test_every_case_has_an_expectation() -> None:
    assert {p.stem for p in CASES} == {
        p.name.removesuffix(".expect.json") for p in (ROOT / "expected").iterdir()}


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_expected_conclusions(demo: Reasoner, demo_sparql: Reasoner, path: Path) -> None:
    case = _case(demo, path)
    expected = json.loads((ROOT / "expected" / f"{case.id}.expect.json").read_text())
    result = demo.reason(case)
    assert _conclusions(result) == expected["conclusions"]
    assert demo_sparql.reason(case).to_json() == result.to_json()
    back = provenance.from_triples(provenance.to_triples(result, demo), demo)
    assert back.to_json() == result.to_json()


def test_goldens_cover_every_verdict_and_rule(demo: Reasoner) -> None:
    verdicts, rules = set(), set()
    for path in CASES:
        for c in demo.reason(_case(demo, path)).conclusions:
            verdicts.add(c.direction)
            rules.update(o.rule for o in c.overridden)
    assert verdicts == VERDICTS
    assert rules == {"explicit-override", "more-specific", "stronger-grade"}


def _verdict(demo: Reasoner, name: str, action: str = "demo-x"):
    result = demo.reason(_case(demo, ROOT / "cases" / f"{name}.json"))
    return next((c for c in result.conclusions if c.action == action), None)


def test_possible_defeater_undecided_makes_the_verdict_undecided(demo: Reasoner) -> None:
    """x-late (against) applies; x-strong (for, Class I) would prevail over it but its
    stenosis figure is missing: neither side can be given."""
    c = _verdict(demo, "dd-possible-defeater-undecided")
    assert (c.direction, c.missing_facts) == ("undecided", ["stenosis_percent"])
    assert [(p.id, p.missing_facts) for p in c.pending] == [("x-strong", ["stenosis_percent"])]
    # settling the fact either way settles the verdict
    base = json.loads((ROOT / "cases" / "dd-possible-defeater-undecided.json").read_text())
    for value, verdict in ((70, "for"), (69, "against")):
        result = demo.reason(demo.intake.from_object({**base, "stenosis_percent": value}))
        assert next(c for c in result.conclusions if c.action == "demo-x").direction == verdict


def test_retracted_only_gives_no_support(demo: Reasoner) -> None:
    alone = _verdict(demo, "dd-retracted-only-no-support", "demo-y")
    assert (alone.direction, alone.decided_by) == ("uncertain", [])
    assert alone.warnings == ["y-retracted applies but every source it rests on is retracted "
                              "(retracted [2]): it gives no support to this verdict"]
    beside = _verdict(demo, "dd-retracted-beside-supported", "demo-y")
    assert (beside.direction, beside.decided_by) == ("for", ["y-supported"])


def test_dependent_action_follows_its_parent(demo: Reasoner) -> None:
    assert _verdict(demo, "dd-for-plain", "demo-z").direction == "for"
    assert _verdict(demo, "dd-more-specific-against", "demo-z") is None  # x against: z n/a
    waiting = _verdict(demo, "dd-possible-defeater-undecided", "demo-z")
    assert (waiting.direction, waiting.missing_facts) == ("undecided", ["stenosis_percent"])
    assert _verdict(demo, "dd-unordered-conflict", "demo-z") is None  # conflict is not for


def test_conflict_shows_both_sides(demo: Reasoner) -> None:
    result = demo.reason(_case(demo, ROOT / "cases" / "dd-unordered-conflict.json"))
    assert result.conflicts == [{"action": "demo-x", "for": ["x-strong"],
                                 "against": ["x-embolic"]}]
    strong = next(r for r in result.recommendations if r.id == "x-strong")
    assert result.warnings_of(strong)[-1] == "conflict: also derived against demo-x by x-embolic"


# --- the shipped guidelines -----------------------------------------------------------
def _rescue(reasoner: Reasoner, **facts: object):
    result = reasoner.reason(reasoner.intake.from_object({"id": "d", **facts}))
    return {c.action: c for c in result.conclusions if c.guideline == "rescue-stenting"}


FAILED = {"evt_passes": 3, "tici": "2a", "occlusion_site": "M1", "stenosis_percent": 80,
          "icad_suspected": True, "fixed_focal_stenosis": True, "etiology": "atherosclerotic",
          "reocclusion": False, "flow_limitation": False, "bleeding_risk": "low"}


def test_a_do_not_rule_overrides_several_indications(reasoner: Reasoner) -> None:
    late = _rescue(reasoner, minutes_since_onset=420, **FAILED)["rescue-stenting"]
    assert (late.direction, late.decided_by) == ("against", ["pitfall-beyond-6h"])
    moderate = _rescue(reasoner, minutes_since_onset=250,
                       **{**FAILED, "stenosis_percent": 60})["rescue-stenting"]
    assert (moderate.direction, moderate.decided_by) == (
        "against", ["acute-reserve-for-severe-stenosis"])
    assert {o.id for o in moderate.overridden} == {
        "aha2015-salvage-adjunct", "rs-primary", "rs-summary"}
    assert {o.rule for o in moderate.overridden} == {"prohibition-over-indication"}
    assert all(o.by == ["acute-reserve-for-severe-stenosis"] and o.direction == "for"
               for o in moderate.overridden)
    inside = _rescue(reasoner, minutes_since_onset=360, **FAILED)["rescue-stenting"]
    assert inside.direction == "for" and inside.overridden == []


def test_unmeasured_stenosis_leaves_stenting_undecided(reasoner: Reasoner) -> None:
    facts = {k: v for k, v in FAILED.items() if k != "stenosis_percent"}
    c = _rescue(reasoner, minutes_since_onset=250, **facts)["rescue-stenting"]
    assert c.direction == "undecided" and "stenosis_percent" in c.missing_facts
    assert "acute-reserve-for-severe-stenosis" in {p.id for p in c.pending}


def test_follow_up_actions_follow_the_stenting_verdict(reasoner: Reasoner) -> None:
    for_ = _rescue(reasoner, minutes_since_onset=250, **FAILED)
    assert for_["rescue-stenting"].direction == "for"
    assert for_["reocclusion-monitoring"].direction == "for"
    assert for_["antiplatelet-therapy"].decided_by == ["alg-5-antiplatelet"]
    against = _rescue(reasoner, minutes_since_onset=420, **FAILED)
    assert "reocclusion-monitoring" not in against
    assert "alg-5-antiplatelet" not in against["antiplatelet-therapy"].decided_by


def test_retracted_indication_gives_no_support_in_the_shipped_guideline(
        reasoner: Reasoner) -> None:
    """ind-failed-passes rests only on the retracted reference [2]."""
    c = _rescue(reasoner, minutes_since_onset=250, **FAILED)["rescue-stenting"]
    assert "ind-failed-passes" not in c.decided_by
    assert any(w.startswith("ind-failed-passes applies but every source it rests on is "
                            "retracted") for w in c.warnings)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_examples_give_one_verdict_per_action_in_the_first_lines(path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(main, ["reason", str(path), "--format", "json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    keys = [(c["guideline"], c["action"]) for c in doc["conclusions"]]
    assert len(keys) == len(set(keys))
    assert {c["direction"] for c in doc["conclusions"]} <= VERDICTS
    text = runner.invoke(main, ["reason", str(path), "--format", "text"])
    head = text.stdout.splitlines()[:15]
    if path.stem in OUTSIDE_EVERY_POPULATION:
        # no verdict at all, and the first lines say so and why, guideline by guideline
        assert keys == [] and {g["applies"] for g in doc["guidelines"]} == {"no"}
        assert head[1] == ("DECISIONS (0): one verdict per action; no loaded guideline "
                           "applies to this case")
        for g in doc["guidelines"]:
            at = head.index(next(h for h in head if h.startswith(f"Guideline {g['id']} ")))
            assert head[at + 1].startswith("  not applicable to this case: unmet: ")
        return
    assert keys
    for c in doc["conclusions"]:
        line = f"  {c['action']} [{c['guideline']}]: {c['direction'].upper()}"
        assert any(h.startswith(line) for h in head), (line, head)


def test_validate_reports_the_demo_conflicts_with_witness_cases(tmp_path: Path) -> None:
    """The demo guideline leaves two for/against pairs on demo-x unordered; validate finds a
    case for each, and `guidegraph reason` on that case gives the conflict verdict."""
    runner = CliRunner()
    res = runner.invoke(main, ["validate", str(ROOT / "guideline"), "--no-owl",
                               "--format", "json"])
    assert res.exit_code == 1
    found = [r for r in json.loads(res.stdout)["results"] if "witness" in r]
    pairs = {tuple(sorted(x for x in ("x-strong", "x-embolic", "x-override", "x-late")
                          if f"{x} (" in r["message"])) for r in found}
    assert pairs == {("x-embolic", "x-strong"), ("x-late", "x-override")}
    for r in found:
        assert r["severity"] == "Violation"
        assert "Declare a precedence rule that orders them" in r["message"]
        path = tmp_path / f"{r['witness']['id']}.json"
        path.write_text(json.dumps(r["witness"]))
        doc = json.loads(runner.invoke(main, ["reason", str(path), "--guideline",
                                              str(ROOT / "guideline"), "--format",
                                              "json"]).stdout)
        [x] = [c for c in doc["conclusions"] if c["action"] == "demo-x"]
        assert x["direction"] == "conflict"


def test_membership_by_has_recommendation_alone(tmp_path: Path) -> None:
    """A guideline may list its statements with gg:hasRecommendation only: the rules still
    apply, both engines agree, and the verdicts round-trip."""
    text = (ROOT / "guideline" / "guideline.ttl").read_text()
    blocks = text.split("\n\n")
    recs = [b for b in blocks if "a gg:Recommendation" in b]
    stripped = text
    for block in recs:
        stripped = stripped.replace(block, re.sub(
            r"\s*;\s*gg:partOfGuideline dd:guideline \.", " .", block))
    assert recs and "a gg:Recommendation" in stripped
    folder = tmp_path / "demo"
    folder.mkdir()
    (folder / "guideline.ttl").write_text(stripped)
    assert stripped.count("gg:partOfGuideline dd:guideline") == 1  # the verdict criterion
    compiled = Reasoner(Knowledge.load([folder]))
    sparql = Reasoner(compiled.knowledge, engine="sparql")
    for path in CASES:
        case = _case(compiled, path)
        result = compiled.reason(case)
        assert all(c.guideline == "decision-demo" for c in result.conclusions)
        assert sparql.reason(case).to_json() == result.to_json()
        back = provenance.from_triples(provenance.to_triples(result, compiled), compiled)
        assert back.to_json() == result.to_json()
    late = compiled.reason(_case(compiled, ROOT / "cases" / "dd-more-specific-against.json"))
    [x] = [c for c in late.conclusions if c.action == "demo-x"]
    assert (x.direction, [o.rule for o in x.overridden]) == ("against", ["more-specific"])


@pytest.mark.parametrize("why_not", ["undecided", "none"])
def test_shorter_why_not_keeps_every_verdict_and_counts_the_rest(
        demo: Reasoner, why_not: str) -> None:
    """--why-not undecided|none drop only why-not detail: the verdicts, the derived statements,
    the statements an undecided verdict waits on and every fact a verdict or population waits
    for stay; what is dropped is counted, and the record reads back as the same result."""
    short = Reasoner(demo.knowledge, why_not=why_not)
    unknown_seen = rejected_seen = dropped_seen = 0
    for path in [*CASES, *EXAMPLES]:
        case = _case(demo, path)
        full, brief = demo.reason(case), short.reason(case)
        assert [c.to_json() for c in brief.conclusions] == [c.to_json() for c in full.conclusions]
        assert [r.to_json(full.facts) for r in brief.recommendations] == [
            r.to_json(full.facts) for r in full.recommendations]
        unknown = [r for r in full.not_applicable if r.status == "unknown"]
        unmet = len(full.not_applicable) - len(unknown)
        unknown_seen, rejected_seen = unknown_seen + len(unknown), rejected_seen + unmet
        data = brief.to_json()
        assert data["rejected_not_listed"] == unmet
        if why_not == "undecided":
            assert [r.id for r in brief.not_applicable] == [r.id for r in unknown]
            assert "undecided_not_listed" not in data
            assert brief.missing_facts == full.missing_facts
        else:
            pending = {(c.guideline, p.id) for c in full.conclusions for p in c.pending}
            assert [r.id for r in brief.not_applicable] == [
                r.id for r in unknown if (r.guideline, r.id) in pending]
            assert data["undecided_not_listed"] == len(unknown) - len(brief.not_applicable)
            waited = {m for c in full.conclusions for m in c.missing_facts} | {
                m for a in full.applicability.values() for m in a.missing}
            assert set(brief.missing_facts) == waited <= set(full.missing_facts)
            assert f"STATEMENTS UNDECIDED ({len(unknown)})" in render_text(brief)
            dropped_seen += data["undecided_not_listed"]
        back = provenance.from_triples(provenance.to_triples(brief, short), short).to_json()
        assert back == data and render_text(brief) == render_text(
            provenance.from_triples(provenance.to_triples(brief, short), short))
    # the cases exercise every kind of dropped detail
    assert unknown_seen and rejected_seen and (dropped_seen or why_not == "undecided")
