"""The ``[plugins.data_checks]`` table, validated with pydantic (one line per bad key)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field

from trainhooks.hooks import PluginSettings, validate_settings

PLUGIN_NAME = "data_checks"

MIB = 1024 * 1024

CheckName = Literal[
    "size", "dtypes", "missing", "infinite", "classes", "constant_columns", "duplicate_columns", "shared_rows"
]


class DataChecksSettings(PluginSettings):
    """Size limits and the checks to skip; docs/configuration.md describes each check."""

    max_bytes: int = Field(default=256 * MIB, ge=1)
    """A data file larger than this on disk is refused before it is read (256 MiB: a CSV takes
    several times its size in memory once loaded)."""
    max_rows: int = Field(default=5_000_000, ge=1)
    """More rows than this are refused: before reading a Parquet file (its metadata has the count),
    after loading otherwise."""
    skip: list[CheckName] = Field(default_factory=list)
    """Checks not to run, by name."""


def parse_settings(config: Mapping[str, Any]) -> DataChecksSettings:
    """The plugin's table of a run configuration, validated (a SettingsError names each bad key)."""
    table = (config.get("plugins") or {}).get(PLUGIN_NAME) or {}
    return validate_settings(DataChecksSettings, table, prefix=f"plugins.{PLUGIN_NAME}")


__all__ = ["MIB", "PLUGIN_NAME", "CheckName", "DataChecksSettings", "parse_settings"]
