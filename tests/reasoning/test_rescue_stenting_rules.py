"""Rescue-stenting rules stated directly, independent of the golden files: the failed-
thrombectomy premise and its complement, inclusive edges, do-not rules over every indication,
the basilar tension beyond 6 hours, downstream steps, strength, sources and population data."""

from __future__ import annotations

import itertools

import pytest

from guidegraph.reasoning.reasoner import Reasoner

RS = "https://w3id.org/guidegraph/guideline/rescue-stenting/"
#: Three failed passes at TICI 2a in the M1 segment with a severe stenosis, 200 minutes after
#: onset, no ICAD sign: every "for" statement that counts three passes applies.
FAILED = {"minutes_since_onset": 200, "evt_passes": 3, "tici": "2a", "occlusion_site": "M1",
          "stenosis_percent": 80, "icad_suspected": False, "fixed_focal_stenosis": False,
          "reocclusion": False, "flow_limitation": False, "etiology": "unknown",
          "bleeding_risk": "low"}
BASILAR_ICAD = {**FAILED, "occlusion_site": "basilar", "icad_suspected": True}


def _run(reasoner: Reasoner, **facts: object):
    return reasoner.reason(reasoner.intake.from_object({"id": "edge", **facts}))


def _derived(reasoner: Reasoner, **facts: object) -> dict[str, str]:
    return {r.id: r.direction for r in _run(reasoner, **facts).recommendations
            if r.guideline == "rescue-stenting"}


def _verdicts(reasoner: Reasoner, **facts: object):
    return {c.action: c for c in _run(reasoner, **facts).conclusions
            if c.guideline == "rescue-stenting"}


def _status(reasoner: Reasoner, rec: str, **facts: object) -> str:
    result = _run(reasoner, **facts)
    if any(r.id == rec for r in result.recommendations):
        return "met"
    return next(r.status for r in result.not_applicable if r.id == rec)


# --- 1. the failed-thrombectomy premise and the reperfusion pitfall ---------------------
def test_premise_and_reperfusion_pitfall_are_complementary(reasoner: Reasoner) -> None:
    """With a known pass count, every TICI grade and reocclusion / flow-limitation finding
    makes exactly one of rs-primary (failed thrombectomy) and pitfall-tici-2b3 apply."""
    for tici, reocclusion, flow in itertools.product(
            ["0", "1", "2a", "2b", "2c", "3"], [False, True], [False, True]):
        facts = {**FAILED, "evt_passes": 1, "tici": tici, "reocclusion": reocclusion,
                 "flow_limitation": flow}
        derived = _derived(reasoner, **facts)
        failed = "rs-primary" in derived
        reperfused = "pitfall-tici-2b3" in derived
        assert failed != reperfused, facts
        assert failed == (tici in ("0", "1", "2a") or reocclusion or flow), facts
        assert reperfused == ("pitfall-tici-2b3-no-intervention" in derived)


def test_tici_2b_with_reocclusion_not_stated_is_undecided_naming_it(reasoner: Reasoner) -> None:
    facts = {k: v for k, v in FAILED.items() if k != "reocclusion"}
    v = _verdicts(reasoner, **{**facts, "tici": "2b", "evt_passes": 1})
    assert (v["rescue-stenting"].direction, v["rescue-stenting"].missing_facts) == (
        "undecided", ["reocclusion"])
    assert v["no-additional-intervention"].missing_facts == ["reocclusion"]


@pytest.mark.parametrize(("missing", "key"), [("evt_passes", "evt_passes"), ("tici", "tici")])
def test_unknown_premise_fact_is_undecided_naming_it(reasoner: Reasoner, missing: str,
                                                     key: str) -> None:
    facts = {k: v for k, v in FAILED.items() if k != missing}
    c = _verdicts(reasoner, **facts)["rescue-stenting"]
    assert (c.direction, c.missing_facts) == ("undecided", [key])


def test_three_passes_only_where_the_source_counts_them(reasoner: Reasoner) -> None:
    """rs-summary ('multiple passes', read as three) and the algorithm need three passes;
    rs-primary and the 2015 statement need one failed pass; the verdict is for either way."""
    two = _derived(reasoner, **{**FAILED, "evt_passes": 2})
    three = _derived(reasoner, **FAILED)
    one = _derived(reasoner, **{**FAILED, "evt_passes": 1})
    for derived in (one, two):
        assert {"rs-primary", "aha2015-salvage-adjunct", "ind-severe-stenosis"} <= set(derived)
        assert not {"rs-summary", "alg-2-rescue-stenting", "ind-failed-passes"} & set(derived)
    assert {"rs-summary", "alg-2-rescue-stenting", "ind-failed-passes"} <= set(three)
    for passes in (1, 2, 3):
        assert _verdicts(reasoner, **{**FAILED, "evt_passes": passes})[
            "rescue-stenting"].direction == "for"


# --- 10. population ------------------------------------------------------------------------
def test_failed_thrombolysis_without_a_pass_is_outside_the_population(
        reasoner: Reasoner) -> None:
    result = _run(reasoner, ivt_given=True, ivt_failed=True, evt_passes=0,
                  minutes_since_onset=120)
    app = result.applicability["rescue-stenting"]
    assert app.applies == "no"
    assert {(c.criterion, c.status) for c in app.criteria} == {
        ("evt-attempted", "unmet"), ("setting-elective", "unmet")}
    assert not [r for r in (*result.recommendations, *result.not_applicable)
                if r.guideline == "rescue-stenting"]
    assert not [c for c in result.conclusions if c.guideline == "rescue-stenting"]


def test_pass_count_unknown_leaves_the_population_undecided(reasoner: Reasoner) -> None:
    facts = {k: v for k, v in FAILED.items() if k != "evt_passes"}
    result = _run(reasoner, **facts)
    app = result.applicability["rescue-stenting"]
    assert (app.applies, app.missing) == ("undecided", ["evt_passes"])
    verdicts = [c for c in result.conclusions if c.guideline == "rescue-stenting"]
    assert verdicts and all((c.direction, c.missing_facts) == ("undecided", ["evt_passes"])
                            for c in verdicts)
    # elective secondary prevention needs no thrombectomy: the population holds
    elective = _run(reasoner, setting="elective", stenosis_percent=80)
    assert elective.applicability["rescue-stenting"].applies == "yes"


def test_each_rescue_statement_still_names_the_missing_pass(reasoner: Reasoner) -> None:
    """Inside the population the premise is unmet only through its own facts; the premise
    keeps the why-not path of a recommendation explained on its own (explain --rec)."""
    result = _run(reasoner, **{**FAILED, "tici": "3", "evt_passes": 1})
    primary = next(r for r in result.not_applicable if r.id == "rs-primary")
    assert primary.status == "unmet"
    assert {c.criterion for c in primary.criteria} == {
        "tici-below-2b", "sign-reocclusion", "sign-flow-limitation"}
    assert all(c.via == ["failed-thrombectomy", "reperfusion-failed"]
               for c in primary.criteria)


# --- 2. do-not rules and their edges ------------------------------------------------------
def test_six_hour_window_is_inclusive(reasoner: Reasoner) -> None:
    at_360 = _verdicts(reasoner, **{**FAILED, "minutes_since_onset": 360})["rescue-stenting"]
    at_361 = _verdicts(reasoner, **{**FAILED, "minutes_since_onset": 361})["rescue-stenting"]
    assert at_360.direction == "for" and "aha2015-salvage-adjunct" in at_360.decided_by
    assert (at_361.direction, at_361.decided_by) == ("against", ["pitfall-beyond-6h"])
    # every "for" but the basilar consensus carries the window: none applies at 361
    late = _derived(reasoner, **{**FAILED, "minutes_since_onset": 361})
    assert [r for r, d in late.items() if d == "for" and r.startswith(("rs-", "ind-", "aha"))] \
        == []


def test_unknown_time_is_undecided_naming_it(reasoner: Reasoner) -> None:
    facts = {k: v for k, v in FAILED.items() if k != "minutes_since_onset"}
    c = _verdicts(reasoner, **facts)["rescue-stenting"]
    assert (c.direction, c.missing_facts) == ("undecided", ["minutes_since_onset"])


@pytest.mark.parametrize(("stenosis", "verdict"), [(70, "for"), (69.5, "against"),
                                                   (69, "against"), (50, "against")])
def test_reserve_for_severe_stenosis_gates_every_indication(reasoner: Reasoner,
                                                            stenosis: float,
                                                            verdict: str) -> None:
    c = _verdicts(reasoner, **{**FAILED, "evt_passes": 1, "stenosis_percent": stenosis})[
        "rescue-stenting"]
    assert c.direction == verdict
    if verdict == "against":
        assert c.decided_by == ["acute-reserve-for-severe-stenosis"]
        # the graded 2015 statement is set aside too: prohibition whatever the grade
        assert {(o.id, o.rule) for o in c.overridden} >= {
            ("aha2015-salvage-adjunct", "prohibition-over-indication")}


def test_embolic_pitfall_below_50_percent(reasoner: Reasoner) -> None:
    at_49 = _verdicts(reasoner, **{**FAILED, "etiology": "embolic", "stenosis_percent": 49})
    at_50 = _verdicts(reasoner, **{**FAILED, "etiology": "embolic", "stenosis_percent": 50})
    assert at_49["rescue-stenting"].decided_by == ["acute-reserve-for-severe-stenosis",
                                                   "pitfall-embolic-no-stenosis"]
    assert at_50["rescue-stenting"].decided_by == ["acute-reserve-for-severe-stenosis"]
    unmeasured = {k: v for k, v in FAILED.items() if k != "stenosis_percent"}
    c = _verdicts(reasoner, **{**unmeasured, "etiology": "embolic"})["rescue-stenting"]
    assert (c.direction, c.missing_facts) == ("undecided", ["stenosis_percent"])


# --- 3. ICAD signs recognise ICAD; stenting still needs 70 % --------------------------------
def test_icad_signs_do_not_indicate_stenting_by_themselves(reasoner: Reasoner) -> None:
    sign = {**FAILED, "fixed_focal_stenosis": True}
    assert _verdicts(reasoner, **{**sign, "stenosis_percent": 60})[
        "rescue-stenting"].direction == "against"
    assert _status(reasoner, "ind-icad", **{**sign, "stenosis_percent": 60}) == "unmet"
    unmeasured = {k: v for k, v in sign.items() if k != "stenosis_percent"}
    c = _verdicts(reasoner, **unmeasured)["rescue-stenting"]
    assert (c.direction, c.missing_facts) == ("undecided", ["stenosis_percent"])
    assert "ind-icad" in _derived(reasoner, **{**sign, "stenosis_percent": 70})


# --- 4. strength and support ----------------------------------------------------------------
def test_for_verdict_carries_the_quoted_society_grade(reasoner: Reasoner) -> None:
    c = _verdicts(reasoner, **FAILED)["rescue-stenting"]
    assert c.direction == "for"
    assert c.strength == "ACC/AHA Class IIb, LOE B-R"
    assert c.decided_by[0] == "aha2015-salvage-adjunct"
    assert "ind-failed-passes" not in c.decided_by
    assert any(w.startswith("ind-failed-passes applies but every source it rests on is "
                            "retracted") for w in c.warnings)
    basilar = _verdicts(reasoner, **BASILAR_ICAD)["rescue-stenting"]
    assert basilar.decided_by[:2] == ["aha2015-salvage-adjunct", "eso2024-bao-rescue"]
    anterior = _verdicts(reasoner, **{**FAILED, "icad_suspected": True})["rescue-stenting"]
    # the source's own extrapolation is not graded and ranks after both society grades
    assert anterior.decided_by.index("eso-principle-anterior") > 0


def test_retracted_citation_warning_on_derived_recommendation(reasoner: Reasoner) -> None:
    recs = {r.id: r for r in _run(reasoner, **FAILED).recommendations}
    assert any("retracted reference [2]" in w for w in recs["ind-failed-passes"].warnings)
    assert any("retracted reference [2]" in w and "through evidence ev-mortality" in w
               for w in recs["rs-primary"].warnings)
    assert not any("retracted" in w for w in recs["aha2015-salvage-adjunct"].warnings)


# --- 5. basilar occlusion beyond 6 hours ----------------------------------------------------
@pytest.mark.parametrize(("minutes", "verdict"), [(360, "for"), (361, "uncertain"),
                                                  (480, "uncertain")])
def test_basilar_icad_beyond_six_hours_is_uncertain(reasoner: Reasoner, minutes: int,
                                                    verdict: str) -> None:
    c = _verdicts(reasoner, **{**BASILAR_ICAD, "minutes_since_onset": minutes})[
        "rescue-stenting"]
    assert c.direction == verdict
    if verdict == "uncertain":
        assert c.decided_by == ["basilar-beyond-6h-uncertain"]
        both = {(o.id, o.rule, tuple(o.by)) for o in c.overridden}
        assert both == {
            ("pitfall-beyond-6h", "explicit-override", ("basilar-beyond-6h-uncertain",)),
            ("eso2024-bao-rescue", "explicit-override", ("basilar-beyond-6h-uncertain",)),
            ("eso2024-bao-rescue", "prohibition-over-indication", ("pitfall-beyond-6h",))}
        assert _run(reasoner, **{**BASILAR_ICAD, "minutes_since_onset": minutes}).conflicts \
            == []


def test_basilar_beyond_six_hours_without_icad_is_against(reasoner: Reasoner) -> None:
    no_icad = {**BASILAR_ICAD, "icad_suspected": False, "minutes_since_onset": 480}
    assert _verdicts(reasoner, **no_icad)["rescue-stenting"].decided_by == ["pitfall-beyond-6h"]
    unknown = {k: v for k, v in no_icad.items()
               if k not in ("icad_suspected", "fixed_focal_stenosis", "etiology")}
    c = _verdicts(reasoner, **unknown)["rescue-stenting"]
    assert (c.direction, c.missing_facts) == (
        "undecided", ["icad_suspected", "fixed_focal_stenosis", "etiology"])


# --- 6. downstream actions ----------------------------------------------------------------
def test_steps_5_and_6_follow_the_stenting_verdict_whatever_the_passes(
        reasoner: Reasoner) -> None:
    one_pass = _verdicts(reasoner, **{**FAILED, "evt_passes": 1})
    assert one_pass["rescue-stenting"].direction == "for"
    assert one_pass["antiplatelet-therapy"].decided_by == ["alg-5-antiplatelet"]
    assert one_pass["reocclusion-monitoring"].direction == "for"
    late = _verdicts(reasoner, **{**FAILED, "minutes_since_onset": 420})
    assert "reocclusion-monitoring" not in late
    assert "alg-5-antiplatelet" not in late["antiplatelet-therapy"].decided_by
    no_risk = {k: v for k, v in FAILED.items() if k != "bleeding_risk"}
    unknown = _verdicts(reasoner, **no_risk)
    assert unknown["rescue-stenting"].direction == "for"
    assert (unknown["antiplatelet-therapy"].direction,
            unknown["antiplatelet-therapy"].missing_facts) == ("undecided", ["bleeding_risk"])


def test_tirofiban_step_is_on_the_severe_stenosis_branch(reasoner: Reasoner) -> None:
    assert "alg-3-ia-tirofiban" in _derived(reasoner, **{**FAILED, "stenosis_percent": 70})
    assert _status(reasoner, "alg-3-ia-tirofiban", **{**FAILED, "stenosis_percent": 69}) \
        == "unmet"


def test_add_on_antithrombotic_by_bleeding_risk(reasoner: Reasoner) -> None:
    low = _verdicts(reasoner, **FAILED)["antithrombotic-addon"]
    assert (low.direction, low.decided_by) == ("for", ["eso2024-addon-antithrombotic"])
    high = _verdicts(reasoner, **{**FAILED, "bleeding_risk": "high"})["antithrombotic-addon"]
    assert (high.direction, high.decided_by) == (
        "uncertain", ["eso2024-addon-antithrombotic-high-bleeding-risk"])
    assert {(o.id, o.rule) for o in high.overridden} == {
        ("eso2024-addon-antithrombotic", "explicit-override")}
    reperfused = {**FAILED, "tici": "3", "evt_passes": 1}
    assert "antithrombotic-addon" not in _verdicts(reasoner, **reperfused)


# --- 7. intra-arterial GP IIb/IIIa alternative ---------------------------------------------
def test_gp2b3a_alternative_needs_failed_thrombectomy_and_severe_basilar_stenosis(
        reasoner: Reasoner) -> None:
    assert "alt-ia-gp2b3a-basilar" in _derived(reasoner, **BASILAR_ICAD)
    for facts in ({**BASILAR_ICAD, "stenosis_percent": 69},
                  {**BASILAR_ICAD, "tici": "3", "evt_passes": 1},
                  {**BASILAR_ICAD, "occlusion_site": "M1"}):
        assert _status(reasoner, "alt-ia-gp2b3a-basilar", **facts) == "unmet", facts
    high = _derived(reasoner, **{**BASILAR_ICAD, "bleeding_risk": "high"})
    assert "alt-ia-gp2b3a-high-bleeding-risk" in high
    assert "alt-ia-gp2b3a-high-bleeding-risk" not in _derived(reasoner, **BASILAR_ICAD)


# --- 8. tandem cervical lesion --------------------------------------------------------------
@pytest.mark.parametrize(("passes", "cervical", "verdict"), [
    (1, 70, "uncertain"), (1, 100, "uncertain"), (1, 69, None), (0, 90, None)])
def test_tandem_cervical_stenting_at_the_time_of_thrombectomy(
        reasoner: Reasoner, passes: int, cervical: int, verdict: str | None) -> None:
    facts = {**FAILED, "tici": "2b", "evt_passes": passes, "cervical_ica_stenosis_percent":
             cervical}
    c = _verdicts(reasoner, **facts).get("cervical-stenting")
    assert (c.direction if c else None) == verdict
    if c:
        assert c.strength == "ACC/AHA Class IIb, LOE C"


# --- settings --------------------------------------------------------------------------
def test_elective_harm_does_not_fire_in_acute_setting_and_vice_versa(reasoner: Reasoner) -> None:
    acute = _derived(reasoner, setting="acute", **FAILED)
    elective = _derived(reasoner, setting="elective", **FAILED)
    assert "aha2021-severe-stenosis-harm" not in acute and "ind-severe-stenosis" in acute
    assert elective == {"aha2021-severe-stenosis-harm": "against"}
    assert _derived(reasoner, setting="elective", stenosis_percent=100) == {}
    assert _derived(reasoner, setting="elective", stenosis_percent=69.5) == {
        "aha2021-moderate-stenosis-harm": "against"}


def test_setting_defaults_to_acute_and_says_so(reasoner: Reasoner) -> None:
    result = _run(reasoner, **FAILED)
    assert result.facts["setting"] == "acute" and result.defaulted == ["setting"]


# --- sources and population as data --------------------------------------------------------
def _ask(reasoner: Reasoner, query: str) -> bool:
    prefixes = ("PREFIX gg: <https://w3id.org/guidegraph/ontology#>\n"
                f"PREFIX rs: <{RS}>\n")
    return bool(reasoner.knowledge.store.query(prefixes + query))


def test_sources_inconsistencies_and_population_are_recorded(reasoner: Reasoner) -> None:
    assert _ask(reasoner, "ASK { rs:ref-1 a gg:SecondarySource, gg:Citation }")
    for ev in ("ev-functional-outcome", "ev-dapt-new-infarcts", "ev-dapt-sich"):
        assert _ask(reasoner, f"ASK {{ rs:{ev} gg:dataQualityNote ?n }}"), ev
    assert _ask(reasoner, 'ASK { rs:ev-functional-outcome gg:dataQualityNote ?n '
                          'FILTER(CONTAINS(?n, "2.29")) }')
    assert _ask(reasoner, "ASK { rs:rec-summary gg:sourceInconsistency ?s }")
    assert _ask(reasoner, "ASK { rs:rec-basilar-beyond-6h gg:sourceInconsistency ?s ; "
                          "gg:overrides rs:rec-pitfall-beyond-6h, rs:rec-eso2024-bao-rescue }")
    assert not _ask(reasoner, "ASK { rs:rec-alt-gp2b3a gg:originGuideline ?o }")
    assert _ask(reasoner, "ASK { rs:guideline gg:population rs:pop-rescue-or-elective . "
                          "rs:pop-rescue-or-elective gg:member rs:crit-setting-elective }")
