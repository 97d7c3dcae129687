"""The ``trainhooks`` console script (and ``python -m trainhooks.cli``): the CLI in a process of its own.

Unlike importing :mod:`trainhooks.cli` and calling its ``main()``, the console script owns its
process, so it also spares the command the garbage collector's walks of scikit-learn's heap while
importing and at exit (:mod:`trainhooks.gc_tuning`; ~0.3 s of a 1.5 s tuning command).
"""

from __future__ import annotations

from ..gc_tuning import heavy_imports, quick_exit_teardown


def run() -> None:
    """Run the ``trainhooks`` command with the arguments of this process."""
    with heavy_imports():
        from .app import main
    quick_exit_teardown()
    main()
