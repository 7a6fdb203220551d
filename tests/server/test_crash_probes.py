"""Small hostile requests: deep nesting, stalls, runaway memory, huge CONSTRUCT results, and a
kill -9. Each answer is a clear 400 or 503 (or a capped 200), and the server is still answering
/health afterwards, with the same data.

Untrusted text is parsed only by the worker that evaluates it: nesting is refused before any
parser sees it, the guard's parse and the query both count against the time limit, and updates
are applied to the real store (never tried on an empty one first).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import Server, _copy, _serve, clean_env, start_server, stop_server

TOKEN = "probe-token"
DEEP = {
    "3,000 nested groups": "SELECT * WHERE " + "{" * 3000 + "}" * 3000,
    "FILTER( 10,000 deep": "SELECT * WHERE { FILTER(" + "(" * 10_000 + "true" + ")" * 10_000
                           + ") }",
    "10,000 negations": "SELECT * WHERE { FILTER(" + "!" * 10_000 + "true) }",
    "nesting behind an escaped local name": "PREFIX ex: <http://e/> SELECT * WHERE { BIND(ex:a\\#"
                                            " AS ?q) " + "{" * 3000 + "}" * 3000 + " }",
}
VALUES = " ".join(str(i) for i in range(100))


@pytest.fixture(scope="module")
def probe(loaded_store: Path) -> Iterator[Server]:
    """A short time limit, a small row cap, and updates allowed."""
    yield from _serve(loaded_store, "probe", "--query-timeout", "3", "--max-rows", "100",
                      "--update-token", TOKEN)


@pytest.fixture(scope="module")
def small(loaded_store: Path) -> Iterator[Server]:
    """A long time limit and a small memory cap, so the cap is what stops a runaway."""
    yield from _serve(loaded_store, "small", "--query-timeout", "120", "--worker-memory", "200")


def _request(url: str, data: dict[str, str] | None = None, *, body: bytes | None = None,
             headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], str]:
    payload = body if body is not None else (
        urllib.parse.urlencode(data).encode() if data is not None else None)
    request = urllib.request.Request(url, data=payload, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=300) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read().decode()


def _healthy(server: Server) -> dict:
    status, _, body = _request(server.url + "/health")
    assert status == 200
    health = json.loads(body)
    assert health["status"] == "ok"
    return health


def _update(server: Server, text: str) -> tuple[int, str]:
    status, _, body = _request(server.url + "/update", body=text.encode(), headers={
        "Content-Type": "application/sparql-update", "Authorization": f"Bearer {TOKEN}"})
    return status, body


@pytest.mark.parametrize("name", list(DEEP))
def test_deep_nesting_is_refused_before_parsing(probe: Server, name: str) -> None:
    status, _, body = _request(probe.sparql, {"query": DEEP[name]})
    assert status == 400
    assert "query refused: it nests" in body and "at most 128 are allowed" in body
    status, body = _update(probe, DEEP[name].replace("SELECT * WHERE", "DELETE WHERE"))
    assert status == 400 and "at most 128 are allowed" in body
    _healthy(probe)


@pytest.mark.parametrize("name", list(DEEP))
def test_deep_nesting_on_the_command_line_is_exit_2(tmp_path: Path, name: str) -> None:
    done = subprocess.run([sys.executable, "-m", "guidegraph", "query", DEEP[name], "--store",
                           str(tmp_path / "store")], capture_output=True, text=True,
                          env=clean_env())
    assert done.returncode == 2, done.stderr[-500:]
    assert "at most 128 are allowed" in done.stderr
    assert done.stdout == ""


def test_a_cross_product_is_cancelled_at_the_time_limit(probe: Server) -> None:
    restarts = _healthy(probe)["worker"]["restarts"]
    text = (f"SELECT (COUNT(*) AS ?n) WHERE {{ VALUES ?a {{ {VALUES} }} VALUES ?b {{ {VALUES} }}"
            f" VALUES ?c {{ {VALUES} }} VALUES ?d {{ {VALUES} }} VALUES ?e {{ {VALUES} }} }}")
    status, _, body = _request(probe.sparql, {"query": text})
    assert status == 503
    assert "ran longer than the time limit of 3 s (--query-timeout)" in body
    assert _healthy(probe)["worker"]["restarts"] == restarts + 1


def test_the_time_limit_covers_the_safety_check(probe: Server) -> None:
    """A long query that mentions SERVICE in a string must be parsed by the guard: that parse
    (several seconds for 20,000 patterns) runs in the worker, under the 3 s limit."""
    patterns = " ".join(f"?s{i} <http://e/p> ?o{i} ." for i in range(20_000))
    text = f'SELECT * WHERE {{ ?s <http://e/p> "service" . {patterns} }}'
    status, _, body = _request(probe.sparql, {"query": text})
    assert status == 413
    assert body.startswith("request too large: a body holds at most 64 MB, and form fields at "
                           "most 500 KB; send a large query as application/sparql-query")
    status, _, body = _request(probe.sparql, body=text.encode(), headers={
        "Content-Type": "application/sparql-query"})  # 560 KB: beyond a form's 500 KB
    assert status == 503, body[:300]
    assert "time limit of 3 s" in body
    _healthy(probe)


def test_a_runaway_sort_is_stopped_at_the_memory_cap(small: Server) -> None:
    assert _healthy(small)["worker"]["memory_limit_mb"] == 200
    text = (f"SELECT * WHERE {{ VALUES ?a {{ {VALUES} }} VALUES ?b {{ {VALUES} }} VALUES ?c "
            f"{{ {VALUES} }} BIND(CONCAT(STR(?a), STR(?b), STR(?c), '-padding') AS ?s) }} "
            "ORDER BY DESC(?s) LIMIT 1")
    status, _, body = _request(small.sparql, {"query": text})
    assert status == 503
    assert "more memory than the query worker may use (200 MB, --worker-memory)" in body
    assert _healthy(small)["worker"]["restarts"] == 1
    status, _, body = _request(small.sparql, {"query": "ASK { ?s ?p ?o }"},
                               headers={"Accept": "application/sparql-results+json"})
    assert status == 200 and json.loads(body)["boolean"] is True


def test_construct_obeys_the_row_cap(probe: Server) -> None:
    values = " ".join(str(i) for i in range(250))
    text = (f"CONSTRUCT {{ ?s <http://e/p> ?o }} WHERE {{ VALUES ?a {{ {values} }} VALUES ?o "
            f"{{ {values} }} BIND(IRI(CONCAT('http://e/s', STR(?a))) AS ?s) }}")  # 62,500
    status, headers, body = _request(probe.sparql, {"query": text},
                                     headers={"Accept": "application/n-triples"})
    assert status == 200
    assert len(body.splitlines()) == 100
    assert headers["X-Guidegraph-Truncated"] == "true"
    assert headers["X-Guidegraph-Row-Cap"] == "100"


def test_updates_apply_to_the_store_and_are_never_tried_on_an_empty_one(probe: Server) -> None:
    graph = "http://example.org/probe/graph"
    ask = {"query": f"ASK {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}"}
    json_results = {"Accept": "application/sparql-results+json"}
    assert _update(probe, f"INSERT DATA {{ GRAPH <{graph}> {{ <http://e/s> <http://e/p> 1 }} }}"
                   ) == (204, "")
    status, _, body = _request(probe.sparql, ask, headers=json_results)
    assert json.loads(body)["boolean"] is True
    # An empty store would answer "graph does not exist": the real one holds it.
    assert _update(probe, f"DROP GRAPH <{graph}>") == (204, "")
    status, _, body = _request(probe.sparql, ask, headers=json_results)
    assert json.loads(body)["boolean"] is False
    status, body = _update(probe, "INSERT DATA { <http://e/s> <http://e/p> }")
    assert status == 400 and body.startswith("update is not valid SPARQL 1.1")
    status, body = _update(probe, "SELECT * WHERE { ?s ?p ?o }")
    assert status == 400 and "not valid SPARQL 1.1" in body
    status, _, body = _request(probe.sparql, {"query": "DROP ALL"})
    assert status == 400 and "this is a SPARQL update, not a query" in body
    _healthy(probe)


def test_after_kill_9_the_server_restarts_on_the_same_store(loaded_store: Path) -> None:
    store = _copy(loaded_store, "killed")
    log = loaded_store.parent / "killed.log"
    first = start_server(store, log)
    runs_query = {"query": "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"}
    _, _, before = _request(first.sparql, runs_query)
    os.kill(first.proc.pid, signal.SIGKILL)
    first.proc.wait()
    second = start_server(store, log)  # the old worker exits with its parent: lock freed
    try:
        _, _, after = _request(second.sparql, runs_query)
        assert after == before
    finally:
        stop_server(second)
