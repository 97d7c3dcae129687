"""Reading trainhooks runs back from MLflow for ``runs list`` and ``runs compare`` (no printing here)."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from typing import Any

from trainhooks import ConfigError

from ._layout import TAG_PREFIX

LOWER_IS_BETTER = frozenset({"std", "score_std", "wall_time_s", "fit_time_s", "duration_s", "n_failed", "n_pruned"})
"""Metrics where the smallest value is the best; other metrics are scores (greater is better)."""

NOT_RANKED = frozenset({"n_trials", "n_complete", "epochs"})
"""Counts with no better direction; never marked best."""

_IS_TRAINHOOKS_RUN = f"tags.`{TAG_PREFIX}kind` LIKE '%'"


def _tag(run: Any, key: str) -> str | None:
    return run.data.tags.get(f"{TAG_PREFIX}{key}")


def _number(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() and abs(value) < 2**53 else value


def _experiment_ids(client: Any, experiment: str | None) -> dict[str, str]:
    """Experiment id -> name: the one named ``experiment``, or every active experiment."""
    if experiment is not None:
        found = client.get_experiment_by_name(experiment)
        if found is None:
            raise ConfigError(f"--experiment: no MLflow experiment named {experiment!r}")
        return {found.experiment_id: found.name}
    return {e.experiment_id: e.name for e in client.search_experiments()}


def run_row(run: Any, experiment_name: str | None = None) -> dict[str, Any]:
    """One line of ``runs list``: who, what, how well, and the MLflow state."""
    metrics = run.data.metrics
    started = dt.datetime.fromtimestamp(run.info.start_time / 1000, tz=dt.timezone.utc) if run.info.start_time else None
    return {
        "run_id": run.info.run_id,
        "trainhooks_run_id": _tag(run, "run_id"),
        "experiment": experiment_name,
        "name": run.info.run_name,
        "kind": _tag(run, "kind"),
        "strategy": _tag(run, "strategy"),
        "scoring": _tag(run, "scoring"),
        "best_score": metrics.get("best_score"),
        "test_score": metrics.get("test_score"),
        "n_trials": _number(metrics.get("n_trials")),
        "stop_reason": _tag(run, "stop_reason"),
        "state": run.info.status,
        "started": started.isoformat(timespec="seconds") if started else None,
    }


def list_rows(client: Any, *, experiment: str | None = None, limit: int = 20) -> list[dict[str, Any]]:
    """The ``limit`` most recent trainhooks parent runs (newest first)."""
    experiments = _experiment_ids(client, experiment)
    if not experiments:
        return []
    runs = client.search_runs(
        list(experiments), filter_string=_IS_TRAINHOOKS_RUN, order_by=["attributes.start_time DESC"], max_results=limit
    )
    return [run_row(run, experiments.get(run.info.experiment_id)) for run in runs]


def resolve_run(client: Any, ref: str) -> Any:
    """An MLflow run by MLflow run id, or by trainhooks run id (or a unique prefix of it)."""
    from mlflow.exceptions import MlflowException

    try:
        return client.get_run(ref)
    except MlflowException:
        pass
    experiments = _experiment_ids(client, None)
    safe = ref.replace("'", "")
    matches = (
        client.search_runs(list(experiments), filter_string=f"tags.`{TAG_PREFIX}run_id` LIKE '{safe}%'", max_results=3)
        if experiments and safe
        else []
    )
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise ConfigError(f"runs compare: no run {ref!r} (neither an MLflow run id nor a trainhooks run id)")
    raise ConfigError(f"runs compare: {ref!r} matches several trainhooks runs; give more characters")


def best_runs(values: dict[str, float | None], metric: str) -> list[str]:
    """Run ids holding the best value of ``metric`` (ties share it); none for unranked metrics."""
    finite = {run: v for run, v in values.items() if isinstance(v, (int, float)) and math.isfinite(v)}
    if metric in NOT_RANKED or len(finite) < 2 or len(set(finite.values())) < 2:
        return []
    target = min(finite.values()) if metric in LOWER_IS_BETTER else max(finite.values())
    return [run for run, v in finite.items() if v == target]


def compare_runs(client: Any, refs: Sequence[str]) -> dict[str, Any]:
    """Params and metrics of several runs keyed by MLflow run id, which params differ, who is best."""
    runs = [resolve_run(client, ref) for ref in refs]
    ids = [run.info.run_id for run in runs]
    if len(set(ids)) < len(ids):
        raise ConfigError("runs compare: the same run is given twice")
    param_names = sorted({k for run in runs for k in run.data.params})
    metric_names = sorted({k for run in runs for k in run.data.metrics})
    params = {k: {run.info.run_id: run.data.params.get(k) for run in runs} for k in param_names}
    metrics = {k: {run.info.run_id: _number(run.data.metrics.get(k)) for run in runs} for k in metric_names}
    return {
        "runs": [run_row(run) for run in runs],
        "params": params,
        "differing_params": [k for k, values in params.items() if len(set(values.values())) > 1],
        "metrics": metrics,
        "best": {k: best_runs(values, k) for k, values in metrics.items() if best_runs(values, k)},
    }


__all__ = ["LOWER_IS_BETTER", "NOT_RANKED", "best_runs", "compare_runs", "list_rows", "resolve_run", "run_row"]
