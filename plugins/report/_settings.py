"""``[plugins.report]``: where the report's files go, their resolution, and how long readers wait for the figures."""

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
    """How long a reader waits for the figures still being drawn: ``trainhooks report`` (then it draws
    them itself) and ``ReportPlugin.wait()``. The run itself never waits for its drawing."""


def runs_dir(config: Mapping[str, Any], settings: ReportSettings) -> str:
    """Where this run's report folder goes: ``[plugins.report] dir``, else ``[run] dir``, else the default."""
    return settings.dir or str((config.get("run") or {}).get("dir") or DEFAULT_RUNS_DIR)


def parse_settings(config: Mapping[str, Any]) -> ReportSettings:
    """Validate the run configuration's ``[plugins.report]`` table (one line per problem)."""
    table = (config.get("plugins") or {}).get("report")
    return validate_settings(ReportSettings, table, prefix="plugins.report")


__all__ = ["DEFAULT_RUNS_DIR", "ReportSettings", "parse_settings", "runs_dir"]
