"""Everything that can be checked before the first trial is: one line naming the field, exit 2,
no event and nothing written (no MLflow store, no run directory)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from builders import run_config, write_toml

from trainhooks import ConfigError
from trainhooks.config import parse_config
from trainhooks.testing import EventRecorder, make_session

SGD_PENALTY = "The 'penalty' parameter of SGDClassifier must be a str among"

CASES: list[tuple[str, dict[str, Any], str]] = [
    (
        "negative alpha",
        {"model": {"params": {"alpha": -5.0}}},
        "model.params.alpha: The 'alpha' parameter of SGDClassifier must be a float in the range [0.0, inf). "
        "Got -5.0 instead.",
    ),
    (
        "a choice the estimator rejects",
        {"search": {"space": {"penalty": ["l2", "bogus"]}}},
        f"search.space.penalty: 'bogus' is refused: {SGD_PENALTY}",
    ),
    (
        "a choice of the wrong type",
        {"search": {"space": {"penalty": ["l2", 3]}}},
        f"search.space.penalty: 3 is refused: {SGD_PENALTY}",
    ),
    (
        "a range end the estimator rejects",
        {"search": {"space": {"alpha": {"low": -1.0, "high": 1.0}}}},
        "search.space.alpha: -1.0 is refused: The 'alpha' parameter of SGDClassifier must be a float",
    ),
    (
        "a space key the estimator does not have",
        {"search": {"space": {"alpah": [0.1, 0.2]}}},
        "search.space.alpah: SGDClassifier has no parameter 'alpah' (did you mean 'alpha'?)",
    ),
    (
        "a class_weight key that is no class",
        {"model": {"params": {"class_weight": {"5": 2.0}}}},
        "model.params.class_weight: '5' is not a class of the target (classes: 0, 1)",
    ),
    (
        "a table as a searched value",
        {"search": {"space": {"class_weight": [{"0": 2.0}, "balanced"]}}},
        "search.space.class_weight: a table cannot be a searched value",
    ),
    (
        "roc_auc on a multiclass target",
        {"data": {"dataset": "iris"}, "search": {"scoring": "roc_auc"}},
        "search.scoring: 'roc_auc' scores binary targets only; the target has 3 classes "
        "(try 'roc_auc_ovr', 'roc_auc_macro' or 'accuracy')",
    ),
    (
        "a classification scorer for a regressor",
        {
            "data": {"dataset": "diabetes"},
            "model": {"estimator": "sklearn.linear_model.SGDRegressor"},
            "search": {"scoring": "accuracy"},
        },
        "search.scoring: 'accuracy' scores classifiers; SGDRegressor is a regressor (try 'r2')",
    ),
    (
        "a regression scorer for a classifier",
        {"search": {"scoring": "r2"}},
        "search.scoring: 'r2' scores regressors; SGDClassifier is a classifier (try 'accuracy')",
    ),
    (
        "an estimator behind a private module",
        {"model": {"estimator": "sklearn.utils._mocking.CheckingClassifier", "params": {}}},
        "model.estimator: 'sklearn.utils._mocking.CheckingClassifier' goes through the private name '_mocking'",
    ),
]


def _run(config: dict[str, Any]) -> tuple[str, EventRecorder]:
    recorder = EventRecorder()
    session = make_session(recorder)
    with pytest.raises(ConfigError) as raised:
        session.run_config(parse_config(config), "tune")
    return str(raised.value), recorder


@pytest.mark.parametrize(("case", "sections", "message"), CASES, ids=[c[0] for c in CASES])
def test_refused_before_any_event_with_one_line(case: str, sections: dict[str, Any], message: str) -> None:
    error, recorder = _run(run_config(**sections))
    assert error.startswith(message), error
    assert "\n" not in error
    assert recorder.events == []


def test_n_jobs_has_an_upper_bound() -> None:
    with pytest.raises(ConfigError, match=r"search.n_jobs: Input should be less than or equal to 1024"):
        parse_config(run_config(search={"n_jobs": 100000, "executor": "dask"}))
    limit = 4 * (os.cpu_count() or 1)
    with pytest.raises(ConfigError, match=rf"search.n_jobs: at most {limit} worker processes on this machine"):
        parse_config(run_config(search={"n_jobs": limit + 1, "executor": "process"}))


def test_class_weight_keys_from_toml_become_the_target_classes() -> None:
    """TOML keys are strings (``{0 = 1.0}`` reads as ``{"0": 1.0}``); they are turned into the labels."""
    recorder = EventRecorder()
    config = run_config(
        model={"params": {"random_state": 0, "class_weight": {"0": 1.0, "1": 3.0}}},
        search={"n_trials": 2, "space": {"alpha": [1e-4, 1e-3]}},
    )
    result = make_session(recorder).run_config(parse_config(config), "tune")
    assert result.summary["n_complete"] == 2
    assert result.best_estimator.class_weight == {0: 1.0, 1: 3.0}


@pytest.mark.slow
def test_the_cli_exits_2_and_writes_nothing_with_mlflow_on(run_cli: Any, tmp_path: Path) -> None:
    config = write_toml(tmp_path / "bad.toml", run_config(search={"space": {"penalty": ["l2", "bogus"]}}))
    before = set(os.listdir(tmp_path))
    proc = run_cli("tune", str(config))
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith(f"error: search.space.penalty: 'bogus' is refused: {SGD_PENALTY}")
    assert len(proc.stderr.strip().splitlines()) == 1
    assert set(os.listdir(tmp_path)) == before  # no mlflow.db, no mlruns/
