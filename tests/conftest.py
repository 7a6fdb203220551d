"""Shared fixtures: one loaded reasoner per test session (loading is the slow part)."""

from __future__ import annotations

from pathlib import Path

import pytest

from guidegraph.reasoner import Reasoner

TESTS = Path(__file__).parent
GOLDEN = TESTS / "golden"


@pytest.fixture(scope="session")
def reasoner() -> Reasoner:
    return Reasoner()


@pytest.fixture(scope="session")
def sparql_reasoner(reasoner: Reasoner) -> Reasoner:
    return Reasoner(reasoner.knowledge, engine="sparql")


def verdict_summary(result) -> dict[str, dict]:
    """The reviewed part of each verdict, as golden expectations hold it: verdict, deciding
    statements, what was set aside by which rule, and the facts an undecided one waits for."""
    return {f"{c.guideline}/{c.action}": {
        "verdict": c.direction, "decided_by": c.decided_by,
        "overridden": {o.id: o.rule for o in c.overridden},
        "missing_facts": c.missing_facts} for c in result.conclusions}


@pytest.fixture(scope="session")
def verdicts():
    return verdict_summary
