"""Running `guidegraph serve` instances for the endpoint tests.

Each server is a real subprocess (`python -m guidegraph serve`) on 127.0.0.1 with a free
port, over its own copy of one loaded store (an embedded store is opened by one process
only). A further copy stays in the test process as the reference the answers are held to.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from guidegraph.store.base import EmbeddedStore
from tests.canary import canary, canary_server  # noqa: F401 - fixtures for the guard tests

ENV_KEYS = ("GUIDEGRAPH_STORE", "GUIDEGRAPH_UPDATE_TOKEN")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ENV_KEYS}


@dataclass
class Server:
    url: str
    proc: subprocess.Popen
    store: Path
    log: Path

    @property
    def sparql(self) -> str:
        return self.url + "/sparql"


def start_server(store: Path, log: Path, *args: str) -> Server:
    port = free_port()
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "guidegraph", "serve", "--port", str(port), "--store",
             str(store), *args], stdout=out, stderr=subprocess.STDOUT, env=clean_env())
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"guidegraph serve exited: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url + "/health", timeout=1) as response:
                if json.load(response)["status"] == "ok":
                    return Server(url, proc, store, log)
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("guidegraph serve did not answer /health within 30 s")


def stop_server(server: Server) -> None:
    server.proc.terminate()
    try:
        server.proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.proc.kill()
        server.proc.wait()


@pytest.fixture(scope="session")
def loaded_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with the ontology and the shipped guideline, loaded by the CLI."""
    path = tmp_path_factory.mktemp("served") / "store"
    subprocess.run([sys.executable, "-m", "guidegraph", "load", "--store", str(path)],
                   check=True, capture_output=True, env=clean_env())
    return path


def _copy(loaded: Path, name: str) -> Path:
    target = loaded.parent / name
    shutil.copytree(loaded, target)
    return target


@pytest.fixture(scope="session")
def reference(loaded_store: Path) -> EmbeddedStore:
    """The same data opened in this process: the answers the endpoint must give."""
    return EmbeddedStore(_copy(loaded_store, "reference"))


def _serve(loaded: Path, name: str, *args: str) -> Iterator[Server]:
    store = _copy(loaded, name)
    server = start_server(store, loaded.parent / f"{name}.log", *args)
    try:
        yield server
    finally:
        stop_server(server)


@pytest.fixture(scope="session")
def server(loaded_store: Path) -> Iterator[Server]:
    """Defaults: read-only, 30 s time limit, 10,000-row cap."""
    yield from _serve(loaded_store, "readonly")


@pytest.fixture(scope="session")
def token_server(loaded_store: Path) -> Iterator[Server]:
    yield from _serve(loaded_store, "writable", "--update-token", "secret")


@pytest.fixture(scope="session")
def limited_server(loaded_store: Path) -> Iterator[Server]:
    yield from _serve(loaded_store, "limited", "--query-timeout", "2", "--max-rows", "3")
