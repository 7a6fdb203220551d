"""The query worker is the isolation boundary: no network even when the guard is bypassed,
a crash or a runaway allocation costs only the worker (it is restarted), opening waits for
recovery instead of being cut short, and a worker never outlives its parent.

The worker's internal ``select`` operation runs a text unguarded (it is how the server's own
queries travel), which is what lets these tests take the first barrier away.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pyoxigraph as ox
import pytest

from guidegraph.store.base import EmbeddedStore, StoreError
from guidegraph.store.worker import ResourceLimit, StoreWorker

from .conftest import Canary


def _namespaces_allowed() -> bool:
    """Whether this platform lets an unprivileged process create a network namespace."""
    probe = subprocess.run([sys.executable, "-c", "from guidegraph.store.isolation import "
                            "leave_network; print(leave_network())"],
                           capture_output=True, text=True, check=True)
    return probe.stdout.strip() == "none"


@pytest.fixture
def worker(tmp_path: Path):
    worker = StoreWorker(tmp_path / "store", memory_limit=300 * 2**20)
    worker.start()
    yield worker
    worker.close()


def _count(worker: StoreWorker) -> int:
    text = "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"
    _kind, data = worker.call("select", (text, {}, None, False), 30)
    rows = ox.parse_query_results(data, format=ox.QueryResultsFormat.JSON)
    return int(next(iter(rows))["n"].value)


def test_the_worker_reaches_no_network_even_unguarded(worker: StoreWorker,
                                                       canary: Canary) -> None:
    if not _namespaces_allowed():
        assert worker.isolation.network.startswith("host: cannot create a network namespace")
        pytest.skip(f"this platform keeps the worker on the network: {worker.isolation.network}")
    assert worker.isolation.network == "none"
    with pytest.raises(StoreError, match="unreachable"):
        worker.call("select", (f"SELECT * WHERE {{ SERVICE <{canary.url}sparql> {{ ?s ?p ?o }} "
                               "}", {}, None, False), 30)
    worker.call("select", (f"SELECT * FROM <{canary.url}d.ttl> WHERE {{ ?s ?p ?o }}", {}, None,
                           False), 30)  # Oxigraph reads FROM graphs from the store only
    with pytest.raises(StoreError):
        worker.call("update", f"LOAD <{canary.url}data.ttl> INTO GRAPH <http://g/>", 30)
    # canary (fixture) asserts afterwards that it saw no request at all
    assert _count(worker) == 0


def test_a_crash_costs_only_the_worker(worker: StoreWorker) -> None:
    deep = "SELECT * WHERE " + "{" * 5000 + "}" * 5000  # segfaults Oxigraph's parser
    with pytest.raises(ResourceLimit, match=r"crashed \(SIGSEGV\).*nothing of the request"):
        worker.call("select", (deep, {}, None, False), 60)
    assert worker.restarts == 1
    assert _count(worker) == 0  # the restarted worker answers


def test_a_runaway_allocation_is_stopped_at_the_memory_cap(worker: StoreWorker) -> None:
    values = " ".join(str(i) for i in range(100))
    sort = (f"SELECT * WHERE {{ VALUES ?a {{ {values} }} VALUES ?b {{ {values} }} VALUES ?c "
            f"{{ {values} }} BIND(CONCAT(STR(?a), STR(?b), STR(?c), '-padding-padding') AS ?s) "
            "} ORDER BY DESC(?s)")  # a million sorted rows: about 430 MB without a cap
    with pytest.raises(ResourceLimit, match=r"more memory than the query worker may use "
                                            r"\(300 MB, --worker-memory\); nothing was written"):
        worker.call("query", (sort, {}, "json", None, None, 10), 120)
    assert worker.restarts == 1
    assert _count(worker) == 0


def test_a_worker_killed_in_a_large_write_leaves_the_store_whole_and_reopens(
        tmp_path: Path) -> None:
    path = tmp_path / "store"
    worker = StoreWorker(path)
    worker.start()
    rows = " ".join(f"<http://e/s{i}> <http://e/p> {i} ." for i in range(300_000))
    outcome: list[BaseException | None] = []

    def write() -> None:
        try:
            worker.call("update", f"INSERT DATA {{ GRAPH <http://g/> {{ {rows} }} }}", 120)
            outcome.append(None)
        except Exception as exc:
            outcome.append(exc)

    idle = _cpu_ticks(worker.pid)
    writer = threading.Thread(target=write)
    writer.start()
    # The write has begun: the worker has spent CPU time on the request (an idle worker
    # spends none; receiving the text is a small part of parsing and applying it).
    for _ in range(1200):
        if _cpu_ticks(worker.pid) - idle >= 20 or not writer.is_alive():
            break
        time.sleep(0.05)
    assert writer.is_alive() and _cpu_ticks(worker.pid) - idle >= 20, "the write never began"
    os.kill(worker.pid, signal.SIGKILL)
    writer.join()
    worker.close()
    [error] = outcome
    assert isinstance(error, ResourceLimit), f"the kill did not land mid-write: {error!r}"
    progress: list[str] = []
    reopened = StoreWorker(path, progress=progress.append, progress_every=0.01)
    reopened.start()  # no deadline: it waits for the store, reporting progress
    try:
        assert _count(reopened) in (0, 300_000)  # all of the write or none of it
    finally:
        reopened.close()


def _cpu_ticks(pid: int) -> int:
    """User and system CPU time a process has used, in clock ticks (/proc/PID/stat)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().split(")")[-1].split()
    return int(fields[11]) + int(fields[12])


def test_opening_waits_for_a_lock_held_by_an_exiting_process(tmp_path: Path) -> None:
    path = tmp_path / "store"
    EmbeddedStore(path).close()
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time, pyoxigraph
        store = pyoxigraph.Store({str(path)!r})
        print("held", flush=True)
        time.sleep(1.5)
        """)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    progress: list[str] = []
    worker = StoreWorker(path, progress=progress.append)
    worker.start()  # waits until the holder has exited, then opens
    try:
        assert holder.wait() == 0
        assert any("is locked by another process; waited" in line for line in progress)
        assert _count(worker) == 0
    finally:
        worker.close()


def test_a_store_held_by_a_running_process_is_refused_with_a_reason(tmp_path: Path) -> None:
    path = tmp_path / "store"
    held = EmbeddedStore(path)  # this process holds it for the whole test
    worker = StoreWorker(path, progress=lambda line: None)
    with pytest.raises(StoreError, match=r"is in use by another process \(a running "
                                         r"`guidegraph serve`, or another command writing"):
        worker.start()
    held.close()


def test_the_worker_exits_when_its_parent_is_killed(tmp_path: Path) -> None:
    path = tmp_path / "store"
    parent = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import time
        from guidegraph.store.worker import StoreWorker
        worker = StoreWorker({str(path)!r})
        worker.start()
        print(worker.pid, flush=True)
        time.sleep(600)
        """)], stdout=subprocess.PIPE, text=True)
    pid = int(parent.stdout.readline())
    parent.kill()
    parent.wait()
    for _ in range(200):  # the watcher polls twice a second
        if not _alive(pid):
            break
        time.sleep(0.1)
    assert not _alive(pid)
    EmbeddedStore(path).close()  # the lock is free again


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False
