"""A store holding the shipped knowledge and saved runs, for the named-query tests.

Two versions of the rescue-stenting guideline are loaded: the shipped one, used by six
saved runs, and then a copy that differs only in its version string (so it gets another
content hash and becomes current), used by one more run of a case reasoned before. Among
the six, failed-thrombolysis-no-thrombectomy is outside the guideline's population (its run
holds no results), and missing-facts-only-passes gives nothing but the number of passes, so
its run leaves most recommendations undecided on many different facts.

A second store holds a variant of the guideline with its precedence rules removed, so that
"for" and "against" recommendations on one action stand unordered: a verdict conflict, which
the shipped guideline never reaches on the golden cases.

Both stores are built once per test session (per worker under pytest -n): no test writes to
them (the query tests hold a store's content unchanged).
"""

from __future__ import annotations

import gc
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from guidegraph.knowledge.loading import read_parts
from guidegraph.provenance.runs import save_runs
from guidegraph.reasoning.reasoner import Reasoner
from guidegraph.store import versions
from guidegraph.store.base import EmbeddedStore, QueryResult

ROOT = Path(__file__).parents[2]
GOLDEN_CASES = ROOT / "tests" / "golden" / "rescue-stenting" / "cases"
SHIPPED_VERSION = "2025-11-08"
SECOND_VERSION = "2025-11-08-r2"
FIRST_CASES = ["dnr-embolic-late-persistent-occlusion", "basilar-icad-consensus",
               "elective-severe-stenosis-70", "failed-thrombolysis-no-thrombectomy",
               "dnr-1-reperfused-tici-3", "missing-facts-only-passes"]
SECOND_CASES = ["basilar-icad-consensus"]
NO_PRECEDENCE_CASES = ["dnr-3-embolic-without-stenosis", "dnr-1-reperfused-tici-3"]
PRECEDENCE_LINE = "    gg:precedence rs:precedence-1, rs:precedence-2, rs:precedence-3 ;\n"


@dataclass
class SavedStore:
    path: Path
    hashes: dict[str, str]  # guideline version -> content hash

    def query(self, text: str, bindings: dict | None = None) -> QueryResult:
        """Run a query as `guidegraph query` does: on the store's current dataset.

        The store is opened for this one query and closed again, since RocksDB allows one
        open handle per process and the CLI tests open the same store.
        """
        store = EmbeddedStore(self.path)
        try:
            return store.query(text, bindings=bindings or {},
                               default_graphs=versions.current_dataset(store))
        finally:
            del store
            gc.collect()

    def triple_count(self) -> int:
        store = EmbeddedStore(self.path)
        try:
            result = store.query("SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }")
            return int(result.table.rows[0][0].value)
        finally:
            del store
            gc.collect()


def _reason_and_save(store: EmbeddedStore, names: list[str]) -> None:
    reasoner = Reasoner(versions.stored_knowledge(store))
    cases = [c for n in names for c in reasoner.intake.read(GOLDEN_CASES / f"{n}.json")]
    save_runs(store, reasoner, cases, [reasoner.reason(c) for c in cases])


@pytest.fixture(scope="session")
def saved_store(tmp_path_factory: pytest.TempPathFactory) -> SavedStore:
    tmp = tmp_path_factory.mktemp("queries")
    path = tmp / "store"
    store = EmbeddedStore(path)
    # One guideline, so expected rows stay those of the rescue-stenting source.
    shipped = read_parts([ROOT / "guidelines" / "rescue-stenting"])
    versions.load_parts(store, shipped)
    _reason_and_save(store, FIRST_CASES)

    second = tmp / "rescue-stenting"
    shutil.copytree(ROOT / "guidelines" / "rescue-stenting", second)
    meta = second / "guideline.ttl"
    text = meta.read_text(encoding="utf-8")
    assert f'gg:version "{SHIPPED_VERSION}"' in text
    meta.write_text(text.replace(f'gg:version "{SHIPPED_VERSION}"',
                                 f'gg:version "{SECOND_VERSION}"'), encoding="utf-8")
    revised = read_parts([second])
    versions.load_parts(store, revised)
    _reason_and_save(store, SECOND_CASES)

    hashes = {p.info.version: p.content_hash for p in [*shipped, *revised] if p.info}
    del store
    gc.collect()
    return SavedStore(path, hashes)


def without_precedence(target: Path) -> Path:
    """A copy of the rescue-stenting guideline whose precedence rules are removed."""
    shutil.copytree(ROOT / "guidelines" / "rescue-stenting", target)
    meta = target / "guideline.ttl"
    text = meta.read_text(encoding="utf-8")
    assert PRECEDENCE_LINE in text
    meta.write_text(text.replace(PRECEDENCE_LINE, ""), encoding="utf-8")
    return target


@pytest.fixture(scope="session")
def conflict_store(tmp_path_factory: pytest.TempPathFactory) -> SavedStore:
    """The precedence-free variant, with runs of a case it leaves in conflict and one not."""
    tmp = tmp_path_factory.mktemp("queries-conflict")
    path = tmp / "store"
    store = EmbeddedStore(path)
    parts = read_parts([without_precedence(tmp / "rescue-stenting")])
    versions.load_parts(store, parts)
    _reason_and_save(store, NO_PRECEDENCE_CASES)
    hashes = {p.info.version: p.content_hash for p in parts if p.info}
    del store
    gc.collect()
    return SavedStore(path, hashes)
