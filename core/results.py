"""The trials table, the run summary (fixed keys, DESIGN section 6) and the result objects."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import TrainhooksError

if TYPE_CHECKING:  # not at run time: the MLflow writer process reads SUMMARY_KEYS without scikit-learn
    from .trial import TrialResult

SUMMARY_KEYS = (
    "best_score",
    "best_params",
    "best_trial_id",
    "test_score",
    "median",
    "std",
    "min",
    "max",
    "n_trials",
    "n_complete",
    "n_pruned",
    "n_failed",
    "strategy",
    "scoring",
    "stop_reason",
    "wall_time_s",
    "fit_time_s",
)
"""The summary's keys, in display order; fixed by the public contract."""


def trial_row(result: TrialResult) -> dict[str, Any]:
    """One row of the trials table, shaped like a row of sklearn's ``cv_results_``."""
    row: dict[str, Any] = {
        "trial_id": result.trial_id,
        "state": result.state,
        "params": dict(result.params),
        "mean_test_score": result.score,
        "std_test_score": result.score_std,
    }
    for i, score in enumerate(result.fold_scores):
        row[f"split{i}_test_score"] = score
    row.update(
        {
            "epochs": result.epochs,
            "best_epoch": result.best_epoch,
            "fit_time_s": result.fit_time_s,
            "duration_s": result.duration_s,
            "stop_reason": result.stop_reason,
            "error": result.error,
        }
    )
    return row


def best_result(results: Sequence[TrialResult]) -> TrialResult | None:
    """The complete trial with the highest score (the first one on a tie)."""
    complete = [r for r in results if r.state == "complete" and r.score is not None]
    return max(complete, key=lambda r: r.score) if complete else None  # type: ignore[arg-type,return-value]


def failure_reason(error: str | None) -> str:
    """A failed trial's reason in one line: the first line of its error message."""
    lines = (error or "").strip().splitlines()
    return lines[0].strip() if lines else "unknown error"


def failure_note(results: Sequence[TrialResult]) -> str | None:
    """One line on failed trials, for the summary's ``notes`` (``None`` when no trial failed).

    ``n_failed`` says how many; the note adds the most common reason (the first line of the error;
    on a tie, the reason seen first), since a mistyped parameter fails every trial the same way.
    """
    reasons = Counter(failure_reason(r.error) for r in results if r.state == "failed")
    if not reasons:
        return None
    reason, count = reasons.most_common(1)[0]
    return f'{sum(reasons.values())} of {len(results)} trials failed; most common: "{reason}" ({count})'


def all_trials_failed(summary: Mapping[str, Any]) -> bool:
    """Whether a run had trials and every one of them failed (the CLI then exits 1)."""
    return summary["n_trials"] > 0 and summary["n_failed"] == summary["n_trials"]


def summarize(
    results: Sequence[TrialResult],
    *,
    strategy: str,
    scoring: str | None,
    stop_reason: str,
    wall_time_s: float,
    test_score: float | None,
    notes: Sequence[str] = (),
    links: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """The run summary: a flat dict with :data:`SUMMARY_KEYS`, then ``notes`` and ``links`` if there are any.

    ``notes`` are the lines plugins added (``RunContext.add_note``); the core puts its own line on
    failed trials (:func:`failure_note`) before them. ``links`` are the places plugins recorded
    the run in (``RunContext.add_link``; see :func:`with_links`).
    """
    scores = [r.score for r in results if r.state == "complete" and r.score is not None]
    best = best_result(results)
    summary = {
        "best_score": best.score if best else None,
        "best_params": dict(best.params) if best else None,
        "best_trial_id": best.trial_id if best else None,
        "test_score": test_score,
        "median": statistics.median(scores) if scores else None,
        "std": statistics.pstdev(scores) if scores else None,
        "min": min(scores) if scores else None,
        "max": max(scores) if scores else None,
        "n_trials": len(results),
        "n_complete": sum(r.state == "complete" for r in results),
        "n_pruned": sum(r.state == "pruned" for r in results),
        "n_failed": sum(r.state == "failed" for r in results),
        "strategy": strategy,
        "scoring": scoring,
        "stop_reason": stop_reason,
        "wall_time_s": wall_time_s,
        "fit_time_s": sum(r.fit_time_s for r in results),
    }
    ordered = {key: summary[key] for key in SUMMARY_KEYS}
    all_notes = [note for note in (failure_note(results), *notes) if note]
    if all_notes:
        ordered["notes"] = all_notes
    return with_links(ordered, links)


def with_links(summary: Mapping[str, Any], links: Mapping[str, Mapping[str, Any]] | None) -> dict[str, Any]:
    """``summary`` with a ``links`` entry (name -> ``{"run_id", "url"}``), or unchanged without links."""
    summary = dict(summary)
    if links:
        summary["links"] = {name: dict(link) for name, link in links.items()}
    return summary


@dataclass
class RunResult:
    """What ``tune``/``train`` return: the best model and score, every trial, and the summary.

    :ivar run_id: the trainhooks run id (the ``run_id`` of every event of the run).
    :ivar best_params: parameters of the best complete trial (``None`` if none completed).
    :ivar best_score: its mean cross-validation score.
    :ivar best_estimator: the best parameters refit on the whole training split (or ``None``).
    :ivar test_score: the refit model's score on the held-out split, if there is one.
    :ivar trials: the trials table, one dict per trial (see :func:`trial_row`).
    :ivar summary: the run summary (:data:`SUMMARY_KEYS`).
    """

    run_id: str
    kind: str
    best_params: dict[str, Any] | None
    best_score: float | None
    best_estimator: Any
    test_score: float | None
    trials: list[dict[str, Any]]
    summary: dict[str, Any]
    results: list[TrialResult] = field(default_factory=list, repr=False)

    @property
    def cv_results_(self) -> dict[str, list[Any]]:
        """The trials table column by column, like sklearn's ``cv_results_``."""
        columns: dict[str, list[Any]] = {}
        for row in self.trials:
            for key in row:
                columns.setdefault(key, [])
        for row in self.trials:
            for key, values in columns.items():
                values.append(row.get(key))
        return columns

    def to_frame(self) -> Any:
        """The trials table as a pandas DataFrame (one column per parameter)."""
        import pandas as pd

        rows = [{**{f"param_{k}": v for k, v in row["params"].items()}, **row} for row in self.trials]
        return pd.DataFrame(rows).drop(columns=["params"], errors="ignore")

    def to_json_dict(self) -> dict[str, Any]:
        """What ``tune --json`` prints: run id, summary and trials."""
        return {"run_id": self.run_id, "summary": self.summary, "trials": self.trials}

    def raise_if_all_failed(self) -> RunResult:
        """Raise :class:`AllTrialsFailed` if every trial failed; otherwise return this result."""
        if all_trials_failed(self.summary):
            raise AllTrialsFailed(self)
        return self


class AllTrialsFailed(TrainhooksError):
    """Every trial of the run failed, so there is no best model. Exit 1.

    The run itself ended normally (plugins got ``run-ended`` with the summary; MLflow's parent run
    ends ``FAILED``); ``result`` is the complete :class:`RunResult`, failed trials and errors
    included. The message names the first failed trial's error, in one line, like
    scikit-learn's ``All the 5 fits failed``.
    """

    exit_code = 1

    def __init__(self, result: RunResult) -> None:
        first = next(row for row in result.trials if row["state"] == "failed")
        reason = failure_reason(first["error"])
        n = len(result.trials)
        if n == 1:
            message = f"the only trial failed (trial {first['trial_id']}): {reason}"
        else:
            message = f"all {n} trials failed; first error (trial {first['trial_id']}): {reason}"
        super().__init__(message)
        self.result = result


__all__ = [
    "SUMMARY_KEYS",
    "AllTrialsFailed",
    "RunResult",
    "all_trials_failed",
    "best_result",
    "failure_note",
    "failure_reason",
    "summarize",
    "trial_row",
    "with_links",
]
