"""Resuming a run (``tune --resume``) continues its MLflow run tree: the same parent run, every trial
as one child run, nothing left ``RUNNING`` (docs/mlflow.md, "Resuming a run")."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from builders import breast_cancer, run_config, write_toml
from helpers import CtrlCAfter
from mlflow_support import Store
from sklearn.linear_model import SGDClassifier

from trainhooks.hooks import TrialEnded, hookimpl
from trainhooks.journal import JOURNAL_NAME, read_journal
from trainhooks.runner import SearchInterrupted
from trainhooks.testing import EventRecorder, make_session

SPACE = {"alpha": {"low": 1e-5, "high": 1e-1, "log": True}, "penalty": ["l2", "l1"]}
N_TRIALS = 6


def _tune(store: Store, *plugins: object, **kwargs: Any) -> Any:
    X, y = breast_cancer(240)
    session = make_session(EventRecorder(), *plugins, builtins=["mlflow"])
    return session.tune(
        SGDClassifier(random_state=0),
        SPACE,
        X,
        y,
        strategy="bayes",
        n_trials=N_TRIALS,
        cv=3,
        max_epochs=2,
        random_state=0,
        experiment=store.experiment,
        plugin_config=store.plugin_config(),
        **kwargs,
    )


def _one_finished_tree(store: Store, run_id: str, n_trials: int) -> list[Any]:
    """The store holds one parent for ``run_id``, FINISHED, a FINISHED child per trial, nothing RUNNING."""
    (parent,) = [p for p in store.parents() if p.data.tags.get("trainhooks.run_id") == run_id]
    assert parent.info.status == "FINISHED"
    children = store.children(parent.info.run_id)
    finished = sorted(int(c.data.tags["trainhooks.trial_id"]) for c in children if c.info.status == "FINISHED")
    assert finished == list(range(n_trials))
    assert all("score" in c.data.metrics for c in children if c.info.status == "FINISHED")
    assert [r.info.run_name for r in store.runs() if r.info.status == "RUNNING"] == []
    assert parent.data.metrics["n_trials"] == n_trials
    return children


def _listed(run_cli: Any, store: Store) -> list[dict[str, Any]]:
    listing = run_cli("runs", "list", "--json", "--tracking-uri", store.uri, "--experiment", store.experiment)
    assert listing.returncode == 0, listing.stderr
    return json.loads(listing.stdout)


class ParentStatusWhileRunning:
    """Waits, at the first trial that ends, until the store shows the parent run RUNNING (up to 30 s)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.seen: str | None = None

    @hookimpl
    def trainhooks_on_trial_end(self, event: TrialEnded) -> None:
        deadline = time.monotonic() + 30
        while self.seen is None or (self.seen != "RUNNING" and time.monotonic() < deadline):
            self.seen = self.store.parents()[0].info.status
            time.sleep(0.05)


@pytest.mark.slow
def test_a_resumed_run_goes_on_in_the_same_parent_run_and_it_ends_finished(mlflow_store: Store, run_cli: Any) -> None:
    with pytest.raises(SearchInterrupted) as caught:
        _tune(mlflow_store, CtrlCAfter(3))
    run_id = caught.value.result.run_id
    (parent,) = mlflow_store.parents()
    assert parent.info.status == "KILLED"
    (row,) = _listed(run_cli, mlflow_store)
    assert (row["journal"], row["resume"]) == ("interrupted", f"trainhooks tune CONFIG --resume {run_id}")
    table = run_cli("runs", "list", "--tracking-uri", mlflow_store.uri, "--experiment", mlflow_store.experiment)
    assert f"interrupted (--resume {run_id})" in table.stdout

    watcher = ParentStatusWhileRunning(mlflow_store)
    resumed = _tune(mlflow_store, watcher, resume=run_id)

    assert resumed.run_id == run_id
    assert watcher.seen == "RUNNING"  # while it goes on, the parent is no longer shown KILLED
    children = _one_finished_tree(mlflow_store, run_id, N_TRIALS)
    assert len(children) == N_TRIALS  # the trial Ctrl-C ended is run again in its own child run
    scores = {int(c.data.tags["trainhooks.trial_id"]): c.data.metrics["score"] for c in children}
    assert [scores[t["trial_id"]] for t in resumed.trials] == pytest.approx(
        [t["mean_test_score"] for t in resumed.trials]
    )
    (row,) = _listed(run_cli, mlflow_store)
    assert (row["state"], row["journal"], row["resume"]) == ("FINISHED", "finished", None)


def _kill_once_logging(process: subprocess.Popen[bytes], runs: Path, store: Store, k: int) -> str:
    """SIGKILL ``process`` once its journal holds ``k`` trial boundaries and MLflow ``k`` child runs;
    its run id."""
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and process.poll() is None:
        journals = [j for j in runs.glob(f"*/{JOURNAL_NAME}") if j.read_text().count('{"k":"trial"') >= k]
        parents = store.parents() if journals else []
        if parents and len(store.children(parents[0].info.run_id)) >= k:
            process.kill()
            process.wait()
            return journals[0].parent.name
        time.sleep(0.1)
    process.kill()
    raise AssertionError(f"the run ended before {k} trials were logged: {process.communicate()}")


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_sigkill_mid_search_then_resume_leaves_one_finished_parent_and_no_running_runs(
    mlflow_store: Store, tmp_path: Path
) -> None:
    config = write_toml(
        tmp_path / "run.toml",
        run_config(
            experiment={"name": mlflow_store.experiment, "tracking_uri": mlflow_store.uri},
            # trials long enough (60 epochs) that the writer, which starts importing MLflow when the run
            # is configured, logs two of them while the search is still going: the kill is mid-search
            search={"strategy": "bayes", "n_trials": 12, "cv": 5, "max_epochs": 60, "random_state": 0},
            plugins={"disable": ["report"]},
        ),
    )
    command = [str(Path(sys.executable).with_name("trainhooks")), "tune", str(config), "--json", "-q"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    run_id = _kill_once_logging(process, tmp_path / "trainhooks-runs", mlflow_store, 2)
    assert read_journal(tmp_path / "trainhooks-runs" / run_id / JOURNAL_NAME).status == "crashed"
    time.sleep(1)  # the writer process stops once it cannot answer the dead driver
    (parent,) = mlflow_store.parents()
    assert parent.info.status == "RUNNING"  # what a crash leaves behind

    resumed = subprocess.run([*command, "--resume", run_id], capture_output=True, text=True, timeout=300)

    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["run_id"] == run_id
    _one_finished_tree(mlflow_store, run_id, 12)
