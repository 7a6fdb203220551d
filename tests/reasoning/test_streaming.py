"""A batch streamed (and spread over worker processes) is the batch written whole: the same
bytes in the same order, with a bounded number of results held at any time."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from guidegraph.errors import CaseInputError
from guidegraph.provenance import record as provenance
from guidegraph.provenance.batch import CHUNK, stream
from guidegraph.reasoning.casegen import generated_cases
from guidegraph.reasoning.reasoner import Reasoner
from guidegraph.reasoning.result import render_text

ROOT = Path(__file__).parents[2]
GOLDEN = sorted((ROOT / "tests" / "golden").glob("*/cases"))
TIMES = re.compile(r"\d{4}-\d\d-\d\dT[\d:.]+(?:\+00:00|Z)?")  # when a run started and ended


def whole(reasoner: Reasoner, cases: list, fmt: str) -> str:
    """The batch as ``reason`` wrote it before it streamed: everything at once."""
    results = [reasoner.reason(case) for case in cases]
    if fmt == "json":
        return "[\n" + ",\n".join(r.to_json_text() for r in results) + "\n]\n"
    if fmt == "ndjson":
        return "\n".join(r.to_json_text() for r in results) + "\n"
    if fmt == "text":
        return "\n".join(render_text(r) for r in results)
    nt = "".join(provenance.to_ntriples(r, reasoner) for r in results)
    return nt if fmt == "ntriples" else provenance.serialize_ntriples(nt, fmt)


def graph_of(text: str, fmt: str) -> set[str]:
    """A Turtle or JSON-LD document's triples (N-Triples lines, times left out)."""
    import pyoxigraph as ox

    store = ox.Store()
    store.load(text.encode(), format=ox.RdfFormat.TURTLE if fmt == "turtle"
               else ox.RdfFormat.JSON_LD)
    return {TIMES.sub("T", str(q.triple)) for q in store}


def streamed(reasoner: Reasoner, items: list, fmt: str, jobs: int) -> tuple[str, object]:
    out: list[str] = []
    errors: list[CaseInputError] = []
    stats = stream(reasoner, items, fmt, out.append, errors.append, jobs=jobs)
    assert stats.errors == len(errors)
    return "".join(out), stats


def same(a: str, b: str) -> bool:
    return TIMES.sub("T", a) == TIMES.sub("T", b)


@pytest.mark.parametrize("fmt", ["json", "ndjson", "text", "ntriples", "turtle", "jsonld"])
def test_the_cli_streams_the_golden_cases_as_the_whole_batch(reasoner: Reasoner,
                                                              fmt: str) -> None:
    """The same bytes; for Turtle and JSON-LD (one document of every run, each run's part
    serialized on its own) the same graph."""
    cases = [c for folder in GOLDEN[:1] + GOLDEN[1:] for c in _cases(reasoner, folder)]
    done = subprocess.run([sys.executable, "-m", "guidegraph", "reason",
                           *map(str, GOLDEN), "--format", fmt],
                          capture_output=True, text=True, cwd=ROOT, check=False)
    assert done.returncode == 0, done.stderr
    if fmt in ("turtle", "jsonld"):
        streamed_graph = graph_of(done.stdout, fmt)
        assert streamed_graph == graph_of(whole(reasoner, cases, fmt), fmt)
        assert len(streamed_graph) > 10_000
        return
    assert same(done.stdout, whole(reasoner, cases, fmt))


@pytest.mark.slow
def test_ten_thousand_generated_cases_on_two_workers_are_the_whole_batch(
        reasoner: Reasoner) -> None:
    cases = [reasoner.intake.from_object(obj) for obj in generated_cases(reasoner, 10_000, 7)]
    text, stats = streamed(reasoner, cases, "ndjson", jobs=2)
    assert same(text, whole(reasoner, cases, "ndjson"))
    assert stats.results == 10_000
    # Memory: at most two chunks per worker are held, however long the batch.
    assert stats.most_held <= 2 * 2 * CHUNK


@pytest.mark.parametrize("fmt", ["turtle", "jsonld"])
def test_rdf_documents_stream_on_two_workers_as_the_whole_graph(reasoner: Reasoner,
                                                               fmt: str) -> None:
    cases = [reasoner.intake.from_object(obj) for obj in generated_cases(reasoner, 2 * CHUNK + 9,
                                                                         17)]
    text, stats = streamed(reasoner, cases, fmt, jobs=2)
    assert graph_of(text, fmt) == graph_of(whole(reasoner, cases, fmt), fmt)
    assert stats.results == len(cases) and stats.most_held <= 2 * 2 * CHUNK
    if fmt == "turtle":
        assert text.count("@prefix gg: ") == 1
    else:
        assert text.startswith("[{") and text.endswith("}]")


def test_errors_go_aside_and_the_order_stays(reasoner: Reasoner) -> None:
    cases = [reasoner.intake.from_object(obj) for obj in generated_cases(reasoner, 3 * CHUNK, 3)]
    bad = CaseInputError("not a case", source="x")
    items = [*cases[:CHUNK], bad, *cases[CHUNK:]]
    text, stats = streamed(reasoner, items, "json", jobs=2)
    assert stats.errors == 1 and stats.results == len(cases)
    assert same(text, whole(reasoner, cases, "json"))
    assert [r["case"] for r in json.loads(text)] == [c.iri for c in cases]


def test_an_ndjson_file_is_read_line_by_line_without_a_whole_file_limit(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reasoner: Reasoner) -> None:
    """The size limit applies per case: a batch file far larger than it is fine."""
    objs = generated_cases(reasoner, 400, 5)
    path = tmp_path / "batch.ndjson"
    path.write_text("\n".join(json.dumps(o, default=_number) for o in objs) + "\n")
    longest = max(len(line) for line in path.read_bytes().splitlines())
    monkeypatch.setenv("GUIDEGRAPH_MAX_CASE_BYTES", str(longest + 1))
    assert path.stat().st_size > 100 * (longest + 1)
    items = list(reasoner.intake.read(path))
    assert not [i for i in items if isinstance(i, CaseInputError)]
    assert len(items) == 400
    monkeypatch.setenv("GUIDEGRAPH_MAX_CASE_BYTES", str(longest - 1))
    errors = [i for i in reasoner.intake.read(path) if isinstance(i, CaseInputError)]
    assert errors and all("batch.ndjson:" in (e.source or "") for e in errors)
    assert all(f"longer than {longest - 1} bytes, the limit per case" in str(e)
               for e in errors if "longer" in str(e))


def test_the_cli_spreads_a_large_batch_over_workers_in_input_order(
        tmp_path: Path, reasoner: Reasoner) -> None:
    objs = generated_cases(reasoner, 3 * CHUNK, 9)
    path = tmp_path / "batch.ndjson"
    path.write_text("\n".join(json.dumps(o, default=_number) for o in objs) + "\n")
    runs = {jobs: subprocess.run([sys.executable, "-m", "guidegraph", "reason", str(path),
                                  "--format", "ndjson", "--jobs", jobs, "--why-not",
                                  "undecided"], capture_output=True, text=True, cwd=ROOT,
                                 check=False) for jobs in ("1", "2")}
    assert all(done.returncode == 0 for done in runs.values())
    assert same(runs["1"].stdout, runs["2"].stdout)
    lines = [json.loads(line) for line in runs["2"].stdout.splitlines()]
    assert [r["case"].rsplit("/", 1)[-1] for r in lines] == [o["id"] for o in objs]
    assert all("rejected_not_listed" in r for r in lines)


def test_the_cli_refuses_a_bad_why_not_and_jobs() -> None:
    for args, word in ((["--why-not", "some"],
                        "'some' is not one of 'all', 'undecided', 'none'"),
                       (["--jobs", "0"], "0 is not in the range x>=1")):
        done = subprocess.run([sys.executable, "-m", "guidegraph", "reason",
                               str(ROOT / "examples" / "m1-embolic-late.json"), *args],
                              capture_output=True, text=True, cwd=ROOT, check=False)
        assert done.returncode == 2 and word in done.stderr and not done.stdout


def _cases(reasoner: Reasoner, folder: Path) -> list:
    return [c for c in reasoner.intake.read(folder) if not isinstance(c, CaseInputError)]


def _number(value: object) -> object:
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(type(value).__name__)


def test_a_json_list_larger_than_the_limit_is_read_element_by_element(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reasoner: Reasoner) -> None:
    """A JSON list too large for the per-case limit gives the same cases as the same list
    read whole, each element held to the limit and named by its index when refused."""
    objs = generated_cases(reasoner, 300, 6)
    path = tmp_path / "batch.json"
    path.write_text("[\n" + ",\n".join(json.dumps(o, default=_number, indent=1)
                                       for o in objs) + "\n]\n")
    expected = [c.to_json() if hasattr(c, "to_json") else c.facts
                for c in reasoner.intake.read(path)]  # read whole: within the default limit
    longest = max(len(json.dumps(o, default=_number, indent=1).encode()) for o in objs)
    monkeypatch.setenv("GUIDEGRAPH_MAX_CASE_BYTES", str(longest + 1))
    assert path.stat().st_size > 100 * (longest + 1)
    items = list(reasoner.intake.read(path))
    assert not [i for i in items if isinstance(i, CaseInputError)]
    assert [i.facts for i in items] == expected
    monkeypatch.setenv("GUIDEGRAPH_MAX_CASE_BYTES", str(longest - 1))
    got = list(reasoner.intake.read(path))
    errors = [i for i in got if isinstance(i, CaseInputError)]
    assert errors and len(got) == 300
    assert all(re.fullmatch(r".*batch\.json\[\d+\]", e.source or "") for e in errors)
    assert all(f"element is longer than {longest - 1} bytes, the limit per case" in str(e)
               for e in errors)


@pytest.mark.parametrize(("text", "message", "where"), [
    ('[{"id": "a"}, {"id": "b"}', "the list is not closed with ]", "bad.json"),
    ('[{"id": "a"}] {"id": "b"}', "text after the end of the list", "bad.json"),
    ('[{"id": "a"},, {"id": "b"}]', "not valid JSON", "bad.json[1]"),
    ('[{"id": "a"},]', "not valid JSON", "bad.json[1]"),
    ('[{"id": "a", "id": "b"}]', "appears twice in one JSON object", "bad.json[0]"),
    ('[{"id": "a]},{"}]', "", ""),
])
def test_a_streamed_json_list_is_read_as_strictly_as_a_whole_one(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reasoner: Reasoner,
        text: str, message: str, where: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(text + " " * 64)
    monkeypatch.setenv("GUIDEGRAPH_MAX_CASE_BYTES", "32")  # the file is over it: streamed
    items = list(reasoner.intake.read(path))
    errors = [i for i in items if isinstance(i, CaseInputError)]
    if not message:  # brackets and commas inside a string do not split an element
        assert errors == [] and [i.id for i in items] == ["a]},{"]
        return
    assert any(message in str(e) and (e.source or "").endswith(where) for e in errors), \
        [(str(e), e.source) for e in errors]
