"""The ``trainhooks`` command line.

``cli`` and ``main`` are imported on first use, so that the console script
(:mod:`trainhooks.cli.console`) decides how the heavy imports behind them are made.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app import cli, main

__all__ = ["cli", "main"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import app

        return getattr(app, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
