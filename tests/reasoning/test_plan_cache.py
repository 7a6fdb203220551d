"""The plan cache: a reasoner whose plan was read from it answers exactly as one that
compiled, reads no graph until asked, and an entry that is stale, torn, edited or not private
is never used."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from guidegraph.errors import ConfigurationError
from guidegraph.knowledge.loading import DeferredKnowledge, Knowledge
from guidegraph.provenance import record
from guidegraph.reasoning import plan_cache
from guidegraph.reasoning.reasoner import Reasoner
from guidegraph.resources import guidelines_dir
from guidegraph.store.versions import current_knowledge

ROOT = Path(__file__).parents[2]
GOLDEN = ROOT / "tests" / "golden"
CASES = sorted(p for p in GOLDEN.glob("*/cases/*") if p.suffix in (".json", ".ttl"))
TIMES = ("startedAtTime", "endedAtTime")


@pytest.fixture
def plans(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "plans"
    monkeypatch.setenv(plan_cache.ENV_VAR, str(folder))
    return folder


def _entries(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.plan"))


def _record(reasoner: Reasoner, result) -> list[str]:
    return sorted(line for line in record.to_ntriples(result, reasoner).splitlines()
                  if not any(t in line for t in TIMES))


@pytest.mark.parametrize("engine", ["compiled", "vector"])
def test_a_plan_read_from_the_cache_answers_as_the_compiled_one(plans: Path, engine: str
                                                                ) -> None:
    compiled = Reasoner(engine=engine)
    assert isinstance(compiled.knowledge, Knowledge)
    assert not isinstance(compiled.knowledge, DeferredKnowledge)
    assert len(_entries(plans)) == 1
    cached = Reasoner(engine=engine)
    assert isinstance(cached.knowledge, DeferredKnowledge)
    assert cached.knowledge._loaded is None  # nothing parsed to reason
    assert len(CASES) > 10
    for path in CASES:
        for case in compiled.intake.read(path):
            want, got = compiled.reason(case), cached.reason(case)
            assert got.to_json() == want.to_json(), path.name
            assert _record(cached, got) == _record(compiled, want), path.name
    assert cached.knowledge._loaded is None
    assert len(_entries(plans)) == 1


def test_the_graphs_are_read_when_something_asks_for_them(plans: Path) -> None:
    compiled = Reasoner()
    cached = Reasoner()
    assert isinstance(cached.knowledge, DeferredKnowledge) and cached.knowledge._loaded is None
    assert len(cached.knowledge.store) == len(compiled.knowledge.store)
    assert [p.content_hash for p in cached.knowledge.parts] == [
        p.content_hash for p in compiled.knowledge.parts]
    sparql = Reasoner(cached.knowledge, engine="sparql")  # the reference reads the graphs
    case = next(iter(compiled.intake.read(CASES[0])))
    assert sparql.reason(case).to_json() == compiled.reason(case).to_json()


def _copy(tmp_path: Path) -> Path:
    folder = tmp_path / "rescue-stenting"
    shutil.copytree(guidelines_dir() / "rescue-stenting", folder)
    return folder


def test_a_changed_guideline_file_is_compiled_again(plans: Path, tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    first = Reasoner(source=current_knowledge(None, [folder]))
    again = Reasoner(source=current_knowledge(None, [folder]))
    assert isinstance(again.knowledge, DeferredKnowledge)
    target = sorted(folder.glob("*.ttl"))[0]
    target.write_text(target.read_text(encoding="utf-8") + "\n# a comment\n", encoding="utf-8")
    changed = Reasoner(source=current_knowledge(None, [folder]))
    assert not isinstance(changed.knowledge, DeferredKnowledge)
    assert changed.guidelines[0]["content_hash"] != first.guidelines[0]["content_hash"]
    assert len(_entries(plans)) == 2


def test_files_changed_after_the_plan_was_read_are_refused(plans: Path,
                                                           tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    Reasoner(source=current_knowledge(None, [folder]))
    cached = Reasoner(source=current_knowledge(None, [folder]))
    target = sorted(folder.glob("*.ttl"))[0]
    target.write_text(target.read_text(encoding="utf-8") + "\n# later\n", encoding="utf-8")
    with pytest.raises(ConfigurationError) as caught:
        cached.knowledge.store  # noqa: B018 -- reading the graphs is what is tested
    assert str(caught.value) == (
        "the knowledge files changed while guidegraph was running (their content hashes "
        "differ from the ones it compiled); run it again")


def test_the_same_files_elsewhere_are_another_entry(plans: Path, tmp_path: Path) -> None:
    """Provenance names a guideline's files, so a copy is compiled under its own key."""
    Reasoner(source=current_knowledge(None, [_copy(tmp_path / "a")]))
    other = Reasoner(source=current_knowledge(None, [_copy(tmp_path / "b")]))
    assert not isinstance(other.knowledge, DeferredKnowledge)
    assert len(_entries(plans)) == 2


def test_a_torn_or_edited_entry_is_compiled_again_and_rewritten(plans: Path) -> None:
    Reasoner()
    entry = _entries(plans)[0]
    data = entry.read_bytes()
    for broken in (data[:-100], data[:-1] + bytes([data[-1] ^ 1]), b"", data[:10]):
        entry.write_bytes(broken)
        assert not isinstance(Reasoner().knowledge, DeferredKnowledge)
        assert entry.read_bytes() == data  # rewritten whole
        assert isinstance(Reasoner().knowledge, DeferredKnowledge)


def test_an_intact_entry_the_code_cannot_read_is_a_miss(plans: Path) -> None:
    plans.mkdir(mode=0o700)
    key = "0" * 64
    payload = b"not a pickle"
    import hashlib

    (plans / f"{key}.plan").write_bytes(b"guidegraph-plan 1\n" + key.encode() + b"\n"
                                        + hashlib.sha256(payload).hexdigest().encode()
                                        + b"\n" + payload)
    (plans / f"{key}.plan").chmod(0o600)
    assert plan_cache.read(key) is None
    plan_cache.write(key, {"a": 1})
    assert plan_cache.read(key) == {"a": 1}


@pytest.mark.parametrize("what", ["entry", "folder"])
def test_an_entry_others_may_write_is_not_read(plans: Path, what: str) -> None:
    Reasoner()
    entry = _entries(plans)[0]
    (entry if what == "entry" else plans).chmod(0o666 if what == "entry" else 0o777)
    assert not isinstance(Reasoner().knowledge, DeferredKnowledge)
    if what == "folder":  # nothing is written into it either
        assert entry.stat().st_mode & 0o777 == 0o600
        assert plan_cache.write("1" * 64, {}) is False


def test_a_new_folder_and_entry_are_private(plans: Path) -> None:
    Reasoner()
    assert plans.stat().st_mode & 0o777 == 0o700
    assert [e.stat().st_mode & 0o777 for e in _entries(plans)] == [0o600]


def test_an_empty_setting_turns_the_cache_off(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(plan_cache.ENV_VAR, "")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert plan_cache.cache_dir() is None
    Reasoner()
    assert not isinstance(Reasoner().knowledge, DeferredKnowledge)
    assert not (tmp_path / "xdg").exists()
    monkeypatch.delenv(plan_cache.ENV_VAR)
    assert plan_cache.cache_dir() == tmp_path / "xdg" / "guidegraph" / "plans"


def test_the_key_covers_the_code_that_compiles(monkeypatch: pytest.MonkeyPatch,
                                               tmp_path: Path) -> None:
    code = tmp_path / "compile.py"
    code.write_text("a = 1\n")
    monkeypatch.setattr(plan_cache, "_code_files", lambda: [("reasoning/compile.py", code)])
    before = plan_cache.plan_key(["sha256:x"])
    assert plan_cache.plan_key(["sha256:y"]) != before
    code.write_text("a = 2\n")
    assert plan_cache.plan_key(["sha256:x"]) != before
    monkeypatch.setattr(plan_cache, "_code_files", lambda: [("compile.py", code)])
    assert plan_cache.plan_key(["sha256:x"]) != before  # the same bytes elsewhere
    monkeypatch.undo()
    names = [name for name, _ in plan_cache._code_files()]
    assert "reasoning/reasoner.py" in names and "derive/conditions.rq" in names


def test_old_entries_are_pruned(plans: Path) -> None:
    for i in range(plan_cache.KEEP + 3):
        assert plan_cache.write(f"{i:064x}", i)
    assert len(_entries(plans)) == plan_cache.KEEP


def test_the_command_reads_the_plan_it_kept(plans: Path) -> None:
    """The second command answers from the entry: a label changed in the entry (and nowhere
    else) is what it prints."""
    example = ROOT / "examples" / "basilar-icad-failed-evt.json"

    def run() -> str:
        done = subprocess.run([sys.executable, "-m", "guidegraph", "reason", str(example),
                               "--format", "json"], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        return done.stdout

    first = run()
    [entry] = _entries(plans)
    plan = plan_cache.read(entry.stem)
    assert plan is not None
    for spec in plan.recommendations:
        spec.label = "label read from the plan cache"
    assert plan_cache.write(entry.stem, plan)
    second = run()
    assert "label read from the plan cache" not in first
    assert "label read from the plan cache" in second
    assert json.loads(first)["conclusions"] == json.loads(second)["conclusions"]
    assert _entries(plans) == [entry]


def test_files_that_change_before_they_are_parsed_make_no_entry(plans: Path,
                                                                tmp_path: Path) -> None:
    """Named by one content, parsed as another: the plan is not kept under the first."""
    folder = _copy(tmp_path)
    target = sorted(folder.glob("*.ttl"))[0]
    text = target.read_text(encoding="utf-8")
    source = current_knowledge(None, [folder])
    target.write_text(text + "\n# changed meanwhile\n", encoding="utf-8")
    changed = Reasoner(source=source)
    assert changed.guidelines[0]["content_hash"] != source.key[1]
    assert _entries(plans) == []
    target.write_text(text, encoding="utf-8")
    assert not isinstance(Reasoner(source=current_knowledge(None, [folder])).knowledge,
                          DeferredKnowledge)
    assert len(_entries(plans)) == 1


def test_a_changed_ontology_file_after_the_plan_was_read_is_refused(
        plans: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "data"
    root = guidelines_dir().parent
    for name in ("ontology", "guidelines", "shapes", "queries"):
        shutil.copytree(root / name, data / name)
    monkeypatch.setenv("GUIDEGRAPH_DATA", str(data))
    Reasoner()
    cached = Reasoner()
    assert isinstance(cached.knowledge, DeferredKnowledge)
    target = sorted((data / "ontology").glob("*.ttl"))[0]
    target.write_text(target.read_text(encoding="utf-8") + "\n# later\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="the knowledge files changed"):
        cached.knowledge.parts  # noqa: B018 -- reading the graphs is what is tested


def test_the_endpoint_s_reasoner_reads_the_plan_it_kept(plans: Path, tmp_path: Path) -> None:
    """A server started again over files it compiled before reads their plan (the
    endpoint's reasoners are kept per knowledge version as the CLI's plan is)."""
    from guidegraph.serve.backend import knowledge_chooser
    from guidegraph.store.base import open_store

    store = open_store(str(tmp_path / "store"))
    source, first = knowledge_chooser(store)()
    assert not isinstance(first.knowledge, DeferredKnowledge)
    assert len(_entries(plans)) == 1
    again, second = knowledge_chooser(store)()  # a new server process's chooser
    assert again.key == source.key
    assert isinstance(second.knowledge, DeferredKnowledge)
    case = next(iter(first.intake.read(CASES[0])))
    assert second.reason(case).to_json() == first.reason(case).to_json()
    assert knowledge_chooser(store)()[1] is not second  # one cache per chooser
    assert len(_entries(plans)) == 1
