"""Benchmark: what content hashes in the audit log cost when runs are saved and verified.

Run on demand (never in CI):  python bench/bench_log.py [--rounds 5]

Saving: ``save_runs`` of the golden rescue-stenting cases into a fresh embedded store, with
content hashing as shipped, against the same save with the two hash functions replaced by a
constant (the baseline: everything else, entries included, unchanged); runs alternate, best
of rounds. Verifying: hashing every stored graph (``Store.graph_hashes``) against reading the
same graphs as N-Triples without hashing them. Figures are per run graph, with the ratio,
because these machines are noisy.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from guidegraph.store import versions

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden" / "rescue-stenting" / "cases"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    from guidegraph.knowledge.loading import Knowledge, read_parts
    from guidegraph.provenance.runs import save_runs
    from guidegraph.reasoning.reasoner import Reasoner
    from guidegraph.store import log as audit_log
    from guidegraph.store.base import EmbeddedStore
    from guidegraph.vocab import RUN_BASE

    parts = read_parts(None)
    reasoner = Reasoner(Knowledge.from_parts(parts))
    cases = [c for p in sorted(GOLDEN.iterdir()) for c in reasoner.intake.read(p)]
    results = [reasoner.reason(c) for c in cases]
    hashes = (audit_log.content_hash, audit_log.ntriples_hash)

    def save(hashing: bool) -> tuple[float, Path]:
        if hashing:
            audit_log.content_hash, audit_log.ntriples_hash = hashes
        else:
            audit_log.content_hash = lambda _triples: "sha256:0"
            audit_log.ntriples_hash = lambda _data, **_kw: "sha256:0"
        folder = Path(tempfile.mkdtemp(prefix="bench-log-"))
        store = EmbeddedStore(folder / "store")
        versions.load_parts(store, parts)
        started = time.perf_counter()
        save_runs(store, reasoner, cases, results)
        took = time.perf_counter() - started
        store.close()
        audit_log.content_hash, audit_log.ntriples_hash = hashes
        return took / len(cases) * 1000, folder

    best = {True: float("inf"), False: float("inf")}
    kept: Path | None = None
    for _ in range(args.rounds):
        for hashing in (False, True):
            ms, folder = save(hashing)
            best[hashing] = min(best[hashing], ms)
            if hashing and kept is None:
                kept = folder
            else:
                shutil.rmtree(folder)
    print(f"save_runs, {len(cases)} runs: {best[True]:.2f} ms/run with content hashes, "
          f"{best[False]:.2f} without ({best[True] / best[False]:.2f}x, "
          f"+{best[True] - best[False]:.2f} ms/run)")

    assert kept is not None
    store = EmbeddedStore(kept / "store")
    graphs = store.graph_names()
    runs = [g for g in graphs if g.startswith(RUN_BASE)]
    read = hashed = float("inf")
    for _ in range(args.rounds):
        started = time.perf_counter()
        for g in runs:
            store.graph_ntriples(g)
        read = min(read, time.perf_counter() - started)
        started = time.perf_counter()
        for g in runs:
            store.graph_hash(g)
        hashed = min(hashed, time.perf_counter() - started)
    triples = sum(len(store.graph_triples(g)) for g in runs) / len(runs)
    print(f"verify, {len(runs)} run graphs of {triples:.0f} triples: "
          f"{hashed / len(runs) * 1000:.2f} ms/graph read and hashed, "
          f"{read / len(runs) * 1000:.2f} read only ({hashed / read:.2f}x)")
    started = time.perf_counter()
    problems = audit_log.verify(store)
    print(f"verify of the whole store ({len(graphs)} graphs): "
          f"{time.perf_counter() - started:.2f} s, {len(problems)} problems")
    store.close()
    shutil.rmtree(kept)


if __name__ == "__main__":
    main()
