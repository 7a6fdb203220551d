"""Pause Python's cyclic garbage collector while a large structure is built.

Compiling a large guideline (or reading its compiled plan) makes 10^5-10^6 objects that all
live on. Each time enough objects have been made, the collector walks every tracked object
again; during a compile that is about a third of the time, and there is nothing to collect
(the structures hold no reference cycles that die). Reference counting still frees
temporaries. Turned back on, the collector walks all of them once more at its next young
collection and again as they age, unless they are frozen (``gc.freeze``). Freezing keeps
every object then tracked, garbage in reference cycles included, until the process ends:
right for a command that builds its knowledge once and exits, not for a library caller or
a server that builds again and again, so only the caller that knows asks for it. The
collector's switch is the process's: a block on a thread other than the main one (a
server's request) pauses nothing, as the other threads would run without the collector.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused(*, freeze: bool = False) -> Iterator[None]:
    """No cyclic collection inside the block; after it, with ``freeze``, every object then
    tracked is frozen, and the collector's state is restored. A block inside another, or
    begun with the collector off, leaves it off and freezes nothing: the outer block
    decides. Off the main thread, the block runs with the collector as it is."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            if freeze:
                gc.freeze()
            gc.enable()
