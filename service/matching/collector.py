"""The cyclic garbage collector paused while a rule set is built.

Loading the shipped library allocates a few hundred thousand objects that all
survive (parsed terms, automaton patterns, compiled parts) and almost none
that form garbage cycles. Left running, the collector walks that growing heap
again and again as it promotes it: about a third of the CPU time of a load
(1.1 s against 1.6 s for the shipped library). Reference counting still frees
everything that is dropped meanwhile; only cyclic garbage waits for the
collector's next pass after the load.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_depth = 0  # loads in progress that paused the collector (threads may load at once)
_was_enabled = False


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the garbage collector for the block; it is enabled again (if it was before the first
    of several overlapping blocks) when the last of them ends, however it ends."""
    global _depth, _was_enabled
    with _lock:
        if _depth == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _was_enabled:
                gc.enable()
