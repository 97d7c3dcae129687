"""The whole plugin contract of trainhooks: markers, hook specs, events, decisions, data reports,
signals, the settings helper and its error, search spaces and the strategy protocols.

This package imports nothing from the core or the built-in plugins, so a plugin can depend on
it alone.
"""

from . import signals, specs
from .context import RunContext
from .data import DataReport, DataSource, DataView
from .decisions import PermissionDecision, PermissionRequest, StopDecision
from .errors import SettingsError
from .events import (
    EVENT_TYPES,
    ArtifactsWritten,
    EpochEnded,
    Event,
    ModelFitted,
    ModelRegistered,
    PluginFailed,
    RunEnded,
    RunFailed,
    RunStarted,
    SearchStopped,
    TrialEnded,
    TrialStarted,
)
from .frozen import FrozenDict, freeze, thaw
from .markers import PROJECT_NAME, hookimpl, hookspec
from .settings import PluginSettings, did_you_mean, validate_settings
from .space import Categorical, Dimension, Distribution, Integer, Real, SearchSpace, SkoptDimension
from .strategy import BatchStrategy, Strategy, StrategyFactory

__all__ = [
    "EVENT_TYPES",
    "PROJECT_NAME",
    "ArtifactsWritten",
    "BatchStrategy",
    "Categorical",
    "DataReport",
    "DataSource",
    "DataView",
    "Dimension",
    "Distribution",
    "EpochEnded",
    "Event",
    "FrozenDict",
    "Integer",
    "ModelFitted",
    "ModelRegistered",
    "PermissionDecision",
    "PermissionRequest",
    "PluginFailed",
    "PluginSettings",
    "Real",
    "RunContext",
    "RunEnded",
    "RunFailed",
    "RunStarted",
    "SearchSpace",
    "SearchStopped",
    "SettingsError",
    "SkoptDimension",
    "StopDecision",
    "Strategy",
    "StrategyFactory",
    "TrialEnded",
    "TrialStarted",
    "did_you_mean",
    "freeze",
    "hookimpl",
    "hookspec",
    "signals",
    "specs",
    "thaw",
    "validate_settings",
]
