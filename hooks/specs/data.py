"""Data-validation hooks: the training pipeline's "data validation" step, done by plugins.

Both are asked once per run, in the driver, before any event or file is written. Every plugin is
asked and every answer counts (they are not ``firstresult``): the problems of all plugins are
reported together, one line each, and refuse the run (exit 2); their warnings go to the summary's
``notes``. The built-in ``data_checks`` plugin implements both (docs/configuration.md,
``[plugins.data_checks]``); with it disabled the core keeps only the guards it needs itself
(empty data, feature and target row counts that differ, a target with missing values).

A plugin reads its settings from ``config`` here (``config["plugins"].get("<name>", {})``):
these hooks come before ``trainhooks_configure``. A :class:`~trainhooks.hooks.SettingsError` it
raises refuses the run like a bad config key (exit 2); any other exception follows
``[plugins] on_error`` (with "warn" its checks are skipped and the failure is reported).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..data import DataReport, DataSource, DataView
from ..markers import hookspec


@hookspec
def trainhooks_check_data_source(source: DataSource, config: Mapping[str, Any]) -> DataReport | None:
    """Asked before a data file (``[data] path``) is read, with what is known without reading it.

    Refuse here what must not be loaded at all, such as a file too large for memory: the rows are
    read only if no plugin reports a problem. Not asked for a scikit-learn dataset or for data
    given from Python.

    :param source: the file's path, format, size on disk and, when the format stores it (Parquet),
        its row count (see :class:`~trainhooks.hooks.DataSource`).
    :param config: the whole validated run configuration, as a read-only plain mapping.
    :return: a :class:`~trainhooks.hooks.DataReport` whose ``problems`` refuse the run and whose
        ``warnings`` are added to the summary's notes, or ``None`` for nothing to say. Every
        plugin's answer counts.
    """


@hookspec
def trainhooks_validate_data(dataset: DataView, config: Mapping[str, Any]) -> DataReport | None:
    """Asked once the data is loaded and the held-out rows are split off, before any trial.

    :param dataset: read-only views of the training and held-out data, their column names and
        dtypes, and what the checks depend on: the task, the number of CV folds and whether they
        are stratified, whether the estimator is a Pipeline and accepts missing values (see
        :class:`~trainhooks.hooks.DataView`).
    :param config: the whole validated run configuration, as a read-only plain mapping.
    :return: a :class:`~trainhooks.hooks.DataReport` whose ``problems`` refuse the run (exit 2,
        nothing written) and whose ``warnings`` are added to the summary's notes, or ``None`` for
        nothing to say. Every plugin's answer counts.
    """
