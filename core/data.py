"""Load training data (a scikit-learn dataset by name or a CSV/Parquet file) and check it.

Every check runs before any trial, so bad data is one clear error and nothing is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import is_classifier
from sklearn.model_selection import train_test_split

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


def load_table(path: str | Path, target: str | None) -> tuple[Any, Any]:
    """Features and target column from a CSV or Parquet file."""
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise DataError(f"data.path: file not found: {path}")
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            frame = pd.read_parquet(path)
        elif path.suffix.lower() in (".csv", ".txt"):
            frame = pd.read_csv(path)
        else:
            raise DataError(f"data.path: {path}: unsupported file type {path.suffix!r} (use .csv or .parquet)")
    except DataError:
        raise
    except Exception as exc:
        raise DataError(f"data.path: {path}: cannot be read: {exc}") from None
    if not target:
        raise DataError(f"data.target: required with data.path ({path})")
    if target not in frame.columns:
        raise DataError(f"data.target: column {target!r} not in {path} (columns: {', '.join(map(str, frame.columns))})")
    return frame.drop(columns=[target]), frame[target]


def validate(X: Any, y: Any, estimator: Any, *, where: str = "data") -> None:
    """Refuse data no trial could train on, naming what is wrong."""
    n_rows = X.shape[0] if hasattr(X, "shape") else len(X)
    if n_rows == 0:
        raise DataError(f"{where}: the data is empty")
    if len(y) != n_rows:
        raise DataError(f"{where}: X has {n_rows} rows but y has {len(y)}")
    pipeline = hasattr(estimator, "steps") or (isinstance(estimator, type) and estimator.__name__ == "Pipeline")
    if hasattr(X, "select_dtypes"):
        non_numeric = list(X.select_dtypes(exclude=["number", "bool"]).columns)
        if non_numeric and not pipeline:
            raise DataError(
                f"{where}: non-numeric feature columns {non_numeric[:5]} need preprocessing: "
                'set [model] preprocess = "auto" (or give a Pipeline, e.g. trainhooks.pipelines.auto_preprocessor())'
            )
        numeric = X.select_dtypes(include=["number", "bool"]).to_numpy(dtype=float)
    else:
        try:
            numeric = np.asarray(X, dtype=float)
        except (TypeError, ValueError):
            raise DataError(f"{where}: features must be numeric") from None
    if not pipeline and not np.isfinite(numeric).all():  # a pipeline may impute missing values
        bad = int((~np.isfinite(numeric)).any(axis=1).sum()) if numeric.ndim == 2 else "some"
        raise DataError(f"{where}: features contain NaN or infinite values ({bad} rows); clean or impute them first")
    y_array = np.asarray(y)
    if y_array.dtype.kind in "fc" and not np.isfinite(y_array).all():
        raise DataError(f"{where}: the target contains NaN or infinite values")
    if y_array.dtype.kind == "O" and any(v is None or v != v for v in y_array):
        raise DataError(f"{where}: the target contains missing values")
    if _is_classifier(estimator) and len(np.unique(y_array)) < 2:
        raise DataError(f"{where}: the target has a single class; a classifier needs at least two")


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


__all__ = ["BUILTIN_DATASETS", "Dataset", "load_builtin", "load_table", "split", "validate"]
