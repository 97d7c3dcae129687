"""trainhooks: train and tune scikit-learn models; everything beyond the core is a plugin.

Public API: :func:`tune`, :func:`train`, :class:`Session`, the result and error types, and a few
names of the plugin contract re-exported for convenience (``hookimpl``, ``hookspec``, ``signals``
and the decision types). Everything else a plugin uses — the event classes, ``RunContext``, the
strategy protocol, the settings helper — lives in :mod:`trainhooks.hooks` (docs/events.md).
Importing this package loads no plugin: plugin managers are created by :class:`Session`.
"""

from trainhooks.hooks import (
    PermissionDecision,
    PermissionRequest,
    StopDecision,
    hookimpl,
    hookspec,
    signals,
)

from ._version import __version__
from .config import RunConfig, load_config, parse_config
from .errors import ConfigError, DataError, PermissionDenied, PluginLoadError, TrainhooksError
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
