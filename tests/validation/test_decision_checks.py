"""Decision checks in `guidegraph validate`: conflicts, unreachable statements, cycles.

Every fixture under decisions/ is a small, otherwise clean guideline over the stroke case
vocabulary with one decision problem; the expected set lists (severity, source, focus)
exactly, and each message must name its fix. Witness cases are re-run through
`guidegraph reason`, as an author would.
"""

from __future__ import annotations

import functools
import json
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from guidegraph.authoring import decisions as decision_checks
from guidegraph.authoring.report import ValidationReport
from guidegraph.authoring.validate import validate
from guidegraph.cli import main
from guidegraph.errors import ConfigurationError
from guidegraph.intake.contract import FactSpec
from guidegraph.knowledge.loading import Knowledge
from guidegraph.reasoning.reasoner import Reasoner

DECISIONS = Path(__file__).parent / "decisions"
SHAPES = Path(__file__).parents[2] / "shapes" / "authoring.ttl"
V, W, INFO = "Violation", "Warning", "Info"
CONFLICT = "ggsh:DecisionCheck-conflict"

# fixture -> [(severity, source, focus, phrase the message must contain)]
EXPECTED: dict[str, list[tuple[str, str, str, str]]] = {
    "conflict": [
        (V, CONFLICT, "ex:guideline", "Declare a precedence rule that orders them"),
    ],
    "precedence-cycle": [
        (V, CONFLICT, "ex:guideline", "gg:overrides that breaks the cycle"),
        (V, "ggsh:DecisionCheck-overrideCycle", "ex:rec-a",
         "rec-a gg:overrides rec-b gg:overrides rec-c gg:overrides rec-a"),
    ],
    "override-cycle": [
        (V, "ggsh:DecisionCheck-overrideCycle", "ex:rec-a", "remove the gg:overrides"),
    ],
    "dependency-cycle": [
        (V, "ggsh:DecisionCheck-dependencyCycle", "ex:guideline",
         "Make one of the actions independent"),
    ],
    "never-applies": [
        (W, "ggsh:DecisionCheck-neverApplies", "ex:rec-contradictory",
         "Check the thresholds for a contradiction"),
    ],
    "never-prevails": [
        (W, "ggsh:DecisionCheck-neverPrevails", "ex:rec-late-stenting",
         "narrow the prevailing statement's criteria, or declare gg:overrides"),
    ],
    "not-loaded": [
        (V, "ggsh:DecisionCheck-notLoaded", "ex:guideline", "fix what the message names"),
    ],
}


@functools.cache
def _run(name: str) -> ValidationReport:
    """One validation run per fixture, shared by the tests that read its report."""
    return validate([DECISIONS / f"{name}.ttl"], hermit=False)


def _witness(name: str) -> dict:
    (result,) = [r for r in _run(name).results if r.source == CONFLICT]
    assert result.witness is not None
    return result.witness


def _reason(case: dict, guideline: Path, tmp_path: Path) -> dict:
    path = tmp_path / "witness.json"
    path.write_text(json.dumps(case))
    res = CliRunner().invoke(main, ["reason", str(path), "--guideline", str(guideline),
                                    "--format", "json"])
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


def test_every_fixture_has_an_expectation() -> None:
    assert {p.stem for p in DECISIONS.glob("*.ttl")} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_triggers_exactly_the_intended_results(name: str) -> None:
    report = _run(name)
    got = {(r.severity, r.source, r.focus) for r in report.results}
    assert got == {(sev, src, focus) for sev, src, focus, _ in EXPECTED[name]}, report.to_text()
    assert len(report.results) == len(EXPECTED[name]), report.to_text()
    for sev, src, focus, phrase in EXPECTED[name]:
        messages = [r.message for r in report.results if (r.severity, r.source, r.focus)
                    == (sev, src, focus)]
        assert any(phrase in m for m in messages), (phrase, messages)
    assert report.conforms == all(sev != V for sev, *_ in EXPECTED[name])


@pytest.mark.parametrize("name", ["conflict", "precedence-cycle"])
def test_conflict_witness_reruns_as_conflict(name: str, tmp_path: Path) -> None:
    witness = _witness(name)
    assert set(witness) <= {"id", "setting", "minutes_since_onset", "stenosis_percent",
                            "evt_passes"}
    doc = _reason(witness, DECISIONS / f"{name}.ttl", tmp_path)
    (verdict,) = [c for c in doc["conclusions"] if c["action"] == "rescue-stenting"]
    assert verdict["direction"] == "conflict"


def test_conflict_message_names_the_action_and_both_sides() -> None:
    (result,) = [r for r in _run("conflict").results if r.source == CONFLICT]
    assert "Action rescue-stenting: rec-for (for) and rec-against (against)" in result.message
    assert "gg:overrides" in result.message
    # the witness sits on the boundaries the criteria draw
    assert result.witness == {"id": "conflict-rescue-stenting-rec-for-rec-against",
                              "setting": "acute", "minutes_since_onset": 361,
                              "stenosis_percent": 70}


def test_validate_cli_shows_the_witness_in_text_json_and_turtle() -> None:
    fixture = str(DECISIONS / "conflict.ttl")
    runner = CliRunner()
    text = runner.invoke(main, ["validate", fixture, "--no-owl"])
    assert text.exit_code == 1
    (line,) = [x for x in text.stdout.splitlines() if "witness case:" in x]
    shown = json.loads(line.split("witness case:", 1)[1])
    assert shown["minutes_since_onset"] == 361
    assert text.stdout.rstrip().endswith("1 violations, 0 warnings, 0 info")

    as_json = runner.invoke(main, ["validate", fixture, "--no-owl", "--format", "json"])
    assert as_json.exit_code == 1
    (result,) = json.loads(as_json.stdout)["results"]
    assert result["witness"] == shown
    assert result["severity"] == V

    turtle = runner.invoke(main, ["validate", fixture, "--no-owl", "--format", "turtle"])
    assert turtle.exit_code == 1
    import rdflib

    g = rdflib.Graph().parse(data=turtle.stdout, format="turtle")
    (literal,) = g.objects(None, rdflib.URIRef("https://w3id.org/guidegraph/shapes#witnessCase"))
    assert json.loads(str(literal)) == shown


def test_warnings_alone_exit_0() -> None:
    res = CliRunner().invoke(main, ["validate", str(DECISIONS / "never-applies.ttl"),
                                    "--no-owl"])
    assert res.exit_code == 0, res.output
    assert "0 violations, 1 warnings, 0 info" in res.stdout


def test_never_applies_names_the_criteria() -> None:
    (result,) = _run("never-applies").results
    assert "rec-contradictory never applies" in result.message
    assert "stenosis_percent < 50; stenosis_percent >= 70" in result.message


def test_never_prevails_names_only_the_defeater_that_covers_every_case() -> None:
    (result,) = _run("never-prevails").results
    assert "whenever it applies, rec-not-late (prohibition-over-indication) applies too" \
        in result.message
    assert "rec-not-critical" not in result.message  # prevails over it too, but not always


def test_dependency_cycle_is_named_and_the_reasoner_refuses_the_guideline() -> None:
    (result,) = _run("dependency-cycle").results
    assert "antiplatelet-therapy -> rescue-stenting -> antiplatelet-therapy" in result.message
    assert "after-antiplatelet, after-stenting" in result.message
    with pytest.raises(ConfigurationError, match="cycle"):
        Reasoner(Knowledge.load([DECISIONS / "dependency-cycle.ttl"]))


def test_a_dependency_cycle_skips_only_its_own_guideline(
        monkeypatch: pytest.MonkeyPatch) -> None:
    checked: list[str] = []
    real = decision_checks.check_decisions

    def spy(reasoner: Reasoner, budget: int) -> list:
        checked.extend(g["id"] for g in reasoner.guidelines)
        return real(reasoner, budget)

    monkeypatch.setattr(decision_checks, "check_decisions", spy)
    shipped = Path(__file__).parents[2] / "guidelines" / "ivt-eligibility"
    report = validate([DECISIONS / "dependency-cycle.ttl", shipped], hermit=False)
    assert checked == ["ivt-eligibility"]
    sources = {r.source for r in report.results if r.severity == V}
    assert sources == {"ggsh:DecisionCheck-dependencyCycle"}


def test_a_spent_budget_is_info_and_claims_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(decision_checks, "DEFAULT_BUDGET", 1)
    report = validate([DECISIONS / "conflict.ttl"], hermit=False)  # not the shared run
    assert report.results
    assert {(r.severity, r.source) for r in report.results} == {
        (INFO, "ggsh:DecisionCheck-searchIncomplete")}
    assert all("nothing is claimed" in r.message for r in report.results)
    assert report.conforms


def test_search_is_exhaustive_and_deterministic() -> None:
    reasoner = Reasoner(Knowledge.load([DECISIONS / "never-applies.ttl"]))
    search = decision_checks.WitnessSearch(reasoner)
    by_id = {s.id: s.iri for s in reasoner.recommendations}

    def always(_result: object) -> bool:
        return True

    none = search.find([by_id["rec-contradictory"]], [], always, "x")
    assert none.witness is None and none.complete
    assert none.evaluations < 50  # pruned: contradicting values are never combined
    first = search.find([by_id["rec-ok"]], [], always, "x")
    assert first.witness is not None and first == search.find([by_id["rec-ok"]], [], always, "x")


def test_a_witness_the_reasoner_rejects_is_not_reported() -> None:
    reasoner = Reasoner(Knowledge.load([DECISIONS / "never-applies.ttl"]))
    search = decision_checks.WitnessSearch(reasoner)
    rec = next(s.iri for s in reasoner.recommendations if s.id == "rec-ok")
    found = search.find([rec], [], lambda _result: False, "x")
    assert found.witness is None and found.complete


def test_the_model_the_search_prunes_on_agrees_with_the_reasoner() -> None:
    """Statuses under generated (often partial) cases, dependent actions included."""
    from guidegraph.reasoning.casegen import generated_cases
    from guidegraph.reasoning.plan import STATUS_CODE

    reasoner = Reasoner(Knowledge.load())
    search = decision_checks.WitnessSearch(reasoner)
    recs = [s.iri for s in reasoner.recommendations]
    guideline_of = {s.iri: s.guideline for s in reasoner.recommendations}
    assert any(s.verdict_iris for s in reasoner.recommendations)
    outside = {"no": 0, "undecided": 0}
    for obj in generated_cases(reasoner, 300, seed=11):
        case = reasoner.intake.from_object(obj)
        result = reasoner.reason(case)
        applies = {g: a.applies for g, a in result.applicability.items()}
        model = search.values(recs, case.facts)
        # outside its guideline's population a statement lists no outcome; the model reads
        # the population as part of its criteria: unmet outside it, at most unknown while
        # the population is undecided
        for rec, value in model.items():
            status = applies.get(guideline_of[rec], "yes")
            if status != "yes":
                outside[status] += 1
                assert value <= (0 if status == "no" else 1), (obj, rec)
        real = {o.iri: STATUS_CODE[o.status] for o in (*result.recommendations,
                                                  *result.not_applicable)}
        shown = {r: v for r, v in model.items()
                 if applies.get(guideline_of[r], "yes") == "yes"}
        assert shown == real, obj
    assert outside["no"] and outside["undecided"]  # both population outcomes were exercised


def test_candidate_values_cover_every_region_inside_the_range() -> None:
    def crit(t: object) -> SimpleNamespace:
        return SimpleNamespace(threshold=t)

    minutes = FactSpec("m", "urn:m", "integer", Decimal(0), Decimal(10080))
    # one value per region: {0}, (0, 360), {360}, (360, 10080]
    assert decision_checks.candidate_values(minutes, [crit(360), crit(0)]) == [0, 1, 360, 361]
    percent = FactSpec("p", "urn:p", "decimal", Decimal(0), Decimal(100))
    got = decision_checks.candidate_values(percent, [crit(70), crit(Decimal("70.2"))])
    assert Decimal("70.1") in got  # the midpoint: 70.5 would jump over (70, 70.2)
    assert got == sorted(got) and min(got) >= 0 and max(got) <= 100
    assert len(decision_checks.candidate_values(percent, [])) == 1  # e.g. for `known`
    flag = FactSpec("f", "urn:f", "boolean")
    assert decision_checks.candidate_values(flag, []) == [False, True]
    concept = FactSpec("c", "urn:c", "concept", allowed={"a": "urn:a", "b": "urn:b"})
    assert decision_checks.candidate_values(concept, []) == ["urn:a", "urn:b"]


def test_every_decision_check_source_is_described_and_exercised() -> None:
    import rdflib

    from guidegraph.authoring import flow
    from guidegraph.authoring.shacl import WITNESS_CASE

    shapes = rdflib.Graph().parse(SHAPES)
    sources = {v for module in (flow, decision_checks) for k, v in vars(module).items()
               if k.startswith("DECISION_")}
    nm = shapes.namespace_manager
    for source in (*sources, WITNESS_CASE):
        assert shapes.value(source, rdflib.RDFS.label) is not None, source
        assert shapes.value(source, rdflib.RDFS.comment) is not None, source
    exercised = {src for rows in EXPECTED.values() for _, src, _, _ in rows}
    exercised.add("ggsh:DecisionCheck-searchIncomplete")  # test_a_spent_budget_...
    assert {nm.normalizeUri(s) for s in sources} == exercised


@pytest.fixture(scope="module")
def shipped() -> ValidationReport:
    return validate(None, hermit=False)


def test_shipped_guidelines_have_no_conflict(shipped: ValidationReport) -> None:
    decision = [r for r in shipped.results if (r.source or "").startswith("ggsh:DecisionCheck")]
    assert not [r for r in decision if r.source == CONFLICT], shipped.to_text()
    # the budget is ample for them: every search ran to the end
    assert not [r for r in decision if r.severity == INFO], shipped.to_text()
    assert shipped.timings["decisions_s"] < 5
