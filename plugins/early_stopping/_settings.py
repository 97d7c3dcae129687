"""The ``[plugins.early_stopping]`` table, validated with pydantic.

Every key is optional; a feature is off until its key is set (``patience``, ``pruner``,
``search_patience``, ``target_score``, thresholds). Bad values raise
:class:`trainhooks.hooks.SettingsError` naming the key, e.g. ``plugins.early_stopping.patience: ...``
(strict types: ``patience = true`` is refused; floats must be finite).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field

from trainhooks.hooks import PluginSettings, SettingsError, validate_settings

PLUGIN_NAME = "early_stopping"

DEFAULT_MODES: dict[str, str] = {"score": "max", "score_std": "min"}
"""Metrics whose direction is known: sklearn scores are greater-is-better (losses come as ``neg_*``)."""


class EarlyStoppingSettings(PluginSettings):
    """All settings of the plugin; see docs/early-stopping.md for what each does."""

    # per-trial early stopping (Keras / Lightning vocabulary)
    monitor: str = "score"
    mode: Literal["min", "max"] | None = None
    min_delta: float = Field(default=0.0, ge=0.0)
    patience: int | None = Field(default=None, ge=1)
    baseline: float | None = None
    stopping_threshold: float | None = None
    divergence_threshold: float | None = None
    check_finite: bool = True
    start_from_epoch: int = Field(default=0, ge=0)
    restore_best: bool = False
    # pruning across trials
    pruner: Literal["median", "asha"] | None = None
    warmup_epochs: int = Field(default=0, ge=0)
    min_trials: int = Field(default=5, ge=1)
    reduction_factor: int = Field(default=3, ge=2)
    min_epochs: int = Field(default=1, ge=1)
    # search-level stopping
    search_patience: int | None = Field(default=None, ge=1)
    search_min_delta: float = Field(default=0.0, ge=0.0)
    target_score: float | None = None

    @property
    def direction(self) -> str:
        """``"max"`` or ``"min"``: the explicit ``mode`` or the monitored metric's known direction."""
        return self.mode or DEFAULT_MODES[self.monitor]


def _field_error(key: str, message: str) -> SettingsError:
    return SettingsError(f"plugins.{PLUGIN_NAME}.{key}: {message}")


def parse_settings(table: Mapping[str, Any]) -> EarlyStoppingSettings:
    """Validate a ``[plugins.early_stopping]`` table; raise a SettingsError naming each bad key."""
    settings = validate_settings(EarlyStoppingSettings, table, prefix=f"plugins.{PLUGIN_NAME}")
    if settings.mode is None and settings.monitor not in DEFAULT_MODES:
        raise _field_error("mode", f'required for monitor {settings.monitor!r} ("min" or "max")')
    if settings.baseline is not None and settings.patience is None:
        raise _field_error("baseline", "needs patience (epochs allowed to beat the baseline)")
    low_is_good = settings.direction == "min"
    stop, diverge = settings.stopping_threshold, settings.divergence_threshold
    if stop is not None and diverge is not None and (stop >= diverge if low_is_good else stop <= diverge):
        better = "below" if low_is_good else "above"
        raise _field_error("stopping_threshold", f"must be {better} divergence_threshold ({stop} vs {diverge})")
    return settings


__all__ = ["DEFAULT_MODES", "PLUGIN_NAME", "EarlyStoppingSettings", "parse_settings"]
