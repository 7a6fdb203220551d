"""A guideline's identity (notation, version, title) as knowledge loading reads it from its
files: values as a store keeps them, so a statement written twice, or one value written in
two forms, is one value; two different values are refused, naming the count."""

from __future__ import annotations

from pathlib import Path

import pytest

from guidegraph.errors import ConfigurationError
from guidegraph.knowledge.loading import read_parts

HEAD = """@prefix gg: <https://w3id.org/guidegraph/ontology#> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix dct: <http://purl.org/dc/terms/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
<https://example.org/g/demo> a gg:Guideline ; skos:notation "demo" ; dct:title "Demo" ;
"""


def _info(tmp_path: Path, version: str, extra: str = "") -> object:
    folder = tmp_path / "demo"
    folder.mkdir()
    (folder / "guideline.ttl").write_text(HEAD + f"    gg:version {version} .\n{extra}",
                                          encoding="utf-8")
    (part,) = [p for p in read_parts([folder]) if p.kind == "guideline"]
    return part.info


def test_one_value_in_two_forms_is_one_version_in_its_normal_form(tmp_path: Path) -> None:
    info = _info(tmp_path, '"2.10"^^xsd:decimal, "2.1"^^xsd:decimal')
    assert (info.id, info.version, info.title) == ("demo", "2.1", "Demo")


def test_a_statement_made_in_two_files_counts_once(tmp_path: Path) -> None:
    info = _info(tmp_path, '"2026"')
    (tmp_path / "demo" / "again.ttl").write_text(HEAD + '    gg:version "2026" .\n',
                                                 encoding="utf-8")
    (part,) = [p for p in read_parts([tmp_path / "demo"]) if p.kind == "guideline"]
    assert part.info.version == info.version == "2026"


def test_two_versions_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError,
                       match=r"demo: a guideline must describe exactly one gg:Guideline, "
                             r"found 2"):
        _info(tmp_path, '"1", "2"')
