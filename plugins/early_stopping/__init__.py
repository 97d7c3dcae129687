"""Built-in ``early_stopping`` plugin: stop trials early, prune across trials, stop the search.

Configure it in ``[plugins.early_stopping]`` (or ``plugin_config={"early_stopping": {...}}``);
without that table it does nothing. See docs/early-stopping.md.
"""

from ._monitor import TrialMonitor
from ._pruners import ASHAPruner, Histories, MedianPruner
from ._reasons import StopReason
from ._search import SearchMonitor
from ._settings import EarlyStoppingSettings, parse_settings
from .plugin import EarlyStoppingPlugin

__all__ = [
    "ASHAPruner",
    "EarlyStoppingPlugin",
    "EarlyStoppingSettings",
    "Histories",
    "MedianPruner",
    "SearchMonitor",
    "StopReason",
    "TrialMonitor",
    "parse_settings",
]
