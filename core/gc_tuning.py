"""Garbage-collector settings for trainhooks' own short-lived processes (the CLI, its helpers).

Python's cyclic collector runs full collections as objects accumulate. Importing scikit-learn,
SciPy and pandas creates hundreds of thousands of long-lived objects, so those imports trigger
full collections that walk the whole heap and find nothing to free; at exit the interpreter's
teardown walks it again in collections as it frees each module. On a 1.5 s tuning command the
two took ~0.4 s (measured with ``gc.callbacks``). The remedy is CPython's own advice for such a
heap: pause the collector while the heavy modules are imported, then ``gc.freeze()`` what they
built (frozen objects are still freed, just never walked by a collection).

Only processes trainhooks starts for itself use this: importing ``trainhooks`` in a user's
program leaves the collector as it was.
"""

from __future__ import annotations

import atexit
import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def heavy_imports() -> Iterator[None]:
    """Import long-lived modules inside this block: no collection runs during it, and what it
    built is frozen at its end (the collector is enabled again if it was)."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()
        gc.freeze()


def quick_exit_teardown() -> None:
    """Freeze the heap at exit so the interpreter's teardown frees it without walking it in collections."""
    atexit.unregister(gc.freeze)
    atexit.register(gc.freeze)


__all__ = ["heavy_imports", "quick_exit_teardown"]
