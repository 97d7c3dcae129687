"""What the data-validation hooks receive and return: :class:`DataSource`, :class:`DataView`, :class:`DataReport`.

Data is checked in two steps, both before anything is written:

1. ``trainhooks_check_data_source(source, config)``: a data *file* is about to be read. The plugin
   sees only what is cheap to know (path, format, size on disk, the row count when the format
   stores it), so a file too large to load is refused before it takes the memory.
2. ``trainhooks_validate_data(dataset, config)``: the data is loaded and split. The plugin sees a
   :class:`DataView`: read-only views of the training and held-out parts (no copy of the data)
   and the facts about the run the checks depend on (the task, the CV folds, the estimator's
   handling of missing values).

Each plugin answers with a :class:`DataReport` (or ``None``); every plugin's answer counts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .frozen import freeze


@dataclass(frozen=True)
class DataSource:
    """A data file about to be read, described by what is known without reading its rows.

    :param path: the file's path, as given in ``[data] path``.
    :param format: ``"csv"`` or ``"parquet"``.
    :param size_bytes: its size on disk.
    :param n_rows: its number of rows when the format stores it (Parquet metadata), else ``None``
        (a CSV file would have to be read to count them).
    :param target: the target column (``[data] target``), or ``None`` when not given.
    """

    path: str
    format: str
    size_bytes: int
    n_rows: int | None = None
    target: str | None = None


@dataclass(frozen=True)
class DataView:
    """The loaded data of a run, after the held-out split, as plugins may inspect it.

    ``X_train``, ``y_train``, ``X_test`` and ``y_test`` are views of the core's own data, not
    copies: a pandas object is a shallow copy (pandas' copy-on-write makes any change a plugin
    makes land in a private copy, never in the data the trials train on), a NumPy array a view
    marked read-only (writing to it raises ``ValueError``). They keep the caller's type: a
    ``DataFrame``/``Series`` for a CSV or Parquet file and for DataFrames given from Python,
    arrays for a scikit-learn dataset or arrays from Python (a SciPy sparse matrix is a copy).

    :param source: where the data came from: the file path, the scikit-learn dataset name, or
        ``"arrays"`` for data given from Python.
    :param X_train: the training features (what cross-validation splits into folds).
    :param y_train: the training target.
    :param X_test: the held-out features (``[data] test_size``), or ``None`` without a split.
    :param y_test: the held-out target, or ``None``.
    :param feature_names: the feature columns' names (``"x0"``, ``"x1"``, ... for arrays).
    :param dtypes: feature name -> dtype name (``"float64"``, ``"int64"``, ``"str"``, ``"object"``,
        ``"category"``, ``"bool"``, ...).
    :param target: the target column's name (a file's ``[data] target``), or ``None``.
    :param task: ``"classification"``, ``"regression"`` or ``"other"``, from the estimator.
    :param n_splits: the number of cross-validation folds (``search.cv``), or ``None`` when the
        splitter cannot say without more input (a group splitter).
    :param stratified: the folds are stratified by class (a classifier with an integer ``cv``, or a
        stratified splitter): every class needs at least ``n_splits`` training rows.
    :param pipeline: the estimator is a scikit-learn ``Pipeline`` (its steps may encode
        non-numeric columns, impute missing values, ...).
    :param allow_nan: the estimator accepts missing (NaN) feature values (scikit-learn's
        ``allow_nan`` input tag: imputing pipelines, histogram gradient boosting, ...).
    :param file: the :class:`DataSource` the data was read from, or ``None``.
    """

    source: str
    X_train: Any
    y_train: Any
    X_test: Any = None
    y_test: Any = None
    feature_names: tuple[str, ...] = ()
    dtypes: Mapping[str, str] = field(default_factory=dict)
    target: str | None = None
    task: str = "other"
    n_splits: int | None = None
    stratified: bool = False
    pipeline: bool = False
    allow_nan: bool = False
    file: DataSource | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "feature_names", tuple(self.feature_names))
        object.__setattr__(self, "dtypes", freeze(dict(self.dtypes)))

    @property
    def n_rows(self) -> int:
        """Rows of the whole data: training plus held-out."""
        return _rows(self.X_train) + (_rows(self.X_test) if self.X_test is not None else 0)

    @property
    def has_test(self) -> bool:
        """Whether part of the rows is held out (``X_test`` is not ``None``)."""
        return self.X_test is not None


def _rows(X: Any) -> int:
    return int(X.shape[0]) if hasattr(X, "shape") else len(X)


@dataclass(frozen=True)
class DataReport:
    """A plugin's answer to a data-validation hook: problems refuse the run, warnings are noted.

    :param problems: one line each, e.g. ``"data: class 'b' has 2 training rows, fewer than the 3
        CV folds"``. Any problem from any plugin refuses the run: the lines are printed (the CLI
        exits 2) and nothing is written: no MLflow run, no files, no events.
    :param warnings: one line each; the run goes on and each line is added to the summary's
        ``notes`` (printed by the CLI, logged by the MLflow plugin).
    """

    problems: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("problems", "warnings"):
            lines = getattr(self, name)
            if isinstance(lines, str) or not all(isinstance(line, str) for line in lines):
                raise TypeError(f"DataReport.{name} must be a list of strings (one line each)")
            object.__setattr__(self, name, tuple(_one_line(line) for line in lines if line.strip()))


def _one_line(text: str) -> str:
    """A multi-line message joined with "; ", so every problem stays one line of output."""
    return "; ".join(part.strip() for part in text.splitlines() if part.strip())


__all__ = ["DataReport", "DataSource", "DataView"]
