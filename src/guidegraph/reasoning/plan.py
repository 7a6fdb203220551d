"""The compiled plan's types: statuses, criteria and groups, recommendations as compiled.

Shared by the criteria compiler, the closure and array evaluators, the decision layer and the
reasoner, so none of them imports another for a type; the status words are defined here once.
"""

from __future__ import annotations

import operator
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from guidegraph.reasoning.comparators import make_test

#: The three criterion statuses (Kleene logic: a missing fact is unknown, never unmet).
MET, UNMET, UNKNOWN = "met", "unmet", "unknown"
#: Statuses in the order of their numeric codes (the array evaluator's encoding).
STATUS_ORDER = (UNMET, UNKNOWN, MET)
#: Numeric code of each status: unmet < unknown < met.
STATUS_CODE = {name: code for code, name in enumerate(STATUS_ORDER)}


_NONE: frozenset[str] = frozenset()


@dataclass(eq=False, slots=True)
class Criterion:
    """A test of one case fact; ``test`` says whether a present value meets it.

    ``test`` is built from the data fields (comparators.make_test): when the criterion is
    made, which checks that its data make a test, and after unpickling on first use, so a
    pickled plan holds no code and a plan read from the cache builds only the tests it runs.
    """

    iri: str
    id: str
    label: str
    section: str
    key: str
    comparator: str
    kind: str = "criterion"
    text: str = ""  # the test in words, e.g. "age_years >= 18"
    threshold: Any = None  # literal threshold (numbers, booleans), for vectorised evaluation
    threshold_rank: int | None = None  # rank threshold on an ordered concept scheme
    allowed: frozenset[str] = frozenset()  # allowed concepts (with narrower ones for within)
    #: For a dependent-action criterion (kind "verdict"): the action whose verdict it tests
    #: and the guideline that verdict is reached under; ``key`` is empty.
    verdict_of: str | None = None
    verdict_guideline: str | None = None
    concept_fact: bool = False  # the fact is concept-valued (thresholds must be concepts)
    #: concept IRI -> rank in its ordered scheme (shared by every criterion of a plan)
    ranks: Mapping[str, int] = field(default_factory=dict, repr=False)
    _test: Callable[[Any], bool] | None = field(init=False, repr=False, default=None)

    def __post_init__(self) -> None:
        self.comparator, self.key = sys.intern(self.comparator), sys.intern(self.key)
        self._test = self._make_test()

    def _make_test(self) -> Callable[[Any], bool]:
        return make_test(self.comparator, self.threshold, self.threshold_rank, self.allowed,
                         self.ranks, self.concept_fact, f"criterion {self.id}")

    @property
    def test(self) -> Callable[[Any], bool]:
        if self._test is None:
            self._test = self._make_test()
        return self._test

    def __getstate__(self) -> tuple[Any, ...]:
        return _criterion_state(self)

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        for name, value in zip(_CRITERION_STATE, state, strict=True):
            setattr(self, name, value)
        if not self.allowed:
            self.allowed = _NONE  # one empty set for the ~10^4 criteria without concepts
        self._test = None

    def evaluate(self, facts: Mapping[str, Any]) -> str:
        value = facts.get(self.key)
        if value is None:
            return UNKNOWN
        return MET if self.test(value) else UNMET


#: What a pickled criterion holds: its data fields (the test is code, rebuilt on first use),
#: read by one C-level getter (a plan pickles ~10^4 criteria).
_CRITERION_STATE = tuple(f.name for f in fields(Criterion) if f.name != "_test")
_criterion_state = operator.attrgetter(*_CRITERION_STATE)


@dataclass(eq=False, slots=True)
class Group:
    """All-of, any-of or none-of over member conditions."""

    iri: str
    id: str
    label: str
    section: str
    kind: str  # "all" | "any" | "none"
    members: list[Condition] = field(default_factory=list)


Condition = Criterion | Group


@dataclass
class Plan:
    """Everything the reasoner needs, compiled: conditions, leaf criteria, ranks."""

    conditions: dict[str, Condition]
    criteria: list[Criterion]  # criteria on case facts
    ranks: dict[str, int]
    links: dict[str, list[str]]  # recommendation IRI -> top-level condition IRIs
    #: Dependent-action criteria: they test another action's verdict, not a case fact, so
    #: the reasoner sets their status once that verdict is reached.
    verdict_criteria: list[Criterion] = field(default_factory=list)


@dataclass(slots=True)
class RecommendationSpec:
    """A recommendation as compiled: its metadata, conditions and citation warnings."""

    iri: str
    id: str
    label: str
    text: str
    section: str
    guideline: str
    action: str
    action_iri: str
    direction: str
    strength: str
    evidence: str | None
    grading: str
    origin: str | None
    votes: str | None
    conditions: list[Condition]
    sources: list[str]
    warnings: list[str]
    rests_on: list[str]
    cautions: list[str]
    strength_rank: int | None = None  # gg:strengthRank of its grade, if ranked
    keys: tuple[str, ...] = ()  # case keys its criteria read, in a fixed order
    leaf_iris: tuple[str, ...] = ()  # its leaf criteria, in a fixed order
    verdict_iris: tuple[str, ...] = ()  # its dependent-action criteria, in a fixed order
