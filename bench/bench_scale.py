"""Scale benchmark: synthetic guidelines of R = 10 … 10,000 recommendations.

Run on demand (never in CI):  python bench/bench_scale.py [--sizes 10,100,1000,10000]
                                  [--cases 2000] [--batch 100000] [--write]

For each R, in one run and beside a pure-Python baseline on the same cases:
  * load + compile time and peak memory of the guideline (in a fresh child process);
  * per-case latency, end to end with provenance (JSON text -> checked case -> derivation ->
    PROV-O N-Triples), registry mode (why_not="undecided": rejected recommendations are
    counted, not listed);
  * baseline "pure Python incl. parse": json.loads + a tight loop over the same criteria as
    (fact, comparator, threshold) tuples + all-of per recommendation, statuses only;
  * `validate` time (SHACL only) where it finishes within the time limit.
Batch: N cases at R=100 through two worker processes, with a progress bar on stderr.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import operator
import os
import platform
import statistics
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests import synthetic  # the tests' synthetic guideline generator

ROOT = Path(__file__).resolve().parents[1]
OPS = {"lt": operator.lt, "le": operator.le, "gt": operator.gt, "ge": operator.ge,
       "eq": operator.eq, "ne": operator.ne}


def _child_load(root: str) -> None:
    """In a fresh process: load + compile, print seconds and peak RSS (MB)."""
    import resource

    os.environ["GUIDEGRAPH_DATA"] = root
    start = time.perf_counter()
    from guidegraph.reasoning.reasoner import Reasoner

    reasoner = Reasoner(why_not="undecided")
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak_mb": peak,
                      "recommendations": len(reasoner.recommendations)}))


def baseline(reasoner):
    """Pure Python on the same criteria, including parsing the case with pyoxigraph (as the
    brief measured it): the floor the issue compares with."""
    import pyoxigraph as ox

    context = reasoner.intake.context
    by_iri = reasoner.contract.by_iri
    ranks = reasoner.plan.ranks
    recs = []
    for spec in reasoner.recommendations:
        tests = []
        for cond in spec.conditions:
            c = cond
            if c.threshold_rank is not None:
                tests.append((c.key, OPS[c.comparator], float(c.threshold_rank), True, None))
            elif c.comparator in ("oneOf", "within", "notOneOf"):
                tests.append((c.key, None, None, False, (c.allowed, c.comparator == "notOneOf")))
            else:
                tests.append((c.key, OPS[c.comparator], float(c.threshold), False, None))
        recs.append(tests)

    def run(text: str) -> int:
        doc = json.loads(text)
        doc["@context"] = context
        facts = {}
        for quad in ox.parse(json.dumps(doc).encode(), format=ox.RdfFormat.JSON_LD):
            spec = by_iri.get(quad.predicate.value)
            if spec is None:
                continue
            term = quad.object
            facts[spec.key] = term.value if spec.kind == "concept" else float(term.value)
        derived = 0
        for tests in recs:
            status = 2
            for key, op, thr, by_rank, members in tests:
                v = facts.get(key)
                if v is None:
                    status = min(status, 1)
                    continue
                if members is not None:
                    ok = (v in members[0]) != members[1]
                elif by_rank:
                    ok = op(ranks[v], thr)
                else:
                    ok = op(v, thr)
                if not ok:
                    status = 0
                    break
            derived += status == 2
        return derived

    return run


def e2e(reasoner):
    from guidegraph.provenance import record as provenance

    def run(text: str) -> str:
        case = reasoner.intake.from_object(json.loads(text, parse_float=Decimal))
        return provenance.to_ntriples(reasoner.reason(case), reasoner)

    return run


def timed(fn, texts: list[str]) -> tuple[float, float]:
    samples = []
    for text in texts:
        t0 = time.perf_counter_ns()
        fn(text)
        samples.append(time.perf_counter_ns() - t0)
    samples.sort()
    return statistics.median(samples) / 1e6, samples[int(len(samples) * 0.99)] / 1e6


_WORKER: dict = {}


def _worker(args: tuple[str, list[str]]) -> int:
    """Reason over a chunk; each worker process loads the guideline once."""
    root, texts = args
    fn = _WORKER.get(root)
    if fn is None:
        os.environ["GUIDEGRAPH_DATA"] = root
        from guidegraph.reasoning.reasoner import Reasoner

        fn = _WORKER[root] = e2e(Reasoner(why_not="undecided"))
    for text in texts:
        fn(text)
    return len(texts)


def batch(root: Path, count: int) -> float:
    texts = synthetic.cases(count, seed=11)
    chunks = [texts[i:i + 2000] for i in range(0, len(texts), 2000)]
    done = 0
    start = time.perf_counter()
    with mp.get_context("fork").Pool(2) as pool:
        for n in pool.imap_unordered(_worker, [(str(root), c) for c in chunks]):
            done += n
            bar = "#" * int(30 * done / count)
            print(f"\r[{bar:30}] {done:,}/{count:,}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return time.perf_counter() - start


def validate_time(root: Path, limit: float) -> float | None:
    code = (f"import os,time;os.environ['GUIDEGRAPH_DATA']={str(root)!r};"
            "from guidegraph.authoring.validate import validate;t=time.perf_counter();"
            "validate(hermit=False);print(time.perf_counter()-t)")
    try:
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             timeout=limit, check=True)
        return float(out.stdout.strip().splitlines()[-1])
    except (subprocess.TimeoutExpired, subprocess.CalledProcessError, ValueError):
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,100,1000,10000")
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=100_000)
    parser.add_argument("--validate-limit", type=float, default=120.0)
    parser.add_argument("--write", action="store_true")
    parser.add_argument("--workdir", default=None)
    args = parser.parse_args()
    work = Path(args.workdir or (Path(os.environ.get("TMPDIR", "/tmp")) / "guidegraph-bench"))
    rows = []
    roots = {}
    for size in (int(s) for s in args.sizes.split(",")):
        root = synthetic.make_data_root(work / f"r{size}", size)
        roots[size] = root
        here = str(Path(__file__).parent)
        child = subprocess.run(
            [sys.executable, "-c", f"import sys; sys.path.insert(0, {here!r});"
             f"import bench_scale; bench_scale._child_load({str(root)!r})"],
            capture_output=True, text=True, check=True)
        load = json.loads(child.stdout.strip().splitlines()[-1])
        os.environ["GUIDEGRAPH_DATA"] = str(root)
        for mod in [m for m in sys.modules if m.startswith("guidegraph")]:
            del sys.modules[mod]
        from guidegraph.reasoning.reasoner import Reasoner

        reasoner = Reasoner(why_not="undecided")
        texts = synthetic.cases(args.cases, seed=3)
        base = timed(baseline(reasoner), texts)
        ours = timed(e2e(reasoner), texts)
        warm = timed(e2e(reasoner), texts)
        from bench_reason import without_decisions

        bare = without_decisions(reasoner)
        timed(e2e(bare), texts)  # warm its caches as the decided one was
        bare_warm = timed(e2e(bare), texts)
        val = validate_time(root, args.validate_limit)
        rows.append((size, load, base, ours, warm, val, bare_warm))
        print(f"R={size}: load {load['seconds']:.2f}s {load['peak_mb']:.0f}MB; baseline "
              f"{base[0]:.3f}ms; e2e {ours[0]:.3f}ms (warm {warm[0]:.3f}ms); validate {val}",
              file=sys.stderr)
    batch_s = batch(roots.get(100) or synthetic.make_data_root(work / "r100", 100), args.batch)
    lines = [
        "| R | load + compile s | peak MB | baseline median ms | e2e median ms | e2e p99 ms | "
        "ratio | e2e warm median ms | warm ratio | warm without decisions ms | decision layer "
        "| validate s (SHACL) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for size, load, base, ours, warm, val, bare_warm in rows:
        lines.append(
            f"| {size:,} | {load['seconds']:.2f} | {load['peak_mb']:.0f} | {base[0]:.3f} | "
            f"{ours[0]:.3f} | {ours[1]:.3f} | {ours[0] / base[0]:.1f}x | {warm[0]:.3f} | "
            f"{warm[0] / base[0]:.1f}x | {bare_warm[0]:.3f} | "
            f"{(warm[0] / bare_warm[0] - 1) * 100:+.0f} % | "
            + (f"{val:.1f}" if val is not None else f"> {args.validate_limit:.0f}") + " |")
    machine = (f"{platform.machine()}, {os.cpu_count()} cores, Python "
               f"{platform.python_version()}")
    report = (f"Machine: {machine}. Cases per size: {args.cases:,} (each fact present with "
              f"probability 0.95).\n\n" + "\n".join(lines) +
              f"\n\nBatch: {args.batch:,} cases at R=100 through two worker processes in "
              f"{batch_s:.1f} s ({args.batch / batch_s:,.0f} cases/s), progress bar on stderr.\n")
    print(report)
    if args.write:
        doc = ROOT / "docs" / "performance.md"
        text = doc.read_text()
        marker = "<!-- bench_scale results -->"
        head, _, rest = text.partition(marker)
        tail = rest.split("<!-- end bench_scale -->", 1)[-1] if rest else ""
        doc.write_text(head.rstrip() + f"\n\n{marker}\n## Scale (synthetic guidelines)\n\n"
                       f"{report}<!-- end bench_scale -->\n" + tail)


if __name__ == "__main__":
    main()
