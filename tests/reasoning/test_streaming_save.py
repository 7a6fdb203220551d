"""A saved batch streams too: each chunk's runs are saved before its results are written, the
output is the unsaved batch's, every run reads back as its result, and the batch is one
PROV-O activity (gg:ReasoningBatch) listing its runs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from guidegraph.cli import main
from guidegraph.errors import CaseInputError
from guidegraph.provenance import record as provenance
from guidegraph.provenance.batch import CHUNK, stream
from guidegraph.provenance.runs import RunSaver, run_record
from guidegraph.reasoning.casegen import generated_cases
from guidegraph.reasoning.reasoner import Reasoner
from guidegraph.store import versions
from guidegraph.store.base import EmbeddedStore, Store, open_store
from guidegraph.store.log import check, read_log
from tests.reasoning.test_streaming import GOLDEN, _number, same, whole

ROOT = Path(__file__).parents[2]
BATCHES = """PREFIX gg: <https://w3id.org/guidegraph/ontology#>
PREFIX prov: <http://www.w3.org/ns/prov#>
PREFIX dcterms: <http://purl.org/dc/terms/>
SELECT ?batch ?runs ?errors ?ended (COUNT(?run) AS ?parts) WHERE {
  GRAPH ?batch { ?batch a gg:ReasoningBatch , prov:Activity ; prov:startedAtTime ?started ;
                        prov:wasAssociatedWith ?agent .
                 OPTIONAL { ?batch gg:runCount ?runs ; gg:inputErrorCount ?errors ;
                                   prov:endedAtTime ?ended } }
  OPTIONAL { GRAPH ?run { ?run a gg:ReasoningRun ; dcterms:isPartOf ?batch } }
} GROUP BY ?batch ?runs ?errors ?ended"""


def batches(store: Store) -> list[tuple]:
    """(batch, runs counted, input errors counted, ended, runs listed) of each batch."""
    def number(term: object) -> int | None:
        return None if term is None else int(term.value)  # type: ignore[attr-defined]

    return [(r[0].value, number(r[1]), number(r[2]), r[3] is not None, number(r[4]))
            for r in store.query(BATCHES).table.rows]


def stored_runs(store: Store) -> list[str]:
    return sorted(e.graph for e in read_log(store) if e.action == "reason")


def test_the_cli_saves_the_golden_cases_as_it_streams_them(tmp_path: Path,
                                                           reasoner: Reasoner) -> None:
    """Output with --save is the output without it; one run per case, one batch, log whole."""
    spec = str(tmp_path / "store")
    plain = subprocess.run([sys.executable, "-m", "guidegraph", "reason", *map(str, GOLDEN),
                            "--format", "ndjson"], capture_output=True, text=True, cwd=ROOT,
                           check=False)
    saved = subprocess.run([sys.executable, "-m", "guidegraph", "reason", *map(str, GOLDEN),
                            "--format", "ndjson", "--store", spec, "--save"],
                           capture_output=True, text=True, cwd=ROOT, check=False)
    assert plain.returncode == saved.returncode == 0, saved.stderr
    assert same(saved.stdout, plain.stdout)
    results = [json.loads(line) for line in saved.stdout.splitlines()]
    store = open_store(spec, write=False)
    assert stored_runs(store) == sorted(r["provenance"] for r in results)
    [(batch, runs, errors, ended, parts)] = batches(store)
    assert (runs, errors, ended, parts) == (len(results), 0, True, len(results))
    assert check(store).problems == []
    entry = next(e for e in read_log(store) if e.action == "reason-batch")
    assert entry.graph == batch and entry.describe() == f"reason-batch of {batch}"


def test_a_saved_stream_on_two_workers_is_the_whole_batch_and_reads_back(
        tmp_path: Path, reasoner: Reasoner) -> None:
    """More than two chunks on two workers, with an input error among them: the output is
    the unsaved whole batch's, each run reads back as its result, and at most two chunks
    per worker are held."""
    store = EmbeddedStore(tmp_path / "store")
    versions.store_knowledge_of(store, versions.current_knowledge(None, ()))
    cases = [reasoner.intake.from_object(o) for o in generated_cases(reasoner, 2 * CHUNK + 17,
                                                                     23)]
    bad = CaseInputError("not a case", source="x")
    out: list[str] = []
    errors: list[CaseInputError] = []
    saver = RunSaver(store, batch=True)
    stats = stream(reasoner, [*cases[:CHUNK], bad, *cases[CHUNK:]], "ndjson", out.append,
                   errors.append, jobs=2, save=saver)
    assert same("".join(out), whole(reasoner, cases, "ndjson"))
    assert (stats.results, stats.errors, saver.saved) == (len(cases), 1, len(cases))
    assert stats.most_held <= 2 * 2 * CHUNK
    lines = [json.loads(line) for line in "".join(out).splitlines()]
    assert stored_runs(store) == sorted(r["provenance"] for r in lines)
    for line in lines[::CHUNK // 3]:
        back = provenance.from_triples(run_record(store, line["provenance"]), reasoner)
        assert same(back.to_json_text(), json.dumps(line, ensure_ascii=False,
                                                     separators=(",", ":")))
    [(_batch, runs, errors_counted, ended, parts)] = batches(store)
    assert (runs, errors_counted, ended, parts) == (len(cases), 1, True, len(cases))
    assert check(store).problems == []


def test_a_single_saved_case_is_a_run_without_a_batch(tmp_path: Path) -> None:
    spec = str(tmp_path / "store")
    done = CliRunner().invoke(main, ["reason", str(ROOT / "examples" / "m1-embolic-late.json"),
                                     "--format", "json", "--store", spec, "--save"])
    assert done.exit_code == 0, done.output
    store = open_store(spec, write=False)
    assert stored_runs(store) == [json.loads(done.stdout)["provenance"]]
    assert batches(store) == []


@pytest.mark.parametrize("fmt", ["ndjson", "json"])
def test_a_store_failing_mid_batch_stops_it_with_what_was_saved_written(
        tmp_path: Path, reasoner: Reasoner, monkeypatch: pytest.MonkeyPatch, fmt: str) -> None:
    """The second chunk's write fails: exit 2, the first chunk's results are written (a
    whole document) and saved, nothing after it, and the message says so."""
    from guidegraph.store.base import StoreError

    objs = generated_cases(reasoner, 2 * CHUNK + 5, 29)
    path = tmp_path / "batch.ndjson"
    path.write_text("\n".join(json.dumps(o, default=_number) for o in objs) + "\n")
    spec = str(tmp_path / "store")
    writes = []
    real = EmbeddedStore.write_graphs

    def failing(self: EmbeddedStore, *args: object, **kwargs: object) -> None:
        if any("/run/" in g for g in kwargs["texts"]):  # a chunk of runs (not the knowledge)
            writes.append(1)
        if len(writes) == 2:
            raise StoreError("write failed: disk full")
        real(self, *args, **kwargs)

    monkeypatch.setattr(EmbeddedStore, "write_graphs", failing)
    done = CliRunner().invoke(main, ["reason", str(path), "--format", fmt, "--store",
                                     spec, "--save", "--jobs", "1"])
    assert done.exit_code == 2
    assert done.stderr == (f"guidegraph: created a new store at {spec}\n"
                           "guidegraph: the store refused a write: write failed: disk full "
                           f"(the {CHUNK} runs written before it are saved and their results "
                           "written)\n")
    written = (json.loads(done.stdout) if fmt == "json"
               else [json.loads(line) for line in done.stdout.splitlines()])
    assert [r["case"].rsplit("/", 1)[-1] for r in written] == [o["id"] for o in objs[:CHUNK]]
    monkeypatch.setattr(EmbeddedStore, "write_graphs", real)
    store = open_store(spec, write=False)
    assert stored_runs(store) == sorted(r["provenance"] for r in written)
    [(_batch, runs, _errors, ended, parts)] = batches(store)
    assert (runs, ended, parts) == (None, False, CHUNK)  # not ended: the batch stopped
    assert check(store).problems == []


def test_a_batch_saved_as_a_turtle_document_is_one_batch_too(tmp_path: Path) -> None:
    """Turtle and JSON-LD are written whole, and saved as one batch all the same."""
    import pyoxigraph as ox

    spec = str(tmp_path / "store")
    examples = sorted((ROOT / "examples").glob("*.json"))
    done = CliRunner().invoke(main, ["reason", *map(str, examples), "--format", "turtle",
                                     "--store", spec, "--save"])
    assert done.exit_code == 0, done.output
    written = ox.Store()
    written.load(done.stdout.encode(), format=ox.RdfFormat.TURTLE)
    runs = sorted(r["run"].value for r in written.query(
        "SELECT ?run WHERE { ?run a <https://w3id.org/guidegraph/ontology#ReasoningRun> }"))
    store = open_store(spec, write=False)
    assert len(runs) == len(examples) and stored_runs(store) == runs
    [(_batch, count, errors, ended, parts)] = batches(store)
    assert (count, errors, ended, parts) == (len(examples), 0, True, len(examples))
    assert check(store).problems == []
