"""The best model outside a run: save it to a file, load it back (a file or a plugin's model URI),
and predict for a CSV/Parquet table with the training columns.

Model files are written with joblib, scikit-learn's documented way to persist an estimator. Like
any pickle, loading one runs code from the file: only load model files you trust.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from .errors import DataError

TABLE_SUFFIXES = {".csv": "csv", ".txt": "csv", ".parquet": "parquet", ".pq": "parquet"}
"""File suffixes of the tables ``predict`` reads and writes, and their format."""


def save_model(model: Any, path: str | Path) -> Path:
    """Write ``model`` to ``path`` with joblib; atomic, so a reader never sees half a file."""
    import joblib

    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        joblib.dump(model, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def check_destination(path: str | Path, field: str = "--save-model") -> None:
    """Refuse, before any work, an output path that is a directory or whose directory is missing or read-only."""
    path = Path(path)
    if path.is_dir():
        raise DataError(f"{field}: {path} is a directory; give a file name such as {path / 'model.joblib'}")
    if not path.parent.is_dir():
        raise DataError(f"{field}: directory not found: {path.parent}")
    if not os.access(path.parent, os.W_OK):
        raise DataError(f"{field}: directory not writable: {path.parent}")


def load_model(source: str, dispatcher: Any = None, *, tracking_uri: str | None = None) -> Any:
    """The model in the file ``source``, or the one a plugin loads for the URI ``source``.

    A path that exists is read with joblib (only load files you trust). Anything else is offered
    to ``trainhooks_load_model`` (e.g. the MLflow plugin answers ``runs:/<run_id>/model`` and
    ``models:/<name>@<alias>``); when no plugin answers, a :class:`DataError` (exit 2) names it.
    """
    path = Path(source)
    if path.is_file():
        import joblib

        try:
            return joblib.load(path)
        except Exception as exc:
            raise DataError(f"MODEL: {path}: cannot be read as a model file: {type(exc).__name__}: {exc}") from None
    answer = dispatcher.first("trainhooks_load_model", uri=source, tracking_uri=tracking_uri) if dispatcher else None
    if answer is not None:
        return answer.value
    if "://" in source or source.split(":", 1)[0] in ("runs", "models"):
        raise DataError(f"MODEL: no plugin loads {source!r} (is the plugin for this URI, e.g. mlflow, installed?)")
    raise DataError(f"MODEL: file not found: {source}")


def read_table(path: str | Path, field: str = "DATA") -> Any:
    """A CSV or Parquet file as a DataFrame; a missing or unreadable file is one :class:`DataError` line."""
    import pandas as pd

    path = Path(path)
    kind = TABLE_SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise DataError(f"{field}: {path}: unsupported file type {path.suffix!r} (use .csv or .parquet)")
    if not path.is_file():
        raise DataError(f"{field}: file not found: {path}")
    try:
        return pd.read_parquet(path) if kind == "parquet" else pd.read_csv(path)
    except Exception as exc:
        raise DataError(f"{field}: {path}: cannot be read: {type(exc).__name__}: {exc}") from None


def model_input(model: Any, frame: Any, field: str = "DATA") -> Any:
    """The columns ``model`` was trained on, in training order (other columns, e.g. the target, dropped).

    A model trained on a DataFrame knows its column names (``feature_names_in_``); one trained on
    an array only their number, and then the table's columns are taken in order.
    """
    names = getattr(model, "feature_names_in_", None)
    if names is not None:
        names = [str(n) for n in names]
        frame = frame.rename(columns=str)
        missing = [n for n in names if n not in frame.columns]
        if missing:
            shown = ", ".join(repr(n) for n in missing[:10]) + (" ..." if len(missing) > 10 else "")
            raise DataError(f"{field}: missing {len(missing)} column(s) the model was trained on: {shown}")
        return frame[names]
    expected = getattr(model, "n_features_in_", None)
    if expected is not None and frame.shape[1] != expected:
        raise DataError(f"{field}: {frame.shape[1]} columns, but the model was trained on {expected}")
    return frame.to_numpy()


def predictions(model: Any, X: Any, *, proba: bool = False) -> Any:
    """A DataFrame of predictions: ``prediction``, or with ``proba`` one ``proba_<class>`` column per class."""
    import pandas as pd

    if not proba:
        return pd.DataFrame({"prediction": model.predict(X)})
    if not callable(getattr(model, "predict_proba", None)):
        name = type(model).__name__
        raise DataError(f"--proba: {name} has no predict_proba (an SGDClassifier has it with loss='log_loss')")
    try:
        scores = model.predict_proba(X)
    except AttributeError as exc:  # available_if: the method exists only for some parameters
        raise DataError(f"--proba: {type(model).__name__} cannot predict probabilities: {exc}") from None
    classes = getattr(model, "classes_", range(scores.shape[1]))
    return pd.DataFrame(scores, columns=[f"proba_{c}" for c in classes])


def write_table(frame: Any, path: str | Path | None) -> str | None:
    """Write ``frame`` to ``path`` (CSV or Parquet by suffix), or return it as CSV text when ``path`` is None."""
    if path is None:
        return str(frame.to_csv(index=False))
    path = Path(path)
    kind = TABLE_SUFFIXES.get(path.suffix.lower(), "csv")
    if kind == "parquet":
        frame.to_parquet(path, index=False)
    else:
        frame.to_csv(path, index=False)
    return None


__all__ = [
    "TABLE_SUFFIXES",
    "check_destination",
    "load_model",
    "model_input",
    "predictions",
    "read_table",
    "save_model",
    "write_table",
]
