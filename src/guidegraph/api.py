"""Python API: the same result objects the CLI renders.

>>> from guidegraph.api import reason
>>> result = reason({"id": "doc-1"})
>>> result.case
'https://w3id.org/guidegraph/case/doc-1'
>>> sorted(result.to_json())[:3]
['case', 'conflicts', 'guidelines']
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from guidegraph.reasoning.reasoner import Reasoner
from guidegraph.reasoning.result import Result


@lru_cache(maxsize=1)
def default_reasoner() -> Reasoner:
    """The shipped guidelines, loaded and compiled once per process."""
    return Reasoner()


def reason(case: dict[str, Any], *, reasoner: Reasoner | None = None) -> Result:
    """Reason over one plain-JSON case object; raises CaseInputError on bad input."""
    r = reasoner or default_reasoner()
    return r.reason(r.intake.from_object(case))
