"""The embedded store and an external SPARQL engine give the same results."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyoxigraph as ox
import pytest
from click.testing import CliRunner

from guidegraph.cli import main
from guidegraph.errors import GuidegraphError
from guidegraph.knowledge.loading import Knowledge, read_parts
from guidegraph.provenance import record as provenance
from guidegraph.provenance.runs import run_record, save_runs
from guidegraph.reasoning.reasoner import Reasoner
from guidegraph.store import versions
from guidegraph.store.base import EmbeddedStore, Store
from guidegraph.store.log import ABSENT, check, logged_update, read_log
from guidegraph.store.sparql import QueryRefused, QuerySyntaxError
from guidegraph.vocab import GG

ROOT = Path(__file__).parents[2]
RS = ROOT / "guidelines" / "rescue-stenting"  # one guideline keeps the counts of the source
GOLDEN = ROOT / "tests" / "golden" / "rescue-stenting" / "cases"
COUNT = "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"


def total(store: Store) -> int:
    return int(store.query(COUNT).table.rows[0][0].value)


def cases(reasoner: Reasoner, names: list[str]) -> list:
    return [c for n in names for c in reasoner.intake.read(GOLDEN / f"{n}.json")]


def test_knowledge_round_trips_through_the_store(store: Store) -> None:
    versions.load_parts(store, read_parts([RS]))
    kinds = sorted(s["kind"] for s in versions.current_snapshots(store))
    assert kinds == ["guideline", "ontology"]
    from_store = Reasoner(versions.stored_knowledge(store))
    from_files = Reasoner(Knowledge.load([RS]))
    assert from_store.guidelines == from_files.guidelines
    for case in cases(from_files, ["basilar-icad-consensus", "dnr-3-embolic-without-stenosis",
                                   "missing-facts-only-passes"]):
        assert from_store.reason(case).to_json() == from_files.reason(case).to_json()


def test_saved_runs_read_back_identically(store: Store) -> None:
    versions.load_parts(store, read_parts([RS]))
    reasoner = Reasoner(versions.stored_knowledge(store))
    found = cases(reasoner, ["dnr-embolic-late-persistent-occlusion",
                             "failed-thrombolysis-no-thrombectomy"])
    results = [reasoner.reason(c) for c in found]
    save_runs(store, reasoner, found, results)
    for result in results:
        back = provenance.from_triples(run_record(store, result.provenance), reasoner)
        assert back.to_json() == result.to_json()
    rows = store.query("""PREFIX gg: <https://w3id.org/guidegraph/ontology#>
        SELECT ?run WHERE { GRAPH ?g { ?run a gg:ReasoningRun } }""",
                       default_graphs=versions.current_dataset(store)).table.rows
    assert sorted(r[0].value for r in rows) == sorted(r.provenance for r in results)


def _normalised(triples: list[ox.Triple]) -> set[ox.Triple]:
    """The triples as a store keeps them (literals by value)."""
    memory = ox.Store()
    memory.extend(ox.Quad(t.subject, t.predicate, t.object, ox.DefaultGraph()) for t in triples)
    return {q.triple for q in memory}


#: What a store adds to a run's record: the log entry on each graph, and when and as what
#: each snapshot was loaded
STORE_ONLY = {GG + "logEntry", GG + "loadedAt", GG + "snapshotKind"}


def test_a_stored_run_is_under_two_thirds_of_its_record_and_reads_back_whole(
        store: Store) -> None:
    """The stored form leaves out what expand-run.rq derives again from the run graph; the
    stored triples and the derived ones are the whole record, triple for triple, on every
    engine."""
    versions.load_parts(store, read_parts([RS]))
    reasoner = Reasoner(versions.stored_knowledge(store))
    found = [c for p in sorted(GOLDEN.glob("*.json")) for c in reasoner.intake.read(p)]
    results = [reasoner.reason(c) for c in found]
    save_runs(store, reasoner, found, results)
    stored = full = 0
    for result in results:
        record = provenance.to_triples(result, reasoner)
        back = set(run_record(store, result.provenance))
        assert _normalised(record) <= back, result.case_id
        assert {t.predicate.value for t in back - _normalised(record)} <= STORE_ONLY
        own = [t for t in record if t.subject.value.startswith(result.provenance)]
        stored += len(store.graph_triples(result.provenance))
        full += len(own)
    assert len(found) > 50
    assert stored < 0.65 * full  # 0.62 on these cases


def test_a_stored_run_reads_back_as_saved_whatever_happens_to_its_snapshot(
        tmp_path: Path) -> None:
    """The stored form derives nothing from another graph: a logged update that turns a
    statement's direction around in the run's snapshot, or drops the snapshot, leaves what
    the run says it derived as it was."""
    from guidegraph.store.log import logged_update

    store = EmbeddedStore(tmp_path / "store")
    versions.load_parts(store, read_parts([RS]))
    reasoner = Reasoner(versions.stored_knowledge(store))
    found = cases(reasoner, ["basilar-icad-consensus"])
    [result] = [reasoner.reason(c) for c in found]
    save_runs(store, reasoner, found, [result])
    before = set(run_record(store, result.provenance))
    [snapshot] = [s["g"] for s in versions.snapshots(store) if s["kind"] == "guideline"]
    rec = result.recommendations[0]
    turned = "against" if rec.direction == "for" else "for"
    logged_update(store, f"""PREFIX gg: <{GG}>
        DELETE {{ GRAPH <{snapshot}> {{ <{rec.iri}> gg:direction ?d }} }}
        INSERT {{ GRAPH <{snapshot}> {{ <{rec.iri}> gg:direction gg:{turned} }} }}
        WHERE {{ GRAPH <{snapshot}> {{ <{rec.iri}> gg:direction ?d }} }}""", "tester")
    assert set(run_record(store, result.provenance)) == before
    logged_update(store, f"DROP GRAPH <{snapshot}>", "tester")
    back = provenance.from_triples(run_record(store, result.provenance), reasoner)
    assert [(r.id, r.direction, r.status) for r in back.recommendations] == [
        (r.id, r.direction, r.status) for r in result.recommendations]


def test_runs_saved_in_bulk_and_saved_again_keep_the_log_whole(tmp_path: Path) -> None:
    """More runs than one chunk: the new run and case graphs go through the bulk loader,
    the same runs saved again replace them in a transaction; both read back equal and the
    log accounts for every graph."""
    from guidegraph.provenance.runs import _CHUNK
    from guidegraph.reasoning.casegen import generated_cases

    store = EmbeddedStore(tmp_path / "bulk")
    versions.load_parts(store, read_parts([RS]))
    reasoner = Reasoner(versions.stored_knowledge(store))
    found = [reasoner.intake.from_object(o) for o in generated_cases(reasoner, _CHUNK + 30, 11)]
    for _ in range(2):
        results = [reasoner.reason(c) for c in found]
        save_runs(store, reasoner, found, results)
        assert check(store).problems == []
    for result in results[:: _CHUNK // 4]:
        back = provenance.from_triples(run_record(store, result.provenance), reasoner)
        assert back.to_json() == result.to_json()
    runs = {e.graph for e in read_log(store) if e.action == "reason"}
    assert len(runs) == len({r.provenance for r in results}) > _CHUNK


def test_a_log_write_failing_after_the_bulk_load_leaves_graphs_outside_the_log(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The run and case graphs are bulk loaded, then the transaction with the entries (and
    each graph's link to its entry) fails: the graphs are reported as written outside the
    log, never as naming a missing entry, and saving the same runs again logs them."""
    from guidegraph.store.base import StoreError

    store = EmbeddedStore(tmp_path / "store")
    versions.load_parts(store, read_parts([RS]))
    reasoner = Reasoner(versions.stored_knowledge(store))
    found = cases(reasoner, ["basilar-icad-consensus"])
    results = [reasoner.reason(c) for c in found]
    real = EmbeddedStore.add_graphs

    def failing(self: EmbeddedStore, *args: object, **kwargs: object) -> None:
        raise StoreError("write failed, nothing was written: disk full")

    monkeypatch.setattr(EmbeddedStore, "add_graphs", failing)
    with pytest.raises(StoreError) as failed:
        save_runs(store, reasoner, found, results)
    assert str(failed.value) == (
        "the log entries were not written (write failed, nothing was written: disk full); "
        "the 2 new graphs bulk loaded before them are stored without entries (`guidegraph "
        "audit --verify-log` lists them as written outside the log; saving the same runs "
        "again logs them)")
    monkeypatch.setattr(EmbeddedStore, "add_graphs", real)
    problems = check(store).problems
    assert len(problems) == 2 and all("outside the log" in p for p in problems), problems
    assert not any("missing" in p for p in problems)
    save_runs(store, reasoner, found, [reasoner.reason(c) for c in found])
    assert check(store).problems == []


def test_hashing_a_chunk_of_runs_at_once_is_hashing_each(tmp_path: Path) -> None:
    """The chunk hash (literal lines normalised in one store, IRI lines as written) is the
    reference hash of each graph, for runs, cases and graphs with tricky literals."""
    from guidegraph.provenance.runs import stored_run
    from guidegraph.reasoning.casegen import generated_cases
    from guidegraph.store.hashing import ntriples_hash, ntriples_hashes

    reasoner = Reasoner(Knowledge.load([RS]))
    found = [*cases(reasoner, ["basilar-icad-consensus", "missing-facts-only-passes"]),
             *(reasoner.intake.from_object(o) for o in generated_cases(reasoner, 40, 13))]
    texts: dict[str, bytes] = {}
    for case in found:
        run = stored_run(reasoner, case, reasoner.reason(case))
        texts[run.run_iri], texts[case.iri + "#graph"] = run.run_text, run.case_text
    texts["urn:tricky"] = (
        b'<urn:a> <urn:p> "01"^^<http://www.w3.org/2001/XMLSchema#integer> .\n'
        b'<urn:a> <urn:p> "1.50"^^<http://www.w3.org/2001/XMLSchema#decimal> .\n'
        b'<urn:a> <urn:p> "2026-01-02T03:04:05.100+00:00"'
        b"^^<http://www.w3.org/2001/XMLSchema#dateTime> .\n"
        b'<urn:a> <urn:p> "say \\"hi\\" <urn:x> ." .\n<urn:a> <urn:q> <urn:b> .\n'
        b"<urn:a> <urn:q> <urn:b> .\n")
    texts["urn:blank"] = b"_:x <urn:p> _:y .\n"
    assert ntriples_hashes(texts) == {g: ntriples_hash(t) for g, t in texts.items()}


def test_a_failed_bulk_load_says_what_may_be_stored(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    store = EmbeddedStore(tmp_path / "failing")
    versions.load_parts(store, read_parts([RS]))
    reasoner = Reasoner(versions.stored_knowledge(store))
    found = cases(reasoner, ["basilar-icad-consensus"])
    before = total(store)

    class Full:
        def __getattr__(self, name: str) -> object:
            return getattr(real, name)

        def bulk_load(self, *args: object, **kwargs: object) -> None:
            raise OSError("No space left on device")

    real = store.ox
    monkeypatch.setattr(store, "ox", Full())
    with pytest.raises(GuidegraphError) as failed:
        save_runs(store, reasoner, found, [reasoner.reason(c) for c in found])
    assert str(failed.value) == (
        "write failed: No space left on device; of the 2 new graphs being bulk loaded, some "
        "may be stored in part and without their log entries (`guidegraph audit "
        "--verify-log` lists them); nothing stored before was changed")
    monkeypatch.setattr(store, "ox", real)
    assert total(store) == before  # this failure wrote nothing
    assert check(store).problems == []


def test_no_triple_is_stored_twice(store: Store) -> None:
    """No triple is in two graphs: a union of graphs (Oxigraph's union default graph, a
    default graph of several graphs) keeps duplicates."""
    versions.load_parts(store, read_parts([RS]))
    reasoner = Reasoner(versions.stored_knowledge(store))
    found = cases(reasoner, ["basilar-icad-consensus"])
    save_runs(store, reasoner, found, [reasoner.reason(c) for c in found])
    save_runs(store, reasoner, found, [reasoner.reason(c) for c in found])  # again
    all_rows = store.query("SELECT ?s ?p ?o WHERE { GRAPH ?g { ?s ?p ?o } }")
    distinct = store.query("SELECT DISTINCT ?s ?p ?o WHERE { GRAPH ?g { ?s ?p ?o } }")
    assert len(all_rows.table.rows) == len(distinct.table.rows) > 1000


def test_a_new_guideline_version_becomes_current_and_the_old_one_stays(
        store: Store, tmp_path: Path) -> None:
    versions.load_parts(store, read_parts([RS]))
    old_hash = Reasoner(versions.stored_knowledge(store)).guidelines[0]["content_hash"]
    changed = tmp_path / "rescue-stenting"
    shutil.copytree(ROOT / "guidelines" / "rescue-stenting", changed)
    criteria = changed / "criteria.ttl"
    criteria.write_text(criteria.read_text().replace("gg:threshold 360", "gg:threshold 300"))
    versions.load_parts(store, read_parts([changed]))
    stored = [s for s in versions.snapshots(store) if s["kind"] == "guideline"]
    assert len(stored) == 2
    reasoner = Reasoner(versions.stored_knowledge(store))
    assert reasoner.guidelines[0]["content_hash"] != old_hash
    case = reasoner.intake.from_object({"id": "t", "minutes_since_onset": 330, "evt_passes": 3,
                                        "tici": "2a"})
    derived = {r.id for r in reasoner.reason(case).recommendations}
    assert "aha2015-salvage-adjunct" not in derived  # 330 > 300 under the new version
    versions.load_parts(store, read_parts([RS]))  # reloading the old version makes it current again
    assert Reasoner(versions.stored_knowledge(store)).guidelines[0]["content_hash"] == old_hash


def test_failed_write_leaves_the_store_unchanged(store: Store) -> None:
    versions.load_parts(store, read_parts([RS]))
    before = total(store)
    with pytest.raises(GuidegraphError):
        store.update("INSERT DATA { GRAPH <http://example.org/g> { <http://e/s> <http://e/p> "
                     "<http://e/o> } } ; INSERT DATA { GRAPH <http://example.org/g> { bad } }")
    assert total(store) == before
    assert "http://example.org/g" not in store.graph_names()


def test_refused_constructs(store: Store) -> None:
    for text, word in [("SELECT * WHERE { SERVICE <http://127.0.0.1:9/x> { ?s ?p ?o } }",
                        "SERVICE"),
                       ("SELECT * FROM <http://127.0.0.1:9/x> WHERE { ?s ?p ?o }", "FROM"),
                       ("SELECT * FROM NAMED <http://127.0.0.1:9/x> WHERE { ?s ?p ?o }",
                        "FROM")]:
        with pytest.raises(QueryRefused, match=f"{word} is not allowed"):
            store.query(text)
    with pytest.raises(QuerySyntaxError, match="not valid SPARQL"):
        store.query("SELECT WHERE {")


def test_bindings_are_parameters_not_text(store: Store) -> None:
    versions.load_parts(store, read_parts([RS]))
    text = """PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
        SELECT ?r WHERE { ?r skos:notation ?id }"""
    before = total(store)
    found = store.query(text, bindings={"id": ox.Literal("rs-primary")},
                        default_graphs=versions.current_dataset(store)).table.rows
    assert [r[0].value.rsplit("/", 1)[-1] for r in found] == ["rec-primary"]
    hostile = 'rs-primary" } ; DROP ALL ; # \n \\ {'
    none = store.query(text, bindings={"id": ox.Literal(hostile)},
                       default_graphs=versions.current_dataset(store)).table.rows
    assert none == [] and total(store) == before


def test_cli_against_the_store(store: Store, tmp_path: Path) -> None:
    runner = CliRunner()
    # An embedded store is locked by the process that opened it: give the CLI its own.
    spec = store.location if store.location.startswith("http") else str(tmp_path / "cli")
    assert runner.invoke(main, ["load", "--store", spec]).exit_code == 0
    example = str(ROOT / "examples" / "basilar-icad-failed-evt.json")
    saved = runner.invoke(main, ["reason", example, "--save", "--store", spec, "--format",
                                 "json"])
    assert saved.exit_code == 0, saved.output
    run = json.loads(saved.stdout)["provenance"]
    out = runner.invoke(main, ["query", "--store", spec, "--format", "csv",
                               "PREFIX gg: <https://w3id.org/guidegraph/ontology#> "
                               "SELECT ?run WHERE { GRAPH ?g { ?run a gg:ReasoningRun } }"])
    assert out.exit_code == 0 and out.stdout.splitlines() == ["run", run]
    explained = runner.invoke(main, ["explain", "--run", run, "--store", spec])
    direct = runner.invoke(main, ["explain", example])
    assert explained.exit_code == 0, explained.output
    assert explained.stdout.replace(run, "") == direct.stdout.replace(run, "")


def test_the_log_accounts_for_every_graph_on_both_stores(store: Store) -> None:
    """Hashes written before a write and read back from either engine agree; a second load
    of the same versions adds nothing; an edit outside the log is found."""
    versions.load_parts(store, read_parts([RS]))
    reasoner = Reasoner(versions.stored_knowledge(store))
    found = cases(reasoner, ["basilar-icad-consensus", "dnr-3-embolic-without-stenosis"])
    results = [reasoner.reason(c) for c in found]
    save_runs(store, reasoner, found, results)
    assert check(store).problems == []
    entries = len(read_log(store))
    written = versions.load_parts(store, read_parts([RS]))
    assert [flag for _name, flag in written] == [False, False]
    assert len(read_log(store)) == entries
    run = results[0].provenance
    [entry] = [e for e in read_log(store) if e.graph == run]
    [recorded] = [s.after for s in entry.states if s.graph == run]
    store.update(f"INSERT DATA {{ GRAPH <{run}> {{ <{run}> <http://e/p> 1 }} }}")
    assert check(store).problems == [
        f"graph <{run}> was changed outside the log: its content hash is "
        f"{store.graph_hash(run)}, entry {entry.sequence} recorded {recorded}"]


def test_a_logged_update_records_each_graph_it_changed_on_both_stores(store: Store) -> None:
    versions.load_parts(store, read_parts([RS]))
    snapshot = next(g for g in store.graph_names() if "/snapshot/" in g)
    before = store.graph_hash(snapshot)
    logged_update(store, f"INSERT DATA {{ GRAPH <{snapshot}> {{ <{snapshot}> <http://e/p> 1 }} "
                         "GRAPH <http://e/new> { <http://e/s> <http://e/p> 2 } }", "alice")
    last = read_log(store)[-1]
    assert (last.action, last.actor) == ("update", "alice")
    assert {(s.graph, s.before, s.after) for s in last.states} == {
        (snapshot, before, store.graph_hash(snapshot)),
        ("http://e/new", ABSENT, store.graph_hash("http://e/new"))}
    assert check(store).problems == []


def test_the_endpoint_reasons_and_audits_with_the_knowledge_loaded_last(
        store: Store, tmp_path: Path) -> None:
    """One decision of which knowledge to use, made per request: /reason, /health and /audit
    agree, and a load is seen by the next request (no reasoner kept from startup)."""
    from guidegraph.serve.backend import knowledge_chooser
    from guidegraph.serve.pages import AuditPages

    current = knowledge_chooser(store)
    source, shipped = current()
    assert not source.stored
    assert sorted(g["id"] for g in shipped.guidelines) == ["ivt-eligibility", "rescue-stenting"]
    versions.load_parts(store, read_parts([RS]))
    source, loaded = current()
    assert source.stored and [g["id"] for g in loaded.guidelines] == ["rescue-stenting"]
    assert current()[1] is loaded  # compiled once per knowledge version
    changed = tmp_path / "rescue-stenting"
    shutil.copytree(RS, changed)
    criteria = changed / "criteria.ttl"
    criteria.write_text(criteria.read_text().replace("gg:threshold 360", "gg:threshold 300"))
    versions.load_parts(store, read_parts([changed]))
    newer = current()[1]
    assert newer.guidelines[0]["content_hash"] != loaded.guidelines[0]["content_hash"]
    pages = AuditPages(store, current, lambda *args, **kwargs: "/")
    reasoner, stored, graphs = pages.current()
    assert reasoner is newer and stored
    assert graphs == {s["g"] for s in versions.current_snapshots(store)}


def test_explain_of_a_statement_a_saved_run_did_not_list_says_so(tmp_path: Path) -> None:
    """A run saved with --why-not none counts the statements it leaves out; explain --run
    --rec of one says it was not listed and how to ask why not, instead of printing nothing."""
    runner = CliRunner()
    spec = str(tmp_path / "store")
    example = str(ROOT / "examples" / "m1-embolic-late.json")
    saved = runner.invoke(main, ["reason", example, "--format", "json", "--store", spec,
                                 "--save", "--why-not", "none"])
    assert saved.exit_code == 0, saved.output
    result = json.loads(saved.stdout)
    listed = {r["id"] for r in result["recommendations"]} | {
        r["id"] for r in result["not_applicable"]}
    assert result["rejected_not_listed"] > 0 and "aha2021-severe-stenosis-harm" not in listed
    explained = runner.invoke(main, ["explain", "--run", result["provenance"], "--store", spec,
                                     "--rec", "aha2021-severe-stenosis-harm"])
    assert explained.exit_code == 0, explained.output
    assert explained.stdout.endswith(
        "\n\naha2021-severe-stenosis-harm: not listed by this run, which counted what it did "
        "not list (reason --why-not undecided or none): it did not apply (unmet, or undecided "
        "with no verdict waiting on it); `guidegraph explain CASE --rec "
        "aha2021-severe-stenosis-harm` reasons the case again and says why not\n")
    listed_one = sorted(listed)[0]
    again = runner.invoke(main, ["explain", "--run", result["provenance"], "--store", spec,
                                 "--rec", listed_one])
    assert "not listed by this run" not in again.stdout
