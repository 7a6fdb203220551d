"""Concurrency: 8 threads reasoning and querying while another thread loads a new version of a
guideline into the same embedded store: no exception, and every result names exactly one
version of each guideline (the old one or the new one, never a mix)."""

from __future__ import annotations

import json
import shutil
import threading
import time
from pathlib import Path

from guidegraph import resources
from guidegraph.knowledge.loading import read_parts
from guidegraph.reasoning.reasoner import Reasoner
from guidegraph.reasoning.result import Result
from guidegraph.store import versions
from guidegraph.store.base import EmbeddedStore

from .conftest import REPO

WORKERS = 8
ROUNDS = 60
QUERY = ("PREFIX gg: <https://w3id.org/guidegraph/ontology#> "
         "SELECT (COUNT(*) AS ?n) WHERE { ?r a gg:Recommendation }")


def _new_version(tmp_path: Path) -> Path:
    """A copy of one shipped guideline with one added statement: a new content hash."""
    source = sorted(p for p in resources.guidelines_dir().iterdir() if p.is_dir())[0]
    target = tmp_path / source.name
    shutil.copytree(source, target)
    (target / "zz-revision.ttl").write_text(
        "<https://w3id.org/guidegraph/test/revision> "
        "<http://www.w3.org/2000/01/rdf-schema#comment> \"revision for a load test\" .\n",
        encoding="utf-8")
    return target


def test_reason_and_query_while_loading(loaded_store: EmbeddedStore, tmp_path: Path) -> None:
    store = loaded_store
    shared = Reasoner(versions.stored_knowledge(store))
    old = {g["id"]: g["content_hash"] for g in shared.guidelines}
    new_parts = [p for p in read_parts([_new_version(tmp_path)]) if p.kind == "guideline"]
    [new_info] = [p.info for p in new_parts]
    assert new_info is not None and new_info.content_hash != old[new_info.id]
    allowed = {gid: {h} for gid, h in old.items()}
    allowed[new_info.id].add(new_info.content_hash)
    cases = [c for path in sorted((REPO / "examples").glob("*.json"))
             for c in shared.intake.read(path)]
    assert cases

    errors: list[BaseException] = []
    results: list[Result] = []
    seen_versions: set[str] = set()
    lock = threading.Lock()
    start = threading.Barrier(WORKERS + 1)
    loading = threading.Event()

    def check(result: Result) -> None:
        ids = [g["id"] for g in result.guidelines]
        assert len(ids) == len(set(ids)) == len(old), result.guidelines
        for g in result.guidelines:
            assert g["content_hash"] in allowed[g["id"]], g
        with lock:
            results.append(result)
            seen_versions.update(g["content_hash"] for g in result.guidelines)

    def worker(index: int) -> None:
        try:
            start.wait()
            for round_ in range(ROUNDS):
                case = cases[(index + round_) % len(cases)]
                if index % 2 == 0:
                    check(shared.reason(case))
                else:
                    dataset = versions.current_dataset(store)
                    rows = store.query(QUERY, default_graphs=dataset).table.rows
                    assert int(rows[0][0].value) > 0
                    if round_ % 20 == 0:  # knowledge read from the store mid-load
                        check(Reasoner(versions.stored_knowledge(store)).reason(case))
        except BaseException as exc:
            errors.append(exc)

    def loader() -> None:
        try:
            start.wait()
            time.sleep(0.05)
            loading.set()
            versions.load_parts(store, new_parts)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(WORKERS)]
    threads.append(threading.Thread(target=loader))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    assert errors == [], errors
    assert loading.is_set() and len(results) >= WORKERS // 2 * ROUNDS
    after = Reasoner(versions.stored_knowledge(store))
    check(after.reason(cases[0]))
    assert {g["content_hash"] for g in after.guidelines} >= {new_info.content_hash}
    print(f"\nconcurrency: {len(results)} results, versions seen "
          f"{sorted(h[:15] for h in seen_versions)}")
    json.dumps([r.to_json() for r in results[:3]])
