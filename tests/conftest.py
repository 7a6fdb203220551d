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
