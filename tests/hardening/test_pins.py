"""The constraints file pins every declared dependency, and the installed versions are the
pinned ones (CI installs with ``-c constraints.txt``)."""

from __future__ import annotations

import importlib.metadata as md
import re
import tomllib

from .conftest import REPO


def _pins() -> dict[str, str]:
    pins = {}
    for line in (REPO / "constraints.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"not an exact pin: {line!r}"
            pins[_norm(name)] = version
    return pins


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_every_declared_dependency_is_pinned() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = [*project["dependencies"], *project["optional-dependencies"]["test"]]
    names = {_norm(re.split(r"[<>=!~\[ ;]", d, maxsplit=1)[0]) for d in declared}
    assert names - set(_pins()) == set()


def test_installed_versions_are_the_pinned_ones() -> None:
    wrong = {}
    for name, version in _pins().items():
        try:
            have = md.version(name)
        except md.PackageNotFoundError:
            continue  # an extra that is not installed here
        if have != version:
            wrong[name] = f"{have} installed, {version} pinned"
    assert wrong == {}, "install with: pip install -c constraints.txt -e '.[test]'"
