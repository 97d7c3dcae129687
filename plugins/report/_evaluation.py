"""Held-out metrics of the refit model, from the plain lists of ``model-fitted``, and their summary notes.

Classifiers: accuracy, macro F1 and per-class precision, recall, F1 and support; regressors: MAE,
RMSE and R². Computed by scikit-learn in the driver (milliseconds), so the notes are in the summary.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np


def held_out_metrics(y_true: list[Any], y_pred: list[Any], classes: list[Any] | None) -> dict[str, Any]:
    """The metrics of ``y_pred`` against ``y_true``; ``classes`` set means a classifier."""
    from sklearn import metrics

    if classes is not None:
        labels = list(classes)
        precision, recall, f1, support = metrics.precision_recall_fscore_support(
            y_true, y_pred, labels=labels, zero_division=0
        )
        return {
            "task": "classification",
            "rows": len(y_true),
            "accuracy": float(metrics.accuracy_score(y_true, y_pred)),
            "macro_f1": float(np.mean(f1)),
            "per_class": [
                {"class": label, "precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
                for label, p, r, f, s in zip(labels, precision, recall, f1, support, strict=True)
            ],
        }
    truth, predicted = np.asarray(y_true, dtype=float), np.asarray(y_pred, dtype=float)
    return {
        "task": "regression",
        "rows": len(y_true),
        "mae": float(metrics.mean_absolute_error(truth, predicted)),
        "rmse": float(math.sqrt(metrics.mean_squared_error(truth, predicted))),
        "r2": float(metrics.r2_score(truth, predicted)) if len(truth) > 1 else float("nan"),
    }


def metric_notes(result: dict[str, Any]) -> list[str]:
    """Summary note lines for :func:`held_out_metrics`' result (one per class for a classifier)."""
    head = f"report: held-out ({result['rows']} rows):"
    if result["task"] == "regression":
        return [f"{head} MAE {result['mae']:.4g}, RMSE {result['rmse']:.4g}, R² {result['r2']:.4g}"]
    lines = [f"{head} accuracy {result['accuracy']:.4f}, macro F1 {result['macro_f1']:.4f}"]
    for row in result["per_class"]:
        lines.append(
            f"report: held-out class {row['class']}: precision {row['precision']:.4f}, recall {row['recall']:.4f}, "
            f"F1 {row['f1']:.4f}, support {row['support']}"
        )
    return lines


def metric_values(result: dict[str, Any]) -> dict[str, float]:
    """:func:`held_out_metrics`' numbers as flat run metrics: ``test_accuracy``, ``test_macro_f1`` and
    ``test_precision/<class>``, ``test_recall/<class>``, ``test_f1/<class>``; or ``test_mae``,
    ``test_rmse``, ``test_r2``. Non-finite values are left out."""
    if result["task"] == "regression":
        values = {f"test_{key}": result[key] for key in ("mae", "rmse", "r2")}
    else:
        values = {"test_accuracy": result["accuracy"], "test_macro_f1": result["macro_f1"]}
        for row in result["per_class"]:
            label = re.sub(r"[^\w\-. ]", "_", str(row["class"]))  # what a tracker accepts in a metric name
            values |= {f"test_{key}/{label}": row[key] for key in ("precision", "recall", "f1")}
    return {name: float(value) for name, value in values.items() if math.isfinite(value)}


__all__ = ["held_out_metrics", "metric_notes", "metric_values"]
