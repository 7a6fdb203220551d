"""The named query library: headers, syntax, expected rows, the CLI, and injection safety.

Expected rows live in ``expected/<name>.json``, one file per query of queries/examples and
queries/audit. They were written from the guideline source (guidelines/rescue-stenting/)
and the golden expectations of the saved cases (tests/golden/rescue-stenting/expected/), not
from query output. A scenario runs on the ``saved_store`` fixture unless its ``"store"`` names
another (``"no-precedence"``: the ``conflict_store`` fixture). Placeholders ``{hash:VERSION}`` and
``{snapshot:VERSION}`` stand for the content hash and snapshot graph of a guideline version
loaded by the fixture.
"""

from __future__ import annotations

import gc
import json
import re
import shlex
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import pytest
from click.testing import CliRunner

from guidegraph import resources
from guidegraph.cli import main
from guidegraph.store.base import parse_bindings
from guidegraph.store.named_queries import library
from guidegraph.store.sparql import query_form
from guidegraph.vocab import SNAPSHOT_BASE

EXPECTED = Path(__file__).parent / "expected"
QUERIES = resources.queries_dir()
LIBRARY_FOLDERS = ("examples", "audit")
XSD = "http://www.w3.org/2001/XMLSchema#"
INTEGERS = {XSD + t for t in ("integer", "int", "long", "short", "nonNegativeInteger",
                              "positiveInteger")}
NUMBERS = {XSD + t for t in ("decimal", "double", "float")}


def library_files() -> list[Path]:
    return sorted(p for folder in LIBRARY_FOLDERS for p in (QUERIES / folder).glob("*.rq"))


def expected(name: str) -> dict[str, Any]:
    return json.loads((EXPECTED / f"{name}.json").read_text(encoding="utf-8"))


def scenarios() -> list[Any]:
    out = []
    for path in library_files():
        spec = expected(path.stem)
        for index, scenario in enumerate(spec["scenarios"]):
            binds = ",".join(scenario["bind"]) or "unbound"
            where = f"@{scenario['store']}" if "store" in scenario else ""
            out.append(pytest.param(path.stem, index, id=f"{path.stem}[{binds}]{where}"))
    return out


def simple(term: Any) -> Any:
    """An RDF term as a plain value: IRIs and strings as text, numbers and booleans typed."""
    if term is None:
        return None
    if isinstance(term, ox.NamedNode):
        return term.value
    if isinstance(term, ox.BlankNode):
        return "_:" + term.value
    datatype = term.datatype.value
    if datatype in INTEGERS:
        return int(term.value)
    if datatype in NUMBERS:
        return float(term.value)
    if datatype == XSD + "boolean":
        return term.value in ("true", "1")
    return term.value


def fill(value: Any, saved: Any) -> Any:
    """Replace {hash:VERSION} and {snapshot:VERSION} placeholders."""
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        kind, _, version = value[1:-1].partition(":")
        digest = saved.hashes[version]
        return digest if kind == "hash" else SNAPSHOT_BASE + digest.split(":", 1)[-1]
    return value


@dataclass
class Outcome:
    exit_code: int
    stdout: str  # click's text view, with CRLF read as LF
    stderr: str
    raw: bytes


def invoke(*args: str) -> Outcome:
    """Run the CLI and drop the result at once: a failed command's traceback would keep
    the embedded store open, and RocksDB allows one open handle per process."""
    result = CliRunner().invoke(main, list(args))
    outcome = Outcome(result.exit_code, result.stdout, result.stderr, result.stdout_bytes)
    del result
    gc.collect()
    return outcome


# ----------------------------------------------------------------------------------------
# The library itself
# ----------------------------------------------------------------------------------------
def test_the_library_has_at_least_twelve_queries_each_with_expected_rows() -> None:
    names = {p.stem for p in library_files()}
    assert len(names) >= 12
    assert names == {p.stem for p in EXPECTED.glob("*.json")}


def test_query_names_are_unique_across_folders() -> None:
    """`guidegraph query NAME` resolves by file stem, and --list shows one entry per stem."""
    stems = Counter(p.stem for p in QUERIES.rglob("*.rq"))
    assert [s for s, n in stems.items() if n > 1] == []


@pytest.mark.parametrize("path", sorted(QUERIES.rglob("*.rq")),
                         ids=lambda p: str(p.relative_to(QUERIES)))
def test_every_query_file_has_a_header_with_title_and_purpose(path: Path) -> None:
    named = library()[path.stem]
    assert named.path == path
    assert named.title, f"{path.name}: no '# title:' line in the opening comment"
    assert len(named.purpose) > 20, f"{path.name}: no '# purpose:' line"


@pytest.mark.parametrize("path", library_files(), ids=lambda p: p.stem)
def test_library_query_header_is_complete_and_the_query_parses(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    header = [line for line in text.splitlines() if line.startswith("#")]
    keys = [line[1:].split(":", 1)[0].strip() for line in header
            if not line[1:].startswith(" " * 2)]
    assert keys == ["title", "purpose", "bindings", "example"], keys
    named = library()[path.stem]
    assert named.bindings
    example = next(line for line in header if line.startswith("# example:"))
    assert example.split(":", 1)[1].split()[:3] == ["guidegraph", "query", path.stem]
    assert query_form(text) in ("SELECT", "CONSTRUCT")
    # The default graph is the current knowledge: a query over stored runs reads them, and
    # their cases, with GRAPH; only queries over runs or versions name graphs.
    over_runs = re.search(r"gg:(ReasoningRun|ActionVerdict|DerivedRecommendation|"
                          r"UndecidedRecommendation)\b", text)
    names_graphs = re.search(r"\bGRAPH\s*[?$<]", text, flags=re.IGNORECASE)
    assert bool(names_graphs) == bool(over_runs) or path.stem == "loaded-guideline-versions"
    if over_runs:
        assert re.search(r"GRAPH \?runGraph \{[^}]*gg:(ReasoningRun|ActionVerdict|"
                         r"DerivedRecommendation|UndecidedRecommendation)", text), path.stem


def test_list_shows_every_named_query_with_its_title() -> None:
    out = invoke("query", "--list")
    assert out.exit_code == 0, out.stderr
    listed = {line.split(None, 1)[0]: line.split(None, 1)[1].strip()
              for line in out.stdout.splitlines() if line.strip()}
    for path in QUERIES.rglob("*.rq"):
        assert path.stem in listed, f"{path.stem} missing from --list"
        named = library()[path.stem]
        params = " ".join(f"?{p}" for p in named.parameters)
        assert listed[path.stem] == named.title + (f"  [{params}]" if params else "")


# ----------------------------------------------------------------------------------------
# Expected rows
# ----------------------------------------------------------------------------------------
STORES = {"saved": "saved_store", "no-precedence": "conflict_store"}


@pytest.mark.parametrize(("name", "index"), scenarios())
def test_query_returns_the_expected_rows(request: pytest.FixtureRequest, name: str,
                                         index: int) -> None:
    spec = expected(name)
    scenario = spec["scenarios"][index]
    saved_store = request.getfixturevalue(STORES[scenario.get("store", "saved")])
    result = saved_store.query(library()[name].text, parse_bindings(scenario["bind"]))
    if spec.get("form") == "CONSTRUCT":
        assert result.form == "CONSTRUCT"
        triples = set(result.triples or [])
        assert len(triples) == scenario["triple_count"]
        named = {t.subject.value for t in triples if isinstance(t.subject, ox.NamedNode)}
        assert named == set(scenario["subjects"])
        blanks = {t.subject for t in triples if isinstance(t.subject, ox.BlankNode)}
        assert len(blanks) == scenario["blank_subjects"]
        as_text = {(str(t.subject), str(t.predicate), str(t.object)) for t in triples}
        for triple in scenario["contains"]:
            assert tuple(triple) in as_text
        return
    assert result.form == "SELECT"
    table = result.table
    assert table.variables == spec["variables"]
    columns = scenario.get("columns", spec["variables"])
    picks = [table.variables.index(c) for c in columns]
    got = [tuple(simple(row[i]) for i in picks) for row in table.rows]
    want = [tuple(fill(v, saved_store) for v in row) for row in scenario["rows"]]
    if scenario["ordered"]:
        assert got == want
    else:
        assert Counter(got) == Counter(want)


def test_run_and_timestamp_columns_hold_what_they_claim(saved_store: Any) -> None:
    """Columns left out of the expected rows because their values are generated."""
    runs = saved_store.query(library()["runs-for-case"].text,
                             parse_bindings(["case=basilar-icad-consensus"])).table
    iris = [row[1].value for row in runs.rows]
    assert len(set(iris)) == 2
    assert all(i.startswith("https://w3id.org/guidegraph/run/") for i in iris)
    started = [row[2].value for row in runs.rows]
    assert started == sorted(started)
    versions = saved_store.query(library()["loaded-guideline-versions"].text).table
    loaded = [row[3] for row in versions.rows]
    assert all(t.datatype.value == XSD + "dateTime" for t in loaded)
    assert [t.value for t in loaded] == sorted(t.value for t in loaded)


def test_every_example_in_a_header_runs(saved_store: Any) -> None:
    for path in library_files():
        example = library()[path.stem].text.split("# example:", 1)[1].splitlines()[0]
        args = shlex.split(example)[1:]
        out = invoke(*args, "--store", str(saved_store.path))
        assert out.exit_code == 0, f"{example}: {out.stderr}"
        assert out.stdout.strip()


# ----------------------------------------------------------------------------------------
# Through the CLI
# ----------------------------------------------------------------------------------------
def test_cli_json_results(saved_store: Any) -> None:
    out = invoke("query", "recommendations-by-grade", "--store", str(saved_store.path),
                 "--bind", "grading=ACC/AHA", "--format", "json")
    assert out.exit_code == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["head"]["vars"] == expected("recommendations-by-grade")["variables"]
    recs = [b["rec"]["value"] for b in data["results"]["bindings"]]
    assert recs == ["aha2015-salvage-adjunct", "aha2015-tandem-cervical",
                    "aha2021-moderate-stenosis-harm", "aha2021-severe-stenosis-harm"]
    assert all("votes" not in b for b in data["results"]["bindings"])


def test_cli_csv_results(saved_store: Any) -> None:
    out = invoke("query", "missing-facts-in-runs", "--store", str(saved_store.path),
                 "--format", "csv")
    assert out.exit_code == 0, out.stderr
    lines = out.raw.decode("utf-8").split("\r\n")  # SPARQL 1.1 CSV ends lines with CRLF
    assert lines[0] == "key,runs,results"
    assert lines[1:4] == ["cervical_ica_stenosis_percent,3,3", "flow_limitation,1,22",
                          "reocclusion,1,22"]


def test_cli_table_results_with_a_folder_qualified_name(saved_store: Any) -> None:
    out = invoke("query", "audit/runs-for-case", "--store", str(saved_store.path),
                 "--bind", "case=basilar-icad-consensus", "--format", "table")
    assert out.exit_code == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].split(" | ")[0].strip() == "case"
    assert lines[-1] == "2 rows"
    assert "2025-11-08-r2" in lines[3]


def test_cli_construct_as_turtle_and_ntriples(saved_store: Any) -> None:
    base = ["query", "recommendation-graph", "--store", str(saved_store.path),
            "--bind", "rec=aha2015-salvage-adjunct"]
    turtle = invoke(*base)  # Turtle is the default for CONSTRUCT
    assert turtle.exit_code == 0, turtle.stderr
    parsed = list(ox.parse(turtle.stdout.encode(), format=ox.RdfFormat.TURTLE))
    assert len(set(parsed)) == 112
    nt = invoke(*base, "--format", "ntriples")
    assert nt.exit_code == 0, nt.stderr
    assert len(set(nt.stdout.strip().splitlines())) == 112


# ----------------------------------------------------------------------------------------
# Injection safety and errors
# ----------------------------------------------------------------------------------------
HOSTILE = [
    'x" } ; DROP ALL #\n',
    "x' } } ; CLEAR ALL ; SELECT * { ?s ?p ?o #",
    'aha2015-salvage-adjunct" } UNION { ?r ?p ?o } #',
    'back\\slash\\" } \\n DROP ALL',
    '"""} ; DROP ALL ; #"""',
]


@pytest.mark.parametrize("value", HOSTILE)
def test_a_hostile_bound_value_matches_nothing_and_changes_nothing(
        saved_store: Any, value: str) -> None:
    before = saved_store.triple_count()
    for name, var in [("evidence-for-recommendation", "rec"), ("runs-for-case", "case"),
                      ("recommendation-graph", "rec"), ("criteria-using-fact", "key")]:
        out = invoke("query", name, "--store", str(saved_store.path),
                     "--bind", f"{var}={value}", "--format",
                     "ntriples" if name == "recommendation-graph" else "json")
        assert out.exit_code == 0, out.stderr
        if name == "recommendation-graph":
            assert out.stdout.strip() == ""
        else:
            assert json.loads(out.stdout)["results"]["bindings"] == []
    assert saved_store.triple_count() == before


def test_a_hostile_iri_binding_is_refused(saved_store: Any) -> None:
    before = saved_store.triple_count()
    out = invoke("query", "runs-for-case", "--store", str(saved_store.path),
                 "--bind", "case=<http://x> } ; DROP ALL ; SELECT * { <http://y>")
    assert out.exit_code == 2
    assert "--bind" in out.stderr
    assert saved_store.triple_count() == before


def test_unknown_query_file_or_name(saved_store: Any) -> None:
    out = invoke("query", "no-such-query.rq", "--store", str(saved_store.path))
    assert out.exit_code == 2
    assert "no-such-query.rq: no such query file" in out.stderr
    out = invoke("query", "no-such-query", "--store", str(saved_store.path))
    assert out.exit_code == 2
    assert "no-such-query: no such named query" in out.stderr


def test_service_is_refused(saved_store: Any, tmp_path: Path) -> None:
    text = "SELECT * WHERE { SERVICE <http://example.org/sparql> { ?s ?p ?o } }"
    out = invoke("query", text, "--store", str(saved_store.path))
    assert out.exit_code == 2
    assert "SERVICE" in out.stderr
    assert out.stdout == ""
    path = tmp_path / "federated.rq"
    path.write_text("# title: t\n" + text.replace("SERVICE", "service") + "\n")
    out = invoke("query", str(path), "--store", str(saved_store.path))
    assert out.exit_code == 2
    assert "SERVICE" in out.stderr


@pytest.mark.parametrize(("name", "fmt", "message"), [
    ("algorithm-steps", "turtle", "format 'turtle' does not fit a SELECT query"),
    ("missing-facts-in-runs", "jsonld", "format 'jsonld' does not fit a SELECT query"),
    ("recommendation-graph", "csv", "format 'csv' does not fit a CONSTRUCT/DESCRIBE query"),
])
def test_a_format_that_does_not_fit_the_query_form(saved_store: Any, name: str,
                                                   fmt: str, message: str) -> None:
    args = ["query", name, "--store", str(saved_store.path), "--format", fmt]
    if name == "recommendation-graph":
        args += ["--bind", "rec=rs-primary"]
    out = invoke(*args)
    assert out.exit_code == 2
    assert message in out.stderr
    assert out.stdout == ""
