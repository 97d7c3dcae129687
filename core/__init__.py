"""trainhooks: train and tune scikit-learn models; everything beyond the core is a plugin.

Public API: :func:`tune`, :func:`train`, :class:`Session`, the result and error types, and a few
names of the plugin contract re-exported for convenience (``hookimpl``, ``hookspec``, ``signals``
and the decision types). Everything else a plugin uses — the event classes, ``RunContext``, the
strategy protocol, the settings helper — lives in :mod:`trainhooks.hooks` (docs/events.md).
Importing this package loads no plugin (plugin managers are created by :class:`Session`) and no
scikit-learn until a name that needs it is first used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from trainhooks.hooks import (
    PermissionDecision,
    PermissionRequest,
    StopDecision,
    hookimpl,
    hookspec,
    signals,
)

from ._version import __version__
from .errors import ConfigError, DataError, PermissionDenied, PluginLoadError, TrainhooksError

_LAZY = {
    "RunConfig": "config",
    "load_config": "config",
    "parse_config": "config",
    "SUMMARY_KEYS": "results",
    "AllTrialsFailed": "results",
    "RunResult": "results",
    "SearchInterrupted": "runner",
    "Session": "session",
    "train": "session",
    "tune": "session",
}
"""Public names imported on first use: they pull in scikit-learn (~1 s), which the processes that
only need the plugin contract (the MLflow writer, the report's drawing process, the bayes helper)
should not pay for."""


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


if TYPE_CHECKING:
    from .config import RunConfig, load_config, parse_config
    from .results import SUMMARY_KEYS, AllTrialsFailed, RunResult
    from .runner import SearchInterrupted
    from .session import Session, train, tune

__all__ = [
    "SUMMARY_KEYS",
    "AllTrialsFailed",
    "ConfigError",
    "DataError",
    "PermissionDecision",
    "PermissionDenied",
    "PermissionRequest",
    "PluginLoadError",
    "RunConfig",
    "RunResult",
    "SearchInterrupted",
    "Session",
    "StopDecision",
    "TrainhooksError",
    "__version__",
    "hookimpl",
    "hookspec",
    "load_config",
    "parse_config",
    "signals",
    "train",
    "tune",
]
