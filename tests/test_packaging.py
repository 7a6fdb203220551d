"""Packaging checks: data folders ship in the wheel and resources resolve from a checkout."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from guidegraph import resources

REPO_ROOT = Path(__file__).resolve().parents[1]
DATA_FOLDERS = ("ontology", "guidelines", "shapes", "queries")


@pytest.mark.slow
def test_wheel_contains_data_and_package(tmp_path: Path) -> None:
    if importlib.util.find_spec("build") is None:
        pytest.skip("the 'build' package is not installed (pip install -e '.[test]')")
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(tmp_path), str(REPO_ROOT)],
        check=True,
        capture_output=True,
    )
    wheels = list(tmp_path.glob("guidegraph-*.whl"))
    assert len(wheels) == 1, wheels
    with zipfile.ZipFile(wheels[0]) as zf:
        names = [n for n in zf.namelist() if not n.endswith("/")]
    assert "guidegraph/resources.py" in names
    # the audit pages' templates, read next to guidegraph.serve.pages
    for template in ("base.html", "summary.html", "run.html", "macros.html", "audit.css"):
        assert f"guidegraph/serve/templates/{template}" in names, template
    assert "guidegraph/provenance/picture-style.json" in names  # read next to the module
    for folder in DATA_FOLDERS:
        prefix = f"guidegraph/_data/{folder}/"
        assert any(n.startswith(prefix) for n in names), f"no files under {prefix} in wheel"


def test_resource_dirs_exist_from_checkout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(resources.ENV_VAR, raising=False)
    for func in (
        resources.ontology_dir,
        resources.guidelines_dir,
        resources.shapes_dir,
        resources.queries_dir,
        resources.examples_dir,
    ):
        assert func().is_dir(), func.__name__


def test_missing_resource_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(resources.ENV_VAR, raising=False)
    with pytest.raises(FileNotFoundError, match="no-such-file"):
        resources.resource("no-such-file")


def test_env_var_overrides_root(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "queries").mkdir()
    (tmp_path / "queries" / "q.rq").write_text("SELECT * WHERE {}")
    monkeypatch.setenv(resources.ENV_VAR, str(tmp_path))
    assert resources.data_root() == tmp_path
    assert resources.resource("queries", "q.rq") == tmp_path / "queries" / "q.rq"


def test_ci_runs_the_readme_test_command_as_written() -> None:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    commands = [line for line in readme if "pip install -c constraints.txt -e '.[test]'" in line]
    assert len(commands) == 1
    assert commands[0].startswith("python3 -m venv .venv && . .venv/bin/activate && ")
    assert commands[0].endswith(" && ruff check . && python -m pytest -q -n 2 --dist loadgroup")
    printed = subprocess.run([str(REPO_ROOT / ".ci" / "run"), "--print-test-command"],
                             capture_output=True, text=True, check=True).stdout
    assert printed == commands[0] + "\n"
