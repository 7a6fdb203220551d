"""The single place that locates guidegraph's data files.

All code must resolve ontology, guideline, shape, query and example files via
this module, so that the same code works from a source checkout, an editable
install and an installed wheel.

Lookup order for the data root (the folder holding ``ontology/``,
``guidelines/``, ``shapes/``, ``queries/`` and ``examples/``):

1. ``$GUIDEGRAPH_DATA`` if set — lets users and tests point at another data set.
2. ``guidegraph/_data`` next to this file — where the wheel ships the folders.
3. The repository root (``Path(__file__).resolve().parents[2]``) if it contains
   ``ontology/`` — source checkout or editable install.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_VAR = "GUIDEGRAPH_DATA"

__all__ = [
    "ENV_VAR",
    "data_root",
    "examples_dir",
    "guidelines_dir",
    "ontology_dir",
    "queries_dir",
    "resource",
    "shapes_dir",
]


def data_root() -> Path:
    """Return the folder holding the data folders (see module docstring for order).

    Raises FileNotFoundError if no candidate exists, rather than returning a path
    that would fail later with a less helpful message.
    """
    override = os.environ.get(ENV_VAR)
    if override:
        root = Path(override).expanduser()
        if not root.is_dir():
            raise FileNotFoundError(f"${ENV_VAR} points to {root}, which is not a directory")
        return root

    packaged = Path(__file__).parent / "_data"
    if packaged.is_dir():
        return packaged

    checkout = Path(__file__).resolve().parents[2]
    if (checkout / "ontology").is_dir():
        return checkout

    raise FileNotFoundError(
        "guidegraph data folder not found: expected guidegraph/_data (wheel install) or "
        f"an ontology/ folder at the repository root {checkout}; set ${ENV_VAR} to override"
    )


def ontology_dir() -> Path:
    """OWL/RDF ontology files."""
    return data_root() / "ontology"


def guidelines_dir() -> Path:
    """Guideline knowledge bases (RDF)."""
    return data_root() / "guidelines"


def shapes_dir() -> Path:
    """SHACL shapes used for validation and applicability rules."""
    return data_root() / "shapes"


def queries_dir() -> Path:
    """SPARQL queries."""
    return data_root() / "queries"


def examples_dir() -> Path:
    """Example patient cases."""
    return data_root() / "examples"


def resource(*parts: str) -> Path:
    """Return the path of a data file, e.g. ``resource("queries", "x.rq")``.

    Raises FileNotFoundError naming the missing resource, so a missing data file
    fails at lookup time with a clear message instead of deep inside a parser.
    """
    if not parts:
        raise ValueError("resource() needs at least one path component")
    root = data_root()
    path = root.joinpath(*parts)
    if not path.exists():
        name = "/".join(parts)
        raise FileNotFoundError(f"guidegraph resource not found: {name!r} (looked in {root})")
    return path
