"""OWL consistency with HermiT (needs Java) and its graceful absence."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from guidegraph.authoring import owl
from guidegraph.authoring.validate import validate

FIXTURES = Path(__file__).parent / "fixtures"
needs_java = pytest.mark.skipif(shutil.which("java") is None, reason="no Java runtime on PATH")


@pytest.mark.java
@needs_java
def test_hermit_reports_disjoint_types() -> None:
    report = validate([FIXTURES / "condition-both-types.ttl"], hermit=True)
    got = {(r.severity, r.source, r.focus) for r in report.results}
    assert got == {
        ("Violation", "ggsh:ConditionShape", "ex:both"),
        ("Violation", "ggsh:OwlConsistency-inconsistent", "ex:both"),
    }
    owl = next(r for r in report.results if r.source == "ggsh:OwlConsistency-inconsistent")
    assert "ex:both is both a gg:Criterion and a gg:CriterionGroup" in owl.message
    assert "Keep only the type" in owl.message
    assert "hermit_s" in report.timings


@pytest.mark.java
@needs_java
def test_hermit_accepts_clean_fixture() -> None:
    report = validate([FIXTURES / "clean.ttl"], hermit=True)
    assert report.results == []
    assert report.timings["hermit_s"] > 0


def test_missing_java_is_a_warning_not_a_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(owl.shutil, "which", lambda _name: None)
    report = validate([FIXTURES / "clean.ttl"], hermit=True)
    (result,) = report.results
    assert result.severity == "Warning"
    assert result.source == "ggsh:OwlConsistency-notRun"
    assert result.message.startswith("Java not found: OWL consistency check skipped")
    assert report.conforms


def test_no_owl_skips_hermit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(owl.shutil, "which", lambda _name: None)
    report = validate([FIXTURES / "clean.ttl"], hermit=False)
    assert report.results == []
    assert "hermit_s" not in report.timings
