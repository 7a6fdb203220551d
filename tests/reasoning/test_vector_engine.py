"""The vectorised engine agrees with the compiled and SPARQL engines, on the shipped
guidelines and on a synthetic guideline of hundreds of recommendations."""

from __future__ import annotations

import json

import pytest

from guidegraph.knowledge.loading import Knowledge
from guidegraph.reasoning.casegen import generated_cases
from guidegraph.reasoning.reasoner import Reasoner


def test_vector_engine_matches_on_the_shipped_guidelines(reasoner: Reasoner) -> None:
    vector = Reasoner(reasoner.knowledge, engine="vector")
    for obj in generated_cases(reasoner, 800, seed=21):
        case = reasoner.intake.from_object(obj)
        assert vector.leaf_statuses(case) == reasoner.leaf_statuses(case)
        assert vector.reason(case).to_json() == reasoner.reason(case).to_json()


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory, monkeypatch_module):
    from tests import synthetic as synth

    root = synth.make_data_root(tmp_path_factory.mktemp("synthetic"), 400, seed=5)
    monkeypatch_module.setenv("GUIDEGRAPH_DATA", str(root))
    return synth, Knowledge.load()


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as mp:
        yield mp


def test_engines_agree_on_a_synthetic_guideline(synthetic) -> None:
    synth, knowledge = synthetic
    vector = Reasoner(knowledge)  # 400 recommendations: arrays by default
    closures = Reasoner(knowledge, engine="compiled")
    closures._vector = None  # force the closure path for comparison
    reference = Reasoner(knowledge, engine="sparql")
    compact = Reasoner(knowledge, why_not="undecided")
    bare = Reasoner(knowledge, why_not="none")
    assert vector._vector is not None
    for index, text in enumerate(synth.cases(300, seed=9, present=0.85)):
        case = vector.intake.from_object(json.loads(text))
        assert vector.leaf_statuses(case) == closures.leaf_statuses(case)
        if index % 10 == 0:
            assert vector.leaf_statuses(case) == reference.leaf_statuses(case)
        full = vector.reason(case)
        assert full.to_json() == closures.reason(case).to_json()
        short = compact.reason(case)
        assert [r.id for r in short.recommendations] == [r.id for r in full.recommendations]
        undecided = [r.id for r in full.not_applicable if r.status == "unknown"]
        assert [r.id for r in short.not_applicable] == undecided
        assert short.rejected == len(full.not_applicable) - len(undecided)
        assert short.to_json()["rejected_not_listed"] == short.rejected
        least = bare.reason(case)
        pending = {p.id for c in full.conclusions for p in c.pending}
        assert [r.id for r in least.not_applicable] == [i for i in undecided if i in pending]
        assert least.undecided_unlisted == len(undecided) - len(least.not_applicable)
        assert least.conclusions == full.conclusions
