"""Shared fixtures: one loaded reasoner per test session (loading is the slow part)."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from guidegraph.reasoning import plan_cache
from guidegraph.reasoning.reasoner import Reasoner

TESTS = Path(__file__).resolve().parent
#: Compiled plans go to a folder of this session (and of each worker process), never to the
#: user's cache: every test process, and every command it runs, starts from no plan.
PLANS = Path(tempfile.mkdtemp(prefix="gg-test-plans-"))
os.environ[plan_cache.ENV_VAR] = str(PLANS)


def pytest_unconfigure(config: pytest.Config) -> None:
    shutil.rmtree(PLANS, ignore_errors=True)
GOLDEN = TESTS / "golden"

#: Tests that share an expensive session or module fixture (a saved store built with the CLI,
#: running servers), kept on one worker under ``pytest -n N --dist loadgroup`` so that the
#: fixture is built once rather than once per worker. Keys: a folder or a module under tests/.
SHARED_FIXTURE_GROUPS = {
    "queries/test_named_queries.py": "queries-saved-store",
    "queries/test_engines.py": "queries-saved-store",
    "queries/test_bindings.py": "queries-saved-store",
    "server": "served-store",
    "audit/test_audit.py": "audit-saved-store",
    "audit/test_tamper.py": "audit-saved-store",
}


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        path = Path(item.path).resolve()
        if not path.is_relative_to(TESTS):
            continue
        relative = path.relative_to(TESTS).as_posix()
        for key, group in SHARED_FIXTURE_GROUPS.items():
            if relative == key or relative.startswith(key + "/"):
                item.add_marker(pytest.mark.xdist_group(group))


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


def scoped_outcome(result, guideline: str) -> dict:
    """One guideline's part of a result, as a golden expectation holds it: the reviewed
    outcome of that guideline alone, unchanged by any other guideline loaded beside it."""
    others = [r for r in result.not_applicable if r.guideline == guideline]
    mine = {m for r in others for m in r.missing}
    mine |= {m for c in result.conclusions if c.guideline == guideline for m in c.missing_facts}
    app = result.applicability[guideline]
    return {
        "guideline": guideline,
        "applies": app.applies,
        "population_missing_facts": app.missing,
        "derived": {r.id: r.direction for r in result.recommendations
                    if r.guideline == guideline},
        "undecided": {r.id: r.missing for r in others if r.status == "unknown"},
        "missing_facts": [k for k in result.missing_facts if k in mine],
        "conclusions": {k: v for k, v in verdict_summary(result).items()
                        if k.split("/", 1)[0] == guideline},
    }


@pytest.fixture(scope="session")
def scoped():
    return scoped_outcome
