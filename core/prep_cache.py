"""Fitted preprocessing shared by the trials of a search: fitted once per fold, not once per trial.

When a search tunes only the final step of a :class:`~sklearn.pipeline.Pipeline` (the usual case:
``clf__alpha``, ``clf__penalty``), every trial fits the same preprocessing on the same training
rows and gets the same result. On tabular data that fit (imputers, scalers, one-hot encoding) is
most of a trial's time for a fast model. ``GridSearchCV`` and Optuna redo it for every candidate
unless the user sets up ``Pipeline(memory=...)``; trainhooks keeps, in each process that trains,
the fitted preprocessing of each fold with the data it produced, and a trial whose preprocessing
and fold are the same reuses them. The driver forgets them when the run ends; a worker process
ends with its run.

An entry is found by what determines its result: the training data's digest, the fold's rows and
the unfitted preprocessing steps with every parameter (a search over a preprocessing parameter
gets one entry per value). Entries are kept up to :data:`MAX_BYTES` of transformed data per
process, least recently used first out; preprocessing that cannot be pickled (a lambda in a
``FunctionTransformer``) is simply not shared.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import joblib
from sklearn.pipeline import Pipeline

MAX_BYTES = 512 * 2**20
"""Transformed data kept per process, at most (least recently used entries go first)."""


@dataclass
class FittedPreprocessing:
    """The fitted preprocessing pipelines of one fold (outermost first) and the data they produced."""

    steps: list[Pipeline]
    X_train: Any
    X_valid: Any = None  # the fold's validation rows as the final step sees them, once transformed

    @property
    def nbytes(self) -> int:
        return _nbytes(self.X_train) + (_nbytes(self.X_valid) if self.X_valid is not None else 0)


def _nbytes(X: Any) -> int:
    if hasattr(X, "memory_usage"):  # pandas
        return int(X.memory_usage(deep=True).sum())
    if hasattr(X, "indptr"):  # scipy sparse (compressed)
        return int(X.data.nbytes + X.indices.nbytes + X.indptr.nbytes)
    return int(getattr(X, "nbytes", MAX_BYTES + 1))  # unknown: too big to keep


class PreprocessingCache:
    """Fitted preprocessing by key, bounded by the bytes of data it holds; safe across threads
    (a Dask worker trains several trials at once in one process)."""

    def __init__(self, max_bytes: int = MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[str, tuple[FittedPreprocessing, int]] = OrderedDict()
        self._total = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: str) -> FittedPreprocessing | None:
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return found[0]

    def clear(self) -> None:
        """Forget every entry (the run ended: its data need not outlive it)."""
        with self._lock:
            self._entries.clear()
            self._total = 0

    def put(self, key: str, entry: FittedPreprocessing) -> None:
        """Keep ``entry`` (again, after its validation data was added), evicting the oldest as needed."""
        size = entry.nbytes
        with self._lock:
            old = self._entries.pop(key, None)
            self._total -= old[1] if old else 0
            if size > self.max_bytes:
                return
            self._entries[key] = (entry, size)
            self._total += size
            while self._total > self.max_bytes:
                _, (_, dropped) = self._entries.popitem(last=False)
                self._total -= dropped


SHARED = PreprocessingCache()
"""The cache of this process (the driver with the sequential executor, each worker otherwise)."""


def fold_key(data_digest: str, train_rows: Any, valid_rows: Any) -> str:
    """What identifies one fold of one dataset."""
    return joblib.hash((data_digest, train_rows, valid_rows))


def entry_key(fold: str, preprocessing: list[Pipeline]) -> str | None:
    """The key of ``preprocessing`` (unfitted) on fold ``fold``; ``None`` if it cannot be hashed."""
    try:
        return joblib.hash((fold, preprocessing))
    except Exception:  # unpicklable steps (a lambda): not shared
        return None


__all__ = ["MAX_BYTES", "SHARED", "FittedPreprocessing", "PreprocessingCache", "entry_key", "fold_key"]
