"""Benchmark: per-case latency and batch throughput of `reason`, beside a pure-Python floor.

Run on demand (never in CI):  python bench/bench_reason.py [--cases 10000] [--write]

Every figure is measured in this one run, next to a baseline measured in the same run on
the same cases, and reported as a ratio, because these machines are noisy:
  * floor     pure Python on parsed facts: json.loads + the same compiled criteria under
              Kleene logic, statuses only (no checks, no result objects, no provenance);
  * e2e       JSON text -> checked case -> derivation -> PROV-O N-Triples (the RDF record);
  * e2e+json  the same plus the BRIEF §4 JSON rendering;
  * sparql    the same e2e with the SPARQL reference engine (on a subset);
  * no-decide the same e2e with the decision layer switched off (every action left without a
              verdict), the baseline for what one verdict per action costs.
Batch throughput is measured in one process and in two worker processes.
Cold start is `guidegraph reason <example> --format json` as a whole process, against
`python -c pass`.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import statistics
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _texts(reasoner, count: int, seed: int, pathway: str | None) -> list[str]:
    """Generated cases; with ``pathway``, only over the keys that guideline's criteria read
    (a registry of one kind of decision, as real case streams are)."""
    from guidegraph.reasoning.casegen import generated_cases

    keys = None
    if pathway:
        keys = {c.key for s in reasoner.recommendations if s.guideline == pathway
                for c in reasoner.plan.criteria if c.iri in s.leaf_iris}
    objs = generated_cases(reasoner, count, seed=seed, keys=keys)
    return [json.dumps({k: float(v) if isinstance(v, Decimal) else v for k, v in o.items()})
            for o in objs]


def _percentiles(samples_ns: list[int]) -> tuple[float, float]:
    ordered = sorted(samples_ns)
    median = statistics.median(ordered) / 1e6
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] / 1e6
    return median, p99


def floor_fn(reasoner):
    """Pure-Python evaluation of the same criteria on parsed facts (the speed floor)."""
    from guidegraph.reasoning.criteria import MET, UNKNOWN, UNMET, evaluate

    concept = {k: s.allowed for k, s in reasoner.contract.facts.items() if s.kind == "concept"}
    numeric = {k for k, s in reasoner.contract.facts.items() if s.kind == "decimal"}
    criteria = reasoner.plan.criteria
    specs = reasoner.recommendations
    waiting = {c.iri: UNKNOWN for c in reasoner.plan.verdict_criteria}

    def run(text: str) -> list[str]:
        raw = json.loads(text, parse_float=Decimal)
        facts = {}
        for k, v in raw.items():
            if k in concept:
                facts[k] = concept[k][v]
            elif k in numeric:
                facts[k] = Decimal(v)
            elif k != "id":
                facts[k] = v
        facts.setdefault("setting", reasoner.contract.facts["setting"].default)
        leaf = {c.iri: c.evaluate(facts) for c in criteria}
        leaf.update(waiting)  # dependent-action criteria: the floor forms no verdicts
        memo: dict[str, str] = {}
        out = []
        for spec in specs:
            st = [evaluate(c, leaf, memo) for c in spec.conditions]
            out.append(UNMET if UNMET in st else UNKNOWN if UNKNOWN in st else MET)
        return out

    return run


def e2e_fn(reasoner, with_json: bool = False):
    from guidegraph.provenance import record as provenance

    intake = reasoner.intake

    def run(text: str) -> str:
        case = intake.from_object(json.loads(text, parse_float=Decimal))
        result = reasoner.reason(case)
        nt = provenance.to_ntriples(result, reasoner)
        if with_json:
            return result.to_json_text()
        return nt

    return run


def without_decisions(reasoner):
    """The same reasoner with the decision layer switched off: the baseline for its cost."""
    from guidegraph.reasoning.reasoner import Reasoner

    class NoDecisions(Reasoner):
        def _decide(self, group, outcomes, got=None):  # type: ignore[override]
            return None

    bare = NoDecisions(reasoner.knowledge, why_not=reasoner.why_not)
    if getattr(bare, "_vector_decisions", None) is not None:
        bare._vector_decisions.decide = lambda *_args: []
    return bare


def paired(make, texts: list[str], rounds: int = 5) -> dict[str, float]:
    """Best-of-``rounds`` ms/case of each function, the runs alternating, so that drift on
    these machines falls on both sides alike. ``make()`` gives {name: fn}, fresh each round
    (so a first pass stays a first pass)."""
    best: dict[str, float] = {}
    for _ in range(rounds):
        for name, fn in make().items():
            start = time.perf_counter()
            for text in texts:
                fn(text)
            ms = (time.perf_counter() - start) * 1000 / len(texts)
            best[name] = min(best.get(name, ms), ms)
    return best


def per_case(fn, texts: list[str]) -> tuple[float, float, float]:
    samples = []
    start = time.perf_counter()
    for text in texts:
        t0 = time.perf_counter_ns()
        fn(text)
        samples.append(time.perf_counter_ns() - t0)
    total = time.perf_counter() - start
    median, p99 = _percentiles(samples)
    return median, p99, len(texts) / total


GUIDELINES: list[str] = []
_REASONER: list = []


def _worker(texts: list[str]) -> int:
    fn = e2e_fn(_REASONER[-1])
    for text in texts:
        fn(text)
    return len(texts)


def two_process_throughput(texts: list[str], decisions: bool = True) -> float:
    ctx = mp.get_context("fork")
    halves = [texts[0::2], texts[1::2]]
    with ctx.Pool(2, initializer=_warm, initargs=(GUIDELINES, decisions)) as pool:
        pool.map(_noop, range(2))  # start both workers (each loads the guideline) first
        start = time.perf_counter()
        done = sum(pool.map(_worker, halves))
        return done / (time.perf_counter() - start)


def _warm(guidelines: list[str], decisions: bool = True) -> None:
    """Each worker loads the guidelines once, before the clock starts."""
    from guidegraph.knowledge.loading import Knowledge
    from guidegraph.reasoning.reasoner import Reasoner

    reasoner = Reasoner(Knowledge.load([Path(g) for g in guidelines] or None))
    _REASONER.append(reasoner if decisions else without_decisions(reasoner))


def _noop(_: int) -> None:
    return None


def cold_start(runs: int = 7) -> tuple[float, float]:
    example = str(ROOT / "examples" / "basilar-icad-failed-evt.json")
    cmd = [sys.executable, "-m", "guidegraph", "reason", example, "--format", "json"]
    base = [sys.executable, "-c", "pass"]
    ours, theirs = [], []
    for _ in range(runs):
        for argv, sink in ((cmd, ours), (base, theirs)):
            t0 = time.perf_counter()
            subprocess.run(argv, check=True, capture_output=True)
            sink.append(time.perf_counter() - t0)
    return statistics.median(ours), statistics.median(theirs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--sparql-cases", type=int, default=500)
    parser.add_argument("--seed", type=int, default=20261125)
    parser.add_argument("--write", action="store_true", help="write docs/performance.md")
    parser.add_argument("--guideline", action="append", default=[],
                        help="guideline folder to load (default: all shipped ones)")
    parser.add_argument("--pathway", default=None,
                        help="generate cases only over this guideline's keys")
    args = parser.parse_args()

    from guidegraph.knowledge.loading import Knowledge
    from guidegraph.reasoning.reasoner import Reasoner

    t0 = time.perf_counter()
    knowledge = Knowledge.load([Path(g) for g in args.guideline] or None)
    reasoner = Reasoner(knowledge)
    load_s = time.perf_counter() - t0
    texts = _texts(reasoner, args.cases, args.seed, args.pathway)
    rows = []
    floor = per_case(floor_fn(reasoner), texts)
    rows.append(("floor: pure Python on parsed facts", floor))
    fresh = Reasoner(reasoner.knowledge)
    rows.append(("e2e, first pass (outcome cache filling)", per_case(e2e_fn(fresh), texts)))
    rows.append(("e2e, second pass (cache warm)", per_case(e2e_fn(fresh), texts)))
    rows.append(("e2e + JSON rendering (warm)", per_case(e2e_fn(fresh, True), texts)))
    bare = without_decisions(reasoner)
    per_case(e2e_fn(bare), texts)  # warm its caches as the decided one was
    rows.append(("e2e without the decision layer (warm)", per_case(e2e_fn(bare), texts)))
    rows.append(("e2e + JSON without the decision layer (warm)",
                 per_case(e2e_fn(bare, True), texts)))
    sparql = Reasoner(reasoner.knowledge, engine="sparql")
    rows.append((f"e2e, SPARQL engine ({args.sparql_cases} cases)",
                 per_case(e2e_fn(sparql), texts[: args.sparql_cases])))
    GUIDELINES[:] = args.guideline
    two = two_process_throughput(texts)
    two_bare = two_process_throughput(texts, decisions=False)
    cold, python = cold_start()

    lines = [
        "| measurement | median ms/case | p99 ms/case | cases/s | median vs floor |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, (median, p99, rate) in rows:
        lines.append(f"| {name} | {median:.3f} | {p99:.3f} | {rate:,.0f} | "
                     f"{median / floor[0]:.1f}x |")
    lines.append(f"| e2e, two worker processes (warm-up excluded) | | | {two:,.0f} | |")
    lines.append("| e2e without the decision layer, two worker processes | | | "
                 f"{two_bare:,.0f} | |")
    table = "\n".join(lines)
    warm_pair = paired(lambda: {"with": e2e_fn(fresh, True), "without": e2e_fn(bare, True)},
                       texts)
    cold_pair = paired(lambda: {"with": e2e_fn(Reasoner(reasoner.knowledge), True),
                                "without": e2e_fn(without_decisions(reasoner), True)},
                       texts[:2000], rounds=3)
    two_with, two_without = two, two_bare
    for _ in range(2):
        two_with = max(two_with, two_process_throughput(texts))
        two_without = max(two_without, two_process_throughput(texts, decisions=False))

    def change(a: float, b: float) -> str:
        return f"{(a / b - 1) * 100:+.1f} %"

    decision = (
        "\nDecision layer (one verdict per action, its PROV-O and JSON) against the same "
        "pipeline with it switched off, runs alternating, best of rounds: end to end with "
        f"JSON, warm {warm_pair['with']:.3f} vs {warm_pair['without']:.3f} ms/case "
        f"({change(warm_pair['with'], warm_pair['without'])}), first pass "
        f"{cold_pair['with']:.3f} vs {cold_pair['without']:.3f} ms/case "
        f"({change(cold_pair['with'], cold_pair['without'])}, 2,000 cases); two worker "
        f"processes {two_with:,.0f} vs {two_without:,.0f} cases/s "
        f"({change(two_with, two_without)}, best of three).\n")
    machine = (f"{platform.machine()}, {os.cpu_count()} cores, Python "
               f"{platform.python_version()}, {platform.system()}")
    scope = (f"Guidelines: {', '.join(g['id'] for g in reasoner.guidelines)}; cases over "
             + (f"the keys of {args.pathway}" if args.pathway else "every contract key") + ".")
    extra = (f"\n{scope}\nGuideline load and compile: {load_s * 1000:.0f} ms "
             f"({len(reasoner.recommendations)} recommendations, {len(reasoner.plan.criteria)} "
             f"criteria, {len(reasoner.knowledge.store)} triples).\n"
             f"Cold start `guidegraph reason <example> --format json`: {cold * 1000:.0f} ms "
             f"median of 7, against {python * 1000:.0f} ms for `python -c pass` "
             f"({cold / python:.1f}x).\n"
             f"Cases: {args.cases:,} generated from the case contract (seed {args.seed}).\n")
    report = f"Machine: {machine}\n\n{table}\n{extra}{decision}"
    print(report)
    if args.write:
        doc = ROOT / "docs" / "performance.md"
        text = doc.read_text() if doc.exists() else ""
        marker = f"<!-- bench_reason {'+'.join(g['id'] for g in reasoner.guidelines)} -->"
        end = "<!-- end bench_reason -->"
        if marker in text:
            head, _, rest = text.partition(marker)
            tail = rest.split(end, 1)[1] if end in rest else ""
        else:
            head, tail = text, ""
        doc.write_text(head.rstrip() + f"\n\n{marker}\n{report}{end}\n" + tail.lstrip("\n"))


if __name__ == "__main__":
    main()
