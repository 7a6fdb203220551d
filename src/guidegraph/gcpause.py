"""Pause Python's cyclic garbage collector while a large structure is built, then keep it
out of the collector's way.

Compiling a large guideline (or reading its compiled plan) makes 10^5-10^6 objects that all
live on. Each time enough objects have been made, the collector walks every tracked object
again; during a compile that is about a third of the time, and there is nothing to collect
(the structures hold no reference cycles that die). Reference counting still frees
temporaries. Turned back on, the collector would walk all of them once more at its next
young collection and again as they age; frozen (``gc.freeze``), they are never walked.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic collection inside the block; after it, every object then tracked is frozen
    (an object that becomes unreachable later is still freed by reference counting; only one
    in a reference cycle would stay) and the collector's state is restored (a block inside
    another, or begun with the collector off, leaves it off and freezes nothing)."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.freeze()
            gc.enable()
