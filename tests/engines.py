"""SPARQL engines for the remote-store tests, each a real server on 127.0.0.1.

* Oxigraph server: the `oxigraph` package from PyPI (a test dependency), one per test that
  asks for a fresh store (it starts in well under a second).
* Virtuoso Open Source 7 (Debian package ``virtuoso-opensource``): one server for the test
  session (it takes a few seconds to create its database), with a temporary database folder
  and its own ``virtuoso.ini``; each test that wants an empty store drops the graphs that
  ``RemoteStore.graph_names`` lists. Updates go through the anonymous ``/sparql`` endpoint:
  the fixture grants the ``SPARQL_UPDATE`` role to its ``SPARQL`` user with ``isql``, which
  is safe only because the server listens on loopback for the test session.

Without Virtuoso the tests that need it skip and say why, unless
``GUIDEGRAPH_REQUIRE_VIRTUOSO=1`` (set by ``.ci/run``): then a missing Virtuoso fails them.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import pytest

from guidegraph.store.base import RemoteStore

REQUIRE_VIRTUOSO = "GUIDEGRAPH_REQUIRE_VIRTUOSO"
XSD = "http://www.w3.org/2001/XMLSchema#"
NUMBERS = {XSD + t for t in ("integer", "decimal", "double", "float", "int", "long")}
GRANT_UPDATE = 'GRANT SPARQL_UPDATE TO "SPARQL";'


def value(term: Any) -> Any:
    """A term as engines can be compared on it: numbers by value (engines keep their own
    canonical forms: ``1`` and ``1.0``), blank nodes as blank nodes (labels differ)."""
    if term is None:
        return None
    if isinstance(term, ox.NamedNode):
        return ("iri", term.value)
    if isinstance(term, ox.BlankNode):
        return ("blank",)
    if term.language:
        return ("literal", term.value, "@" + term.language)
    if term.datatype.value in NUMBERS:
        return ("number", Decimal(term.value))
    return ("literal", term.value, term.datatype.value)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, proc: subprocess.Popen, name: str, log: Path | None = None,
             seconds: float = 60) -> None:
    """Wait until ``url`` answers, failing early if the server process exits."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            detail = log.read_text(errors="replace")[-800:] if log and log.exists() else ""
            raise RuntimeError(f"{name} exited with status {proc.returncode}: {detail}")
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"{name} did not answer at {url} within {seconds:g} s")


# ----------------------------------------------------------------------------------------
# Oxigraph server
# ----------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def oxigraph_binary() -> str:
    binary = shutil.which("oxigraph")
    if binary is None:
        pytest.skip("the oxigraph server (pip install oxigraph) is not installed")
    return binary


def start_oxigraph(binary: str, location: Path, *options: str
                   ) -> tuple[subprocess.Popen, str]:
    """An Oxigraph server over ``location`` with the server's ``options``; its base URL
    (``/query``, ``/update``)."""
    port = free_port()
    proc = subprocess.Popen(
        [binary, "serve", "--location", str(location), "--bind", f"127.0.0.1:{port}",
         *options],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    wait_for(url + "/query?query=ASK%7B%7D", proc, "oxigraph server", seconds=20)
    return proc, url


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


# ----------------------------------------------------------------------------------------
# Virtuoso
# ----------------------------------------------------------------------------------------
VIRTUOSO_INI = """\
[Database]
DatabaseFile = {db}/virtuoso.db
ErrorLogFile = {db}/virtuoso.log
LockFile = {db}/virtuoso.lck
TransactionFile = {db}/virtuoso.trx
xa_persistent_file = {db}/virtuoso.pxa
[TempDatabase]
DatabaseFile = {db}/virtuoso-temp.db
TransactionFile = {db}/virtuoso-temp.trx
[Parameters]
ServerPort = 127.0.0.1:{sql_port}
DisableUnixSocket = 1
CaseMode = 2
NumberOfBuffers = 10000
MaxDirtyBuffers = 6000
ThreadsPerQuery = 1
DirsAllowed = {db}
[HTTPServer]
ServerPort = 127.0.0.1:{http_port}
ServerThreads = 4
Charset = UTF-8
[SPARQL]
; No row cap and no anytime-query timeout: either would cut results short
ResultSetMaxRows = {max_rows}
MaxQueryExecutionTime = 0
MaxQueryCostEstimationTime = 0
"""


@dataclass
class Virtuoso:
    """A running Virtuoso: its SPARQL endpoint (queries and updates at ``/sparql``)."""

    sparql: str
    log: Path
    isql_command: list[str]

    def isql(self, statement: str) -> str:
        """Run one SQL statement as dba; its output (fails on a Virtuoso error)."""
        done = subprocess.run([*self.isql_command, f"exec={statement}"], capture_output=True,
                              text=True, timeout=60, check=False)
        assert done.returncode == 0 and "Error" not in done.stdout, done.stdout + done.stderr
        return done.stdout

    def store(self) -> RemoteStore:
        return RemoteStore(self.sparql)

    def clear(self) -> RemoteStore:
        """Drop every graph of guidegraph's dataset; the store, empty."""
        store = self.store()
        names = store.graph_names()
        if names:
            store.update(" ;\n".join(f"DROP SILENT GRAPH <{g}>" for g in names))
        assert store.graph_names() == []
        return store


def _virtuoso_programs() -> tuple[str, str] | str:
    """(server, isql) or why they cannot be used."""
    server = shutil.which("virtuoso-t")
    isql = shutil.which("isql-vt") or shutil.which("isql-v")
    if server is None or isql is None:
        return ("Virtuoso Open Source 7 is not installed (Debian: apt-get install "
                "virtuoso-opensource; virtuoso-t and isql-vt are needed)")
    return server, isql


@contextmanager
def running_virtuoso(folder: Path, max_rows: int = 0) -> Iterator[Virtuoso]:
    """Virtuoso on free loopback ports with its database in ``folder``, the SPARQL user
    allowed to write; stopped on leaving. Skips (or fails, when required) without it."""
    found = _virtuoso_programs()
    if isinstance(found, str):
        if os.environ.get(REQUIRE_VIRTUOSO) == "1":
            pytest.fail(f"{REQUIRE_VIRTUOSO}=1 but {found}")
        pytest.skip(found)
    server, isql = found
    sql_port, http_port = free_port(), free_port()
    ini = folder / "virtuoso.ini"
    ini.write_text(VIRTUOSO_INI.format(db=folder, sql_port=sql_port, http_port=http_port,
                                       max_rows=max_rows), encoding="utf-8")
    proc = subprocess.Popen([server, "+foreground", "+configfile", str(ini)], cwd=folder,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sparql = f"http://127.0.0.1:{http_port}/sparql"
    try:
        wait_for(sparql + "?query=ASK%7B%7D", proc, "virtuoso", folder / "virtuoso.log")
        running = Virtuoso(sparql, folder / "virtuoso.log",
                           [isql, f"127.0.0.1:{sql_port}", "dba", "dba"])
        # The anonymous endpoint runs as SQL user SPARQL, which may only read by default.
        running.isql(GRANT_UPDATE)
        yield running
    finally:
        stop(proc)


@pytest.fixture(scope="session")
def virtuoso(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Virtuoso]:
    """One Virtuoso for the test session."""
    with running_virtuoso(tmp_path_factory.mktemp("virtuoso")) as running:
        yield running
