"""The "data validation" step of a run: plugins judge the data before any trial.

The core asks ``trainhooks_check_data_source`` before a data file is read and
``trainhooks_validate_data`` once the data is loaded and split (hooks/specs/data.py). Every
plugin's :class:`~trainhooks.hooks.DataReport` counts: all problems together refuse the run, one
line each (:class:`~trainhooks.errors.DataError`, exit 2), before any event or file; the warnings
are kept for the run summary's notes.

Plugins see read-only views (:func:`data_view`), never the arrays the trials train on.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from sklearn.base import is_classifier, is_regressor
from sklearn.model_selection import (
    RepeatedStratifiedKFold,
    StratifiedGroupKFold,
    StratifiedKFold,
    StratifiedShuffleSplit,
    check_cv,
)
from sklearn.utils import get_tags

from trainhooks.hooks import DataReport, DataSource, DataView, freeze

from .data import Dataset
from .dispatch import Dispatcher
from .errors import DataError

STRATIFIED_SPLITTERS = (StratifiedKFold, RepeatedStratifiedKFold, StratifiedShuffleSplit, StratifiedGroupKFold)


class DataValidation:
    """Asks the data-validation hooks for one run and keeps their warnings.

    :param dispatcher: the session's dispatcher (each plugin isolated, ``on_error`` applies).
    :param config: the run configuration's plain form (plugins read their own table from it).
    """

    def __init__(self, dispatcher: Dispatcher, config: Mapping[str, Any]) -> None:
        self.dispatcher = dispatcher
        self.config = freeze(config)
        self.warnings: list[str] = []
        self.source: DataSource | None = None

    def check_source(self, source: DataSource) -> None:
        """Ask plugins about a file before it is read; raise on any problem."""
        self.source = source
        self._ask("trainhooks_check_data_source", source=source)

    def check_dataset(self, dataset: Dataset, estimator: Any, cv: Any) -> None:
        """Ask plugins about the loaded, split data; raise on any problem."""
        file = self.source
        name = (self.config.get("data") or {}).get("dataset")
        label = file.path if file is not None else name or "arrays"
        view = data_view(dataset, estimator, cv, source=label, target=file.target if file else None, file=file)
        self._ask("trainhooks_validate_data", dataset=view)

    def _ask(self, hook_name: str, **kwargs: Any) -> None:
        reports: list[DataReport] = [a.value for a in self.dispatcher.collect(hook_name, config=self.config, **kwargs)]
        problems = list(dict.fromkeys(line for report in reports for line in report.problems))
        self.warnings.extend(line for report in reports for line in report.warnings if line not in self.warnings)
        if problems:
            raise DataError("\n".join(problems))


def data_view(
    dataset: Dataset,
    estimator: Any,
    cv: Any,
    *,
    source: str,
    target: str | None = None,
    file: DataSource | None = None,
) -> DataView:
    """A :class:`DataView` of ``dataset`` for plugins: read-only views plus what the checks depend on."""
    instance = estimator() if isinstance(estimator, type) else estimator
    task = "classification" if is_classifier(instance) else "regression" if is_regressor(instance) else "other"
    splitter = check_cv(cv, dataset.y_train, classifier=task == "classification")
    try:
        n_splits: int | None = int(splitter.get_n_splits(dataset.X_train, dataset.y_train))
    except (TypeError, ValueError):  # e.g. a group splitter without groups
        n_splits = None
    names, dtypes = _columns(dataset.X_train)
    return DataView(
        source=source,
        X_train=read_only(dataset.X_train),
        y_train=read_only(dataset.y_train),
        X_test=read_only(dataset.X_test),
        y_test=read_only(dataset.y_test),
        feature_names=names,
        dtypes=dtypes,
        target=target,
        task=task,
        n_splits=n_splits,
        stratified=isinstance(splitter, STRATIFIED_SPLITTERS),
        pipeline=hasattr(instance, "steps"),
        allow_nan=_allows_nan(instance),
        file=file,
    )


def read_only(data: Any) -> Any:
    """A view of ``data`` that a plugin cannot use to change it, without copying the values.

    pandas objects: a shallow copy (pandas' copy-on-write copies on the first write, so a change
    stays private); NumPy arrays: a view flagged read-only. A sparse matrix is copied.
    """
    if data is None:
        return None
    if hasattr(data, "iloc"):
        return data.copy(deep=False)
    if hasattr(data, "tocsr"):  # scipy.sparse: no read-only flag
        return data.copy()
    view = np.asarray(data).view()
    view.flags.writeable = False
    return view


def _columns(X: Any) -> tuple[tuple[str, ...], dict[str, str]]:
    if hasattr(X, "dtypes") and hasattr(X, "columns"):
        names = tuple(str(c) for c in X.columns)
        return names, {name: str(dtype) for name, dtype in zip(names, X.dtypes, strict=True)}
    shape = X.shape if hasattr(X, "shape") else np.shape(X)
    n_columns = shape[1] if len(shape) == 2 else 1
    names = tuple(f"x{i}" for i in range(n_columns))
    dtype = str(getattr(X, "dtype", np.asarray(X).dtype))
    return names, dict.fromkeys(names, dtype)


def _allows_nan(estimator: Any) -> bool:
    try:
        return bool(get_tags(estimator).input_tags.allow_nan)
    except Exception:  # an estimator without scikit-learn tags: assume it does not
        return False


__all__ = ["STRATIFIED_SPLITTERS", "DataValidation", "data_view", "read_only"]
