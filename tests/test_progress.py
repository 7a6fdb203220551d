"""Progress bars on stderr: shown while long commands run when stderr is a terminal (here a
pseudo-terminal), and no progress text at all when stderr is a pipe."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
EXAMPLES = ROOT / "examples"
COMMAND = [sys.executable, "-m", "guidegraph"]


def on_terminal(*args: str) -> tuple[int, str, str]:
    """Exit code, stdout (a pipe) and stderr (a pseudo-terminal) of a guidegraph command."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen([*COMMAND, *args], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=follower, cwd=ROOT)
    os.close(follower)
    err = bytearray()
    while True:  # read as it comes: a full terminal buffer would stall the command
        ready, _, _ = select.select([leader], [], [], 1.0)
        if ready:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: every writer of the terminal has closed it
                chunk = b""
            if not chunk:
                break
            err += chunk
        elif proc.poll() is not None:
            break
    out = proc.stdout.read() if proc.stdout else b""
    code = proc.wait()
    os.close(leader)
    return code, out.decode(), err.decode(errors="replace")


def piped(*args: str) -> tuple[int, str, str]:
    done = subprocess.run([*COMMAND, *args], capture_output=True, text=True, cwd=ROOT,
                          stdin=subprocess.DEVNULL)
    return done.returncode, done.stdout, done.stderr


CASES = [str(EXAMPLES / "m1-embolic-late.json"), str(EXAMPLES / "tandem-lesion.ttl")]


def test_reason_over_a_batch_shows_progress_per_case_on_a_terminal() -> None:
    code, out, err = on_terminal("reason", *CASES, "--format", "ndjson")
    assert code == 0, err
    assert "reasoning" in err and "100%" in err
    assert len(out.splitlines()) == 2 and "reasoning" not in out  # stdout: results only
    code, same, err = piped("reason", *CASES, "--format", "ndjson")
    assert code == 0 and same == out
    assert err == ""


def test_one_case_is_no_batch_and_shows_no_bar() -> None:
    code, _, err = on_terminal("reason", CASES[0], "--format", "ndjson")
    assert code == 0 and "reasoning" not in err and "%" not in err


def test_validate_shows_each_check_family_on_a_terminal_only() -> None:
    from guidegraph.authoring.validate import CHECK_FAMILIES

    guideline = str(ROOT / "guidelines" / "ivt-eligibility")
    code, out, err = on_terminal("validate", guideline, "--no-owl")
    assert code == 0, err
    assert "validate" in err and "100%" in err
    assert all(family in err for family in CHECK_FAMILIES[:-1])
    assert CHECK_FAMILIES[-1] not in err  # not run with --no-owl
    code, same, err = piped("validate", guideline, "--no-owl")
    assert code == 0 and same == out
    assert err == ""


def test_load_shows_progress_over_the_cases_on_a_terminal_only(tmp_path: Path) -> None:
    code, out, err = on_terminal("load", "--store", str(tmp_path / "a"), "--case",
                                 str(EXAMPLES))
    assert code == 0, err
    assert "preparing cases" in err and "100%" in err
    assert "preparing cases" not in out
    code, _, err = piped("load", "--store", str(tmp_path / "b"), "--case", str(EXAMPLES))
    assert code == 0
    assert "preparing cases" not in err and "%" not in err and "\r" not in err


@pytest.fixture(autouse=True)
def _source_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """The child runs this checkout's package, as the tests importing it do."""
    src = str(ROOT / "src")
    paths = [src, *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(dict.fromkeys(paths)))
