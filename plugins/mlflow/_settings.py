"""The ``[plugins.mlflow]`` table, validated with pydantic, and where the tracking data goes."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, model_validator

from trainhooks.hooks import PluginSettings, SettingsError, did_you_mean, validate_settings

DEFAULT_TRACKING_URI = "sqlite:///mlflow.db"
"""MLflow's own default store: a SQLite file in the working directory."""


class MlflowSettings(PluginSettings):
    """What the MLflow plugin logs and where.

    :ivar tracking_uri: used when ``[experiment] tracking_uri`` is not set (handy from Python).
    :ivar log_trials: "all" trials become child runs, only the "top_k" best, or "none".
    :ivar top_k: how many trials ``log_trials = "top_k"`` keeps.
    :ivar log_model: log the refit best model (needed for ``register_as``).
    :ivar serialization: how the logged model is stored: "cloudpickle" (any estimator or pipeline,
        custom classes included) or "skops" (refuses types it does not trust when loading).
    :ivar skops_trusted_types: with "skops", the types to trust beyond skops' own (e.g.
        ``"sklearn.compose._column_transformer.make_column_selector"``).
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
    serialization: Literal["cloudpickle", "skops"] = "cloudpickle"
    skops_trusted_types: list[str] = Field(default_factory=list)
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
        if self.skops_trusted_types and self.serialization != "skops":
            raise ValueError('skops_trusted_types needs serialization = "skops"')
        return self


def parse_settings(table: Mapping[str, Any] | None) -> MlflowSettings:
    """Validate the plugin's table; each problem is a line of a :class:`~trainhooks.hooks.SettingsError`."""
    return validate_settings(MlflowSettings, table, prefix="plugins.mlflow")


TRACKING_SCHEMES = ("file", "sqlite", "postgresql", "mysql", "mssql", "http", "https", "databricks", "databricks-uc")
"""URI schemes of the tracking stores MLflow itself provides (a bare path is a ``file`` store)."""


def resolve_tracking_uri(config: Mapping[str, Any], settings: MlflowSettings | None = None) -> str:
    """``[experiment] tracking_uri``, else the plugin's ``tracking_uri``, else ``MLFLOW_TRACKING_URI``, else SQLite.

    A URI with a scheme MLflow has no store for is a one-line :class:`SettingsError` (exit 2) naming
    where it came from and only its scheme (the rest may hold credentials), before anything runs.
    """
    experiment = config.get("experiment") or {}
    sources = (
        ("experiment.tracking_uri", experiment.get("tracking_uri")),
        ("plugins.mlflow.tracking_uri", settings.tracking_uri if settings else None),
        ("MLFLOW_TRACKING_URI", os.environ.get("MLFLOW_TRACKING_URI")),
        ("default", DEFAULT_TRACKING_URI),
    )
    field, uri = next((field, uri) for field, uri in sources if uri)
    scheme = urlsplit(uri).scheme.lower().split("+")[0]  # postgresql+psycopg2: a SQLAlchemy driver
    if scheme and len(scheme) > 1 and scheme not in TRACKING_SCHEMES:  # one letter: a Windows drive
        raise SettingsError(
            f"{field}: no MLflow tracking store for the scheme {scheme!r}{did_you_mean(scheme, TRACKING_SCHEMES)} "
            f"(known: {', '.join(TRACKING_SCHEMES)}, or a directory path)"
        )
    return uri


__all__ = ["DEFAULT_TRACKING_URI", "TRACKING_SCHEMES", "MlflowSettings", "parse_settings", "resolve_tracking_uri"]
