"""IV alteplase eligibility (2019 AHA/ASA, section 3.5): thresholds and rules stated directly,
independent of the golden files (tests/golden/ivt-eligibility)."""

from __future__ import annotations

import json
from pathlib import Path

from guidegraph.reasoning.reasoner import Reasoner

IVT = Path(__file__).parents[1] / "golden" / "ivt-eligibility"
CASES = sorted((IVT / "cases").iterdir())


# --- Thresholds and rules stated directly, independent of the golden files ---------------
ELIGIBLE = json.loads((IVT / "cases" / "ivt-eligible-0-3h.json").read_text())


def _result(reasoner: Reasoner, drop: tuple[str, ...] = (), **changes: object):
    obj = {k: v for k, v in ELIGIBLE.items() if k not in drop}
    return reasoner.reason(reasoner.intake.from_object({**obj, "id": "edge", **changes}))


def _ivt(reasoner: Reasoner, drop: tuple[str, ...] = (), **changes: object) -> dict[str, str]:
    return {r.id: r.direction for r in _result(reasoner, drop, **changes).recommendations
            if r.action in ("iv-alteplase", "bp-lowering-before-ivt")}


def _verdict(reasoner: Reasoner, drop: tuple[str, ...] = (), action: str = "iv-alteplase",
             **changes: object) -> tuple[str, list[str], dict[str, str], list[str]] | None:
    """The guideline's verdict on one action: (verdict, decided_by, overridden, missing)."""
    for c in _result(reasoner, drop, **changes).conclusions:
        if (c.guideline, c.action) == ("ivt-eligibility", action):
            return (c.direction, c.decided_by, {o.id: o.rule for o in c.overridden},
                    c.missing_facts)
    return None


def test_time_windows_are_inclusive_as_worded(reasoner: Reasoner) -> None:
    assert _ivt(reasoner, minutes_since_onset=180) == {"ivt-0-3h": "for"}
    assert _ivt(reasoner, minutes_since_onset=181) == {"ivt-3-4.5h-selected": "for"}
    assert _ivt(reasoner, minutes_since_onset=270) == {"ivt-3-4.5h-selected": "for"}
    assert _ivt(reasoner, minutes_since_onset=271, minutes_since_symptom_recognition=271) == {}


def test_blood_pressure_must_be_below_185_110(reasoner: Reasoner) -> None:
    assert _ivt(reasoner, systolic_bp_mmhg=184, diastolic_bp_mmhg=109) == {"ivt-0-3h": "for"}
    lower_first = {"bp-below-185-110-before-ivt": "for"}
    assert _ivt(reasoner, systolic_bp_mmhg=185) == lower_first
    assert _ivt(reasoner, diastolic_bp_mmhg=110) == lower_first


def test_blood_pressure_lowering_also_for_unknown_onset_with_mismatch(reasoner: Reasoner) -> None:
    wake_up = {"minutes_since_onset": 540, "minutes_since_symptom_recognition": 90,
               "dwi_flair_mismatch": True}
    high = {"systolic_bp_mmhg": 190, "diastolic_bp_mmhg": 100}
    assert _ivt(reasoner, **wake_up) == {"ivt-unknown-onset-dwi-flair": "for"}
    assert _ivt(reasoner, **wake_up, **high) == {"bp-below-185-110-before-ivt": "for"}
    assert _verdict(reasoner, action="bp-lowering-before-ivt", **wake_up, **high) == (
        "for", ["bp-below-185-110-before-ivt"], {}, [])
    # no mismatch, or recognized more than 4.5 h ago: not a candidate, nothing to lower for
    assert _ivt(reasoner, **{**wake_up, "dwi_flair_mismatch": False}, **high) == {}
    assert _ivt(reasoner, **{**wake_up, "minutes_since_symptom_recognition": 271}, **high) == {}


def test_glucose_below_50_and_above_400(reasoner: Reasoner) -> None:
    # "<50 or >400 mg/dL": 50 and 400 are in range, whatever glucose_normalized says
    for value in (50, 400):
        assert _ivt(reasoner, glucose_mg_dl=value) == {"ivt-0-3h": "for"}
        assert _ivt(reasoner, glucose_mg_dl=value, glucose_normalized=False) == {
            "ivt-0-3h": "for"}
    # uncorrected hypoglycemia or marked hyperglycemia: not now
    uncorrected = {"no-ivt-glucose-not-normalized": "against"}
    for value in (49, 49.9, 400.5, 401, 450):
        assert _ivt(reasoner, glucose_mg_dl=value, glucose_normalized=False) == uncorrected
        assert _verdict(reasoner, glucose_mg_dl=value, glucose_normalized=False) == (
            "against", ["no-ivt-glucose-not-normalized"], {}, [])
        # subsequently normalized: may be reasonable (IIb), not the Class I of the window
        assert _ivt(reasoner, glucose_mg_dl=value, glucose_normalized=True) == {
            "ivt-glucose-normalized": "for"}
        # correction not reported yet: a verdict waiting for it, not silence
        assert _ivt(reasoner, glucose_mg_dl=value) == {}
        assert _verdict(reasoner, glucose_mg_dl=value) == (
            "undecided", [], {}, ["glucose_normalized"])


def test_normalized_glucose_covers_the_unknown_onset_window(reasoner: Reasoner) -> None:
    wake_up = {"minutes_since_onset": 540, "minutes_since_symptom_recognition": 90,
               "dwi_flair_mismatch": True}
    assert _ivt(reasoner, glucose_mg_dl=450, glucose_normalized=True, **wake_up) == {
        "ivt-glucose-normalized": "for"}
    assert _ivt(reasoner, glucose_mg_dl=450, glucose_normalized=True,
                **{**wake_up, "dwi_flair_mismatch": False}) == {}


def test_platelets_inr_and_doac_limits(reasoner: Reasoner) -> None:
    harm = {"no-ivt-coagulopathy": "against"}
    suspected = {"coagulopathy_suspected": True}
    assert _ivt(reasoner, platelets_per_ul=100000, **suspected) == {"ivt-0-3h": "for"}
    assert _ivt(reasoner, platelets_per_ul=99999, **suspected) == harm
    assert _ivt(reasoner, inr=1.7, **suspected) == {"ivt-0-3h": "for"}
    assert _ivt(reasoner, inr=1.71, **suspected) == harm
    assert _ivt(reasoner, aptt_seconds=40, **suspected) == {"ivt-0-3h": "for"}
    assert _ivt(reasoner, aptt_seconds=40.5, **suspected) == harm
    assert _ivt(reasoner, aptt_seconds=41, **suspected) == harm
    assert _ivt(reasoner, pt_seconds=15, **suspected) == {"ivt-0-3h": "for"}
    assert _ivt(reasoner, pt_seconds=15.5, **suspected) == harm
    assert _ivt(reasoner, pt_seconds=16, **suspected) == harm
    doac = {"oral_anticoagulant": "doac", "doac_tests_normal": False, **suspected}
    assert _ivt(reasoner, doac_last_dose_hours=48, **doac) == {"no-ivt-doac-48h": "against"}
    assert _ivt(reasoner, doac_last_dose_hours=48.5, **doac) == {"ivt-0-3h": "for"}
    assert _ivt(reasoner, doac_last_dose_hours=12, **{**doac, "doac_tests_normal": True}) == {
        "ivt-0-3h": "for"}


def test_suspected_coagulopathy_waits_for_aptt_and_pt(reasoner: Reasoner) -> None:
    for key in ("aptt_seconds", "pt_seconds"):
        result = _result(reasoner, drop=(key,), coagulopathy_suspected=True)
        assert not [r for r in result.recommendations if r.action == "iv-alteplase"], key
        ivt = next(r for r in result.not_applicable if r.id == "ivt-0-3h")
        assert (ivt.status, ivt.missing) == ("unknown", [key])
        assert _verdict(reasoner, drop=(key,), coagulopathy_suspected=True) == (
            "undecided", [], {}, [key])
    # without a reason to suspect one, treatment need not wait: the statement is derived
    assert _ivt(reasoner, drop=("aptt_seconds", "pt_seconds")) == {"ivt-0-3h": "for"}


def test_without_suspicion_the_verdict_does_not_wait_for_laboratory_results(
        reasoner: Reasoner) -> None:
    """"Treatment should not be delayed while waiting for platelet or coagulation results"
    when nothing is suspected: the harm statement is marked gg:notAwaited, so with every
    result pending the verdict is for, and it names the statement it did not wait for. Every
    engine gives the same (the SPARQL reference reads the same mark)."""
    labs = ("platelets_per_ul", "inr", "aptt_seconds", "pt_seconds")
    assert _verdict(reasoner, drop=labs) == ("for", ["ivt-0-3h"], {}, [])
    [verdict] = [c for c in _result(reasoner, drop=labs).conclusions
                 if c.action == "iv-alteplase"]
    assert verdict.warnings == [
        "not awaited: no-ivt-coagulopathy (against) is undecided, needing aptt_seconds, inr, "
        "platelets_per_ul, pt_seconds; the guideline does not hold the verdict back for it, "
        "and it prevails if those facts come to meet it"]
    case = reasoner.intake.from_object({**{k: v for k, v in ELIGIBLE.items() if k not in labs},
                                        "id": "labs-pending"})
    expected = reasoner.reason(case).to_json()
    for engine in ("sparql", "vector"):
        other = Reasoner(reasoner.knowledge, engine=engine)
        assert other.reason(case).to_json() == expected, engine


def test_abnormal_result_without_suspicion_is_decided_by_the_harm_rule(
        reasoner: Reasoner) -> None:
    # started before the result because nothing was suspected; aPTT 60 s then comes back
    assert _ivt(reasoner, aptt_seconds=60) == {"ivt-0-3h": "for", "no-ivt-coagulopathy": "against"}
    assert _verdict(reasoner, aptt_seconds=60) == (
        "against", ["no-ivt-coagulopathy"], {"ivt-0-3h": "prohibition-over-indication"}, [])


def test_mild_non_disabling_is_not_recommended_and_disabling_is(reasoner: Reasoner) -> None:
    assert _ivt(reasoner, nihss=5, disabling_deficit=False) == {
        "ivt-mild-nondisabling-0-3h": "against"}
    assert _ivt(reasoner, nihss=5, disabling_deficit=True) == {
        "ivt-0-3h": "for", "ivt-mild-disabling-0-3h": "for"}
    assert _ivt(reasoner, nihss=6, disabling_deficit=False) == {"ivt-0-3h": "for"}


def test_each_contraindication_alone_turns_the_answer_against(reasoner: Reasoner) -> None:
    for key, rec in [("ich_on_imaging", "no-ivt-ich-on-imaging"),
                     ("prior_ich", "no-ivt-prior-ich"),
                     ("prior_stroke_within_3_months", "no-ivt-ischemic-stroke-3-months"),
                     ("severe_head_trauma_within_3_months", "no-ivt-severe-head-trauma-3-months"),
                     ("intracranial_spinal_surgery_within_3_months",
                      "no-ivt-intracranial-spinal-surgery-3-months"),
                     ("gi_malignancy_or_bleed_within_21_days", "no-ivt-gi-malignancy-or-bleed"),
                     ("infective_endocarditis", "no-ivt-infective-endocarditis"),
                     ("aortic_arch_dissection", "no-ivt-aortic-arch-dissection"),
                     ("intra_axial_neoplasm", "no-ivt-intra-axial-neoplasm"),
                     ("lmwh_treatment_dose_within_24h", "no-ivt-lmwh-24h"),
                     ("extensive_hypoattenuation", "no-ivt-extensive-ct-hypoattenuation"),
                     ("post_traumatic_infarction_in_hospital",
                      "no-ivt-post-traumatic-infarction")]:
        assert _ivt(reasoner, **{key: True}) == {rec: "against"}, key
        assert _verdict(reasoner, **{key: True}) == ("against", [rec], {}, []), key


def test_new_contraindications_carry_their_grades(reasoner: Reasoner) -> None:
    grades = {r.id: (r.strength, r.evidence) for r in
              _result(reasoner, extensive_hypoattenuation=True,
                      post_traumatic_infarction_in_hospital=True).recommendations}
    assert grades == {"no-ivt-extensive-ct-hypoattenuation": ("III: No Benefit", None),
                      "no-ivt-post-traumatic-infarction": ("III: Harm", "C-EO")}


def test_extensive_early_ischemia_is_not_the_hypoattenuation_contraindication(
        reasoner: Reasoner) -> None:
    # over one-third of the MCA territory excludes the 3-4.5 h recommendation only
    assert _ivt(reasoner, extensive_early_ischemia=True) == {"ivt-0-3h": "for"}
    assert _ivt(reasoner, extensive_early_ischemia=True, minutes_since_onset=200) == {}


def test_unknown_contraindication_leaves_alteplase_undecided(reasoner: Reasoner) -> None:
    obj = {k: v for k, v in ELIGIBLE.items() if k != "ich_on_imaging"}
    result = reasoner.reason(reasoner.intake.from_object({**obj, "id": "no-ct"}))
    assert not [r for r in result.recommendations if r.action == "iv-alteplase"]
    ivt = next(r for r in result.not_applicable if r.id == "ivt-0-3h")
    assert (ivt.status, ivt.missing) == ("unknown", ["ich_on_imaging"])
    assert "ich_on_imaging" in result.missing_facts


def test_grades_are_carried_into_results(reasoner: Reasoner) -> None:
    case = reasoner.intake.from_object({**ELIGIBLE, "id": "g"})
    [rec] = [r for r in reasoner.reason(case).recommendations if r.id == "ivt-0-3h"]
    assert (rec.action, rec.direction, rec.strength, rec.evidence) == (
        "iv-alteplase", "for", "I", "A")
    assert rec.warnings == []


# --- Population: the decision at presentation (gg:population) ----------------------------
def _applies(reasoner: Reasoner, drop: tuple[str, ...] = (), **changes: object):
    result = _result(reasoner, drop, **changes)
    app = result.applicability["ivt-eligibility"]
    ivt = [c for c in result.conclusions if c.guideline == "ivt-eligibility"]
    return app, ivt, result


def test_population_is_the_decision_at_presentation(reasoner: Reasoner) -> None:
    app, ivt, _ = _applies(reasoner)
    assert (app.applies, app.missing) == ("yes", [])
    assert [(c.action, c.direction) for c in ivt] == [("iv-alteplase", "for")]
    for changes in ({"ivt_given": True}, {"evt_passes": 1}, {"evt_passes": 2},
                    {"setting": "elective"}):
        app, ivt, result = _applies(reasoner, **changes)
        assert (app.applies, ivt) == ("no", []), changes
        assert not [r for r in result.recommendations if r.guideline == "ivt-eligibility"]


def test_unknown_population_leaves_every_action_undecided_naming_it(reasoner: Reasoner) -> None:
    for key in ("ivt_given", "evt_passes"):
        app, ivt, result = _applies(reasoner, drop=(key,))
        assert (app.applies, app.missing) == ("undecided", [key]), key
        assert {(c.action, c.direction, tuple(c.missing_facts)) for c in ivt} == {
            ("iv-alteplase", "undecided", (key,)),
            ("bp-lowering-before-ivt", "undecided", (key,))}, key
        assert key in result.missing_facts
