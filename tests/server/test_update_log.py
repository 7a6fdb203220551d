"""Writes through the endpoint are logged: `POST /update` as the token's name (never the
token), with the update text and the content hash of each graph it changed, before and
after; so a stored run edited through `/update` is on record, not silently rewritten."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest

from guidegraph.store.base import EmbeddedStore, RemoteStore
from guidegraph.store.log import ABSENT, check, read_log

from .conftest import Server, _serve, clean_env, start_server, stop_server
from .test_server import EXAMPLE, get, http

GG = "https://w3id.org/guidegraph/ontology#"
SECRET = "s3cret-never-logged"


@pytest.fixture
def named_server(loaded_store: Path, tmp_path: Path) -> Iterator[Server]:
    yield from _serve(loaded_store, f"named-{tmp_path.name}", "--update-token",
                      f"alice:{SECRET}")


def post_update(server: Server, text: str, token: str = SECRET) -> int:
    status, _, _ = http(server.url + "/update", data={"update": text},
                        headers={"Authorization": f"Bearer {token}"})
    return status


def test_an_update_of_a_stored_run_is_logged_as_the_token_name(named_server: Server) -> None:
    status, _, body = http(named_server.url + "/reason?save=true", data=EXAMPLE.read_bytes(),
                           headers={"Authorization": f"Bearer {SECRET}"})
    assert status == 200
    run = json.loads(body)["provenance"]
    flip = f"""PREFIX gg: <{GG}>
        DELETE {{ GRAPH <{run}> {{ ?e gg:status gg:met }} }}
        INSERT {{ GRAPH <{run}> {{ ?e gg:status gg:unmet }} }}
        WHERE {{ {{ SELECT ?e WHERE {{ GRAPH <{run}> {{ ?e gg:status gg:met }} }}
                   ORDER BY ?e LIMIT 1 }} }}"""
    assert post_update(named_server, flip) == 204
    assert post_update(named_server, flip, token="alice:" + SECRET) == 403  # the secret only
    stop_server(named_server)
    store = EmbeddedStore(named_server.store)
    entries = read_log(store)
    saved = [e for e in entries if e.action == "reason" and e.graph == run]
    assert len(saved) == 1 and saved[0].actor == "alice"  # /reason?save=true: the name too
    last = entries[-1]
    assert (last.action, last.actor, last.subject) == ("update", "alice", flip)
    assert last.after == "sha256:" + hashlib.sha256(flip.encode()).hexdigest()
    [state] = last.states
    [recorded] = [s.after for s in saved[0].states if s.graph == run]
    assert (state.graph, state.before, state.after) == (run, recorded, store.graph_hash(run))
    assert state.before != state.after
    assert check(store).problems == []  # on record, so not "outside the log"
    assert SECRET.encode() not in store.ox.dump(format=ox.RdfFormat.N_QUADS)
    store.close()


def test_an_update_adding_and_dropping_graphs_records_them_absent(
        named_server: Server) -> None:
    add = "INSERT DATA { GRAPH <https://example.org/g> { <https://example.org/s> " \
          "<https://example.org/p> 1 } }"
    assert post_update(named_server, add) == 204
    assert post_update(named_server, "DROP GRAPH <https://example.org/g>") == 204
    stop_server(named_server)
    store = EmbeddedStore(named_server.store)
    added, dropped = read_log(store)[-2:]
    assert [(s.graph, s.before) for s in added.states] == [("https://example.org/g", ABSENT)]
    assert [(s.graph, s.before, s.after) for s in dropped.states] == [
        ("https://example.org/g", added.states[0].after, ABSENT)]
    assert check(store).problems == []
    # the graph written again outside the log, after its logged deletion
    store.update(add)
    assert check(store).problems == [
        f"graph <https://example.org/g> was added outside the log: entry {dropped.sequence} "
        "recorded its deletion"]
    store.close()


def test_a_token_without_a_name_is_logged_as_update_token(token_server: Server) -> None:
    text = "INSERT DATA { GRAPH <urn:x:named-log> { <urn:x:s> <urn:x:p> <urn:x:o> } }"
    assert post_update(token_server, text, token="secret") == 204
    query = f"""PREFIX gg: <{GG}> SELECT ?actor WHERE {{ GRAPH ?log {{
        ?e gg:logAction "update" ; gg:actor ?actor ; gg:changedSubject ?text }}
        FILTER(CONTAINS(?text, "urn:x:named-log")) }}"""
    _, _, body = get(token_server, query, "text/csv")
    assert body.decode().splitlines() == ["actor", "update-token"]


@pytest.mark.parametrize(("token", "message"), [
    ("two words:secret", "--update-token: the name 'two words' is not allowed; allowed: "
                         "NAME:SECRET with a NAME of 1 to 64 letters, digits and . _ @ - "
                         "(starting with a letter or digit), or a SECRET alone"),
    (":secret", "--update-token: the name '' is not allowed; allowed: NAME:SECRET"),
    ("alice: ", "--update-token: the secret of 'alice' is blank; allowed: a non-blank secret "
                "after NAME:"),
])
def test_a_bad_token_name_is_refused_at_start(tmp_path: Path, token: str, message: str
                                              ) -> None:
    res = subprocess.run([sys.executable, "-m", "guidegraph", "serve", "--port", "0",
                          "--store", str(tmp_path / "s"), "--update-token", token],
                         capture_output=True, text=True, env=clean_env())
    assert res.returncode == 2 and res.stdout == ""
    assert res.stderr.startswith(f"guidegraph: {message}")
    assert not (tmp_path / "s").exists()


def test_the_audit_page_reports_a_graph_changed_outside_the_log(loaded_store: Path,
                                                                tmp_path: Path) -> None:
    store_path = tmp_path / "edited"
    shutil.copytree(loaded_store, store_path)
    store = EmbeddedStore(store_path)
    snapshot = next(g for g in store.graph_names() if "/snapshot/" in g)
    store.update(f"INSERT DATA {{ GRAPH <{snapshot}> {{ <{snapshot}> <{GG}note> \"x\" }} }}")
    store.close()
    server = start_server(store_path, tmp_path / "edited.log")
    try:
        status, _, body = http(server.url + "/audit")
    finally:
        stop_server(server)
    assert status == 200
    page = body.decode()
    assert "1 problem</span> in 3 entries" in page
    assert f"graph &lt;{snapshot}&gt; was changed outside the log: its content hash is " in page


def test_an_update_through_a_server_on_a_remote_engine_is_logged(tmp_path: Path) -> None:
    from tests.store.conftest import start_oxigraph

    binary = shutil.which("oxigraph")
    if binary is None:
        pytest.skip("the oxigraph server (pip install oxigraph) is not installed")
    engine, url = start_oxigraph(binary, tmp_path / "engine")
    try:
        remote = RemoteStore(url + "/query")
        server = start_server(url + "/query", tmp_path / "remote.log",  # type: ignore[arg-type]
                              "--update-token", f"bob:{SECRET}")
        try:
            text = ("INSERT DATA { GRAPH <https://example.org/r> { <https://example.org/s> "
                    "<https://example.org/p> 1 } }")
            assert post_update(server, text) == 204
        finally:
            stop_server(server)
        [entry] = [e for e in read_log(remote) if e.action == "update"]
        assert (entry.actor, entry.subject) == ("bob", text)
        assert [(s.graph, s.before, s.after) for s in entry.states] == [
            ("https://example.org/r", ABSENT, remote.graph_hash("https://example.org/r"))]
        assert check(remote).problems == []
    finally:
        engine.terminate()
        engine.wait()


def test_an_update_of_the_default_graph_is_refused_by_the_endpoint(
        named_server: Server) -> None:
    """The endpoint's default graph is the store's copy of the current knowledge: an update
    that would write it is answered 400 with the reason, and nothing runs or is logged."""
    text = ('INSERT DATA { GRAPH <https://example.org/g> { <https://example.org/s> '
            '<https://example.org/p> "o" } } ; DELETE WHERE { ?s ?p ?o }')
    status, _, body = http(named_server.url + "/update", data={"update": text},
                           headers={"Authorization": f"Bearer {SECRET}"})
    assert status == 400
    assert body.decode().startswith("update refused: operation 2 (DELETE WHERE) would write "
                                    "the default graph, which holds the store's copy")
    status, _, body = get(named_server, "ASK { GRAPH <https://example.org/g> { ?s ?p ?o } }",
                          accept="application/sparql-results+json")
    assert status == 200 and json.loads(body)["boolean"] is False
    status, _, body = get(named_server, "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }",
                          accept="application/sparql-results+json")
    assert int(json.loads(body)["results"]["bindings"][0]["n"]["value"]) > 1000
    stop_server(named_server)
    store = EmbeddedStore(named_server.store)
    assert all(e.action != "update" for e in read_log(store))
    assert check(store).problems == []
