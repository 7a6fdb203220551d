"""A write killed with SIGKILL leaves the store either all old or all new.

The writer reports when the engine's transaction begins (its call into Oxigraph's ``extend``,
after the quads are built) and when it returns; the kill is sent a set time after the first
line and the test asserts that the second never came, so each run kills a write in progress.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from guidegraph.knowledge.loading import read_parts
from guidegraph.store import versions
from guidegraph.store.base import EmbeddedStore

BIG = "http://example.org/graph/big"
TRIPLES = 300_000

WRITER = textwrap.dedent(f"""
    import sys
    import pyoxigraph as ox
    from guidegraph.store.base import EmbeddedStore
    store = EmbeddedStore(sys.argv[1])
    engine = store.ox

    class Reporting:  # the store's engine, saying when the write's transaction runs

        def __getattr__(self, name):
            return getattr(engine, name)

        def extend(self, quads):
            print("extending", len(quads), flush=True)
            engine.extend(quads)
            print("extended", flush=True)

    store.ox = Reporting()
    triples = [ox.Triple(ox.NamedNode(f"http://example.org/s{{i}}"),
                         ox.NamedNode("http://example.org/p"), ox.Literal(str(i)))
               for i in range({TRIPLES})]
    print("writing", flush=True)
    store.add_graphs({{"{BIG}": triples}}, replace=False)
    print("done", flush=True)
""")


def _counts(path: Path) -> tuple[int, int]:
    store = EmbeddedStore(path)
    rows = store.query(f"""SELECT (SUM(IF(?g = <{BIG}>, 1, 0)) AS ?big) (COUNT(*) AS ?all)
                           WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }}""").table.rows
    big, every = (int(t.value) if t is not None else 0 for t in rows[0])
    del store
    return big, every - big


@pytest.mark.slow
@pytest.mark.parametrize("delay", [0.0, 0.5, 1.5])
def test_kill_9_during_a_large_load(tmp_path: Path, delay: float) -> None:
    path = tmp_path / "store"
    store = EmbeddedStore(path)
    versions.load_parts(store, read_parts())
    del store
    big_before, rest_before = _counts(path)
    assert big_before == 0
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "writing"
    # The transaction has begun: the quads are built and handed to the engine.
    assert proc.stdout.readline().strip() == f"extending {TRIPLES}"
    time.sleep(delay)
    assert proc.poll() is None, "the writer exited before the kill"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    rest = proc.stdout.read()
    assert proc.returncode == -signal.SIGKILL
    assert "extended" not in rest and "done" not in rest, (
        f"the write finished within {delay} s, before the kill: nothing was tested")
    big_after, rest_after = _counts(path)
    assert rest_after == rest_before, "data that was already stored changed"
    assert big_after in (0, TRIPLES), f"partial write visible: {big_after} of {TRIPLES} triples"
    print(f"killed {delay}s into the write: {'all new' if big_after else 'all old'}")
