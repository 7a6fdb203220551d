"""A temporary data root for intake tests that need more case vocabulary than is shipped."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
EXTRA = Path(__file__).parent / "fixtures" / "extra-vocabulary"


@pytest.fixture
def extra_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The shipped data plus fixtures/extra-vocabulary (a concept notation that collides with
    a context prefix, and keys declared equivalent to shipped ones), as $GUIDEGRAPH_DATA."""
    root = tmp_path / "data"
    for folder in ("ontology", "shapes", "guidelines", "queries", "examples"):
        shutil.copytree(ROOT / folder, root / folder)
    shutil.copy(EXTRA / "extra.ttl", root / "ontology" / "extra.ttl")
    shutil.copy(EXTRA / "case-contract-extra.ttl", root / "shapes" / "case-contract-extra.ttl")
    shutil.copy(EXTRA / "extra-case.context.jsonld",
                root / "ontology" / "contexts" / "extra-case.context.jsonld")
    monkeypatch.setenv("GUIDEGRAPH_DATA", str(root))
    return root
