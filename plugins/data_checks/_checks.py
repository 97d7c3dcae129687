"""One function per check: ``check(dataset, settings) -> DataReport``, each line starting ``data``.

Problems are what no trial could train on (or would silently train wrong); warnings are what a
user should know about the result (the summary notes). The checks read the plugin's read-only
views and never copy the whole data: columns are scanned one at a time, rows compared by hash.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pandas as pd

from trainhooks.hooks import DataReport, DataSource, DataView

from ._settings import PLUGIN_NAME, CheckName, DataChecksSettings

LISTED = 5
"""How many column names or classes a line names before "and N more"."""


# -- helpers -------------------------------------------------------------------------------------


def _frame(X: Any) -> pd.DataFrame | None:
    """``X`` as a DataFrame sharing its memory (column names as in ``DataView.feature_names``), or
    ``None`` for a sparse matrix (whose checks are skipped)."""
    if X is None or hasattr(X, "tocsr"):
        return None
    if isinstance(X, pd.DataFrame):
        return X
    array = np.asarray(X)
    if array.ndim == 1:
        array = array.reshape(-1, 1)
    return pd.DataFrame(array, columns=[f"x{i}" for i in range(array.shape[1])], copy=False)


def _parts(data: DataView) -> Iterator[pd.DataFrame]:
    """The training and (if any) held-out features as frames."""
    for X in (data.X_train, data.X_test):
        frame = _frame(X)
        if frame is not None:
            yield frame


def _names(names: list[str]) -> str:
    shown = ", ".join(repr(str(n)) for n in names[:LISTED])
    return shown + (f" and {len(names) - LISTED} more" if len(names) > LISTED else "")


def _counts(counts: dict[str, int]) -> str:
    items = sorted(counts.items(), key=lambda kv: -kv[1])
    shown = ", ".join(f"{name}: {n}" for name, n in items[:LISTED])
    return shown + (f", and {len(items) - LISTED} more columns" if len(items) > LISTED else "")


def _size(n_bytes: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if n_bytes < 1024 or unit == "GiB":
            return f"{n_bytes:.0f} {unit}" if unit == "bytes" else f"{n_bytes:.1f} {unit}"
        n_bytes /= 1024
    raise AssertionError("unreachable")


def _plain(value: Any) -> Any:
    """A NumPy scalar as the Python value it holds, so messages show ``2``, not ``np.int64(2)``."""
    return value.item() if isinstance(value, np.generic) else value


def _is_numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)


# -- before reading ------------------------------------------------------------------------------


def check_source_size(source: DataSource, settings: DataChecksSettings) -> DataReport:
    """A file over ``max_bytes`` on disk, or (Parquet) over ``max_rows``, is refused unread."""
    problems = []
    if source.size_bytes > settings.max_bytes:
        problems.append(
            f"data.path: {source.path} is {_size(source.size_bytes)}, over plugins.{PLUGIN_NAME}.max_bytes "
            f"({_size(settings.max_bytes)}); it was not read (raise the limit, or sample the file)"
        )
    if source.n_rows is not None and source.n_rows > settings.max_rows:
        problems.append(
            f"data.path: {source.path} has {source.n_rows:,} rows, over plugins.{PLUGIN_NAME}.max_rows "
            f"({settings.max_rows:,}); it was not read (raise the limit, or sample the file)"
        )
    return DataReport(problems=problems)


# -- after loading -------------------------------------------------------------------------------


def check_rows(data: DataView, settings: DataChecksSettings) -> DataReport:
    """More than ``max_rows`` rows (when the file's row count was not known before reading)."""
    if data.file is not None and data.file.n_rows is not None:
        return DataReport()  # judged before reading
    if data.n_rows > settings.max_rows:
        return DataReport(
            problems=[f"data: {data.n_rows:,} rows, over plugins.{PLUGIN_NAME}.max_rows ({settings.max_rows:,})"]
        )
    return DataReport()


def check_dtypes(data: DataView, settings: DataChecksSettings) -> DataReport:
    """Non-numeric feature columns need an estimator that encodes them (a Pipeline)."""
    if data.pipeline:
        return DataReport()
    frame = _frame(data.X_train)
    if frame is None:
        return DataReport()
    non_numeric = [str(c) for c in frame.columns if not _is_numeric(frame[c])]
    if not non_numeric:
        return DataReport()
    if not isinstance(data.X_train, pd.DataFrame):
        return DataReport(problems=[f"data: features must be numeric (the array's dtype is {frame.dtypes.iloc[0]})"])
    return DataReport(
        problems=[
            f"data: non-numeric feature columns {non_numeric[:LISTED]} need preprocessing: "
            'set [model] preprocess = "auto" (or give a Pipeline, e.g. trainhooks.pipelines.auto_preprocessor())'
        ]
    )


def check_missing(data: DataView, settings: DataChecksSettings) -> DataReport:
    """Missing feature values: a problem unless the estimator accepts them or is a Pipeline (may impute)."""
    rows, per_column = _flagged_cells(data, lambda series: series.isna().to_numpy())
    if not rows:
        return DataReport()
    where = f"{rows} rows ({_counts(per_column)})"
    if data.allow_nan:
        return DataReport(warnings=[f"data: features have missing values in {where}; the estimator accepts them"])
    if data.pipeline:
        return DataReport(warnings=[f"data: features have missing values in {where}; the Pipeline must impute them"])
    return DataReport(
        problems=[
            f"data: features contain NaN or missing values in {where}; "
            "impute them (a Pipeline with SimpleImputer) or drop those rows"
        ]
    )


def check_infinite(data: DataView, settings: DataChecksSettings) -> DataReport:
    """Infinite feature values: no scikit-learn estimator or imputer accepts them."""
    rows, per_column = _flagged_cells(data, _infinite)
    if not rows:
        return DataReport()
    return DataReport(
        problems=[f"data: features contain infinite values in {rows} rows ({_counts(per_column)}); clean them first"]
    )


def _infinite(series: pd.Series) -> np.ndarray:
    if not pd.api.types.is_float_dtype(series):
        return np.zeros(len(series), dtype=bool)
    return np.isinf(series.to_numpy(dtype=float, na_value=np.nan))


def _flagged_cells(data: DataView, flag: Callable[[pd.Series], np.ndarray]) -> tuple[int, dict[str, int]]:
    """Rows with at least one flagged feature value, and flagged values per column (train and test)."""
    per_column: dict[str, int] = {}
    rows = 0
    for frame in _parts(data):
        row_mask = np.zeros(len(frame), dtype=bool)
        for column in frame.columns:
            flagged = flag(frame[column])
            if flagged.any():
                per_column[str(column)] = per_column.get(str(column), 0) + int(flagged.sum())
                row_mask |= flagged
        rows += int(row_mask.sum())
    return rows, per_column


def check_classes(data: DataView, settings: DataChecksSettings) -> DataReport:
    """A classifier's target: at least two classes, and with stratified folds every class in every fold."""
    if data.task != "classification":
        return DataReport()
    counts = pd.Series(np.asarray(data.y_train)).value_counts()
    if len(counts) < 2:
        only = f" ({_plain(counts.index[0])!r})" if len(counts) else ""
        return DataReport(problems=[f"data: the target has a single class{only}; a classifier needs at least two"])
    folds = data.n_splits
    if not data.stratified or folds is None:
        return DataReport()
    rare = counts[counts < folds]
    lines = [
        f"data: class {label!r} has {n} training rows, fewer than the {folds} stratified CV folds (search.cv); "
        f"every class needs at least {folds} (more rows of it, fewer folds, or drop the class)"
        for label, n in ((_plain(label), n) for label, n in rare.iloc[:LISTED].items())
    ]
    if len(rare) > LISTED:
        lines.append(f"data: and {len(rare) - LISTED} more classes with fewer than {folds} training rows")
    return DataReport(problems=lines)


def check_constant_columns(data: DataView, settings: DataChecksSettings) -> DataReport:
    """Feature columns with a single value in every training row carry no information (a warning)."""
    frame = _frame(data.X_train)
    if frame is None or len(frame) < 2:
        return DataReport()
    constant = [str(c) for c in frame.columns if frame[c].nunique(dropna=False) <= 1]
    if not constant:
        return DataReport()
    return DataReport(
        warnings=[f"data: constant feature columns (one value in every training row): {_names(constant)}"]
    )


def check_duplicate_columns(data: DataView, settings: DataChecksSettings) -> DataReport:
    """Feature columns identical to an earlier one (a warning): found by hash, confirmed by comparison."""
    frame = _frame(data.X_train)
    if frame is None:
        return DataReport()
    first_by_hash: dict[int, list[Any]] = {}
    copies: list[str] = []
    for column in frame.columns:
        series = frame[column]
        digest = hash(pd.util.hash_pandas_object(series, index=False).to_numpy().tobytes())
        earlier = next((c for c in first_by_hash.get(digest, []) if frame[c].equals(series)), None)
        if earlier is None:
            first_by_hash.setdefault(digest, []).append(column)
        else:
            copies.append(f"{column!r} duplicates {earlier!r}")
    if not copies:
        return DataReport()
    shown = "; ".join(copies[:LISTED]) + (f"; and {len(copies) - LISTED} more" if len(copies) > LISTED else "")
    return DataReport(warnings=[f"data: duplicated feature columns: {shown}"])


def check_shared_rows(data: DataView, settings: DataChecksSettings) -> DataReport:
    """Held-out rows whose features also appear in the training split (a warning, counted)."""
    train, test = _frame(data.X_train), _frame(data.X_test)
    if train is None or test is None or not len(test):
        return DataReport()
    train_hashes = pd.util.hash_pandas_object(train, index=False).to_numpy()
    test_hashes = pd.util.hash_pandas_object(test, index=False).to_numpy()
    shared = int(np.isin(test_hashes, train_hashes).sum())
    if not shared:
        return DataReport()
    return DataReport(
        warnings=[
            f"data: {shared} of {len(test)} held-out rows also appear in the training split (same features); "
            "the test score may be optimistic"
        ]
    )


CHECKS: dict[CheckName, Callable[[DataView, DataChecksSettings], DataReport]] = {
    "size": check_rows,
    "dtypes": check_dtypes,
    "missing": check_missing,
    "infinite": check_infinite,
    "classes": check_classes,
    "constant_columns": check_constant_columns,
    "duplicate_columns": check_duplicate_columns,
    "shared_rows": check_shared_rows,
}
"""The checks of loaded data by name (the names ``skip`` takes), in the order they run."""


__all__ = ["CHECKS", "check_source_size"]
