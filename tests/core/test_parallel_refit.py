"""The parallel executors' serial parts: the refit runs in a worker, the pool starts early and stops cleanly."""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

import numpy as np
import psutil
import pytest
from builders import run_config, write_toml
from parallel_helpers import WhereFittedSGD, data

from trainhooks import ConfigError, RunResult, SearchInterrupted, hookimpl
from trainhooks.executors.process import ProcessExecutor
from trainhooks.testing import EventRecorder, make_session


@pytest.fixture(autouse=True, scope="module")
def _pool_started_before() -> None:
    """These tests check that trials run in worker processes (and kill workers): start a pool
    first, as an earlier search in this Python process would, so the driver never trains a trial
    itself while the pool starts (test_parallel_startup.py covers that)."""
    ProcessExecutor(1).close()


# the best (alpha 1e-4) comes first, so it is still the best when the last trial starts
GRID = {"alpha": [1e-4, 1.0, 3.0, 10.0, 30.0]}


def grid_search(recorder: EventRecorder, space: dict = GRID, **kwargs: object) -> RunResult:
    X, y = data()
    session = make_session(recorder)
    options: dict = {"strategy": "grid", "cv": 2, "max_epochs": 4, "scoring": "accuracy", "random_state": 0}
    return session.tune(WhereFittedSGD(random_state=0), space, X, y, **{**options, **kwargs})


def test_the_best_trial_is_refit_in_a_worker_while_the_last_trial_runs_and_equals_the_sequential_refit() -> None:
    sequential = grid_search(EventRecorder())
    recorder = EventRecorder()
    parallel = grid_search(recorder, executor="process", n_jobs=2)

    assert parallel.best_params == sequential.best_params == {"alpha": 1e-4}
    assert sequential.best_estimator.fitted_in_pid_ == os.getpid()
    assert parallel.best_estimator.fitted_in_pid_ != os.getpid()  # refit in a worker process
    for attr in ("coef_", "intercept_"):
        assert np.array_equal(getattr(parallel.best_estimator, attr), getattr(sequential.best_estimator, attr))
    fitted = recorder.of("model-fitted")
    assert len(fitted) == 1 and fitted[0].trial_id == 0 and recorder.names[-2:] == ["model-fitted", "run-ended"]


def test_when_the_last_trial_becomes_the_best_its_own_refit_is_used() -> None:
    worst_first = {"alpha": list(reversed(GRID["alpha"]))}  # an earlier trial's refit is started, then dropped
    runs = [
        grid_search(EventRecorder(), space=worst_first, **options)
        for options in ({}, {"executor": "process", "n_jobs": 2})
    ]
    assert runs[0].best_params == runs[1].best_params == {"alpha": 1e-4}
    assert np.array_equal(runs[0].best_estimator.coef_, runs[1].best_estimator.coef_)


class CtrlCAtLastTrialEnd:
    """Ctrl-C as the last of ``n`` trials ends, when the refit of the best has already started in a worker."""

    def __init__(self, n: int) -> None:
        self.left = n

    @hookimpl
    def trainhooks_on_trial_end(self, event: object) -> None:
        self.left -= 1
        if self.left == 0:
            raise KeyboardInterrupt


def test_ctrl_c_while_the_refit_runs_in_a_worker_still_gives_the_refit_model() -> None:
    sequential = grid_search(EventRecorder())
    X, y = data()
    session = make_session(EventRecorder(), CtrlCAtLastTrialEnd(len(GRID["alpha"])))
    with pytest.raises(SearchInterrupted) as stopped:
        session.tune(
            WhereFittedSGD(random_state=0), GRID, X, y, strategy="grid", cv=2, max_epochs=4, scoring="accuracy",
            executor="process", n_jobs=2,
        )  # fmt: skip
    model = stopped.value.result.best_estimator
    assert model is not None and np.array_equal(model.coef_, sequential.best_estimator.coef_)


def _live_descendants() -> set[int]:
    alive = set()
    for child in psutil.Process().children(recursive=True):
        try:
            if child.status() != psutil.STATUS_ZOMBIE:
                alive.add(child.pid)
        except psutil.NoSuchProcess:
            pass
    return alive


def test_a_pool_started_early_is_stopped_when_the_run_is_refused_before_any_trial() -> None:
    before = _live_descendants()
    with pytest.raises(ConfigError, match=r"search\.strategy: unknown strategy 'nope'"):
        grid_search(EventRecorder(), strategy="nope", executor="process", n_jobs=2)
    deadline = time.monotonic() + 10
    while (left := _live_descendants() - before) and not all(_is_fork_server(pid) for pid in left):
        assert time.monotonic() < deadline, f"still running after the refused run: {left}"
        time.sleep(0.1)


def _is_fork_server(pid: int) -> bool:
    """The fork server multiprocessing keeps for the whole Python process (a child of this process)."""
    try:
        process = psutil.Process(pid)
        return process.ppid() == os.getpid() and "forkserver" in " ".join(process.cmdline())
    except psutil.NoSuchProcess:
        return True


def test_a_refused_command_line_run_with_the_process_executor_exits_2_and_leaves_nothing_running(
    run_cli, tmp_path: Path
) -> None:
    marker = uuid.uuid4().hex  # every process the command starts inherits it
    config = write_toml(
        tmp_path / "run.toml",
        run_config(search={"strategy": "nope", "n_trials": 4, "cv": 2, "executor": "process", "n_jobs": 2}),
    )
    done = run_cli("tune", str(config), env={"TRAINHOOKS_TEST_MARKER": marker})
    assert done.returncode == 2
    assert "search.strategy: unknown strategy 'nope'" in done.stderr and len(done.stderr.strip().splitlines()) == 1
    deadline = time.monotonic() + 10
    while left := _marked(marker):
        assert time.monotonic() < deadline, f"still running after the command exited: {left}"
        time.sleep(0.2)


def _marked(marker: str) -> list[int]:
    """Live processes whose environment carries ``marker``."""
    found = []
    for process in psutil.process_iter(["pid"]):
        try:
            if process.environ().get("TRAINHOOKS_TEST_MARKER") == marker and process.status() != psutil.STATUS_ZOMBIE:
                found.append(process.pid)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            pass
    return found
