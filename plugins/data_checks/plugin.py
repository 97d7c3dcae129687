"""The ``data_checks`` plugin: answers the data-validation hooks with the built-in checks."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from trainhooks.hooks import DataReport, DataSource, DataView, hookimpl

from ._checks import CHECKS, check_source_size
from ._settings import PLUGIN_NAME, parse_settings


class DataChecksPlugin:
    """Refuses data no trial could train on and notes what a user should know about it.

    Stateless: each answer depends only on the data and the run's ``[plugins.data_checks]`` table.
    """

    plugin_name = PLUGIN_NAME

    @hookimpl
    def trainhooks_check_data_source(self, source: DataSource, config: Mapping[str, Any]) -> DataReport | None:
        settings = parse_settings(config)
        if "size" in settings.skip:
            return None
        return check_source_size(source, settings)

    @hookimpl
    def trainhooks_validate_data(self, dataset: DataView, config: Mapping[str, Any]) -> DataReport:
        settings = parse_settings(config)
        reports = [check(dataset, settings) for name, check in CHECKS.items() if name not in settings.skip]
        return DataReport(
            problems=[line for report in reports for line in report.problems],
            warnings=[line for report in reports for line in report.warnings],
        )


__all__ = ["DataChecksPlugin"]
