"""The authoring shapes compiled to whole-graph queries on Oxigraph give pySHACL's report.

pySHACL is the reference: on every shape fixture, every decision-check fixture, the shipped
guidelines and the golden guideline sets, the compiled engine's report graph is isomorphic
to pySHACL's (same results, messages, values, paths and cloned shapes) and flattens to the
same results. ``validate`` then runs the compiled engine by default; pySHACL costs ~1 s per
run on the ontology alone, so this comparison is marked slow (CI runs it).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from rdflib.compare import graph_diff, isomorphic, to_isomorphic

from guidegraph import resources
from guidegraph.authoring import shacl, shacl_query
from guidegraph.authoring import validate as validation

HERE = Path(__file__).parent
GOLDEN = HERE.parent / "golden"
INPUTS = sorted([*(p for p in (HERE / "fixtures").glob("*.ttl") if p.name != "manifest.ttl"),
                 *(HERE / "decisions").glob("*.ttl"),
                 resources.guidelines_dir(),
                 *(p for p in GOLDEN.glob("*/guideline") if p.is_dir())])


def test_every_fixture_family_is_compared() -> None:
    assert resources.guidelines_dir() in INPUTS
    assert GOLDEN / "decisions" / "guideline" in INPUTS
    assert len([p for p in INPUTS if p.parent.name == "fixtures"]) >= 68
    assert len([p for p in INPUTS if p.parent.name == "decisions"]) >= 7


def test_the_authoring_shapes_compile_whole() -> None:
    """No part of shapes/authoring.ttl falls back to pySHACL."""
    shapes = validation._load([HERE / "fixtures" / "clean.ttl"]).shapes
    checks = shacl_query.compile_shapes(shapes)
    assert len(checks) >= 100
    assert sum(c.focus is not None for c in checks) == 0  # none runs per focus node


@pytest.mark.slow
@pytest.mark.parametrize("path", INPUTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_compiled_shapes_give_pyshacls_report(path: Path) -> None:
    inputs = validation._load([path])
    reference = shacl.run_pyshacl(inputs.data, inputs.shapes)
    compiled, engine = shacl.run_shacl(inputs.data, inputs.shapes)
    assert engine == "oxigraph"
    if not isomorphic(reference, compiled):
        _, only_reference, only_compiled = graph_diff(to_isomorphic(reference),
                                                      to_isomorphic(compiled))
        pytest.fail(f"only pySHACL: {sorted(only_reference)[:5]}\n"
                    f"only compiled: {sorted(only_compiled)[:5]}")
    flat = [shacl.flatten(g, inputs.data, inputs.origins, inputs.shapes)
            for g in (reference, compiled)]
    assert flat[0] == flat[1]


UNSUPPORTED_SHAPE = """
@prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix ex: <http://example.org/> .
ex:S a sh:NodeShape ; sh:targetClass ex:C ;
    sh:property [ sh:path ex:name ; sh:pattern "^[A-Z]" ; sh:message "Capitalise the name." ] .
"""
DATA = """
@prefix ex: <http://example.org/> .
ex:a a ex:C ; ex:name "lower" .
"""


def test_shapes_the_compiler_does_not_translate_run_on_pyshacl_or_are_refused() -> None:
    import rdflib

    from guidegraph.errors import ConfigurationError

    shapes = rdflib.Graph().parse(data=UNSUPPORTED_SHAPE, format="turtle")
    data = shacl.PreparedQueryGraph()
    data.parse(data=DATA, format="turtle")
    with pytest.raises(shacl_query.Unsupported, match="sh:pattern on shape"):
        shacl_query.compile_shapes(shapes)
    report, engine = shacl.run_shacl(data, shapes)
    assert engine == "pyshacl"
    assert shacl.has_violation(report)
    with pytest.raises(ConfigurationError) as refused:
        shacl.run_shacl(data, shapes, "oxigraph")
    assert "the shapes cannot run on Oxigraph" in str(refused.value)
    assert "sh:pattern" in str(refused.value) and "use the pyshacl engine" in str(refused.value)
    with pytest.raises(ConfigurationError, match="SHACL engine 'jena': use one of auto, "):
        shacl.run_shacl(data, shapes, "jena")
