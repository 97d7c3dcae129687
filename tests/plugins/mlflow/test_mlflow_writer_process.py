"""The mlflow plugin writes from a process of its own: what that means for a user.

Training never imports MLflow; a writer process that dies mid-run costs the rest of that run's
logging (noted in the summary) but not the search, and the parent run is still ended; Ctrl-C in a
terminal (SIGINT to the whole process group) ends the runs KILLED.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psutil
import pytest
from builders import breast_cancer, run_config, write_toml
from helpers import ctrl_c_enabled

from trainhooks.hooks import PluginFailed, hookimpl
from trainhooks.testing import EventRecorder, make_session

if TYPE_CHECKING:
    from mlflow_support import Store


TRAINHOOKS = Path(sys.executable).with_name("trainhooks")


def writer_processes() -> list[psutil.Process]:
    """This test process's mlflow writer processes."""
    return [
        child
        for child in psutil.Process().children()
        if any("trainhooks.plugins.mlflow._process" in part for part in child.cmdline())
    ]


def tune(store: Store, *plugins: Any, recorder: EventRecorder | None = None, n_trials: int = 4) -> Any:
    from sklearn.linear_model import SGDClassifier

    session = make_session(recorder or EventRecorder(), *plugins, builtins=("mlflow",))
    X, y = breast_cancer(None)
    return session.tune(
        SGDClassifier(random_state=0),
        {"alpha": {"low": 1e-5, "high": 1e-1, "log": True}},
        X,
        y,
        n_trials=n_trials,
        cv=3,
        max_epochs=2,
        test_size=0.2,
        experiment=store.experiment,
        plugin_config=store.plugin_config(),
    )


@pytest.mark.slow
def test_training_never_imports_mlflow(mlflow_store: Store, tmp_path: Path) -> None:
    script = f"""
import sys
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import SGDClassifier
import trainhooks

X, y = load_breast_cancer(return_X_y=True)
result = trainhooks.tune(
    SGDClassifier(random_state=0), {{"alpha": [1e-4, 1e-3]}}, X, y, strategy="grid", cv=3, max_epochs=2,
    experiment={mlflow_store.experiment!r}, plugin_config={{"mlflow": {{"tracking_uri": {mlflow_store.uri!r}}}}},
    disable=["rbac", "metrics", "progress", "early_stopping"],
)
print(result.summary["n_complete"], "mlflow" in sys.modules)
"""
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["2", "False"]  # MLflow's import and CPU stayed out of the training process
    (parent,) = mlflow_store.parents()
    assert parent.info.status == "FINISHED" and len(mlflow_store.children(parent.info.run_id)) == 2


class KillWriter:
    """Kills the mlflow writer process (as the OOM killer would) when trial 1 ends, once trial 0 is logged."""

    plugin_name = "writer_killer"

    def __init__(self, store: Store) -> None:
        self.store = store

    @hookimpl(trylast=True)
    def trainhooks_on_trial_end(self, event: Any) -> None:
        if event.trial_id != 1:
            return
        deadline = time.monotonic() + 120
        while not any(run.info.status == "FINISHED" for run in self.store.runs()):  # trial 0's child run
            assert time.monotonic() < deadline, "trial 0 was never logged"
            time.sleep(0.1)
        for process in writer_processes():
            process.kill()  # not reaped here: that is the plugin's job, and it must see the signal
            with contextlib.suppress(psutil.NoSuchProcess):  # already reaped by the plugin
                while process.status() != psutil.STATUS_ZOMBIE:
                    time.sleep(0.01)


@pytest.mark.slow
def test_a_killed_writer_costs_the_logging_not_the_search(mlflow_store: Store) -> None:
    recorder = EventRecorder()
    result = tune(mlflow_store, KillWriter(mlflow_store), recorder=recorder)

    assert result.summary["n_trials"] == 4 and result.summary["n_complete"] == 4
    assert result.best_estimator is not None and result.test_score is not None
    (note,) = [n for n in result.summary["notes"] if n.startswith("mlflow:")]
    assert "the mlflow writer process exited with code -9" in note and "not logged from then on" in note
    assert [e.plugin for e in recorder.of(PluginFailed)] == ["mlflow"]
    (parent,) = mlflow_store.parents()
    assert parent.info.status == "FINISHED"  # ended by a new writer process, not left RUNNING
    assert 1 <= len(mlflow_store.children(parent.info.run_id)) <= 2  # what was written before the kill

    again = tune(mlflow_store, n_trials=2)  # the next run of the same process logs normally
    assert "notes" not in again.summary
    assert len(mlflow_store.parents()) == 2


def long_config(experiment: str) -> dict[str, Any]:
    """A search on digits long enough (200 trials of 30 epochs) to be interrupted mid-run."""
    search = {"n_trials": 200, "max_epochs": 30}
    return run_config(experiment={"name": experiment}, data={"dataset": "digits"}, search=search)


@pytest.mark.slow
def test_ctrl_c_in_a_terminal_ends_the_runs_killed(mlflow_store: Store, tmp_path: Path) -> None:
    """A terminal's Ctrl-C reaches every process of the group: the writer must outlive it to end the runs."""
    config = tmp_path / "long.toml"
    write_toml(config, long_config(mlflow_store.experiment))
    db = mlflow_store.uri.removeprefix("sqlite:///")
    cli = subprocess.Popen(
        [str(TRAINHOOKS), "tune", str(config), "--json", "--tracking-uri", mlflow_store.uri, "--no-plugin", "rbac"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, like a shell job
        preexec_fn=ctrl_c_enabled,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and finished_children(db, mlflow_store.experiment) < 2:
            time.sleep(0.2)
        os.killpg(cli.pid, signal.SIGINT)
        out, err = cli.communicate(timeout=120)
    finally:
        if cli.poll() is None:
            os.killpg(cli.pid, signal.SIGKILL)
    assert cli.returncode == 130, err
    assert json.loads(out)["summary"]["stop_reason"] == "interrupted"
    (parent,) = mlflow_store.parents()
    assert parent.info.status == "KILLED"
    assert all(run.info.status != "RUNNING" for run in mlflow_store.runs())
    assert 2 <= len(mlflow_store.children(parent.info.run_id)) < 200


def finished_children(db: str, experiment: str) -> int:
    """Trial runs of ``experiment`` that have ended (read straight from the SQLite file)."""
    with sqlite3.connect(db) as con:
        (count,) = con.execute(
            "SELECT count(*) FROM runs JOIN experiments USING (experiment_id) JOIN tags USING (run_uuid) "
            "WHERE experiments.name = ? AND tags.key = 'mlflow.parentRunId' AND runs.status = 'FINISHED'",
            (experiment,),
        ).fetchone()
    return count
