"""MLflow pages that read well: User, Source and Datasets columns, readable params, metrics that chart
the search, and one trial id everywhere (progress, summary, trials.csv, MLflow run names).

Against a real SQLite store, read back through ``MlflowClient``.
"""

from __future__ import annotations

import csv
import io
import json
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from trainhooks.cli import output
from trainhooks.plugins.mlflow import _layout as layout
from trainhooks.plugins.progress import ProgressPlugin
from trainhooks.testing import EventRecorder, make_session, small_search

if TYPE_CHECKING:
    from mlflow_support import Store


def run_tune(store: Store, *plugins: object, principal: str = "alice", **kw: Any) -> Any:
    session = make_session(EventRecorder(), *plugins, builtins=("mlflow",), principal=principal)
    kw.setdefault("test_size", 0.25)
    return small_search(session, experiment=store.experiment, plugin_config=store.plugin_config(), **kw)


def test_parent_page_names_user_source_data_and_space(
    mlflow_store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = tmp_path / "train_model.py"
    script.write_text("# the user's script\n", encoding="utf-8")
    monkeypatch.setattr(sys, "argv", [str(script)])
    result = run_tune(mlflow_store, n_trials=4)
    (parent,) = mlflow_store.parents()
    tags, params = parent.data.tags, parent.data.params

    assert tags["mlflow.user"] == "alice"  # the run's principal, not whoever runs the writer
    assert tags["mlflow.source.name"] == str(script.resolve()) and tags["mlflow.source.type"] == "LOCAL"
    assert params["space.alpha"] == "log-uniform(1e-05, 0.1)"
    assert params["space.penalty"] == "[l2, l1]"

    (data_input,) = mlflow_store.client.get_run(parent.info.run_id).inputs.dataset_inputs
    dataset = data_input.dataset
    assert dataset.name == "arrays" and re.fullmatch(r"[0-9a-f]{16}", dataset.digest)
    assert {tag.key: tag.value for tag in data_input.tags} == {"mlflow.data.context": "training"}
    columns = json.loads(dataset.schema)["mlflow_colspec"]
    assert [c["name"] for c in columns] == [f"x{i}" for i in range(30)] and {c["type"] for c in columns} == {"double"}
    assert json.loads(dataset.profile)["num_rows"] == 225  # 300 rows, a quarter held out
    for child in mlflow_store.children(parent.info.run_id):
        assert child.data.tags["mlflow.user"] == "alice"
    assert result.summary["links"]["mlflow"] == {"run_id": parent.info.run_id, "url": None}  # no UI for SQLite


def test_same_training_data_same_digest(mlflow_store: Store) -> None:
    for n_trials, test_size in ((1, 0.25), (2, 0.25), (1, 0.5)):  # the last one trains on other rows
        run_tune(mlflow_store, n_trials=n_trials, test_size=test_size)
    parents = sorted(mlflow_store.parents(), key=lambda p: p.info.start_time)
    digests = [mlflow_store.client.get_run(p.info.run_id).inputs.dataset_inputs[0].dataset.digest for p in parents]
    assert digests[0] == digests[1] != digests[2]


def test_metrics_chart_the_search_and_single_values_sit_at_step_0(mlflow_store: Store) -> None:
    space = {"alpha": [1e-4, 1e-3, 1e-2, 1e-1, 1.0], "penalty": ["l2"]}
    result = run_tune(mlflow_store, strategy="grid", n_trials=5, space=space, max_epochs=3)
    client = mlflow_store.client
    (parent,) = mlflow_store.parents()
    parent_id = parent.info.run_id

    complete = [row for row in result.trials if row["state"] == "complete"]
    history = sorted(client.get_metric_history(parent_id, "cv_score"), key=lambda m: m.step)
    assert [(m.step, m.value) for m in history] == [(r["trial_id"], r["mean_test_score"]) for r in complete]
    best = sorted(client.get_metric_history(parent_id, "best_cv_score"), key=lambda m: m.step)
    running = [max(r["mean_test_score"] for r in complete[: i + 1]) for i in range(len(complete))]
    assert [m.value for m in best] == pytest.approx(running)
    assert best[-1].value == pytest.approx(result.summary["best_score"])

    for child in mlflow_store.children(parent_id):
        for key in ("score", "score_std", "epochs", "duration_s", "fold0_score"):
            assert [m.step for m in client.get_metric_history(child.info.run_id, key)] == [0]
        assert sorted(m.step for m in client.get_metric_history(child.info.run_id, "epoch_score")) == [1, 2, 3]


@pytest.mark.slow
def test_one_trial_id_in_progress_summary_trials_csv_and_mlflow(mlflow_store: Store, tmp_path: Path) -> None:
    """Two workers: trials end out of order, and every place names a trial by the same 0-based id."""
    stream = io.StringIO()
    result = run_tune(mlflow_store, ProgressPlugin(stream=stream), n_trials=6, n_jobs=2, executor="process")
    (parent,) = mlflow_store.parents()
    parent_id = parent.info.run_id
    ids = sorted(row["trial_id"] for row in result.trials)
    assert ids == list(range(6))

    progress_ids = [int(re.match(r"trial (\d+): ", line).group(1)) for line in stream.getvalue().splitlines()]
    assert sorted(progress_ids) == ids
    best_id = result.summary["best_trial_id"]
    assert f"(trial {best_id})" in stream.getvalue().splitlines()[-1]

    csv_path = Path(mlflow_store.client.download_artifacts(parent_id, "trials.csv", str(tmp_path)))
    rows = list(csv.DictReader(csv_path.read_text(encoding="utf-8").splitlines()))
    assert [int(row["trial_id"]) for row in rows] == ids
    by_id = {int(row["trial_id"]): row for row in rows}
    assert float(by_id[best_id]["mean_test_score"]) == pytest.approx(result.summary["best_score"])

    children = mlflow_store.children(parent_id)
    assert [c.info.run_name for c in children] == [f"trial-{i}" for i in ids]
    assert [int(c.data.tags["trainhooks.trial_id"]) for c in children] == ids
    best_child = next(c for c in children if c.info.run_name == f"trial-{best_id}")
    assert best_child.data.metrics["score"] == pytest.approx(result.summary["best_score"])
    assert parent.data.tags["trainhooks.best_trial_id"] == str(best_id)
    assert result.summary["links"]["mlflow"]["run_id"] == parent_id
    assert result.to_json_dict()["summary"]["links"]["mlflow"]["run_id"] == parent_id


def test_summary_prints_the_mlflow_run_and_its_page_once(capsys: pytest.CaptureFixture[str]) -> None:
    parent = layout.ParentRun("0a1b2c3d4e5f", "7")
    url = layout.run_url("http://127.0.0.1:5000/", parent)
    assert url == "http://127.0.0.1:5000/#/experiments/7/runs/0a1b2c3d4e5f"
    assert layout.run_url("sqlite:///mlflow.db", parent) is None
    summary = {
        "best_score": 0.9,
        "n_trials": 1,
        "n_failed": 0,
        "links": {"mlflow": {"run_id": parent.run_id, "url": url}},
    }
    output.stdout.width = 200
    output.print_summary(summary, "f" * 32)
    out = capsys.readouterr().out
    assert f"(run {'f' * 32})" in out
    assert re.search(r"mlflow run_id\s+│?\s*0a1b2c3d4e5f", out) and out.count(url) == 1


@pytest.mark.parametrize(
    ("dimension", "text"),
    [
        (["l2", "l1", "elasticnet"], "[l2, l1, elasticnet]"),
        ({"low": 1e-6, "high": 1e-1, "log": True, "type": "float"}, "log-uniform(1e-06, 0.1)"),
        ({"low": 0.0, "high": 1.0, "log": False, "type": "float"}, "uniform(0.0, 1.0)"),
        ({"low": 5, "high": 50, "log": False, "type": "int"}, "int-uniform(5, 50)"),
        ([1, 0.5, None, True], "[1, 0.5, None, True]"),
        ("<scipy.stats loguniform>", "<scipy.stats loguniform>"),
    ],
)
def test_space_params_read_like_the_config(dimension: Any, text: str) -> None:
    assert layout.space_text(dimension) == text


@pytest.mark.slow
@pytest.mark.timeout(300)  # starting the server takes most of it
def test_with_a_tracking_server_the_summary_links_the_parent_runs_page(mlflow_server: Any) -> None:
    from mlflow_support import Store

    store = Store(mlflow_server.uri, "pages-over-http")
    result = run_tune(store, n_trials=2)
    (parent,) = store.parents()
    link = result.summary["links"]["mlflow"]
    experiment_id = parent.info.experiment_id
    assert link == {
        "run_id": parent.info.run_id,
        "url": f"{mlflow_server.uri.rstrip('/')}/#/experiments/{experiment_id}/runs/{parent.info.run_id}",
    }
    assert store.client.get_run(parent.info.run_id).inputs.dataset_inputs  # the dataset input over REST too
