"""Tampering with a store outside the log is found: `guidegraph audit --verify-log` hashes
every stored graph again and holds it to the log's account; `--expect-head` catches a chain
rewritten consistently; loading is idempotent and atomic. Real stores, the real CLI."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pyoxigraph as ox
import pytest

from guidegraph.store import versions
from guidegraph.store.base import EmbeddedStore
from guidegraph.store.hashing import content_hash, ntriples_hash
from guidegraph.store.log import (
    ABSENT,
    LOG_GRAPH,
    Entry,
    GraphState,
    _entry_triples,
    check,
    logged_update,
    read_log,
)
from guidegraph.store.sparql import QueryRefused
from guidegraph.vocab import COPY_GRAPH, RUN_BASE, SKOS, SNAPSHOT_BASE

from .conftest import cli

ROOT = Path(__file__).parents[2]
GOLDEN = ROOT / "tests" / "golden" / "rescue-stenting" / "cases"
GG = "https://w3id.org/guidegraph/ontology#"


def verify_cli(path: Path, *args: str) -> subprocess.CompletedProcess:
    return cli("audit", "--store", str(path), "--verify-log", *args)


def a_run_with_a_met_criterion(store: EmbeddedStore) -> tuple[str, Entry]:
    rows = store.query(f"""SELECT ?g WHERE {{ GRAPH ?g {{ ?e <{GG}status> <{GG}met> }}
        FILTER(STRSTARTS(STR(?g), "{RUN_BASE}")) }} ORDER BY ?g LIMIT 1""").table.rows
    run = rows[0][0].value
    [entry] = [e for e in read_log(store) if e.graph == run]
    return run, entry


def recorded(entry: Entry, graph: str) -> str:
    [state] = [s for s in entry.states if s.graph == graph]
    return state.after


def flip_one_status(store: EmbeddedStore, run: str) -> None:
    """A criterion of the run recorded as met becomes unmet: the edit the log must catch."""
    store.update(f"""PREFIX gg: <{GG}>
        DELETE {{ GRAPH <{run}> {{ ?e gg:status gg:met }} }}
        INSERT {{ GRAPH <{run}> {{ ?e gg:status gg:unmet }} }}
        WHERE {{ {{ SELECT ?e WHERE {{ GRAPH <{run}> {{ ?e gg:status gg:met }} }}
                   ORDER BY ?e LIMIT 1 }} }}""")


def rewrite_log(store: EmbeddedStore, entries: list[Entry], *, legacy: bool = False) -> None:
    """What a writer with the update token could do: rebuild every entry after an edit,
    each hash recomputed, so the chain is consistent again (``legacy``: as entries were
    written before content hashes)."""
    previous = ""
    triples: list[ox.Triple] = []
    for entry in entries:
        if legacy:
            entry.format, entry.states = "", []
        entry.previous = previous
        entry.hash = entry.computed_hash()
        previous = entry.hash
        triples += [t for t in _entry_triples(entry)
                    if not (legacy and t.predicate.value == GG + "logFormat")]
    store.update(f"DROP GRAPH <{LOG_GRAPH}>")
    store.add_graphs({LOG_GRAPH: triples})


def test_an_intact_store_verifies_and_prints_its_head(store_path: Path) -> None:
    store = EmbeddedStore(store_path)
    entries = read_log(store)
    head = entries[-1].head()
    assert all(e.format == "2" and e.states for e in entries)
    runs = [e for e in entries if e.action == "reason"]
    assert len(runs) == len(list(GOLDEN.iterdir()))
    # each run's entry records its run graph and its case graph
    assert all({s.graph for s in e.states} >= {e.graph} and len(e.states) >= 2 for e in runs)
    store.close()
    res = verify_cli(store_path)
    assert res.returncode == 0, res.stdout
    assert res.stdout == f"audit log: {len(entries)} entries, intact; head {head}\n"
    printed = cli("audit", "--store", str(store_path), "--log-head")
    assert printed.returncode == 0 and printed.stdout == head + "\n"
    assert verify_cli(store_path, "--expect-head", head).returncode == 0
    # an older head is still extended by the chain
    assert verify_cli(store_path, "--expect-head", entries[3].head()).returncode == 0


def test_a_run_graph_edited_outside_the_log(store_path: Path) -> None:
    store = EmbeddedStore(store_path)
    run, entry = a_run_with_a_met_criterion(store)
    flip_one_status(store, run)
    now = store.graph_hash(run)
    assert now != recorded(entry, run)
    entries = read_log(store)
    store.close()
    res = verify_cli(store_path)
    assert res.returncode == 1
    assert res.stdout.splitlines() == [
        f"[ERROR] graph <{run}> was changed outside the log: its content hash is {now}, "
        f"entry {entry.sequence} recorded {recorded(entry, run)}",
        f"audit log: {len(entries)} entries, 1 problems; head {entries[-1].head()}"]


def test_a_graph_deleted_outside_the_log(store_path: Path) -> None:
    store = EmbeddedStore(store_path)
    _run, entry = a_run_with_a_met_criterion(store)
    case = next(s.graph for s in entry.states if "/graph/case/" in s.graph)
    store.update(f"DROP GRAPH <{case}>")
    store.close()
    res = verify_cli(store_path)
    assert res.returncode == 1
    assert (f"[ERROR] graph <{case}> was deleted outside the log: entry {entry.sequence} "
            f"recorded it with content hash {recorded(entry, case)}\n") in res.stdout
    assert res.stdout.count("[ERROR]") == 1


DATA = '<https://example.org/s> <https://example.org/p> "o"'


def test_a_graph_added_outside_the_log(store_path: Path) -> None:
    store = EmbeddedStore(store_path)
    store.update(f"INSERT DATA {{ GRAPH <https://example.org/extra> {{ {DATA} }} }}")
    store.close()
    res = verify_cli(store_path, "--format", "json")
    assert res.returncode == 1
    doc = json.loads(res.stdout)
    assert doc["problems"] == [
        "graph <https://example.org/extra> was added outside the log: no entry wrote it"]
    assert doc["notes"] == [] and doc["head"].startswith(f"{doc['entries']}:sha256:")


@pytest.mark.parametrize(("update", "added", "missing"), [
    (f"INSERT DATA {{ {DATA} }}", 1, 0),
    (f"DELETE WHERE {{ ?s <{SKOS}notation> ?id }}", 0, None),
])
def test_the_default_graph_changed_outside_guidegraph(
        store_path: Path, update: str, added: int, missing: int | None) -> None:
    """The default graph is the store's copy of the current knowledge: an edit to it is
    found by comparing it with the graphs it copies, and the next load rewrites it."""
    store = EmbeddedStore(store_path)
    copied = store.knowledge_copy()
    assert copied is not None and len(copied) == 3
    store.update(update)
    store.close()
    res = verify_cli(store_path, "--format", "json")
    assert res.returncode == 1
    [problem] = json.loads(res.stdout)["problems"]
    gone = re.search(r"and (\d+) of theirs are missing", problem)
    assert gone is not None and ((missing is None and int(gone.group(1)) > 0)
                                 or int(gone.group(1)) == missing)
    assert problem == (
        "the default graph is not the copy of the current knowledge it should be (of the 3 "
        f"graphs named in <{COPY_GRAPH}>): {added} triple(s) it holds are in none of them and "
        f"{gone.group(1)} of theirs are missing; it was changed outside guidegraph, and the "
        "next `guidegraph load` rewrites it")
    assert cli("load", "--store", str(store_path)).returncode == 0
    assert verify_cli(store_path).returncode == 0


def test_a_log_entry_edited_to_match_an_edited_run(store_path: Path) -> None:
    """The run edited and its entry's recorded hash changed to the new one: the entry's own
    hash no longer matches, so the edit shows as an edited entry."""
    store = EmbeddedStore(store_path)
    run, entry = a_run_with_a_met_criterion(store)
    flip_one_status(store, run)
    store.update(f"""PREFIX gg: <{GG}>
        DELETE {{ GRAPH <{LOG_GRAPH}> {{ ?w gg:contentHashAfter ?h }} }}
        INSERT {{ GRAPH <{LOG_GRAPH}> {{ ?w gg:contentHashAfter "{store.graph_hash(run)}" }} }}
        WHERE {{ GRAPH <{LOG_GRAPH}> {{ <{entry.iri}> gg:wroteGraph ?w .
                 ?w gg:graphName "{run}" ; gg:contentHashAfter ?h }} }}""")
    store.close()
    res = verify_cli(store_path)
    assert res.returncode == 1
    assert res.stdout.splitlines()[:-1] == [
        f"[ERROR] entry {entry.sequence} (reason of {entry.subject}) was edited: its fields "
        "no longer match its hash"]


def test_a_chain_rewritten_consistently_is_caught_only_by_the_expected_head(
        store_path: Path) -> None:
    store = EmbeddedStore(store_path)
    kept = read_log(store)[-1].head()  # what the user kept elsewhere
    run, entry = a_run_with_a_met_criterion(store)
    flip_one_status(store, run)
    entries = read_log(store)
    for e in entries:
        if e.sequence == entry.sequence:
            e.states = [GraphState(s.graph, store.graph_hash(run) if s.graph == run else s.after,
                                   s.before) for s in e.states]
    rewrite_log(store, entries)
    new_head = read_log(store)[-1]
    store.close()
    res = verify_cli(store_path)
    assert res.returncode == 0 and "intact" in res.stdout  # consistent: nothing to see
    res = verify_cli(store_path, "--expect-head", kept)
    assert res.returncode == 1
    assert res.stdout.splitlines()[0] == (
        f"[ERROR] the chain no longer extends the expected head {kept}: entry "
        f"{new_head.sequence} now has hash {new_head.hash}; the chain was rewritten since that "
        "head was taken")


def test_a_truncated_chain_misses_the_expected_head(store_path: Path) -> None:
    store = EmbeddedStore(store_path)
    entries = read_log(store)
    kept = entries[-1].head()
    rewrite_log(store, entries[:5])
    store.update(f"""PREFIX gg: <{GG}> DELETE {{ GRAPH ?g {{ ?g gg:logEntry ?e }} }}
                     WHERE {{ GRAPH ?g {{ ?g gg:logEntry ?e }} }}""")
    store.close()
    res = verify_cli(store_path, "--expect-head", kept)
    assert res.returncode == 1
    assert (f"[ERROR] the chain no longer extends the expected head {kept}: the log holds no "
            f"entry {entries[-1].sequence} (its last is 5); it was truncated or rewritten"
            ) in res.stdout.splitlines()


@pytest.mark.parametrize(("args", "message"), [
    (("--expect-head", "7:abc"), "--expect-head '7:abc': not a chain head; allowed: "
                                 "SEQUENCE:sha256:HEX as `guidegraph audit --log-head` prints "
                                 "it (a sequence from 1 and 64 hexadecimal digits)"),
    (("--expect-head", "0:sha256:" + "0" * 64), "--expect-head '0:sha256:"),
])
def test_a_bad_expected_head_is_refused(store_path: Path, args: tuple[str, ...],
                                        message: str) -> None:
    res = verify_cli(store_path, *args)
    assert res.returncode == 2 and res.stdout == ""
    assert res.stderr.startswith(f"guidegraph: {message}")


def test_head_options_go_where_they_belong(store_path: Path, tmp_path: Path) -> None:
    res = cli("audit", "--store", str(store_path), "--expect-head", "1:sha256:" + "0" * 64)
    assert res.returncode == 2
    assert res.stderr == "guidegraph: --expect-head goes with --verify-log\n"
    res = cli("audit", "--store", str(store_path), "--log-head", "--verify-log")
    assert res.returncode == 2 and "--log-head prints the chain head only" in res.stderr
    empty = tmp_path / "empty"
    EmbeddedStore(empty).close()  # a store that exists and holds nothing
    res = cli("audit", "--store", str(empty), "--log-head")
    assert res.returncode == 1 and res.stdout == ""
    assert res.stderr == f"guidegraph: the audit log of store {empty} is empty: no head yet\n"


def test_entries_before_content_hashes_are_named_not_passed_silently(
        store_path: Path) -> None:
    store = EmbeddedStore(store_path)
    entries = read_log(store)
    rewrite_log(store, entries, legacy=True)
    count = len(entries)
    graphs = len([g for g in store.graph_names() if g not in (LOG_GRAPH, COPY_GRAPH)])
    store.close()
    res = verify_cli(store_path)
    assert res.returncode == 0
    lines = res.stdout.splitlines()
    assert lines[0] == (f"[NOTE] entries 1 to {count} predate content hashes: the contents "
                        "of the graphs written then are not checked")
    assert lines[1].startswith(f"[NOTE] {graphs} graph(s) last written before content "
                               "hashes, or named by no entry")
    assert lines[2].startswith(f"audit log: {count} entries, intact (2 notes: not everything "
                               "could be checked); head ")
    # the chain itself is still checked
    store = EmbeddedStore(store_path)
    store.update(f"""PREFIX gg: <{GG}> DELETE {{ GRAPH ?g {{ ?e gg:actor ?a }} }}
        INSERT {{ GRAPH ?g {{ ?e gg:actor "mallory" }} }}
        WHERE {{ GRAPH ?g {{ ?e gg:actor ?a ; gg:sequence 3 }} }}""")
    store.close()
    res = verify_cli(store_path)
    assert res.returncode == 1 and "[ERROR] entry 3 (load-guideline of " in res.stdout


def test_an_update_logged_around_an_earlier_silent_edit(store_path: Path) -> None:
    """An update finds a graph other than the log last recorded it: the edit before it is
    reported even though the update's own entry accounts for the graph afterwards."""
    store = EmbeddedStore(store_path)
    run, entry = a_run_with_a_met_criterion(store)
    flip_one_status(store, run)  # silently
    edited = store.graph_hash(run)
    logged_update(store, f"INSERT DATA {{ GRAPH <{run}> {{ <{run}> <{GG}note> \"x\" }} }}",
                  "alice")
    report = check(store)
    last = report.entries[-1]
    assert (last.action, last.actor, [s.graph for s in last.states]) == ("update", "alice",
                                                                          [run])
    assert last.states[0].before == edited and last.states[0].after == store.graph_hash(run)
    assert report.problems == [
        f"graph <{run}> was changed outside the log before entry {last.sequence}: that entry "
        f"found content hash {edited}, the log last recorded {recorded(entry, run)} (entry "
        f"{entry.sequence})"]


def test_an_update_that_rewrites_the_log_says_so(store_path: Path) -> None:
    store = EmbeddedStore(store_path)
    logged_update(store, f"""PREFIX gg: <{GG}> DELETE {{ GRAPH <{LOG_GRAPH}> {{ ?e gg:actor ?a }} }}
        INSERT {{ GRAPH <{LOG_GRAPH}> {{ ?e gg:actor "mallory" }} }}
        WHERE {{ GRAPH <{LOG_GRAPH}> {{ ?e gg:actor ?a ; gg:sequence 2 }} }}""", "alice")
    problems = check(store).problems
    last = read_log(store)[-1].sequence
    assert f"entry {last} (update by alice) rewrote the log graph itself" in problems
    assert any(p.startswith("entry 2 (load-guideline of ") for p in problems)


# -- the content hash ------------------------------------------------------------------------
def test_content_hash_is_canonical() -> None:
    """Blank-node labels and lexical forms of the same values do not change the hash; the
    cheap path for stored text gives the hash of the full canonicalisation."""
    a = (b'<urn:s> <urn:p> "01"^^<http://www.w3.org/2001/XMLSchema#integer> .\n'
         b'<urn:s> <urn:q> "2026-01-01T00:00:00+00:00"^^'
         b'<http://www.w3.org/2001/XMLSchema#dateTime> .\n'
         b'_:one <urn:p> _:two .\n_:two <urn:p> <urn:o> .\n')
    b = (b'_:x <urn:p> _:y .\n_:y <urn:p> <urn:o> .\n'
         b'<urn:s> <urn:q> "2026-01-01T00:00:00Z"^^'
         b'<http://www.w3.org/2001/XMLSchema#dateTime> .\n'
         b'<urn:s> <urn:p> "1"^^<http://www.w3.org/2001/XMLSchema#integer> .\n')
    assert ntriples_hash(a) == ntriples_hash(b) == content_hash(
        q.triple for q in ox.parse(a, format=ox.RdfFormat.N_TRIPLES))
    assert ntriples_hash(a) != ntriples_hash(b.replace(b"<urn:o>", b"<urn:other>"))
    # no blank node: the stored text's sorted lines are the canonical form
    plain = b'<urn:s> <urn:p> "1"^^<http://www.w3.org/2001/XMLSchema#integer> .\n'
    assert ntriples_hash(plain, normalised=True) == ntriples_hash(plain)


def test_every_graph_hashes_the_same_written_and_read_back(store_path: Path) -> None:
    store = EmbeddedStore(store_path)
    for graph in store.graph_names():
        triples = store.graph_triples(graph)
        assert store.graph_hash(graph) == content_hash(triples), graph
    assert store.graph_hash("https://example.org/none") == ABSENT


# -- loading ---------------------------------------------------------------------------------
def snapshot_of(path: Path) -> tuple[list[str], set[str]]:
    store = EmbeddedStore(path)
    try:
        quads = store.ox.dump(format=ox.RdfFormat.N_QUADS)
        return store.graph_names(), set(quads.decode().splitlines())
    finally:
        store.close()


def test_loading_the_same_content_again_adds_nothing(tmp_path: Path) -> None:
    path = tmp_path / "store"
    case = str(GOLDEN / "anterior-icad-extension.json")
    first = cli("load", "--store", str(path), "--case", case)
    assert first.returncode == 0, first.stderr
    assert first.stdout.count("\nloaded guideline ") + first.stdout.startswith(
        "loaded ontology") == 3
    before = snapshot_of(path)
    entries = len(read_log(EmbeddedStore(path)))
    again = cli("load", "--store", str(path), "--case", case)
    assert again.returncode == 0, again.stderr
    assert again.stdout.count("already current: ") == 3
    assert "loaded 0 case(s); 1 already stored with the same facts\n" in again.stdout
    assert snapshot_of(path) == before  # no new version, no gg:loadedAt, no entry
    store = EmbeddedStore(path)
    assert len(read_log(store)) == entries == 4
    assert [e.action for e in read_log(store)] == ["load-ontology", "load-guideline",
                                                   "load-guideline", "load-case"]
    assert check(store).problems == []


@pytest.mark.parametrize("fresh", [True, False])
def test_a_failed_load_writes_nothing(tmp_path: Path, store_path: Path, fresh: bool) -> None:
    """`load --case missing.json`: exit 2, and the store as it was (same graphs, same quads;
    a store that did not exist is not created)."""
    path = tmp_path / "new" if fresh else store_path
    before = None if fresh else snapshot_of(path)
    changed = tmp_path / "rescue-stenting"  # a new version, good on its own
    shutil.copytree(ROOT / "guidelines" / "rescue-stenting", changed)
    criteria = changed / "criteria.ttl"
    criteria.write_text(criteria.read_text().replace("gg:threshold 360", "gg:threshold 300"))
    res = cli("load", "--store", str(path), "--guideline", str(changed), "--case",
              str(GOLDEN / "anterior-icad-extension.json"), "--case", "missing.json")
    assert res.returncode == 2 and res.stdout == ""
    assert res.stderr == ("guidegraph: missing.json: no such file or folder\n"
                          "guidegraph: 1 case input error(s): nothing was loaded\n")
    if fresh:
        assert not path.exists()
    else:
        assert snapshot_of(path) == before


def test_an_update_of_the_default_graph_is_refused_where_it_is_the_copy(
        store_path: Path) -> None:
    store = EmbeddedStore(store_path)
    before = read_log(store)
    with pytest.raises(QueryRefused) as refused:
        logged_update(store, f"PREFIX ex: <https://example.org/> INSERT DATA {{ GRAPH ex:g "
                             f"{{ {DATA} }} }} ; DELETE DATA {{ {DATA} }}", "alice")
    assert str(refused.value) == (
        "update refused: operation 2 (DELETE DATA) would write the default graph, which holds "
        "the store's copy of the current guideline versions and ontology (kept by guidegraph, "
        "rewritten on every load); write into a named graph instead (GRAPH <iri> { … } or "
        "WITH <iri>), and change guidelines with `guidegraph load`")
    assert read_log(store) == before  # nothing ran, nothing was logged
    assert not store.ox.contains_named_graph(ox.NamedNode("https://example.org/g"))


def test_an_update_of_a_copied_graph_rewrites_the_copy(store_path: Path) -> None:
    store = EmbeddedStore(store_path)
    [guideline] = [g for g in store.knowledge_copy() if g.startswith(SNAPSHOT_BASE)][:1]
    subject = ox.NamedNode("https://example.org/s")
    assert not list(store.ox.quads_for_pattern(subject, None, None, ox.DefaultGraph()))
    logged_update(store, f"INSERT DATA {{ GRAPH <{guideline}> {{ {DATA} }} }}", "alice")
    [quad] = store.ox.quads_for_pattern(subject, None, None, ox.DefaultGraph())
    assert quad.object == ox.Literal("o")
    assert store.knowledge_copy() == frozenset(versions.current_dataset(store))
    assert check(store).problems == []


def test_an_update_that_deletes_the_record_of_the_copy_through_a_variable_rebuilds_it(
        store_path: Path) -> None:
    """A GRAPH ?g pattern may reach the copy's record, which the parse-tree check cannot
    see; the copy was there before the update, so it is rebuilt after it."""
    store = EmbeddedStore(store_path)
    logged_update(store, "DELETE { GRAPH ?g { ?s ?p ?o } } WHERE { GRAPH ?g { ?s ?p ?o } "
                         f"FILTER(?g = <{COPY_GRAPH}>) }}", "alice")
    assert store.knowledge_copy() == frozenset(versions.current_dataset(store))
    assert check(store).problems == []


def test_a_record_of_the_copy_written_by_name_is_refused(store_path: Path) -> None:
    store = EmbeddedStore(store_path)
    before = read_log(store)
    with pytest.raises(QueryRefused) as refused:
        logged_update(store, f"DROP GRAPH <{COPY_GRAPH}>", "alice")
    assert str(refused.value) == (
        f"update refused: operation 1 (DROP) would write <{COPY_GRAPH}>, the record of what "
        "the default graph copies (kept by guidegraph, rewritten on every load); write into "
        "another named graph")
    assert read_log(store) == before
    assert store.knowledge_copy() == frozenset(versions.current_dataset(store))


def test_an_update_of_the_default_graph_is_logged_under_its_name(store_path: Path) -> None:
    """A store whose default graph holds no copy (an older store's) takes updates of it;
    the log names it, a load keeps what it holds, and queries list the current graphs."""
    store = EmbeddedStore(store_path)
    store.update(f"DROP GRAPH <{COPY_GRAPH}> ; DROP DEFAULT")  # as stores were before copies
    logged_update(store, f"INSERT DATA {{ {DATA} }}", "alice")
    [state] = read_log(store)[-1].states
    assert (state.graph, state.before) == ("default graph", ABSENT)
    default = [q.triple for q in store.ox.quads_for_pattern(None, None, None, ox.DefaultGraph())]
    assert state.after == content_hash(default) and len(default) == 1
    store.close()
    assert cli("load", "--store", str(store_path)).returncode == 0
    store = EmbeddedStore(store_path)
    assert store.knowledge_copy() is None
    assert [q.triple for q in store.ox.quads_for_pattern(
        None, None, None, ox.DefaultGraph())] == default
    rows = store.query("SELECT ?o WHERE { ?s ?p ?o }", bindings={
        "s": ox.NamedNode("https://example.org/s")},
        default_graphs=versions.current_dataset(store)).table.rows
    assert rows == []  # the current knowledge, not the default graph's own data
    assert check(store).problems == []


def test_explain_warns_when_a_stored_run_was_rewritten(store_path: Path) -> None:
    store = EmbeddedStore(store_path)
    run, entry = a_run_with_a_met_criterion(store)
    store.close()
    clean = cli("explain", "--run", run, "--store", str(store_path))
    assert clean.returncode == 0 and clean.stderr == ""
    store = EmbeddedStore(store_path)
    flip_one_status(store, run)  # outside the log
    store.close()
    res = cli("explain", "--run", run, "--store", str(store_path))
    assert res.returncode == 0
    assert res.stderr == (
        f"guidegraph: warning: graph <{run}> was changed outside the log: it no longer has "
        f"the content hash entry {entry.sequence} recorded; this is not the run as the "
        "reasoner recorded it\n")
    store = EmbeddedStore(store_path)
    logged_update(store, f"INSERT DATA {{ GRAPH <{run}> {{ <{run}> <{GG}note> \"x\" }} }}",
                  "alice")
    update = read_log(store)[-1]
    store.close()
    res = cli("explain", "--run", run, "--store", str(store_path))
    assert res.stderr == (
        f"guidegraph: warning: graph <{run}> was changed after it was written: entry "
        f"{update.sequence} (update by alice, {update.time}); this is not the run as the "
        "reasoner recorded it\n")
