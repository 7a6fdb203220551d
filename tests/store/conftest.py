"""Stores under test: the embedded Oxigraph store and a real Oxigraph server over HTTP.

The server is the `oxigraph` package from PyPI (a test dependency), started on 127.0.0.1
with a free port for the test session and stopped afterwards.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from guidegraph.store import EmbeddedStore, RemoteStore, Store


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def oxigraph_binary() -> str:
    binary = shutil.which("oxigraph")
    if binary is None:
        pytest.skip("the oxigraph server (pip install oxigraph) is not installed")
    return binary


def start_oxigraph(binary: str, location: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen(
        [binary, "serve", "--location", str(location), "--bind", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"oxigraph server exited: {proc.stderr.read().decode()[:500]}")
        try:
            urllib.request.urlopen(url + "/query?query=ASK%7B%7D", timeout=1).read()
            return proc, url
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("oxigraph server did not start within 20 s")


@pytest.fixture(params=["embedded", "remote"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A fresh, empty store of each kind."""
    if request.param == "embedded":
        yield EmbeddedStore(tmp_path / "store")
        return
    binary = request.getfixturevalue("oxigraph_binary")
    proc, url = start_oxigraph(binary, tmp_path / "remote")
    try:
        yield RemoteStore(url + "/query")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
