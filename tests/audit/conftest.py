"""The saved store the audit and tamper tests start from, built once per session with the
CLI (as a user would) and copied for every test that changes it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

GOLDEN = Path(__file__).parents[1] / "golden" / "rescue-stenting" / "cases"


def cli(*args: str) -> subprocess.CompletedProcess:
    """``guidegraph`` in a process of its own, with none of this environment's GUIDEGRAPH_
    settings (no store, actor or limit leaks in)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GUIDEGRAPH_")}
    return subprocess.run([sys.executable, "-m", "guidegraph", *args], capture_output=True,
                          text=True, env=env)


@pytest.fixture(scope="session")
def saved_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with the shipped knowledge and a saved run of every golden case."""
    path = tmp_path_factory.mktemp("audit") / "store"
    assert cli("load", "--store", str(path)).returncode == 0
    res = cli("reason", str(GOLDEN), "--save", "--store", str(path), "--format", "ndjson")
    assert res.returncode == 0, res.stderr
    return path


@pytest.fixture
def store_path(saved_store: Path, tmp_path: Path) -> Path:
    """This test's own copy of the saved store (tests change it)."""
    path = tmp_path / "store"
    shutil.copytree(saved_store, path)
    return path
