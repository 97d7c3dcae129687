"""The report's figures, drawn with matplotlib from a run's saved files (:class:`~._store.RunFiles`).

Each ``draw_*`` function writes one PNG and returns ``None``, or returns why it drew nothing
(e.g. too few complete trials for a surrogate). Figures are ``matplotlib.figure.Figure`` objects,
never pyplot's global state, so drawing is independent of any backend or window.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from . import _surrogate as surrogate
from ._store import RunFiles

STATE_STYLE: dict[str, dict[str, Any]] = {
    "complete": {"marker": "o", "color": "tab:blue", "label": "complete"},
    "pruned": {"marker": "v", "color": "tab:orange", "label": "pruned"},
    "failed": {"marker": "x", "color": "tab:red", "label": "failed"},
}


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def _save(figure: Figure, path: Path, dpi: int) -> None:
    figure.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp.png")
    figure.savefig(tmp, dpi=dpi)
    tmp.replace(path)  # a reader (the HTML report, MLflow) never sees half a PNG


def _scoring(files: RunFiles) -> str:
    return str(((files.run.get("config") or {}).get("search") or {}).get("scoring") or "score")


def draw_history(files: RunFiles, path: Path, dpi: int) -> str | None:
    """Score per trial id, the best-so-far line over complete trials, pruned and failed trials marked."""
    trials = files.trials
    if not trials:
        return "no trial ended"
    figure = Figure(figsize=(7, 4))
    ax = figure.add_subplot()
    scores = [t["score"] for t in trials if _finite(t.get("score"))]
    floor = min(scores) if scores else 0.0
    for state, style in STATE_STYLE.items():
        points = [t for t in trials if t["state"] == state]
        if not points:
            continue
        ys = [t["score"] if _finite(t.get("score")) else floor for t in points]
        ax.scatter(
            [t["trial_id"] for t in points],
            ys,
            marker=style["marker"],
            color=style["color"],
            label=f"{style['label']} ({len(points)})",
            zorder=3,
        )
    best, xs, ys = -math.inf, [], []
    for trial in trials:
        if trial["state"] == "complete" and _finite(trial.get("score")) and trial["score"] > best:
            best = trial["score"]
        if best > -math.inf:
            xs.append(trial["trial_id"])
            ys.append(best)
    if xs:
        ax.step(xs, ys, where="post", color="tab:green", label="best so far", zorder=2)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("trial id")
    ax.set_ylabel(f"{_scoring(files)} (CV mean)")
    ax.set_title("Optimisation history (failed trials drawn at the lowest score)")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize="small")
    _save(figure, path, dpi)
    return None


def draw_importance(result: surrogate.Importance, path: Path, dpi: int) -> None:
    """Permutation importance of each parameter on the random-forest surrogate."""
    figure = Figure(figsize=(7, 1.2 + 0.45 * len(result.names)))
    ax = figure.add_subplot()
    positions = np.arange(len(result.names))[::-1]
    ax.barh(positions, result.mean, xerr=result.std, color="tab:blue", alpha=0.8)
    ax.set_yticks(positions, result.names)
    ax.set_xlabel("importance (drop of the surrogate's R² when shuffled)")
    ax.set_title("Parameter importance\n" + surrogate.METHOD, fontsize="medium")
    ax.grid(axis="x", alpha=0.3)
    _save(figure, path, dpi)


def draw_partial_dependence(
    fitted: surrogate.Surrogate, result: surrogate.Importance, scoring: str, path: Path, dpi: int
) -> None:
    """Partial dependence of the score on the (up to) two most important parameters."""
    top = result.names[:2]
    figure = Figure(figsize=(4.2 * len(top), 3.6))
    for index, name in enumerate(top, start=1):
        ax = figure.add_subplot(1, len(top), index)
        grid, average = surrogate.partial_dependence(fitted, name)
        if name in fitted.categories:
            labels = [fitted.categories[name][int(v)] for v in grid]
            ax.plot(range(len(grid)), average, "o-", color="tab:blue")
            ax.set_xticks(range(len(grid)), labels, rotation=30)
        else:
            ax.plot(grid, average, color="tab:blue")
            ax.plot(fitted.X[name], fitted.y, "o", color="grey", alpha=0.4, markersize=3, label="trials")
            values = fitted.X[name].to_numpy(dtype=float)
            if values.min() > 0 and values.max() / values.min() > 100:
                ax.set_xscale("log")
            ax.legend(fontsize="small")
        ax.set_xlabel(name)
        ax.set_ylabel(f"predicted {scoring}")
        ax.grid(alpha=0.3)
    figure.suptitle("Partial dependence of the score (random-forest surrogate)", fontsize="medium")
    _save(figure, path, dpi)


def draw_learning_curves(files: RunFiles, path: Path, dpi: int) -> str | None:
    """Every trial's score per epoch; where each curve ends says whether it finished, stopped early or was pruned."""
    curves = files.curves()
    if not curves:
        return "no epoch was scored"
    ended = {t["trial_id"]: t for t in files.trials}
    figure = Figure(figsize=(7, 4))
    ax = figure.add_subplot()
    for trial_id, points in curves.items():
        epochs, scores = zip(*points, strict=True)
        ax.plot(epochs, scores, color="tab:blue", alpha=0.35, linewidth=1)
        trial = ended.get(trial_id, {})
        if trial.get("state") == "pruned":
            ax.plot(epochs[-1], scores[-1], "v", color="tab:orange", zorder=3)
        elif trial.get("state") == "failed":
            ax.plot(epochs[-1], scores[-1], "x", color="tab:red", zorder=3)
        elif trial.get("stop_reason"):
            ax.plot(epochs[-1], scores[-1], "s", color="tab:purple", zorder=3)
    ax.legend(
        handles=[
            Line2D([], [], color="tab:blue", alpha=0.5, label="a trial's CV mean score"),
            Line2D([], [], marker="s", color="tab:purple", linestyle="", label="stopped early"),
            Line2D([], [], marker="v", color="tab:orange", linestyle="", label="pruned"),
            Line2D([], [], marker="x", color="tab:red", linestyle="", label="failed"),
        ],
        fontsize="small",
        loc="lower right",
    )
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel(f"{_scoring(files)} (CV mean)")
    ax.set_title(f"Learning curves of {len(curves)} trials")
    ax.grid(alpha=0.3)
    _save(figure, path, dpi)
    return None


def draw_evaluation(files: RunFiles, path: Path, dpi: int) -> str | None:
    """The refit model on the held-out split: confusion matrix, ROC and PR curves, or residuals."""
    holdout = files.holdout
    if not holdout or holdout.get("y_true") is None:
        return "no held-out split (set data.test_size)"
    if holdout.get("classes") is not None:
        _classifier_figure(holdout, path, dpi)
    else:
        _regressor_figure(holdout, path, dpi)
    return None


def _classifier_figure(holdout: dict[str, Any], path: Path, dpi: int) -> None:
    from sklearn.metrics import ConfusionMatrixDisplay, PrecisionRecallDisplay, RocCurveDisplay

    classes = list(holdout["classes"])
    y_true, y_pred = np.asarray(holdout["y_true"]), np.asarray(holdout["y_pred"])
    scores = holdout.get("y_score")
    panels = 3 if scores is not None else 1
    figure = Figure(figsize=(4.4 * panels, 4.2))
    ax = figure.add_subplot(1, panels, 1)
    ConfusionMatrixDisplay.from_predictions(y_true, y_pred, labels=classes, ax=ax, colorbar=False)
    ax.set_title("Confusion matrix")
    if scores is not None:
        score = np.asarray(scores, dtype=float)
        roc, pr = figure.add_subplot(1, panels, 2), figure.add_subplot(1, panels, 3)
        if score.shape[1] == 1 or len(classes) == 2:  # binary: the positive class's column
            column = score[:, -1]
            RocCurveDisplay.from_predictions(y_true, column, pos_label=classes[-1], ax=roc, name=str(classes[-1]))
            PrecisionRecallDisplay.from_predictions(y_true, column, pos_label=classes[-1], ax=pr, name=str(classes[-1]))
        else:  # one-vs-rest, one curve per class
            for index, label in enumerate(classes):
                if np.any(y_true == label):
                    RocCurveDisplay.from_predictions(y_true == label, score[:, index], ax=roc, name=str(label))
                    PrecisionRecallDisplay.from_predictions(y_true == label, score[:, index], ax=pr, name=str(label))
            for axis in (roc, pr):
                axis.legend(fontsize="x-small", ncol=2)
        roc.set_title("ROC (one-vs-rest)" if len(classes) > 2 else "ROC")
        pr.set_title("Precision-recall")
    _save(figure, path, dpi)


def _regressor_figure(holdout: dict[str, Any], path: Path, dpi: int) -> None:
    y_true = np.asarray(holdout["y_true"], dtype=float)
    y_pred = np.asarray(holdout["y_pred"], dtype=float)
    residuals = y_true - y_pred
    figure = Figure(figsize=(13, 4.2))
    ax = figure.add_subplot(1, 3, 1)
    ax.scatter(y_true, y_pred, s=10, alpha=0.6)
    low, high = float(min(y_true.min(), y_pred.min())), float(max(y_true.max(), y_pred.max()))
    ax.plot([low, high], [low, high], color="grey", linestyle="--")
    ax.set(xlabel="actual", ylabel="predicted", title="Predicted vs actual")
    ax = figure.add_subplot(1, 3, 2)
    ax.scatter(y_pred, residuals, s=10, alpha=0.6)
    ax.axhline(0, color="grey", linestyle="--")
    ax.set(xlabel="predicted", ylabel="residual (actual - predicted)", title="Residuals")
    ax = figure.add_subplot(1, 3, 3)
    ax.hist(residuals, bins=30, color="tab:blue", alpha=0.8)
    ax.set(xlabel="residual", ylabel="rows", title="Residual distribution")
    for axis in figure.axes:
        axis.grid(alpha=0.3)
    _save(figure, path, dpi)


def draw_trials(files: RunFiles, folder: Path, dpi: int) -> dict[str, str | None]:
    """Draw the history and the learning curves into ``folder``: file name -> ``None`` (drawn) or why not."""
    return {
        "history.png": draw_history(files, folder / "history.png", dpi),
        "learning_curves.png": draw_learning_curves(files, folder / "learning_curves.png", dpi),
    }


def draw_surrogate(files: RunFiles, folder: Path, dpi: int) -> dict[str, str | None]:
    """Fit the surrogate once and draw the importance and partial dependence figures from it."""
    reason = surrogate.why_not(files.trials)
    if reason is None:
        fitted = surrogate.fit(files.trials)
        result = surrogate.importance(fitted)
        draw_importance(result, folder / "importance.png", dpi)
        draw_partial_dependence(fitted, result, _scoring(files), folder / "partial_dependence.png", dpi)
    return {"importance.png": reason, "partial_dependence.png": reason}


def draw_model(files: RunFiles, folder: Path, dpi: int) -> dict[str, str | None]:
    """Draw the refit model's evaluation figure into ``folder``: file name -> ``None`` or why not."""
    return {"evaluation.png": draw_evaluation(files, folder / "evaluation.png", dpi)}


def draw_search(files: RunFiles, folder: Path, dpi: int) -> dict[str, str | None]:
    """Draw every figure of the search: :func:`draw_trials` and :func:`draw_surrogate`."""
    return {**draw_trials(files, folder, dpi), **draw_surrogate(files, folder, dpi)}


JOBS = {"search": draw_search, "model": draw_model}
"""What a drawing process can be asked to draw, by job name."""

__all__ = ["JOBS", "draw_model", "draw_search", "draw_surrogate", "draw_trials"]
