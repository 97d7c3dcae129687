"""What MLflow shows of a Pipeline, of per-fold reports and of a CLI run's source (real SQLite store)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from builders import run_config, write_toml
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier

from trainhooks.testing import EventRecorder, make_session, small_search

if TYPE_CHECKING:
    from mlflow_support import Store


def test_a_pipeline_shows_its_steps_and_fold_reports_are_not_epochs(mlflow_store: Store) -> None:
    pipeline = Pipeline([("prep", StandardScaler()), ("clf", DecisionTreeClassifier(random_state=0))])
    session = make_session(EventRecorder(), builtins=("mlflow",))
    small_search(
        session,
        pipeline,
        space={"clf__max_depth": [1, 3]},
        strategy="grid",
        experiment=mlflow_store.experiment,
        plugin_config=mlflow_store.plugin_config(log_model=False),
    )

    (parent,) = mlflow_store.parents()
    params, tags = parent.data.params, parent.data.tags
    assert (
        params["estimator"]
        == tags["trainhooks.estimator"]
        == "Pipeline(prep=StandardScaler, clf=DecisionTreeClassifier)"
    )
    assert params["model.clf.random_state"] == "0"  # a step's fixed param, named by step
    assert "model.clf.max_depth" not in params and params["space.clf__max_depth"] == "[1, 3]"

    client = mlflow_store.client
    for child in mlflow_store.children(parent.info.run_id):
        # a tree trains in one go: its reports are the running mean after each of the 3 folds
        running = client.get_metric_history(child.info.run_id, "fold_running_score")
        assert sorted(m.step for m in running) == [1, 2, 3]
        assert client.get_metric_history(child.info.run_id, "epoch_score") == []
        assert running[-1].value == child.data.metrics["score"]


@pytest.mark.slow
def test_a_cli_run_names_its_config_file_as_the_mlflow_source(
    mlflow_store: Store, run_cli: Any, tmp_path: Path
) -> None:
    config = write_toml(tmp_path / "tune.toml", run_config(experiment={"name": mlflow_store.experiment}))
    proc = run_cli("tune", str(config), "-q", "--tracking-uri", mlflow_store.uri, "--no-plugin", "report")
    assert proc.returncode == 0, proc.stderr

    (parent,) = mlflow_store.parents()
    assert parent.data.tags["mlflow.source.name"] == str(config.resolve())
    assert parent.data.tags["mlflow.source.type"] == "LOCAL"
