"""Rescue-stenting rules stated directly, independent of the golden files: inclusive edges,
setting, defaults, why-not, precedence and citation warnings."""

from __future__ import annotations

from guidegraph.reasoner import Reasoner


# --- Edges and clinical rules stated directly, independent of the golden files ----------
def _derived(reasoner: Reasoner, **facts: object) -> dict[str, str]:
    case = reasoner.intake.from_object({"id": "edge", **facts})
    return {r.id: r.direction for r in reasoner.reason(case).recommendations}


FAILED = {"evt_passes": 3, "tici": "2a", "occlusion_site": "M1", "stenosis_percent": 80}


def test_six_hour_window_is_inclusive(reasoner: Reasoner) -> None:
    at_360 = _derived(reasoner, minutes_since_onset=360, **FAILED)
    at_361 = _derived(reasoner, minutes_since_onset=361, **FAILED)
    assert "aha2015-salvage-adjunct" in at_360 and "pitfall-beyond-6h" not in at_360
    assert "aha2015-salvage-adjunct" not in at_361 and at_361["pitfall-beyond-6h"] == "against"


def test_severe_stenosis_threshold_is_inclusive(reasoner: Reasoner) -> None:
    at_70 = _derived(reasoner, evt_passes=1, tici="2a", stenosis_percent=70)
    at_69 = _derived(reasoner, evt_passes=1, tici="2a", stenosis_percent=69)
    assert "ind-severe-stenosis" in at_70 and "acute-reserve-for-severe-stenosis" not in at_70
    assert "ind-severe-stenosis" not in at_69 and "acute-reserve-for-severe-stenosis" in at_69
    at_69_5 = _derived(reasoner, evt_passes=1, tici="2a", stenosis_percent=69.5)
    assert "ind-severe-stenosis" not in at_69_5


def test_elective_harm_does_not_fire_in_acute_setting_and_vice_versa(reasoner: Reasoner) -> None:
    acute = _derived(reasoner, setting="acute", **FAILED)
    elective = _derived(reasoner, setting="elective", **FAILED)
    assert "aha2021-severe-stenosis-harm" not in acute and "ind-severe-stenosis" in acute
    assert elective == {"aha2021-severe-stenosis-harm": "against"}


def test_setting_defaults_to_acute_and_says_so(reasoner: Reasoner) -> None:
    result = reasoner.reason(reasoner.intake.from_object({"id": "d", **FAILED}))
    assert result.facts["setting"] == "acute" and result.defaulted == ["setting"]


def test_failed_thrombolysis_without_thrombectomy_gets_a_why_not(reasoner: Reasoner) -> None:
    case = reasoner.intake.from_object({"id": "ivt", "ivt_given": True, "ivt_failed": True,
                                        "evt_passes": 0, "minutes_since_onset": 120})
    result = reasoner.reason(case)
    assert not [r for r in result.recommendations if r.action == "rescue-stenting"]
    primary = next(r for r in result.not_applicable if r.id == "rs-primary")
    assert primary.status == "unmet"
    [crit] = primary.criteria
    assert (crit.criterion, crit.status, crit.facts_text(result.facts)) == (
        "evt-attempted", "unmet", ["evt_passes=0"])
    assert crit.via == ["failed-thrombectomy"]


def test_do_not_rule_settles_what_used_to_be_a_conflict(reasoner: Reasoner) -> None:
    """Beyond 6 hours, for and against statements are both derived; the guideline's
    prohibition rule decides, so there is one verdict and no conflict to resolve by hand."""
    case = reasoner.intake.from_object({"id": "c", "minutes_since_onset": 400, **FAILED})
    result = reasoner.reason(case)
    assert result.conflicts == []
    directions = {r.direction for r in result.recommendations if r.action == "rescue-stenting"}
    assert directions == {"for", "against"}
    [verdict] = [c for c in result.conclusions if c.action == "rescue-stenting"]
    assert verdict.direction == "against" and "pitfall-beyond-6h" in verdict.decided_by
    rec = next(r for r in result.recommendations if r.id == "ind-severe-stenosis")
    assert not any(w.startswith("conflict:") for w in result.warnings_of(rec))
    assert "ind-severe-stenosis" in {o.id for o in verdict.overridden}


def test_retracted_citation_warning_on_derived_recommendation(reasoner: Reasoner) -> None:
    case = reasoner.intake.from_object({"id": "r", "minutes_since_onset": 100, **FAILED})
    recs = {r.id: r for r in reasoner.reason(case).recommendations}
    assert any("retracted reference [2]" in w for w in recs["ind-failed-passes"].warnings)
    assert any("retracted reference [2]" in w and "through evidence ev-mortality" in w
               for w in recs["rs-primary"].warnings)
    assert not any("retracted" in w for w in recs["aha2015-salvage-adjunct"].warnings)
