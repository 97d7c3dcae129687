"""The process executor: real worker processes on this machine, plugins in the driver only."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from builders import run_config, write_toml
from parallel_helpers import (
    SPACE,
    FragileSGD,
    ScriptedStrategies,
    StopTrial,
    assert_run_order,
    data,
    table,
    tune,
)
from sklearn.linear_model import SGDClassifier

from trainhooks import AllTrialsFailed, RunResult
from trainhooks.executors.process import ProcessExecutor
from trainhooks.testing import EventRecorder, make_session


@pytest.fixture(autouse=True, scope="module")
def _pool_started_before() -> None:
    """These tests check that trials run in worker processes (and kill workers): start a pool
    first, as an earlier search in this Python process would, so the driver never trains a trial
    itself while the pool starts (test_parallel_startup.py covers that)."""
    ProcessExecutor(1).close()


def test_every_trial_reports_in_order_and_a_stop_decision_ends_the_running_worker_trial() -> None:
    recorder = EventRecorder()
    result = tune(recorder, StopTrial(trial_id=1, epoch=2), executor="process", n_jobs=2, n_trials=5)

    per_trial = assert_run_order(recorder.events)
    assert sorted(per_trial) == [0, 1, 2, 3, 4]
    # trials really overlapped: some trial started before another one ended
    names = recorder.names
    assert names.index("trial-started", names.index("trial-started") + 1) < names.index("trial-ended")
    stopped = result.results[1]
    assert (stopped.state, stopped.epochs, stopped.stop_reason) == ("pruned", 2, "test-stop")
    assert [e.epoch for e in per_trial[1] if e.name == "epoch-ended"] == [1, 2]
    for trial_id in (0, 2, 3, 4):
        assert result.results[trial_id].state == "complete" and result.results[trial_id].epochs == 4
    # trials ran in other processes, never in the driver
    workers = {r.worker for r in result.results}
    assert f"pid {os.getpid()}" not in workers and all(w and w.startswith("pid ") for w in workers)


def test_parallel_random_search_matches_the_sequential_one() -> None:
    sequential = tune(EventRecorder(), executor="sequential", n_trials=6)
    parallel = tune(EventRecorder(), executor="process", n_jobs=2, n_trials=6)
    assert table(parallel) == table(sequential)
    assert parallel.summary["best_params"] == sequential.summary["best_params"]


@pytest.mark.slow
def test_parallel_bayes_search_is_reproducible_for_a_seed_and_n_jobs() -> None:
    runs = [tune(EventRecorder(), strategy="bayes", executor="process", n_jobs=2, n_trials=6) for _ in range(2)]
    assert table(runs[0]) == table(runs[1])
    points = [tuple(sorted(row["params"].items())) for row in runs[0].trials]
    assert len(set(points)) == len(points)  # the constant liar keeps a batch's points apart


def test_a_killed_worker_process_fails_its_trial_as_worker_lost_and_the_retry_completes(tmp_path: Path) -> None:
    recorder = EventRecorder()
    estimator = FragileSGD(die_marker=str(tmp_path / "died"), die_at=2)
    result = tune(recorder, estimator=estimator, executor="process", n_jobs=2, n_trials=4)

    assert (tmp_path / "died").exists()
    assert_run_order(recorder.events)
    lost = [r for r in result.results if r.state == "failed"]
    assert len(lost) == 1 and lost[0].error.startswith("worker lost: process ") and "SIGKILL" in lost[0].error
    assert lost[0].epochs == 1  # it died training epoch 2, after reporting epoch 1
    retry = [r for r in result.results if r.trial_id > lost[0].trial_id and r.params == lost[0].params]
    assert len(retry) == 1 and retry[0].state == "complete" and retry[0].epochs == 4
    assert result.summary["n_complete"] == 4 and result.summary["n_failed"] == 1
    assert result.summary["stop_reason"] == "n_trials"


def test_a_trial_that_raises_is_failed_and_not_retried() -> None:
    recorder = EventRecorder()
    estimator = FragileSGD(raise_if_alpha_above=1e-3)
    result = tune(recorder, estimator=estimator, executor="process", n_jobs=2, n_trials=6)

    assert_run_order(recorder.events)
    failed = [r for r in result.results if r.state == "failed"]
    assert failed and all(r.error.startswith("ValueError: alpha") for r in failed)
    assert len(result.results) == 6  # no retries
    assert len({tuple(r.params.items()) for r in result.results}) == 6


@pytest.mark.slow
def test_a_config_file_selects_the_process_executor_from_the_command_line(run_cli, tmp_path: Path) -> None:
    config = tmp_path / "run.toml"
    write_toml(
        config,
        run_config(data={"test_size": 0.2}, search={"n_trials": 4, "cv": 2, "executor": "process", "n_jobs": 2}),
    )
    done = run_cli("tune", str(config), "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert [row["trial_id"] for row in report["trials"]] == [0, 1, 2, 3]
    assert all(row["state"] == "complete" and row["epochs"] == 2 for row in report["trials"])
    assert report["summary"]["n_complete"] == 4 and report["summary"]["test_score"] is not None


@pytest.mark.slow
def test_a_strategy_with_ask_many_runs_in_batches_told_in_trial_order() -> None:
    points = [{"alpha": a, "delay_s": d} for a, d in [(1e-4, 0.6), (1e-3, 0.0), (1e-2, 0.0), (1e-1, 0.0), (1e-5, 0.0)]]
    strategies = ScriptedStrategies(points)
    recorder = EventRecorder()
    result = tune(
        recorder, strategies, estimator=FragileSGD(), strategy="scripted_batch", executor="process", n_jobs=2,
        n_trials=5, max_epochs=2,
    )  # fmt: skip

    assert [r.state for r in result.results] == ["complete"] * 5
    told = [params for call, params in strategies.calls if call == "tell"]
    assert [call for call, _ in strategies.calls] == ["ask_many", "tell", "tell"] * 2 + ["ask_many", "tell"]
    assert told == points  # trial 1 finished before the slow trial 0, yet 0 was told first
    ended = [e.trial_id for e in recorder.of("trial-ended")]
    assert ended[:2] == [1, 0]


@pytest.mark.slow
def test_a_strategy_without_ask_many_refills_free_slots_and_is_told_in_trial_order() -> None:
    points = [{"alpha": a, "delay_s": d} for a, d in [(1e-4, 0.6), (1e-3, 0.0), (1e-2, 0.0), (1e-1, 0.0)]]
    strategies = ScriptedStrategies(points)
    recorder = EventRecorder()
    tune(
        recorder, strategies, estimator=FragileSGD(), strategy="scripted", executor="process", n_jobs=2,
        n_trials=4, max_epochs=2,
    )  # fmt: skip

    told = [params for call, params in strategies.calls if call == "tell"]
    assert told == points
    # trial 2 started while the slow trial 0 was still running: a free slot is refilled at once
    names = [(e.name, e.trial_id) for e in recorder.events if e.name in ("trial-started", "trial-ended")]
    assert names.index(("trial-started", 2)) < names.index(("trial-ended", 0))


def test_early_stopping_in_workers_stops_the_same_trials_at_the_same_epochs_every_time() -> None:
    def run() -> RunResult:
        X, y = data()
        session = make_session(EventRecorder(), builtins=["early_stopping"])
        return session.tune(
            SGDClassifier(random_state=0), SPACE, X, y, strategy="random", n_trials=6, cv=2, max_epochs=12,
            scoring="accuracy", executor="process", n_jobs=2,
            plugin_config={"early_stopping": {"patience": 2, "min_delta": 0.01}},
        )  # fmt: skip

    first, second = run(), run()
    assert table(first) == table(second)
    assert any(row["epochs"] < 12 and row["stop_reason"] for row in first.trials)  # some trials stopped early
    assert [row["stop_reason"] for row in first.trials] == [row["stop_reason"] for row in second.trials]


def test_parallel_bayes_does_not_repeat_a_batch_when_every_trial_so_far_failed() -> None:
    with pytest.raises(AllTrialsFailed) as info:
        tune(
            EventRecorder(), estimator=FragileSGD(raise_if_alpha_above=0.0), strategy="bayes", executor="process",
            n_jobs=2, n_trials=6,
        )  # fmt: skip
    result = info.value.result
    assert [r.state for r in result.results] == ["failed"] * 6
    assert len({r.params["alpha"] for r in result.results}) == 6  # six different points, not one batch thrice


@pytest.mark.slow
def test_mlflow_in_the_driver_logs_every_parallel_trial_with_its_full_epoch_history(tmp_path: Path) -> None:
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    X, y = data()
    session = make_session(EventRecorder(), StopTrial(trial_id=1, epoch=2), builtins=["mlflow"])
    result = session.tune(
        SGDClassifier(random_state=0), SPACE, X, y, n_trials=4, cv=2, max_epochs=3, scoring="accuracy",
        executor="process", n_jobs=2, experiment="parallel",
        plugin_config={"mlflow": {"tracking_uri": uri, "log_model": False}},
    )  # fmt: skip

    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name("parallel")
    runs = client.search_runs([experiment.experiment_id])
    trials = {int(r.data.tags["trainhooks.trial_id"]): r for r in runs if "trainhooks.trial_id" in r.data.tags}
    assert sorted(trials) == [0, 1, 2, 3]
    for trial_id, run in trials.items():
        history = client.get_metric_history(run.info.run_id, "epoch_score")
        expected = result.results[trial_id]
        assert [m.step for m in sorted(history, key=lambda m: m.step)] == list(range(1, expected.epochs + 1))
        assert run.data.tags["trainhooks.state"] == expected.state
    assert trials[1].data.tags["trainhooks.state"] == "pruned"
