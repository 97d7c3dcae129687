"""``[plugins.report]``: where the report's files go and how long the run may wait for its figures."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field

from trainhooks.hooks import PluginSettings, validate_settings

DEFAULT_RUNS_DIR = "trainhooks-runs"
"""Runs directory by default, relative to the working directory: files go to ``<dir>/<run_id>/report/``."""


class ReportSettings(PluginSettings):
    """``[plugins.report]``."""

    dir: str | None = None
    """The runs directory; each run's files go to ``<dir>/<run_id>/report/``. By default the run's
    own directory (``[run] dir``, where the core keeps the run journal), else ``trainhooks-runs``."""
    dpi: int = Field(default=100, ge=50, le=400)
    """Resolution of the PNG figures."""
    wait_s: float = Field(default=30.0, gt=0)
    """How long the end of a run waits for the figures still being drawn before it goes on without them."""


def runs_dir(config: Mapping[str, Any], settings: ReportSettings) -> str:
    """Where this run's report folder goes: ``[plugins.report] dir``, else ``[run] dir``, else the default."""
    return settings.dir or str((config.get("run") or {}).get("dir") or DEFAULT_RUNS_DIR)


def parse_settings(config: Mapping[str, Any]) -> ReportSettings:
    """Validate the run configuration's ``[plugins.report]`` table (one line per problem)."""
    table = (config.get("plugins") or {}).get("report")
    return validate_settings(ReportSettings, table, prefix="plugins.report")


__all__ = ["DEFAULT_RUNS_DIR", "ReportSettings", "parse_settings", "runs_dir"]
