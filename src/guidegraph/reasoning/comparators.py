"""Each comparator compiled to a Python test of a present fact value.

queries/derive/criterion-status.rq defines what a comparator means; tests hold these tests to
it on every fixture and on generated cases. A test is rebuilt from the criterion's data (the
comparator, its threshold or rank or allowed concepts) whenever a criterion is made or read
back from the plan cache, so a compiled plan is data and never stores code.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from typing import Any

from guidegraph.errors import ConfigurationError

NUMERIC = {
    "lt": operator.lt, "le": operator.le, "gt": operator.gt, "ge": operator.ge,
    "eq": operator.eq, "ne": operator.ne,
}


def make_test(comparator: str, threshold: Any, threshold_rank: int | None,
              allowed: frozenset[str], ranks: Mapping[str, int], concept_fact: bool,
              where: str) -> Callable[[Any], bool]:
    """The test of one criterion; ConfigurationError, naming ``where``, for a comparator
    that is unknown or lacks what it compares with."""
    if comparator == "known":
        return lambda _v: True
    if comparator in ("oneOf", "within"):
        return allowed.__contains__
    if comparator == "notOneOf":
        return lambda v: v not in allowed
    op = NUMERIC.get(comparator)
    if op is None:
        raise ConfigurationError(f"{where}: unknown comparator {comparator!r}")
    if threshold_rank is not None:
        def by_rank(v: Any) -> bool:
            rank = ranks.get(v)
            return rank is not None and op(rank, threshold_rank)
        return by_rank
    if threshold is None:
        raise ConfigurationError(f"{where}: comparator {comparator!r} needs gg:threshold")
    if concept_fact:
        raise ConfigurationError(f"{where}: a concept-valued fact needs gg:thresholdConcept")
    if isinstance(threshold, bool):
        return lambda v: isinstance(v, bool) and op(v, threshold)
    return lambda v: not isinstance(v, bool) and op(v, threshold)
