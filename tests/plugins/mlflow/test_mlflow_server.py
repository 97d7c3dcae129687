"""The MLflow plugin against a real ``mlflow server`` on 127.0.0.1 (HTTP, proxied artifacts).

Starting a server takes tens of seconds, so the module shares one; the last test stops it.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from trainhooks import hookimpl
from trainhooks.hooks import ModelRegistered, PluginFailed
from trainhooks.testing import EventRecorder, make_session, small_search

if TYPE_CHECKING:
    from mlflow_support import MlflowServer


# the module's first test starts the server, which may wait up to 240 s for it to answer (22 s measured under load)
pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


def server_tune(server: MlflowServer, experiment: str, *plugins: object, recorder: EventRecorder, **settings: Any):
    session = make_session(recorder, *plugins, builtins=("mlflow",))
    return small_search(
        session,
        n_trials=4,
        test_size=0.25,
        experiment=experiment,
        plugin_config={"mlflow": {"tracking_uri": server.uri, **settings}},
    )


def test_full_tune_logs_the_same_tree_to_a_tracking_server(mlflow_server: MlflowServer, tmp_path: Path) -> None:
    from mlflow_support import Store

    recorder = EventRecorder()
    store = Store(mlflow_server.uri, "over-http")
    result = server_tune(
        mlflow_server, store.experiment, recorder=recorder, register_as="http-model", promote_alias="champion"
    )
    assert not recorder.of(PluginFailed)

    (parent,) = store.parents()
    assert parent.info.status == "FINISHED"
    assert parent.data.tags["trainhooks.run_id"] == result.run_id
    assert parent.data.metrics["best_score"] == pytest.approx(result.best_score)
    children = store.children(parent.info.run_id)
    assert [c.info.status for c in children] == ["FINISHED"] * 4
    for child in children:
        assert sorted(m.step for m in store.client.get_metric_history(child.info.run_id, "epoch_score")) == [1, 2, 3]

    names = {f.path for f in store.client.list_artifacts(parent.info.run_id)}
    assert {"trials.csv", "summary.json", "config.toml"} <= names
    table = Path(store.client.download_artifacts(parent.info.run_id, "trials.csv", str(tmp_path))).read_text()
    assert len(list(csv.DictReader(io.StringIO(table)))) == 4

    (event,) = recorder.of(ModelRegistered)
    assert (event.model_name, event.version, event.alias) == ("http-model", "1", "champion")
    assert str(store.client.get_model_version_by_alias("http-model", "champion").version) == "1"


def test_server_stopped_mid_run_does_not_stop_the_search(mlflow_server: MlflowServer) -> None:
    """Runs last in this module: it stops the shared server."""

    class StopServer:
        plugin_name = "server_killer"

        @hookimpl(trylast=True)
        def trainhooks_on_trial_end(self, event: Any) -> None:
            if event.trial_id == 1:
                mlflow_server.stop()

    recorder = EventRecorder()
    result = server_tune(mlflow_server, "server-goes-away", StopServer(), recorder=recorder, http_retries=1)

    assert not mlflow_server.running
    assert result.summary["n_trials"] == 4 and result.summary["n_complete"] == 4
    assert result.best_estimator is not None and result.test_score is not None
    (note,) = [n for n in result.summary["notes"] if n.startswith("mlflow:")]
    assert f"writes to {mlflow_server.uri} are pending in" in note  # kept, sent later (test_outage.py)
    assert f"trainhooks runs sync {result.run_id}" in note
    assert recorder.of(PluginFailed) == []
    assert recorder.names[-1] == "run-ended"
