"""No network unless asked: every construct that could make a parser or query engine reach
out is refused with an error naming it, while a loopback canary records zero requests."""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest
from click.testing import CliRunner

from guidegraph import resources
from guidegraph.cli import main
from guidegraph.errors import CaseInputError, GraphLoadError
from guidegraph.intake.cases import parse_rdf
from guidegraph.knowledge.loading import Knowledge, read_parts
from guidegraph.reasoning.reasoner import Reasoner
from guidegraph.store import versions
from guidegraph.store.base import EmbeddedStore, RemoteStore
from guidegraph.store.sparql import QueryRefused

from .conftest import Canary, store_hash

OWL = "http://www.w3.org/2002/07/owl#"


def _guideline_copy(tmp_path: Path) -> Path:
    """A writable copy of one shipped guideline folder."""
    source = sorted(p for p in resources.guidelines_dir().iterdir() if p.is_dir())[0]
    target = tmp_path / source.name
    shutil.copytree(source, target)
    return target


def _doctype_xml(url: str) -> str:
    return (f'<?xml version="1.0"?>\n<!DOCTYPE rdf:RDF [<!ENTITY e SYSTEM "{url}x">]>\n'
            '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
            'xmlns:ex="http://example.org/">\n'
            '<rdf:Description rdf:about="http://example.org/a"><ex:p>&e;</ex:p>'
            '</rdf:Description></rdf:RDF>\n')


# -- the canary itself -------------------------------------------------------------------
def test_canary_sees_what_pyoxigraph_fetches(canary_server: Canary) -> None:
    """Positive control: unguarded pyoxigraph follows SERVICE, and the canary records it, so
    an empty canary in the other tests means "nothing was fetched"."""
    canary_server.clear()
    # the canary's answer is not SPARQL results; the request is what counts
    with contextlib.suppress(OSError, SyntaxError, RuntimeError, ValueError):
        ox.Store().query(f"SELECT * WHERE {{ SERVICE <{canary_server.url}sparql> "
                         "{ ?s ?p ?o } }")
    assert canary_server.requests, "the canary did not see a request it should have"
    canary_server.clear()


# -- JSON-LD contexts ------------------------------------------------------------------------
@pytest.mark.parametrize("shape", ["top", "list", "scoped", "embedded", "import"])
def test_remote_jsonld_context_refused(canary: Canary, hard_reasoner: Reasoner,
                                       shape: str) -> None:
    url = canary.url + "context.jsonld"
    published = "https://w3id.org/guidegraph/context/stroke-case.jsonld"
    doc: dict = {"@context": url, "@id": "https://w3id.org/guidegraph/case/c1"}
    if shape == "list":
        doc["@context"] = [published, url]
    elif shape == "scoped":
        doc["@context"] = [published, {"t": {"@id": "http://example.org/t", "@context": url}}]
    elif shape == "embedded":
        doc = {"@context": published, "id": "c1",
               "@included": [{"@context": url, "@id": "http://example.org/b"}]}
    elif shape == "import":
        doc["@context"] = {"@import": url}
    with pytest.raises(CaseInputError) as info:
        hard_reasoner.intake.from_object(doc)
    assert "@context" in str(info.value) or "@import" in str(info.value)
    # the same through the file path
    items = list(hard_reasoner.intake.read_bytes(json.dumps(doc).encode(), ".jsonld",
                                                 source="case.jsonld"))
    assert len(items) == 1 and isinstance(items[0], CaseInputError)
    assert canary.requests == []


def test_parse_step_has_no_document_loader(canary: Canary) -> None:
    """Below the intake's own check, pyoxigraph itself refuses to load a remote context."""
    doc = json.dumps({"@context": canary.url, "@id": "http://example.org/a"}).encode()
    with pytest.raises(CaseInputError, match="not valid JSON-LD"):
        parse_rdf(doc, ox.RdfFormat.JSON_LD)
    assert canary.requests == []


# -- owl:imports -----------------------------------------------------------------------------
@pytest.fixture
def importing_guideline(tmp_path: Path, canary: Canary) -> Path:
    folder = _guideline_copy(tmp_path)
    (folder / "imports.ttl").write_text(
        f"<https://w3id.org/guidegraph/guideline/extra> a <{OWL}Ontology> ;\n"
        f"    <{OWL}imports> <{canary.url}onto.ttl> .\n", encoding="utf-8")
    return folder


def test_owl_imports_refused_by_knowledge_loading(importing_guideline: Path,
                                                  canary: Canary) -> None:
    with pytest.raises(GraphLoadError, match=r"owl:imports <http://127\.0\.0\.1"):
        read_parts([importing_guideline])
    with pytest.raises(GraphLoadError, match="owl:imports"):
        Knowledge.load([importing_guideline])
    assert canary.requests == []


def test_owl_imports_refused_by_validate(importing_guideline: Path, canary: Canary) -> None:
    result = CliRunner().invoke(main, ["validate", str(importing_guideline), "--no-owl"])
    assert result.exit_code == 2, result.output
    assert "owl:imports" in result.output
    assert canary.requests == []


def test_local_owl_imports_still_load(tmp_path: Path, canary: Canary) -> None:
    """Importing the project's own ontology is harmless (it is loaded from ontology/)."""
    folder = _guideline_copy(tmp_path)
    (folder / "imports.ttl").write_text(
        f"<https://w3id.org/guidegraph/guideline/extra> <{OWL}imports> "
        "<https://w3id.org/guidegraph/ontology> .\n", encoding="utf-8")
    assert len(read_parts([folder])) == 2
    assert canary.requests == []


# -- RDF/XML DOCTYPE and external entities ---------------------------------------------------
def test_rdfxml_doctype_case_refused(tmp_path: Path, canary: Canary,
                                     hard_reasoner: Reasoner) -> None:
    xml = _doctype_xml(canary.url).encode()
    case = tmp_path / "case.rdf"
    case.write_bytes(xml)
    [error] = list(hard_reasoner.intake.read(case))
    assert isinstance(error, CaseInputError) and "DOCTYPE" in str(error)
    with pytest.raises(CaseInputError, match="DOCTYPE"):
        hard_reasoner.intake.from_rdf(xml, ox.RdfFormat.RDF_XML)
    result = CliRunner().invoke(main, ["reason", str(case)])
    assert result.exit_code == 2 and "DOCTYPE" in result.output
    plain = tmp_path / "plain.rdf"
    plain.write_text(_doctype_xml("").split("\n", 2)[0] + "\n" + xml.decode().split("\n", 2)[2])
    [error] = list(hard_reasoner.intake.read(plain))
    assert isinstance(error, CaseInputError) and "RDF/XML is not accepted" in str(error)
    assert canary.requests == []


def test_rdfxml_doctype_guideline_refused(tmp_path: Path, canary: Canary) -> None:
    folder = _guideline_copy(tmp_path)
    (folder / "extra.rdf").write_text(_doctype_xml(canary.url), encoding="utf-8")
    with pytest.raises(GraphLoadError, match="DOCTYPE"):
        Knowledge.load([folder])
    result = CliRunner().invoke(main, ["validate", str(folder), "--no-owl"])
    assert result.exit_code == 2 and "DOCTYPE" in result.output, result.output
    assert canary.requests == []


# -- SPARQL in user queries ------------------------------------------------------------------
def _unsafe_queries(url: str) -> dict[str, str]:
    return {
        "SERVICE": f"SELECT * WHERE {{ SERVICE <{url}sparql> {{ ?s ?p ?o }} }}",
        "LOAD": f"LOAD <{url}data.ttl>",
        "FROM": f"SELECT * FROM <{url}data.ttl> WHERE {{ ?s ?p ?o }}",
        "FROM NAMED": f"SELECT * FROM NAMED <{url}data.ttl> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }}",
    }


def test_unsafe_sparql_refused_on_embedded_store(tmp_path: Path, canary: Canary) -> None:
    path = tmp_path / "store"
    store = EmbeddedStore(path)
    versions.load_parts(store, read_parts())
    before = store_hash(store)
    for word, text in _unsafe_queries(canary.url).items():
        with pytest.raises(QueryRefused, match=word.split()[0]):
            store.query(text)
    assert store_hash(store) == before
    store.close()
    runner = CliRunner()
    for word, text in _unsafe_queries(canary.url).items():
        result = runner.invoke(main, ["query", "--store", str(path), text])
        assert result.exit_code == 2, result.output
        assert f"{word.split()[0]} is not allowed" in result.output
    assert canary.requests == []


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def served_store(tmp_path: Path) -> Iterator[str]:
    """``guidegraph serve`` on a loaded store, with updates allowed (token ``t``)."""
    path = tmp_path / "served"
    store = EmbeddedStore(path)
    versions.load_parts(store, read_parts())
    store.close()
    del store
    port = _free_port()
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "guidegraph", "serve", "--port", str(port),
                             "--store", str(path), "--update-token", "t"],
                            stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(url + "/health", timeout=1).read()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("guidegraph serve did not start: "
                                + (tmp_path / "serve.log").read_text()[-1000:])
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _post(url: str, data: dict[str, str], token: str | None = None) -> tuple[int, str]:
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=urllib.parse.urlencode(data).encode(),
                                     headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_unsafe_sparql_refused_over_http(served_store: str, canary: Canary) -> None:
    queries = _unsafe_queries(canary.url)
    for word, text in queries.items():
        key = "update" if word == "LOAD" else "query"
        endpoint = served_store + ("/update" if word == "LOAD" else "/sparql")
        status, body = _post(endpoint, {key: text}, token="t")
        assert status == 400, (word, status, body)
        assert word.split()[0] in body
        # and the same query through a client pointed at the endpoint
        with pytest.raises(QueryRefused, match=word.split()[0]):
            RemoteStore(served_store + "/sparql").query(text)
        result = CliRunner().invoke(main, ["query", "--store", served_store + "/sparql", text])
        assert result.exit_code == 2 and f"{word.split()[0]} is not allowed" in result.output
    assert canary.requests == []
