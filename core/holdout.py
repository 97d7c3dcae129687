"""The refit model's predictions on the held-out split, as plain lists for ``model-fitted``.

Plugins never get the live model; what they need to judge it on unseen rows (labels, predictions,
per-class scores) travels as JSON-ready lists, so a report or tracking plugin can compute its own
metrics and figures without unpickling anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.base import is_classifier

from .space import to_plain


@dataclass(frozen=True)
class HeldOut:
    """Held-out labels, predictions and (classifiers) per-class scores; all ``None`` without a test split."""

    y_true: list[Any] | None = None
    y_pred: list[Any] | None = None
    y_score: list[list[float]] | None = None
    classes: list[Any] | None = None


def _scores(model: Any, X: Any) -> np.ndarray | None:
    """``predict_proba`` rows, else ``decision_function`` rows (one column for a binary model), else None."""
    for method in ("predict_proba", "decision_function"):
        if hasattr(model, method):  # available_if hides predict_proba of e.g. SGDClassifier(loss="hinge")
            scores = np.asarray(getattr(model, method)(X), dtype=float)
            return scores.reshape(len(scores), -1)
    return None


def held_out_predictions(model: Any, X_test: Any, y_test: Any) -> HeldOut:
    """Predict the held-out rows with the refit ``model`` (``HeldOut()`` when ``X_test`` is None)."""
    if X_test is None:
        return HeldOut()
    y_true = to_plain(np.asarray(y_test).tolist())
    y_pred = to_plain(np.asarray(model.predict(X_test)).tolist())
    if not is_classifier(model):
        return HeldOut(y_true=y_true, y_pred=y_pred)
    scores = _scores(model, X_test)
    classes = getattr(model, "classes_", None)
    return HeldOut(
        y_true=y_true,
        y_pred=y_pred,
        y_score=None if scores is None else scores.tolist(),
        classes=None if classes is None else to_plain(np.asarray(classes).tolist()),
    )


__all__ = ["HeldOut", "held_out_predictions"]
