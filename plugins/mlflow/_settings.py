"""The ``[plugins.mlflow]`` table, validated with pydantic, and where the tracking data goes."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field, model_validator

from trainhooks.hooks import PluginSettings, validate_settings

DEFAULT_TRACKING_URI = "sqlite:///mlflow.db"
"""MLflow's own default store: a SQLite file in the working directory."""


class MlflowSettings(PluginSettings):
    """What the MLflow plugin logs and where.

    :ivar tracking_uri: used when ``[experiment] tracking_uri`` is not set (handy from Python).
    :ivar log_trials: "all" trials become child runs, only the "top_k" best, or "none".
    :ivar top_k: how many trials ``log_trials = "top_k"`` keeps.
    :ivar log_model: log the refit best model (needed for ``register_as``).
    :ivar register_as: registered model name that gets a new version of the refit best model.
    :ivar promote_alias: alias moved to the new version only if its held-out score is better.
    :ivar min_improvement: how much better than the alias holder the new version must score.
    :ivar http_retries: MLflow HTTP retries for this plugin's calls (MLflow's default waits minutes).
    :ivar http_timeout_s: MLflow HTTP timeout for this plugin's calls.
    """

    tracking_uri: str | None = Field(default=None, min_length=1)
    log_trials: Literal["all", "top_k", "none"] = "all"
    top_k: int = Field(default=10, ge=1)
    log_model: bool = True
    register_as: str | None = Field(default=None, min_length=1)
    promote_alias: str | None = Field(default=None, min_length=1)
    min_improvement: float = Field(default=0.0, ge=0.0)
    http_retries: int = Field(default=2, ge=0)
    http_timeout_s: int = Field(default=10, ge=1)

    @model_validator(mode="after")
    def _promotion_needs_registration(self) -> MlflowSettings:
        if self.promote_alias and not self.register_as:
            raise ValueError("promote_alias needs register_as (an alias points at a registered version)")
        if self.register_as and not self.log_model:
            raise ValueError("register_as needs log_model = true (only a logged model can be registered)")
        return self


def parse_settings(table: Mapping[str, Any] | None) -> MlflowSettings:
    """Validate the plugin's table; each problem is a line of a :class:`~trainhooks.hooks.SettingsError`."""
    return validate_settings(MlflowSettings, table, prefix="plugins.mlflow")


def resolve_tracking_uri(config: Mapping[str, Any], settings: MlflowSettings | None = None) -> str:
    """``[experiment] tracking_uri``, else the plugin's ``tracking_uri``, else ``MLFLOW_TRACKING_URI``, else SQLite."""
    experiment = config.get("experiment") or {}
    return (
        experiment.get("tracking_uri")
        or (settings.tracking_uri if settings else None)
        or os.environ.get("MLFLOW_TRACKING_URI")
        or DEFAULT_TRACKING_URI
    )


__all__ = ["DEFAULT_TRACKING_URI", "MlflowSettings", "parse_settings", "resolve_tracking_uri"]
