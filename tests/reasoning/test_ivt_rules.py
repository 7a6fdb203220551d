"""IV alteplase eligibility (2019 AHA/ASA, section 3.5): thresholds and rules stated directly,
independent of the golden files (tests/golden/ivt-eligibility)."""

from __future__ import annotations

import json
from pathlib import Path

from guidegraph.reasoner import Reasoner

IVT = Path(__file__).parents[1] / "golden" / "ivt-eligibility"
CASES = sorted((IVT / "cases").iterdir())


# --- Thresholds and rules stated directly, independent of the golden files ---------------
ELIGIBLE = json.loads((IVT / "cases" / "ivt-eligible-0-3h.json").read_text())


def _ivt(reasoner: Reasoner, **changes: object) -> dict[str, str]:
    case = reasoner.intake.from_object({**ELIGIBLE, "id": "edge", **changes})
    return {r.id: r.direction for r in reasoner.reason(case).recommendations
            if r.action in ("iv-alteplase", "bp-lowering-before-ivt")}


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


def test_glucose_below_50_and_above_400(reasoner: Reasoner) -> None:
    assert _ivt(reasoner, glucose_mg_dl=50) == {"ivt-0-3h": "for"}
    assert _ivt(reasoner, glucose_mg_dl=400) == {"ivt-0-3h": "for"}
    assert _ivt(reasoner, glucose_mg_dl=49.9) == {}
    assert _ivt(reasoner, glucose_mg_dl=400.5) == {}
    assert _ivt(reasoner, glucose_mg_dl=45, glucose_normalized=True) == {
        "ivt-glucose-normalized": "for"}


def test_platelets_inr_and_doac_limits(reasoner: Reasoner) -> None:
    harm = {"no-ivt-coagulopathy": "against"}
    suspected = {"coagulopathy_suspected": True}
    assert _ivt(reasoner, platelets_per_ul=100000, **suspected) == {"ivt-0-3h": "for"}
    assert _ivt(reasoner, platelets_per_ul=99999, **suspected) == harm
    assert _ivt(reasoner, inr=1.7, **suspected) == {"ivt-0-3h": "for"}
    assert _ivt(reasoner, inr=1.71, **suspected) == harm
    doac = {"oral_anticoagulant": "doac", "doac_tests_normal": False, **suspected}
    assert _ivt(reasoner, doac_last_dose_hours=48, **doac) == {"no-ivt-doac-48h": "against"}
    assert _ivt(reasoner, doac_last_dose_hours=48.5, **doac) == {"ivt-0-3h": "for"}
    assert _ivt(reasoner, doac_last_dose_hours=12, **{**doac, "doac_tests_normal": True}) == {
        "ivt-0-3h": "for"}


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
                     ("lmwh_treatment_dose_within_24h", "no-ivt-lmwh-24h")]:
        assert _ivt(reasoner, **{key: True}) == {rec: "against"}, key


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
