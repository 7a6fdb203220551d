"""Concurrent savers keep one audit-log chain: reading the chain head and appending after it
is one step, so two writers in one process (the server's request threads) never fork it."""

from __future__ import annotations

import threading

from guidegraph.provenance.runs import save_runs
from guidegraph.reasoning.reasoner import Reasoner
from guidegraph.store.base import EmbeddedStore
from guidegraph.store.log import check, read_log


def test_two_savers_ten_times_each_leave_one_whole_chain(tmp_path, reasoner: Reasoner) -> None:
    store = EmbeddedStore(tmp_path / "store")
    start = threading.Barrier(2)
    failures: list[BaseException] = []

    def saver(name: str) -> None:
        try:
            start.wait()
            for i in range(10):
                case = reasoner.intake.from_object({"id": f"{name}-{i}", "evt_passes": 1})
                save_runs(store, reasoner, [case], [reasoner.reason(case)])
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=saver, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    assert check(store).problems == []
    assert [e.sequence for e in read_log(store)] == list(range(1, 21))
