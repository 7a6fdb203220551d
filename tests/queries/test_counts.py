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


#: The counts as runs-for-case computed them before runs carried them: every listed outcome
#: of the guideline's statements, counted (the reference for the stored counts).
COUNTED = """
PREFIX gg:   <https://w3id.org/guidegraph/ontology#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX prov: <http://www.w3.org/ns/prov#>
SELECT ?run ?guideline (COUNT(DISTINCT ?d) AS ?derived) (COUNT(DISTINCT ?u) AS ?undecided)
       (COUNT(DISTINCT ?r) AS ?rejected)
WHERE {
  GRAPH ?runGraph { ?run a gg:ReasoningRun ; prov:used ?snapshot . }
  GRAPH ?snapshot { ?snapshot a gg:GuidelineSnapshot ; skos:notation ?guideline . }
  OPTIONAL {
    GRAPH ?runGraph { ?result prov:wasGeneratedBy ?run ; gg:evaluates ?rec ; a ?kind . }
    GRAPH ?snapshot { ?rec skos:notation ?id . }
    BIND (IF(?kind = gg:DerivedRecommendation, ?rec, ?none) AS ?d)
    BIND (IF(?kind = gg:UndecidedRecommendation, ?rec, ?none) AS ?u)
    BIND (IF(?kind = gg:RejectedRecommendation, ?rec, ?none) AS ?r)
  }
}
GROUP BY ?run ?guideline
"""
STORED = """
PREFIX gg:   <https://w3id.org/guidegraph/ontology#>
PREFIX prov: <http://www.w3.org/ns/prov#>
SELECT ?run ?guideline ?derived ?undecided ?rejected WHERE {
  GRAPH ?g { ?run a gg:ReasoningRun .
             ?app prov:wasGeneratedBy ?run ; gg:applicabilityOf ?of ; gg:derivedCount ?derived ;
                  gg:undecidedCount ?undecided ; gg:rejectedCount ?rejected . }
  BIND (STRAFTER(STR(?app), "/applicability/") AS ?guideline)
}
"""


def _rows(store: EmbeddedStore, text: str) -> set[tuple[str, ...]]:
    return {tuple(t.value for t in row) for row in store.query(text).table.rows}


def test_stored_counts_equal_the_outcomes_counted_over_each_run(
        two_guideline_store) -> None:
    """Every run and guideline: the counts written with the run are the listed outcomes
    counted (every outcome is listed with --why-not all)."""
    path, _ = two_guideline_store
    store = EmbeddedStore(path)
    try:
        counted, stored = _rows(store, COUNTED), _rows(store, STORED)
    finally:
        store.close()
    assert len(counted) == 6 and stored == counted


def test_counts_include_what_why_not_left_out(reasoner: Reasoner, tmp_path: Path) -> None:
    """In registry mode the rejected statements are counted, not listed: the stored count is
    every rejected statement, the listed outcomes only the undecided ones."""
    full = reasoner
    lean = Reasoner(full.knowledge, why_not="undecided")
    case = next(iter(full.intake.read(ROOT / "examples" / "basilar-icad-failed-evt.json")))
    want, got = full.reason(case), lean.reason(case)
    assert got.tallies == want.tallies
    rejected = [o for o in want.not_applicable if o.status == "unmet"]
    assert rejected and got.rejected == len(rejected)
    assert want.tallies["rescue-stenting"][2] == len(
        [o for o in rejected if o.guideline == "rescue-stenting"])
    store = EmbeddedStore(tmp_path / "store")
    try:
        versions.load_parts(store, full.knowledge.parts)
        save_runs(store, lean, [case], [got])
        rows = _rows(store, STORED)
    finally:
        store.close()
    assert {(g, int(d), int(u), int(r)) for _, g, d, u, r in rows} == {
        (g, *t) for g, t in want.tallies.items()}


def _listed_tallies(result) -> dict[str, tuple[int, int, int]]:
    """Every statement's outcome counted from a full (--why-not all) listing."""
    out = {g: [0, 0, 0] for g in result.applicability}
    for o in result.recommendations:
        out[o.guideline][0] += 1
    for o in result.not_applicable:
        out[o.guideline][1 if o.status == "unknown" else 2] += 1
    return {g: (d, u, r) for g, (d, u, r) in out.items()}


@pytest.mark.parametrize("engine", ["compiled", "vector"])
@pytest.mark.parametrize("why_not", ["all", "undecided", "none"])
def test_tallies_in_every_mode_and_engine_and_read_back(reasoner: Reasoner, engine: str,
                                                        why_not: str) -> None:
    """ivt-eligibility alone has no dependent actions, so the vector engine takes its own
    path (counting rejections per guideline with arrays); every case of the golden set."""
    from guidegraph.knowledge.loading import Knowledge
    from guidegraph.provenance import record
    from guidegraph.resources import guidelines_dir

    knowledge = Knowledge.load([guidelines_dir() / "ivt-eligibility"])
    full = Reasoner(knowledge, why_not="all")
    other = Reasoner(knowledge, engine=engine, why_not=why_not)
    assert (other._vector is not None) == (engine == "vector")
    assert not other.decisions.has_dependencies
    paths = sorted((ROOT / "tests" / "golden" / "ivt-eligibility" / "cases").glob("*.json"))
    seen = set()
    for path in paths:
        for case in full.intake.read(path):
            want = _listed_tallies(full.reason(case))
            got = other.reason(case)
            assert got.tallies == want, path.name
            back = record.from_triples(record.to_triples(got, other), other)
            assert back.tallies == want, path.name
            seen.update(want.values())
    assert len(paths) > 5 and len(seen) > 3  # outcomes of several kinds were counted
