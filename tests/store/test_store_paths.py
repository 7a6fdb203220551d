"""A store path that holds no store is refused by every command that only reads (a typo must
not answer "0 rows" or "intact"); commands that write create the store and say so; and while
a server holds a store, read commands open it beside the server and write commands say what
to do."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.server.conftest import start_server, stop_server

ROOT = Path(__file__).parents[2]
CASE = str(ROOT / "examples" / "basilar-icad-failed-evt.json")
RUN = "https://w3id.org/guidegraph/run/0"


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items()
            if k not in ("GUIDEGRAPH_STORE", "GUIDEGRAPH_UPDATE_TOKEN")}
    return subprocess.run([sys.executable, "-m", "guidegraph", *args], capture_output=True,
                          text=True, env={**base, **(env or {})})


READERS = {
    "query": ["query", "loaded-guideline-versions"],
    "audit": ["audit"],
    "verify-log": ["audit", "--verify-log"],
    "explain --run": ["explain", "--run", RUN],
    "diff": ["diff", str(ROOT / "guidelines" / "rescue-stenting"),
             str(ROOT / "guidelines" / "rescue-stenting")],
    "reason without --save": ["reason", CASE],
    "serve without a token": ["serve", "--port", "0"],
}


@pytest.mark.parametrize("name", list(READERS))
def test_a_reading_command_refuses_a_path_with_no_store(tmp_path: Path, name: str) -> None:
    typo = tmp_path / "stroe"
    done = _cli(*READERS[name], "--store", str(typo))
    assert done.returncode == 2, done.stderr[-500:]
    assert f"no store at {typo}: nothing was loaded there (a mistyped --store" in done.stderr
    assert done.stdout == ""
    assert not typo.exists()  # nothing created


def test_the_store_variable_is_checked_the_same_way(tmp_path: Path) -> None:
    done = _cli("query", "loaded-guideline-versions",
                env={"GUIDEGRAPH_STORE": str(tmp_path / "nope")})
    assert done.returncode == 2 and "no store at" in done.stderr


def test_writing_commands_create_a_store_and_say_so(tmp_path: Path) -> None:
    done = _cli("load", "--store", str(tmp_path / "a"))
    assert done.returncode == 0, done.stderr
    assert f"created a new store at {tmp_path / 'a'}" in done.stderr
    done = _cli("load", "--store", str(tmp_path / "a"))
    assert "created a new store" not in done.stderr
    done = _cli("reason", CASE, "--save", "--store", str(tmp_path / "b"))
    assert done.returncode == 0, done.stderr
    assert f"created a new store at {tmp_path / 'b'}" in done.stderr


def test_a_folder_holding_something_else_is_never_made_a_store(tmp_path: Path) -> None:
    folder = tmp_path / "documents"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    done = _cli("load", "--store", str(folder))
    assert done.returncode == 2
    assert f"{folder} is not a guidegraph store and not empty" in done.stderr
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"]


def test_audit_with_no_store_anywhere_audits_the_shipped_files(tmp_path: Path) -> None:
    done = _cli("audit", "--format", "json", env={"XDG_DATA_HOME": str(tmp_path)})
    assert done.returncode in (0, 1), done.stderr  # 1: the shipped retracted citation
    assert "no store here yet; auditing the shipped files" in done.stderr
    assert not (tmp_path / "guidegraph").exists()


def test_read_commands_work_beside_a_running_server(tmp_path: Path) -> None:
    store = tmp_path / "store"
    assert _cli("load", "--store", str(store)).returncode == 0
    assert _cli("reason", CASE, "--save", "--store", str(store)).returncode == 0
    server = start_server(store, tmp_path / "serve.log")
    try:
        done = _cli("query", "runs-for-case", "--bind", "case=example-basilar-icad",
                    "--store", str(store), "--format", "csv")
        assert done.returncode == 0, done.stderr
        assert len(done.stdout.strip().splitlines()) == 3  # header, one row per guideline
        done = _cli("audit", "--verify-log", "--store", str(store))
        assert done.returncode == 0, done.stderr
        assert "intact" in done.stdout
        done = _cli("load", "--store", str(store))
        assert done.returncode == 2
        assert "is in use by another process (a running `guidegraph serve`" in done.stderr
        assert "--store http://127.0.0.1:7878/sparql" in done.stderr
    finally:
        stop_server(server)
