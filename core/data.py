"""Load training data (a scikit-learn dataset by name or a CSV/Parquet file), guard it, split it.

The core keeps only the guards it needs itself (:func:`validate`); what makes data fit for
training is judged by plugins before any trial (core/data_validation.py), so bad data is one
clear error per problem and nothing is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import is_classifier
from sklearn.model_selection import train_test_split

from trainhooks.hooks import DataSource

from .errors import DataError

BUILTIN_DATASETS = ("iris", "wine", "breast_cancer", "digits", "diabetes")


@dataclass
class Dataset:
    """Features and target, split into a training part and an optional held-out test part."""

    X_train: Any
    y_train: Any
    X_test: Any = None
    y_test: Any = None
    source: str = "arrays"

    @property
    def has_test(self) -> bool:
        return self.X_test is not None


def load_builtin(name: str) -> tuple[Any, Any]:
    """A scikit-learn toy dataset (no download needed) as (X, y) arrays."""
    if name not in BUILTIN_DATASETS:
        raise DataError(f"data.dataset: unknown dataset {name!r} (choose from {', '.join(BUILTIN_DATASETS)})")
    from sklearn import datasets

    return getattr(datasets, f"load_{name}")(return_X_y=True)


PARQUET_SUFFIXES = (".parquet", ".pq")
CSV_SUFFIXES = (".csv", ".txt")


def describe_file(path: str | Path, target: str | None) -> DataSource:
    """What is known about a data file without reading its rows: format, size, Parquet's row count.

    Data-validation plugins judge this before the file is read (``trainhooks_check_data_source``),
    so a file too large for memory is refused before it takes the memory.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"data.path: file not found: {path}")
    suffix = path.suffix.lower()
    if suffix not in PARQUET_SUFFIXES + CSV_SUFFIXES:
        raise DataError(f"data.path: {path}: unsupported file type {path.suffix!r} (use .csv or .parquet)")
    if not target:
        raise DataError(f"data.target: required with data.path ({path})")
    n_rows = None
    if suffix in PARQUET_SUFFIXES:
        try:
            import pyarrow.parquet as pq

            n_rows = pq.read_metadata(path).num_rows
        except Exception as exc:
            raise DataError(f"data.path: {path}: cannot be read: {exc}") from None
    fmt = "parquet" if suffix in PARQUET_SUFFIXES else "csv"
    return DataSource(path=str(path), format=fmt, size_bytes=path.stat().st_size, n_rows=n_rows, target=target)


def read_table(source: DataSource) -> tuple[Any, Any]:
    """Features and target column of the file ``source`` describes (see :func:`describe_file`)."""
    import pandas as pd

    path = Path(source.path)
    try:
        frame = pd.read_parquet(path) if source.format == "parquet" else pd.read_csv(path)
    except Exception as exc:
        raise DataError(f"data.path: {path}: cannot be read: {exc}") from None
    target = source.target
    if target not in frame.columns:
        raise DataError(f"data.target: column {target!r} not in {path} (columns: {', '.join(map(str, frame.columns))})")
    return frame.drop(columns=[target]), frame[target]


def load_table(path: str | Path, target: str | None) -> tuple[Any, Any]:
    """Features and target column from a CSV or Parquet file (no plugin is asked about it)."""
    return read_table(describe_file(path, target))


def validate(X: Any, y: Any) -> None:
    """The core's own guards: refuse data that would break the run itself, naming what is wrong.

    Empty data, feature and target row counts that differ, and a target with missing or infinite
    values (the held-out split and the scorer checks need a complete target). Everything else
    (dtypes, missing features, classes against the folds, size limits...) is judged by plugins
    through ``trainhooks_validate_data`` (the built-in ``data_checks`` plugin; core/data_validation.py).
    """
    n_rows = X.shape[0] if hasattr(X, "shape") else len(X)
    if n_rows == 0:
        raise DataError("data: the data is empty")
    if len(y) != n_rows:
        raise DataError(f"data: X has {n_rows} rows but y has {len(y)}")
    y_array = np.asarray(y)
    if y_array.dtype.kind in "fc" and not np.isfinite(y_array).all():
        raise DataError(f"data: the target contains NaN or infinite values ({_count(~np.isfinite(y_array))} rows)")
    if y_array.dtype.kind == "O" and any(v is None or v != v for v in y_array.ravel()):
        raise DataError("data: the target contains missing values")


def _count(mask: np.ndarray) -> int:
    return int(mask.reshape(len(mask), -1).any(axis=1).sum())


def _is_classifier(estimator: Any) -> bool:
    if isinstance(estimator, type):
        try:
            return is_classifier(estimator())
        except Exception:
            return False
    return is_classifier(estimator)


def split(X: Any, y: Any, estimator: Any, test_size: float | None, random_state: int | None) -> Dataset:
    """Hold out ``test_size`` of the rows (stratified for classifiers) for the final test score."""
    if not test_size:
        return Dataset(X, y)
    stratify = y if _is_classifier(estimator) else None
    try:
        X_tr, X_te, y_tr, y_te = train_test_split(
            X, y, test_size=test_size, random_state=random_state, stratify=stratify
        )
    except ValueError as exc:
        raise DataError(f"data.test_size: cannot split the data: {exc}") from None
    return Dataset(X_tr, y_tr, X_te, y_te)


__all__ = [
    "BUILTIN_DATASETS",
    "Dataset",
    "describe_file",
    "load_builtin",
    "load_table",
    "read_table",
    "split",
    "validate",
]
