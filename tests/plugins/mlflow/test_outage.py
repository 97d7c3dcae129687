"""A tracking outage loses nothing: the writes MLflow could not take are spooled and sent later.

Each test compares what reached MLflow with an uninterrupted run of the same search logged to a
SQLite store: trial runs and their statuses, every epoch metric, the parent's artifacts and
metrics, and the model.
"""

from __future__ import annotations

import shutil
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from trainhooks import hookimpl
from trainhooks.hooks import PluginFailed
from trainhooks.testing import EventRecorder, make_session, small_search


def tune(uri: str, experiment: str, *plugins: object, recorder: EventRecorder | None = None) -> Any:
    session = make_session(recorder or EventRecorder(), *plugins, builtins=("mlflow",))
    return small_search(
        session,
        n_trials=4,
        test_size=0.25,
        experiment=experiment,
        plugin_config={"mlflow": {"tracking_uri": uri, "http_retries": 0, "http_timeout_s": 2}},
    )


def logged(store: Any, run_id: str) -> dict[str, Any]:
    """What one trainhooks run left in MLflow, in counts that do not depend on timing."""
    (parent,) = [r for r in store.parents() if r.data.tags.get("trainhooks.run_id") == run_id]
    client = store.client
    children = store.children(parent.info.run_id)
    history = {
        c.data.tags["trainhooks.trial_id"]: sorted(m.step for m in client.get_metric_history(c.info.run_id, key))
        for c in children
        for key in ("epoch_score",)
    }
    return {
        "parent_status": parent.info.status,
        "parent_metrics": sorted(parent.data.metrics),
        "cv_score_points": len(client.get_metric_history(parent.info.run_id, "cv_score")),
        "artifacts": sorted(f.path for f in client.list_artifacts(parent.info.run_id)),
        "models": len(client.get_run(parent.info.run_id).outputs.model_outputs),
        "trials": [
            (c.data.tags["trainhooks.trial_id"], c.info.status, c.data.tags["trainhooks.state"]) for c in children
        ],
        "epoch_history": history,
        "children_metric_points": sum(
            len(client.get_metric_history(c.info.run_id, key)) for c in children for key in c.data.metrics
        ),
    }


def wait_for_parent_run(db: Path, timeout_s: float = 120.0) -> None:
    """Block until the MLflow writer process has created a run in ``db`` (its first write)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with sqlite3.connect(db) as con:
            if con.execute("SELECT count(*) FROM runs").fetchone()[0]:
                return
        time.sleep(0.05)
    raise AssertionError(f"the MLflow writer created no run in {db} within {timeout_s} s")


def spool_notes(result: Any) -> list[str]:
    return [n for n in result.summary.get("notes", []) if n.startswith("mlflow:")]


def test_store_back_before_the_end_gets_everything(mlflow_store: Any, mlflow_db_template: Path, tmp_path: Path) -> None:
    """A SQLite store that breaks after trial 0 and is repaired at trial 3: nothing is missing, no note."""
    from mlflow_support import Store

    db = tmp_path / "own.db"
    shutil.copyfile(mlflow_db_template, db)
    store = Store(f"sqlite:///{db}", "outage")

    class Outage:
        plugin_name = "outage"

        @hookimpl(trylast=True)
        def trainhooks_on_trial_start(self, event: Any) -> None:
            renames = {1: ("runs", "runs_gone"), 3: ("runs_gone", "runs")}.get(event.trial_id)
            if event.trial_id == 1:
                wait_for_parent_run(db)  # the writer starts in the background: break the store after it wrote
            if renames:
                with sqlite3.connect(db) as con:
                    con.execute("ALTER TABLE {} RENAME TO {}".format(*renames))

    recorder = EventRecorder()
    result = tune(store.uri, store.experiment, Outage(), recorder=recorder)
    baseline = tune(mlflow_store.uri, mlflow_store.experiment)

    assert spool_notes(result) == [] and recorder.of(PluginFailed) == []
    assert logged(store, result.run_id) == logged(mlflow_store, baseline.run_id)
    assert not (tmp_path / "trainhooks-runs" / result.run_id / "mlflow-spool").exists()


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_server_stopped_mid_run_then_runs_sync_sends_everything_once(
    mlflow_store: Any, mlflow_db_template: Path, tmp_path: Path, run_cli: Any
) -> None:
    """A real server stopped at trial 1 stays down to the end; after a restart `runs sync` sends the rest."""
    from mlflow_support import MlflowServer, Store

    server = MlflowServer(tmp_path / "server", mlflow_db_template)
    server.root.mkdir()
    server.start()
    try:
        store = Store(server.uri, "outage-http")

        class StopServer:
            plugin_name = "server_killer"

            @hookimpl(trylast=True)
            def trainhooks_on_trial_end(self, event: Any) -> None:
                if event.trial_id == 1:
                    server.stop()

        recorder = EventRecorder()
        result = tune(server.uri, store.experiment, StopServer(), recorder=recorder)
        assert result.summary["n_complete"] == 4 and result.test_score is not None
        (note,) = spool_notes(result)
        assert f"writes to {server.uri} are pending in" in note and f"trainhooks runs sync {result.run_id}" in note
        assert recorder.of(PluginFailed) == []
        assert (Path("trainhooks-runs") / result.run_id / "mlflow-spool" / "model-1.pkl").exists() or any(
            (Path("trainhooks-runs") / result.run_id / "mlflow-spool").glob("model-*")
        )

        server.start(same_port=True)
        synced = run_cli("runs", "sync")
        assert synced.returncode == 0, synced.stderr
        assert f"{result.run_id}: sent " in synced.stdout

        baseline = tune(mlflow_store.uri, mlflow_store.experiment)
        expected = logged(mlflow_store, baseline.run_id)
        assert logged(store, result.run_id) == expected
        assert len(store.parents()) == 1

        again = run_cli("runs", "sync", result.run_id)
        assert again.returncode == 0 and "nothing to send" in again.stdout
        assert logged(store, result.run_id) == expected
    finally:
        server.stop()
