"""Counts that say what they count: runs (not run × guideline rows), a guideline's own
recommendations per run row, a table cut by --limit said to be cut by it, and long cells
wrapped whole."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pyoxigraph as ox
import pytest

from guidegraph.provenance.runs import save_runs
from guidegraph.reasoning.reasoner import Reasoner
from guidegraph.store import versions
from guidegraph.store.base import EmbeddedStore, QueryResult, Table
from guidegraph.store.results import render

ROOT = Path(__file__).parents[2]
CASES = ["basilar-icad-failed-evt", "m1-embolic-late", "elective-severe-stenosis"]


@pytest.fixture(scope="module")
def two_guideline_store(tmp_path_factory: pytest.TempPathFactory,
                        reasoner: Reasoner) -> tuple[Path, list]:
    """Both shipped guidelines loaded; three runs, each using both guideline versions."""
    path = tmp_path_factory.mktemp("counts") / "store"
    store = EmbeddedStore(path)
    versions.load_parts(store, reasoner.knowledge.parts)
    cases = [c for n in CASES for c in reasoner.intake.read(ROOT / "examples" / f"{n}.json")]
    results = [reasoner.reason(c) for c in cases]
    save_runs(store, Reasoner(versions.stored_knowledge(store)), cases, results)
    store.close()
    return path, results


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "guidegraph", *args], capture_output=True,
                          text=True)


def test_audit_counts_runs_not_run_guideline_pairs(two_guideline_store) -> None:
    path, _ = two_guideline_store
    out = _cli("audit", "--store", str(path))
    assert "Stored runs checked: 3\n" in out.stdout


def test_runs_for_case_counts_each_guidelines_own_recommendations(two_guideline_store) -> None:
    path, results = two_guideline_store
    out = _cli("query", "runs-for-case", "--bind", "case=example-basilar-icad", "--store",
               str(path), "--format", "csv")
    assert out.returncode == 0, out.stderr
    rows = [line.split(",") for line in out.stdout.strip().splitlines()[1:]]
    assert sorted(r[3] for r in rows) == ["ivt-eligibility", "rescue-stenting"]
    result = results[0]
    for row in rows:
        guideline, derived, rejected = row[3], int(row[5]), int(row[7])
        met = [r for r in result.recommendations if r.guideline == guideline and r.status == "met"]
        unmet = [r for r in result.not_applicable if r.guideline == guideline]
        assert (derived, rejected) == (len(met), len(unmet)), guideline
    # rescue stenting's own counts, and none for IV thrombolysis (outside its population):
    # not the run's totals repeated on each row
    assert sorted((r[3], r[5]) for r in rows) == [("ivt-eligibility", "0"),
                                                   ("rescue-stenting", "15")]


def test_a_table_cut_by_limit_says_so_and_long_cells_are_wrapped_whole(
        two_guideline_store) -> None:
    path, _ = two_guideline_store
    out = _cli("query", "SELECT ?s WHERE { ?s ?p ?o }", "--limit", "5", "--store", str(path))
    assert out.returncode == 0, out.stderr
    assert out.stdout.endswith("5 rows (more rows exist: stopped at the limit of 5)\n")
    words = " ".join(f"word{i:02}" for i in range(40))  # 279 characters
    out = _cli("query", f'SELECT ?v ?n WHERE {{ BIND("{words}" AS ?v) BIND(1 AS ?n) }}',
               "--store", str(path))
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[-1] == "1 row" and "…" not in out.stdout
    cell = [line.split("|")[0].strip() for line in lines[2:-1]]
    assert len(cell) == 4 and all(len(part) <= 80 for part in cell)
    assert " ".join(cell) == words  # wrapped at spaces, every word there
    unbroken = "x" * 200
    table = render(QueryResult("SELECT", table=Table(["v"], [[ox.Literal(unbroken)]])), "table")
    assert "".join(line.strip() for line in table.splitlines()[2:-1]) == unbroken


def test_diff_counts_the_cases_and_runs_it_checked(two_guideline_store) -> None:
    path, _ = two_guideline_store
    shipped = str(ROOT / "guidelines" / "rescue-stenting")
    out = _cli("diff", shipped, shipped, "--cases", str(ROOT / "examples" / f"{CASES[0]}.json"),
               "--store", str(path))
    assert out.returncode == 0, out.stderr
    # three runs, each of which used both guidelines: counted once each
    assert "Verdicts changed: 0 in 0 of 1 case and 3 stored runs\n" in out.stdout
