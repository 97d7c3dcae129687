"""What the fork server imports once, before it forks any worker: the trial engine, collector paused.

Importing scikit-learn (with the SciPy and pandas it pulls in) creates hundreds of thousands of
long-lived objects, and with the garbage collector running about a sixth of that import's CPU goes
to collections that free nothing. The fork server imports it inside
:func:`trainhooks.gc_tuning.heavy_imports`, which pauses the collector and then freezes the heap,
so every worker forked from it also starts with those objects frozen: its collections never walk
them (and never touch, hence never copy, the pages it shares with the fork server).
"""

from trainhooks.gc_tuning import heavy_imports

with heavy_imports():
    import trainhooks.trial  # noqa: F401  (imported for its side effect: scikit-learn loaded)
