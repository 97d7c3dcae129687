"""Where a run comes from, as plugins see it in ``run-started``: its source and its training data.

``RunStarted.source`` and ``RunStarted.dataset`` carry these, so that a plugin (the MLflow plugin's
Source and Datasets columns) can record them without touching the data itself.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import joblib

from .data import Dataset

DIGEST_LENGTH = 16


def script_source() -> str | None:
    """The Python script that is running (``sys.argv[0]``, absolute), or ``None`` in an interactive session."""
    argv0 = sys.argv[0] if sys.argv else ""
    path = Path(argv0)
    return str(path.resolve()) if argv0 and path.suffix == ".py" and path.is_file() else None


def _rows(X: Any) -> int:
    return int(X.shape[0]) if hasattr(X, "shape") else len(X)


def feature_dtypes(X: Any) -> dict[str, str]:
    """Feature name -> dtype name, in column order; arrays' columns are named ``x0``, ``x1``, ..."""
    if hasattr(X, "dtypes") and hasattr(X, "columns"):
        return {str(name): str(dtype) for name, dtype in X.dtypes.items()}
    n_columns = X.shape[1] if getattr(X, "ndim", 2) == 2 and hasattr(X, "shape") else 1
    dtype = str(getattr(X, "dtype", "object"))
    return {f"x{i}": dtype for i in range(n_columns)}


def describe_dataset(dataset: Dataset, data_config: Mapping[str, Any] | None) -> dict[str, Any]:
    """The training data as ``RunStarted.dataset`` describes it: name, source, digest, rows, dtypes, target.

    The digest is the first 16 hex digits of ``joblib.hash`` (MD5 of the pickled training features
    and target): the same data gives the same digest, run after run.
    """
    data = data_config or {}
    if data.get("dataset"):
        name, source = str(data["dataset"]), f"sklearn.datasets.load_{data['dataset']}"
    elif data.get("path"):
        name, source = Path(str(data["path"])).name, str(data["path"])
    else:
        name = source = "arrays"
    return {
        "name": name,
        "source": source,
        "digest": str(joblib.hash((dataset.X_train, dataset.y_train)))[:DIGEST_LENGTH],
        "n_rows": _rows(dataset.X_train),
        "n_test_rows": _rows(dataset.X_test) if dataset.has_test else 0,
        "features": feature_dtypes(dataset.X_train),
        "target": data.get("target"),
    }


__all__ = ["describe_dataset", "feature_dtypes", "script_source"]
