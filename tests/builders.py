"""Datasets and TOML run configs for the tests, built in one place.

A test states only what differs from a small default run::

    write_toml(tmp_path / "run.toml", run_config(data={"dataset": "iris"}, search={"n_trials": 2}))

Datasets are cached per process and returned as fresh copies, so a test may modify what it gets.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import tomli_w

# -- datasets ----------------------------------------------------------------------------------


@functools.cache
def _breast_cancer() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_breast_cancer

    X, y = load_breast_cancer(return_X_y=True)
    return (X - X.mean(axis=0)) / X.std(axis=0), y


def breast_cancer(n_rows: int | None = 300) -> tuple[np.ndarray, np.ndarray]:
    """The first ``n_rows`` rows of breast_cancer (all 569 with ``None``), standardised: two classes, fast fits."""
    X, y = _breast_cancer()
    return X[:n_rows].copy(), y[:n_rows].copy()


@functools.cache
def _digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


def digits(n_rows: int | None = 500) -> tuple[np.ndarray, np.ndarray]:
    """The first ``n_rows`` rows of digits, pixels scaled to [0, 1]: ten classes, scores that vary by epoch."""
    X, y = _digits()
    return X[:n_rows].copy(), y[:n_rows].copy()


def labelled_frame(n_rows: int = 40, **columns: Any) -> pd.DataFrame:
    """A seeded table with numeric features ``a``, ``b`` and a two-class ``label``; ``columns`` add or replace."""
    rng = np.random.default_rng(0)
    base = {"a": rng.normal(size=n_rows), "b": rng.normal(size=n_rows), "label": np.arange(n_rows) % 2}
    return pd.DataFrame({**base, **columns})


def write_frame(path: Path, frame: pd.DataFrame) -> Path:
    """Write ``frame`` as CSV or Parquet, chosen by the suffix of ``path`` (the formats the CLI reads)."""
    if path.suffix == ".parquet":
        frame.to_parquet(path)
    else:
        frame.to_csv(path, index=False)
    return path


# -- TOML configs ------------------------------------------------------------------------------

SMALL_RUN: dict[str, Any] = {
    "data": {"dataset": "breast_cancer"},
    "model": {"estimator": "sklearn.linear_model.SGDClassifier", "params": {"random_state": 0}},
    "search": {
        "strategy": "random",
        "n_trials": 3,
        "cv": 3,
        "max_epochs": 2,
        "scoring": "accuracy",
        "space": {"alpha": {"low": 1e-5, "high": 1e-1, "log": True}},
    },
}
"""A small seeded random search over SGDClassifier's ``alpha`` on breast_cancer (a second or two)."""


def run_config(base: Mapping[str, Any] | None = None, /, **sections: Mapping[str, Any] | None) -> dict[str, Any]:
    """A run config: ``base`` (default :data:`SMALL_RUN`) with each keyword's section updated.

    A keyword names a top-level table (``data``, ``model``, ``search``, ``plugins``, ...). Its keys
    replace the base's keys one level deep, so ``search={"space": {...}}`` replaces the whole space
    and ``model={"params": {...}}`` all the params. A key set to ``None`` is removed (TOML has no
    null); a section set to ``None`` is removed whole.
    """
    config = copy.deepcopy(dict(SMALL_RUN if base is None else base))
    for name, updates in sections.items():
        if updates is None:
            config.pop(name, None)
            continue
        table = config.setdefault(name, {})
        for key, value in updates.items():
            if value is None:
                table.pop(key, None)
            else:
                table[key] = copy.deepcopy(value)
    return config


def toml_text(config: Mapping[str, Any]) -> str:
    """``config`` as TOML text."""
    return tomli_w.dumps(config)


def write_toml(path: Path, config: Mapping[str, Any]) -> Path:
    """Write ``config`` (a run config, a policy, any table) to ``path`` as TOML and return the path."""
    path.write_text(toml_text(config), encoding="utf-8")
    return path
