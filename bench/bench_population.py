"""Benchmark: what declaring guideline populations costs or saves per case.

Run on demand (never in CI):  python bench/bench_population.py [--cases 3000]

The shipped guidelines declare populations (gg:population). The baseline, in the same run on
the same cases, is the same reasoner with every population read as "applies" (each guideline
evaluated for every case, as before populations existed). Both run end to end (JSON text ->
checked case -> verdicts -> PROV-O -> JSON), alternating, best of 5, warm; figures are ratios
because these machines are noisy. Two case streams: generated over the rescue-stenting keys
(thrombectomy cases: the IV-thrombolysis guideline is outside its population), and over
every key (a mix of in, out and undecided populations).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_reason import _texts, e2e_fn, paired


def without_populations(reasoner):
    """The same knowledge with every guideline applying to every case (the baseline)."""
    from guidegraph.reasoning.reasoner import Reasoner
    from guidegraph.reasoning.result import Applicability

    class EveryoneApplies(Reasoner):
        def applicability(self, case, leaf=None):  # type: ignore[override]
            return {g: Applicability(g, "yes", review_status=self._review[g])
                    for g in self.populations}

    return EveryoneApplies(reasoner.knowledge)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=20261201)
    args = parser.parse_args()
    from guidegraph.reasoning.reasoner import Reasoner

    reasoner = Reasoner()
    bare = without_populations(reasoner)
    for label, pathway in (("rescue-stenting keys", "rescue-stenting"), ("every key", None)):
        texts = _texts(reasoner, args.cases, args.seed, pathway)
        for fn in (e2e_fn(reasoner, True), e2e_fn(bare, True)):  # warm both caches
            for text in texts:
                fn(text)
        best = paired(lambda: {"populations": e2e_fn(reasoner, True),
                               "every guideline": e2e_fn(bare, True)}, texts)
        with_, without = best["populations"], best["every guideline"]
        print(f"{label}: {with_:.3f} ms/case with populations, {without:.3f} ms/case with "
              f"every guideline evaluated: {with_ / without:.2f}x")


if __name__ == "__main__":
    main()
