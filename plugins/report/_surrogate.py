"""Which parameters mattered: a random-forest surrogate of (parameters -> score) over complete trials.

Method, as the figures name it: a ``RandomForestRegressor`` is fitted on the complete trials'
parameters (numbers as they are, categories ordinal-encoded in sorted order) with their scores as
the target; a parameter's importance is its **permutation importance** on that surrogate (the mean
drop of the surrogate's R² when the parameter's column is shuffled, ``n_repeats`` times), and the
**partial dependence** of the score on a parameter is scikit-learn's ``partial_dependence`` of the
surrogate. A surrogate fitted on a few dozen trials is a sketch of the landscape, not a proof.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

METHOD = "permutation importance of a random-forest surrogate (params -> score, complete trials)"
MIN_TRIALS = 4
"""Complete trials needed before a surrogate is fitted."""


@dataclass
class Surrogate:
    """A fitted surrogate, its encoded training table and each categorical parameter's categories."""

    model: Any
    X: pd.DataFrame
    y: np.ndarray
    categories: dict[str, list[str]]


@dataclass
class Importance:
    """Permutation importance per parameter (mean and spread over repeats), most important first."""

    names: list[str]
    mean: list[float]
    std: list[float]


def why_not(trials: list[dict[str, Any]]) -> str | None:
    """Why no surrogate can be fitted on these trials, or ``None`` when one can."""
    complete = [t for t in trials if t["state"] == "complete" and _finite(t.get("score"))]
    if len(complete) < MIN_TRIALS:
        return f"needs at least {MIN_TRIALS} complete trials (got {len(complete)})"
    if not _varying(_table(complete)):
        return "no parameter varies across the complete trials"
    return None


def fit(trials: list[dict[str, Any]], *, random_state: int = 0) -> Surrogate:
    """Fit the surrogate on the complete trials (call :func:`why_not` first)."""
    from sklearn.ensemble import RandomForestRegressor

    complete = [t for t in trials if t["state"] == "complete" and _finite(t.get("score"))]
    table = _table(complete)[_varying(_table(complete))]
    categories: dict[str, list[str]] = {}
    for column in table.columns:
        if not pd.api.types.is_numeric_dtype(table[column]) or pd.api.types.is_bool_dtype(table[column]):
            labels = table[column].astype(str)
            categories[column] = sorted(labels.unique())
            table[column] = labels.map({c: i for i, c in enumerate(categories[column])}).astype(float)
        else:
            table[column] = table[column].astype(float).fillna(table[column].min() - 1)
    y = np.array([float(t["score"]) for t in complete])
    model = RandomForestRegressor(n_estimators=40, min_samples_leaf=1, random_state=random_state, n_jobs=1)
    model.fit(table, y)
    return Surrogate(model, table, y, categories)


def importance(surrogate: Surrogate, *, n_repeats: int = 5, random_state: int = 0) -> Importance:
    """Permutation importance of each parameter on the surrogate, most important first."""
    from sklearn.inspection import permutation_importance

    result = permutation_importance(
        surrogate.model, surrogate.X, surrogate.y, n_repeats=n_repeats, random_state=random_state, n_jobs=1
    )
    order = np.argsort(result.importances_mean)[::-1]
    names = list(surrogate.X.columns)
    return Importance(
        names=[names[i] for i in order],
        mean=[float(result.importances_mean[i]) for i in order],
        std=[float(result.importances_std[i]) for i in order],
    )


def partial_dependence(surrogate: Surrogate, name: str, *, resolution: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """The surrogate's average predicted score over a grid of ``name``'s values: (grid, score)."""
    from sklearn.inspection import partial_dependence as sk_partial_dependence

    categorical = name in surrogate.categories
    result = sk_partial_dependence(
        surrogate.model,
        surrogate.X,
        [name],
        kind="average",
        grid_resolution=resolution,
        categorical_features=[name] if categorical else None,
    )
    return np.asarray(result["grid_values"][0]), np.asarray(result["average"][0])


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and np.isfinite(value)


def _table(trials: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame([dict(t["params"]) for t in trials])


def _varying(table: pd.DataFrame) -> list[str]:
    return [c for c in table.columns if table[c].astype(str).nunique() > 1]


__all__ = ["METHOD", "MIN_TRIALS", "Importance", "Surrogate", "fit", "importance", "partial_dependence", "why_not"]
