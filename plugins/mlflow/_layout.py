"""What goes where in MLflow: tags, params, metrics and tables of the run tree (pure functions).

Parent run (one per tune/train): MLflow's own ``mlflow.user`` (the run's principal) and
``mlflow.source.name``/``mlflow.source.type`` (the config file or Python script), tags
``trainhooks.*`` (kind, strategy, version, config digest, run id, estimator, scoring); params
``model.<name>`` (fixed estimator params), ``search.<name>`` (search settings) and ``space.<name>``
as readable text (``[l2, l1, elasticnet]``, ``log-uniform(1e-06, 0.1)``); at the end the summary's
numbers as metrics (step 0) and the search as two metric histories with ``step`` = ``trial_id``:
``cv_score`` (each complete trial's score) and ``best_cv_score`` (the best so far), so MLflow's
chart view draws the search.
Child run per trial (named ``trial-<trial_id>``): the trial's params, single values
``score``/``score_std``/``fold<i>_score``/``epochs``/``duration_s`` at step 0, and its reports as
histories: ``epoch_score``/``epoch_score_std`` with ``step`` = epoch for a trial trained by epochs,
``fold_running_score``/``fold_running_score_std`` with ``step`` = folds done for a one-epoch trial
that reports after each fold (``epoch-ended`` with ``unit = "fold"``), so a fold is never drawn as
an epoch.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from trainhooks import SUMMARY_KEYS, __version__
from trainhooks.hooks import EpochEnded, TrialEnded

TAG_PREFIX = "trainhooks."
PARENT_TAG = "mlflow.parentRunId"

SUMMARY_METRICS = tuple(
    key for key in SUMMARY_KEYS if key not in ("best_params", "best_trial_id", "strategy", "scoring", "stop_reason")
)
"""Summary keys logged as metrics of the parent run: every numeric one except the trial id."""


@dataclass(frozen=True)
class ParentRun:
    """Where the parent run is: its MLflow run id and experiment id (for its URL)."""

    run_id: str
    experiment_id: str


def run_url(tracking_uri: str | None, parent: ParentRun) -> str | None:
    """The parent run's page on a tracking server (``None`` for a local store, which has no UI of its own).

    Credentials and the query of the tracking URI are left out: a link is printed, stored in the
    summary and pasted into tickets, and a browser asks for the login itself.
    """
    if not tracking_uri or not tracking_uri.startswith(("http://", "https://")):
        return None
    parts = urlsplit(tracking_uri)
    base = f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{parts.path}".rstrip("/")
    return f"{base}/#/experiments/{parent.experiment_id}/runs/{parent.run_id}"


@dataclass
class TrialRecord:
    """What the plugin keeps of one trial until it is written (epoch history is buffered)."""

    trial_id: int
    params: dict[str, Any]
    started_ms: int
    epochs: list[tuple[int, int, dict[str, Any]]] = field(default_factory=list)  # (step, ms, report_values)
    ended: TrialEnded | None = None
    ended_ms: int | None = None


def ms(seconds: float) -> int:
    """An event timestamp (seconds) as MLflow's milliseconds."""
    return int(seconds * 1000)


def finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def config_digest(config: Mapping[str, Any]) -> str:
    """A short, stable digest of the run configuration (same config, same digest)."""
    text = json.dumps(config, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


USER_TAG, SOURCE_NAME_TAG, SOURCE_TYPE_TAG = "mlflow.user", "mlflow.source.name", "mlflow.source.type"
HISTORY_METRIC, BEST_METRIC = "cv_score", "best_cv_score"
"""The parent run's search history: one point per complete trial, at ``step`` = its ``trial_id``."""


def trial_run_name(trial_id: int) -> str:
    """The child run's name: the trial's ``trial_id`` (0-based, as in events, summary and trials.csv)."""
    return f"trial-{trial_id}"


def identity_tags(user: str | None, source: str | None) -> dict[str, str]:
    """MLflow's User and Source columns: the run's principal and where the run was described."""
    tags = {USER_TAG: user} if user else {}
    if source:
        tags.update({SOURCE_NAME_TAG: source, SOURCE_TYPE_TAG: "LOCAL"})
    return tags


def parent_tags(
    run_id: str, kind: str, config: Mapping[str, Any], *, user: str | None = None, source: str | None = None
) -> dict[str, str]:
    search = config.get("search") or {}
    return {
        **identity_tags(user, source),
        f"{TAG_PREFIX}run_id": run_id,
        f"{TAG_PREFIX}kind": kind,
        f"{TAG_PREFIX}strategy": str(search.get("strategy", "fixed") if kind == "tune" else "fixed"),
        f"{TAG_PREFIX}version": __version__,
        f"{TAG_PREFIX}config_digest": config_digest(config),
        f"{TAG_PREFIX}estimator": model_text(config.get("model") or {}),
        f"{TAG_PREFIX}scoring": str(search.get("scoring")),
    }


def _short(dotted: str) -> str:
    return dotted.rsplit(".", 1)[-1]


def model_text(model: Mapping[str, Any]) -> str:
    """The ``[model]`` in one line: the estimator's dotted name, ``Pipeline(prep=auto, clf=SGDClassifier)``
    for ``steps``, ``Pipeline(prep=auto, model=SGDClassifier)`` behind ``preprocess = "auto"``."""
    if model.get("steps"):
        return "Pipeline(" + ", ".join(f"{s['name']}={_short(str(s['estimator']))}" for s in model["steps"]) + ")"
    estimator = str(model.get("estimator") or "")
    if model.get("preprocess"):
        return f"Pipeline(prep={model['preprocess']}, model={_short(estimator)})"
    return estimator


def model_params(model: Mapping[str, Any], space: Mapping[str, Any]) -> dict[str, Any]:
    """The fixed params of the model, searched ones left out: ``model.<param>`` for one estimator,
    ``model.<step>.<param>`` for a step (search key ``<step>__<param>``) and
    ``model.<step>.<entry>.<param>`` for a ColumnTransformer entry (``<step>__<entry>__<param>``)."""
    if not model.get("steps"):
        searched = "model__" if model.get("preprocess") else ""  # behind preprocess the step is "model"
        return {f"model.{k}": v for k, v in (model.get("params") or {}).items() if searched + k not in space}
    params: dict[str, Any] = {}
    for step in model["steps"]:
        found = {(step["name"],): step.get("params") or {}}
        found.update({(step["name"], e["name"]): e.get("params") or {} for e in step.get("transformers") or ()})
        for path, values in found.items():
            params.update(
                {"model." + ".".join((*path, k)): v for k, v in values.items() if "__".join((*path, k)) not in space}
            )
    return params


def parent_params(config: Mapping[str, Any]) -> dict[str, Any]:
    """The model (:func:`model_text`), its fixed params (:func:`model_params`) and the search settings
    (one param per dimension)."""
    model = config.get("model") or {}
    search = dict(config.get("search") or {})
    space = search.pop("space", None) or {}
    params: dict[str, Any] = {"estimator": model_text(model)}
    params.update(model_params(model, space))
    params.update({f"search.{k}": v for k, v in search.items() if v is not None})
    params.update({f"space.{k}": space_text(v) for k, v in space.items()})
    return params


def _number(value: Any) -> str:
    return repr(value) if isinstance(value, float) else str(value)


def space_text(dimension: Any) -> str:
    """One search dimension as people write it: ``[l2, l1, elasticnet]``, ``log-uniform(1e-06, 0.1)``,
    ``int-uniform(5, 50)``; a distribution given from Python keeps its own text."""
    if isinstance(dimension, (list, tuple)):
        return "[" + ", ".join(_number(choice) for choice in dimension) + "]"
    if isinstance(dimension, Mapping) and "low" in dimension and "high" in dimension:
        shape = "log-uniform" if dimension.get("log") else "uniform"
        kind = f"int-{shape}" if dimension.get("type") == "int" else shape
        return f"{kind}({_number(dimension['low'])}, {_number(dimension['high'])})"
    return str(dimension)


REPORT_PREFIXES = {"epoch": "epoch_", "fold": "fold_running_"}
"""The metric prefix of a report by its ``unit``: an epoch's scores, or the running mean after a fold."""


def report_values(event: EpochEnded) -> dict[str, Any]:
    """What the plugin buffers of one ``epoch-ended`` event: its metrics and its ``unit``."""
    return {**event.metrics, "unit": event.unit}


def epoch_metrics(report: Mapping[str, Any]) -> dict[str, float]:
    """The scalar numbers of one buffered report (:func:`report_values`), named by its unit:
    ``epoch_score``/``epoch_score_std`` for an epoch, ``fold_running_score``/``fold_running_score_std``
    for a fold report (the running mean over the folds done).

    Per-fold scores are logged once, at the end of the trial (``fold<i>_score``), not per report:
    they would triple the rows MLflow writes for little use.
    """
    prefix = REPORT_PREFIXES.get(str(report.get("unit", "epoch")), "epoch_")
    return {f"{prefix}{key}": float(value) for key, value in report.items() if key != "unit" and finite(value)}


def final_metrics(ended: TrialEnded) -> dict[str, float]:
    values: dict[str, Any] = {
        "score": ended.score,
        "score_std": ended.score_std,
        "epochs": ended.epochs,
        "duration_s": ended.duration_s,
    }
    values.update({f"fold{i}_score": v for i, v in enumerate(ended.fold_scores)})
    return {k: float(v) for k, v in values.items() if finite(v)}


def trial_tags(ended: TrialEnded) -> dict[str, str]:
    tags = {f"{TAG_PREFIX}state": ended.state}
    if ended.stop_reason:
        tags[f"{TAG_PREFIX}stop_reason"] = ended.stop_reason
    if ended.error:
        tags[f"{TAG_PREFIX}error"] = ended.error[:5000]
    return tags


def trial_status(ended: TrialEnded) -> str:
    """MLflow status of a finished trial: failed -> FAILED (Ctrl-C -> KILLED), else FINISHED."""
    if ended.state == "failed":
        return "KILLED" if ended.error == "interrupted" else "FAILED"
    return "FINISHED"


def summary_metrics(summary: Mapping[str, Any]) -> dict[str, float]:
    return {key: float(summary[key]) for key in SUMMARY_METRICS if finite(summary.get(key))}


def search_history(records: Iterable[TrialRecord]) -> list[tuple[str, float, int, int]]:
    """``(key, value, timestamp_ms, step)`` points of :data:`HISTORY_METRIC` and :data:`BEST_METRIC`.

    One pair per complete trial with a finite score, in ``trial_id`` order, ``step`` = ``trial_id``:
    the parent run's chart then shows the score of every trial and the best so far over the search.
    """
    points: list[tuple[str, float, int, int]] = []
    best: float | None = None
    for record in sorted(records, key=lambda r: r.trial_id):
        ended = record.ended
        if ended is None or ended.state != "complete" or not finite(ended.score):
            continue
        score = float(ended.score)  # type: ignore[arg-type]
        best = score if best is None else max(best, score)
        when = record.ended_ms or record.started_ms
        points += [(HISTORY_METRIC, score, when, record.trial_id), (BEST_METRIC, best, when, record.trial_id)]
    return points


def top_trials(records: Iterable[TrialRecord], k: int) -> list[TrialRecord]:
    """The ``k`` best complete trials (highest score; earlier trial first on a tie)."""
    done = [r for r in records if r.ended and r.ended.state == "complete" and finite(r.ended.score)]
    return sorted(done, key=lambda r: (-r.ended.score, r.trial_id))[:k]  # type: ignore[union-attr,operator]


def trials_csv(records: Sequence[TrialRecord]) -> str:
    """The trials table (every finished trial, whatever ``log_trials`` says) as CSV text."""
    ended = [r.ended for r in sorted(records, key=lambda r: r.trial_id) if r.ended is not None]
    names = list(dict.fromkeys(name for e in ended for name in e.params))
    folds = max((len(e.fold_scores) for e in ended), default=0)
    header = [
        "trial_id",
        "state",
        *(f"param_{n}" for n in names),
        "mean_test_score",
        "std_test_score",
        *(f"split{i}_test_score" for i in range(folds)),
        "epochs",
        "duration_s",
        "stop_reason",
        "error",
    ]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for e in ended:
        scores = list(e.fold_scores) + [""] * (folds - len(e.fold_scores))
        writer.writerow(
            [
                e.trial_id,
                e.state,
                *(e.params.get(n, "") for n in names),
                "" if e.score is None else e.score,
                "" if e.score_std is None else e.score_std,
                *scores,
                e.epochs,
                round(e.duration_s, 6),
                e.stop_reason or "",
                e.error or "",
            ]
        )
    return out.getvalue()


__all__ = [
    "PARENT_TAG",
    "SUMMARY_METRICS",
    "TAG_PREFIX",
    "ParentRun",
    "TrialRecord",
    "config_digest",
    "epoch_metrics",
    "final_metrics",
    "identity_tags",
    "model_params",
    "model_text",
    "ms",
    "parent_params",
    "parent_tags",
    "report_values",
    "run_url",
    "search_history",
    "space_text",
    "summary_metrics",
    "top_trials",
    "trial_run_name",
    "trial_status",
    "trial_tags",
    "trials_csv",
]
