"""What MLflow shows of a Pipeline and of a one-epoch trial's per-fold reports (real SQLite store)."""

from __future__ import annotations

from typing import TYPE_CHECKING

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
