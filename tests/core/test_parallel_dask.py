"""The Dask executor on real clusters: a scheduler and workers started as separate processes
(the "existing cluster" case) and the LocalCluster the executor starts itself. No mocks."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dask
import distributed  # imported before any dask.config.set, which would drop its defaults on exit
import psutil
import pytest
from helpers import HELPER_PATH
from parallel_helpers import FragileSGD, StopTrial, assert_run_order, table, tune

from trainhooks import ConfigError, hookimpl
from trainhooks.testing import EventRecorder

pytestmark = pytest.mark.slow


class ListeningSockets:
    """A plugin that notes, at the first epoch, every socket this process and its children listen on."""

    def __init__(self) -> None:
        self.seen: set[tuple[str, int]] = set()

    @hookimpl
    def trainhooks_on_epoch_end(self, event: Any) -> None:
        if self.seen:
            return
        me = psutil.Process()
        for process in [me, *me.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):
                for conn in process.net_connections(kind="inet"):
                    if conn.status == psutil.CONN_LISTEN:
                        self.seen.add((conn.laddr.ip, conn.laddr.port))


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=20)


@pytest.fixture(scope="module")
def scheduler_address(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real scheduler and two single-threaded workers (with nannies) on 127.0.0.1, stopped by PID."""
    from distributed import Client

    workdir = tmp_path_factory.mktemp("dask")
    scheduler_file = workdir / "scheduler.json"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (HELPER_PATH, os.environ.get("PYTHONPATH")) if p))
    log = (workdir / "cluster.log").open("w")
    common = {"env": env, "cwd": workdir, "stdout": log, "stderr": subprocess.STDOUT}
    local = ["--host", "127.0.0.1", "--no-dashboard", "--dashboard-address", "127.0.0.1:0"]  # every socket on loopback
    scheduler_args = [*local, "--port", "0", "--scheduler-file", str(scheduler_file)]
    scheduler = subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", *scheduler_args], **common)
    workers = None
    try:
        deadline = time.monotonic() + 120
        while not scheduler_file.exists() or not scheduler_file.read_text().strip():
            assert scheduler.poll() is None and time.monotonic() < deadline, "the scheduler did not start"
            time.sleep(0.2)
        address = json.loads(scheduler_file.read_text())["address"]
        assert address.startswith("tcp://127.0.0.1:")
        worker_args = [address, "--nworkers", "2", "--nthreads", "1", *local]
        workers = subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", *worker_args], **common)
        with Client(address) as client:
            client.wait_for_workers(2, timeout=120)
        yield address
    finally:
        if workers is not None:
            _stop(workers)
        _stop(scheduler)
        log.close()


def test_events_arrive_in_order_and_a_stop_decision_reaches_the_dask_worker(scheduler_address: str) -> None:
    recorder = EventRecorder()
    result = tune(
        recorder, StopTrial(trial_id=2, epoch=2), executor="dask", dask_address=scheduler_address, n_jobs=2, n_trials=5
    )

    per_trial = assert_run_order(recorder.events)
    assert sorted(per_trial) == [0, 1, 2, 3, 4]
    stopped = result.results[2]
    assert (stopped.state, stopped.epochs, stopped.stop_reason) == ("pruned", 2, "test-stop")
    assert [e.epoch for e in per_trial[2] if e.name == "epoch-ended"] == [1, 2]
    assert all(r.state == "complete" and r.epochs == 4 for r in result.results if r.trial_id != 2)
    assert all(r.worker.startswith("tcp://127.0.0.1:") for r in result.results)  # ran on the workers


def test_dask_bayes_search_repeats_exactly_and_matches_the_process_executor(scheduler_address: str) -> None:
    options = {"strategy": "bayes", "n_jobs": 2, "n_trials": 4}  # a random batch, then a GP batch
    first = tune(EventRecorder(), executor="dask", dask_address=scheduler_address, **options)
    second = tune(EventRecorder(), executor="dask", dask_address=scheduler_address, **options)
    local = tune(EventRecorder(), executor="process", **options)
    assert table(first) == table(second) == table(local)


def test_a_dask_worker_killed_mid_trial_on_an_existing_cluster_is_retried_once(
    scheduler_address: str, tmp_path: Path
) -> None:
    # the scheduler reruns the lost task by itself (allowed-failures > 0); the executor notices the
    # rerun, aborts it and reports the trial "worker lost", then the search retries it as a new trial
    recorder = EventRecorder()
    estimator = FragileSGD(die_marker=str(tmp_path / "died"), die_at=2)
    result = tune(recorder, estimator=estimator, executor="dask", dask_address=scheduler_address, n_jobs=2, n_trials=4)

    assert (tmp_path / "died").exists()
    assert_run_order(recorder.events)
    lost = [r for r in result.results if r.state == "failed"]
    assert len(lost) == 1 and lost[0].error.startswith("worker lost: ")
    retry = [r for r in result.results if r.trial_id > lost[0].trial_id and r.params == lost[0].params]
    assert len(retry) == 1 and retry[0].state == "complete" and retry[0].epochs == 4
    assert result.summary["n_complete"] == 4 and result.summary["n_failed"] == 1


def test_without_an_address_a_local_cluster_on_localhost_runs_the_search_and_survives_a_killed_worker(
    tmp_path: Path,
) -> None:
    recorder = EventRecorder()
    sockets = ListeningSockets()
    estimator = FragileSGD(die_marker=str(tmp_path / "died"), die_at=2)
    result = tune(recorder, sockets, estimator=estimator, executor="dask", n_jobs=2, n_trials=4)

    assert (tmp_path / "died").exists()
    assert_run_order(recorder.events)
    lost = [r for r in result.results if r.state == "failed"]
    assert len(lost) == 1 and lost[0].error.startswith("worker lost: ") and lost[0].epochs == 1
    assert result.summary["n_complete"] == 4
    assert all(r.worker.startswith("tcp://127.0.0.1:") for r in result.results if r.state == "complete")
    # scheduler (in this process) and both worker processes listened, on the loopback address only
    assert len(sockets.seen) >= 3 and {address for address, _ in sockets.seen} == {"127.0.0.1"}


def test_an_unreachable_scheduler_is_a_one_line_config_error() -> None:
    with dask.config.set({"distributed.comm.timeouts.connect": "2s"}), pytest.raises(ConfigError) as info:
        tune(EventRecorder(), executor="dask", dask_address="tcp://127.0.0.1:9", n_jobs=2)
    message = str(info.value)
    assert message.startswith("search.dask_address: cannot connect to 'tcp://127.0.0.1:9'") and "\n" not in message


def test_a_cluster_without_workers_is_a_one_line_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import trainhooks.executors.dask as dask_executor

    monkeypatch.setattr(dask_executor, "WORKER_WAIT_S", 2.0)  # instead of a minute
    cluster = distributed.LocalCluster(
        n_workers=0, processes=True, host="127.0.0.1", dashboard_address=None,
        scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
    )  # fmt: skip
    with cluster, pytest.raises(ConfigError) as info:
        tune(EventRecorder(), executor="dask", dask_address=cluster.scheduler_address, n_jobs=2)
    message = str(info.value)
    assert message.startswith("search.dask_address: the cluster at ") and message.endswith("has no workers")


def test_eval_every_two_on_a_local_cluster_reports_every_second_epoch_and_loses_no_trial() -> None:
    # steps skip with eval_every > 1 (2, 4, 5): a gap is not the scheduler rerunning a task
    recorder = EventRecorder()
    result = tune(recorder, executor="dask", n_jobs=2, n_trials=3, max_epochs=5, eval_every=2)

    assert result.summary["n_complete"] == 3 and result.summary["n_failed"] == 0
    assert all(r.state == "complete" and r.epochs == 5 for r in result.results)
    steps: dict[int, list[int]] = {}
    for event in recorder.events:
        if event.name == "epoch-ended":
            steps.setdefault(event.trial_id, []).append(event.epoch)
    assert steps == {r.trial_id: [2, 4, 5] for r in result.results}
