"""Exit codes tell the truth: a run whose every trial failed exits 1, a partly failed one says why.

Every trial failing here cannot be caught before the run starts (the parameters are valid; the
data or the fit is what fails), so the run really starts, trials really fail, and ``run-ended``
is still sent with the summary.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from builders import breast_cancer, labelled_frame, run_config, write_frame, write_toml
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.dummy import DummyClassifier

from trainhooks import SUMMARY_KEYS, AllTrialsFailed, TrainhooksError
from trainhooks.hooks import RunEnded, RunFailed
from trainhooks.testing import check_event_order

NEGATIVE_FEATURES = "Negative values in data passed to MultinomialNB (input X)."
"""MultinomialNB's error on every fit of data with negative features (``labelled_frame`` has them)."""


def all_failing_config(tmp_path: Path, **sections: Any) -> Path:
    """A tune of MultinomialNB on a table with negative features: 4 valid trials, every fit fails."""
    data = write_frame(tmp_path / "data.csv", labelled_frame(60))
    config = run_config(
        data={"dataset": None, "path": str(data), "target": "label"},
        model={"estimator": "sklearn.naive_bayes.MultinomialNB", "params": {}},
        search={"n_trials": 4, "cv": 2, "space": {"alpha": {"low": 0.1, "high": 2.0}}},
        plugins={"disable": ["mlflow"]},
    )
    config = run_config(config, **sections)
    return write_toml(tmp_path / "run.toml", config)


class Picky(ClassifierMixin, BaseEstimator):
    """Predicts the majority class; ``mode`` other than "ok" makes ``fit`` raise (ValueError for "boom...")."""

    def __init__(self, mode: str = "ok") -> None:
        self.mode = mode

    def fit(self, X: Any, y: Any) -> Picky:
        if self.mode.startswith("boom"):
            raise ValueError("boom\nsecond line of the message")
        if self.mode != "ok":
            raise RuntimeError(f"crash in {self.mode}")
        self.model_ = DummyClassifier().fit(X, y)
        self.classes_ = self.model_.classes_
        return self

    def predict(self, X: Any) -> Any:
        return self.model_.predict(X)


# -- the command line ---------------------------------------------------------------------------


@pytest.mark.slow
def test_every_trial_failing_exits_1_with_one_error_line_and_the_json_summary(tmp_path: Path, run_cli) -> None:
    config = all_failing_config(tmp_path)
    done = run_cli("tune", str(config), "--json", "--quiet")
    assert done.returncode == 1, done.stderr
    assert done.stderr.splitlines() == [
        f"error: all 4 trials failed; first error (trial 0): ValueError: {NEGATIVE_FEATURES}"
    ]
    data = json.loads(done.stdout)  # a JSON consumer still gets the whole run
    summary = data["summary"]
    assert [k for k in summary if k != "notes"] == list(SUMMARY_KEYS)
    assert summary["n_trials"] == summary["n_failed"] == 4 and summary["best_score"] is None
    failures = f'4 of 4 trials failed; most common: "ValueError: {NEGATIVE_FEATURES}" (4)'
    assert [note for note in summary["notes"] if not note.startswith("report: ")] == [failures]
    assert [t["state"] for t in data["trials"]] == ["failed"] * 4


@pytest.mark.slow
def test_every_trial_failing_shows_the_summary_table_then_the_error(tmp_path: Path, run_cli) -> None:
    done = run_cli("train", str(all_failing_config(tmp_path)), "--quiet")
    assert done.returncode == 1
    assert "Train summary" in done.stdout and "n_failed" in done.stdout
    assert "1 of 1 trials failed; most common:" in done.stdout
    assert done.stderr.splitlines() == [f"error: the only trial failed (trial 0): ValueError: {NEGATIVE_FEATURES}"]
    assert "Traceback" not in done.stderr


@pytest.mark.slow
def test_a_partly_failed_run_exits_0_and_its_summary_gives_the_most_common_reason(tmp_path: Path, run_cli) -> None:
    # 120 iris rows for training, 2 folds: 60 rows per fit, so n_neighbors = 100 fails when scoring
    config = write_toml(
        tmp_path / "run.toml",
        run_config(
            data={"dataset": "iris", "test_size": 0.2, "random_state": 0},
            model={"estimator": "sklearn.neighbors.KNeighborsClassifier", "params": {}},
            search={"strategy": "grid", "n_trials": 3, "cv": 2, "space": {"n_neighbors": [3, 100, 5]}},
            plugins={"disable": ["mlflow"]},
        ),
    )
    table = run_cli("tune", str(config), "--quiet", env={"COLUMNS": "300"})  # wide enough not to wrap
    assert table.returncode == 0, table.stderr
    (note_row,) = [line for line in table.stdout.splitlines() if "trials failed" in line]
    assert "notes " in note_row and '1 of 3 trials failed; most common: "ValueError: Expected n_neighbors' in note_row
    (failed_row,) = [line for line in table.stdout.splitlines() if "n_failed" in line]
    assert failed_row.split("│")[2].strip() == "1"

    done = run_cli("tune", str(config), "--json", "--quiet")
    assert done.returncode == 0 and done.stderr == ""
    summary = json.loads(done.stdout)["summary"]
    assert summary["n_failed"] == 1 and summary["n_complete"] == 2 and summary["best_params"]["n_neighbors"] in (3, 5)
    (note,) = [n for n in summary["notes"] if "trials failed" in n]  # the report plugin adds held-out metrics
    assert note.startswith('1 of 3 trials failed; most common: "ValueError: Expected n_neighbors <= n_samples_fit')
    assert note.endswith('" (1)')


@pytest.mark.slow
def test_the_mlflow_parent_run_of_an_all_failed_run_ends_failed(tmp_path: Path, run_cli) -> None:
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    config = all_failing_config(
        tmp_path, experiment={"name": "all-failed", "tracking_uri": uri}, plugins={"disable": []}
    )
    done = run_cli("tune", str(config), "--json", "--quiet")
    assert done.returncode == 1, done.stderr
    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name("all-failed")
    runs = client.search_runs([experiment.experiment_id], filter_string="tags.`trainhooks.kind` = 'tune'")
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    (parent,) = parents
    assert parent.info.status == "FAILED"
    assert parent.data.metrics["n_failed"] == 4


# -- Python -------------------------------------------------------------------------------------


def test_tune_raises_all_trials_failed_after_run_ended(trainhooks_session, trainhooks_recorder) -> None:
    X, y = breast_cancer(120)
    with pytest.raises(AllTrialsFailed) as info:
        trainhooks_session().tune(Picky(), {"mode": ["boom", "crash"]}, X, y, strategy="grid", cv=2)
    failed = info.value
    assert isinstance(failed, TrainhooksError) and failed.exit_code == 1
    assert str(failed) == "all 2 trials failed; first error (trial 0): ValueError: boom"
    assert failed.result.summary["n_failed"] == 2 and failed.result.best_estimator is None
    assert [t["error"].splitlines()[0] for t in failed.result.trials] == [
        "ValueError: boom",
        "RuntimeError: crash in crash",
    ]
    # the run ended (not failed): plugins got run-ended with the same summary
    events = trainhooks_recorder.events
    check_event_order(events)
    assert not trainhooks_recorder.of(RunFailed)
    (ended,) = trainhooks_recorder.of(RunEnded)
    assert {**ended.summary, "notes": list(ended.summary["notes"])} == failed.result.summary  # events freeze lists


def test_a_partly_failed_tune_returns_and_notes_the_most_common_reason(trainhooks_session) -> None:
    X, y = breast_cancer(120)
    space = {"mode": ["ok", "crash", "boom_a", "boom_b"]}
    result = trainhooks_session().tune(Picky(), space, X, y, strategy="grid", cv=2)
    assert result.summary["n_failed"] == 3 and result.best_params == {"mode": "ok"}
    # first lines of the errors are the reasons: two ValueErrors beat the RuntimeError seen first
    assert result.summary["notes"] == ['3 of 4 trials failed; most common: "ValueError: boom" (2)']


def test_a_run_without_failures_has_no_failure_note(trainhooks_session) -> None:
    X, y = breast_cancer(120)
    result = trainhooks_session().tune(Picky(), {"mode": ["ok"]}, X, y, strategy="grid", cv=2)
    assert result.summary["n_failed"] == 0 and "notes" not in result.summary
