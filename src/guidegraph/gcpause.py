"""Pause Python's cyclic garbage collector while a large structure is built.

Compiling a large guideline (or reading its compiled plan) makes 10^5-10^6 objects that all
live on. Each time enough objects have been made, the collector walks every tracked object
again; during a compile that is about a third of the time, and there is nothing to collect
(the structures hold no reference cycles that die). Reference counting still frees
temporaries.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic collection inside the block; the collector's state is restored after it
    (a block inside another, or begun with the collector off, leaves it off)."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()
