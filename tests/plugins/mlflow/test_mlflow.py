"""The MLflow plugin against a real SQLite tracking store, read back through ``MlflowClient``."""

from __future__ import annotations

import csv
import io
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from builders import breast_cancer
from sklearn.linear_model import SGDClassifier

from trainhooks import PermissionDecision, StopDecision, hookimpl
from trainhooks.hooks import ModelRegistered, PluginFailed
from trainhooks.testing import EventRecorder, make_session, small_search

if TYPE_CHECKING:
    from mlflow_support import Store


def run_tune(store: Store, *plugins: object, recorder: EventRecorder | None = None, settings: Any = None, **kw: Any):
    """A small real search with the mlflow plugin logging to ``store``."""
    recorder = recorder or EventRecorder()
    kw.setdefault("test_size", 0.25)
    kw.setdefault("experiment", store.experiment)
    session = make_session(recorder, *plugins, builtins=("mlflow",), on_error=kw.pop("on_error", "warn"))
    return small_search(session, plugin_config=store.plugin_config(**(settings or {})), **kw)


def artifact_text(store: Store, run_id: str, path: str, dst: Path) -> str:
    dst.mkdir(exist_ok=True)
    return Path(store.client.download_artifacts(run_id, path, str(dst))).read_text(encoding="utf-8")


def _read_toml(path: Path) -> dict:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    return tomllib.loads(path.read_text(encoding="utf-8"))


def features() -> Any:
    """50 rows like those the small search trains on."""
    return breast_cancer(50)[0]


# -- the run tree ------------------------------------------------------------------------------


def test_tune_logs_parent_children_metrics_artifacts_and_model(mlflow_store: Store, tmp_path: Path) -> None:
    result = run_tune(mlflow_store, n_trials=4)
    client = mlflow_store.client

    (parent,) = mlflow_store.parents()
    assert parent.info.status == "FINISHED"
    tags, params, metrics = parent.data.tags, parent.data.params, parent.data.metrics
    assert tags["trainhooks.kind"] == "tune"
    assert tags["trainhooks.strategy"] == "random"
    assert tags["trainhooks.run_id"] == result.run_id
    assert len(tags["trainhooks.config_digest"]) == 16
    assert tags["trainhooks.version"]
    assert params["estimator"].endswith("SGDClassifier")
    assert params["model.random_state"] == "0"  # fixed estimator params: the ones set, as a config names them
    assert "model.loss" not in params  # left at its default ("hinge")
    assert "model.alpha" not in params  # searched, so not a fixed param
    assert params["search.n_trials"] == "4" and params["search.cv"] == "3"
    assert "space.alpha" in params and "space.penalty" in params
    assert metrics["best_score"] == pytest.approx(result.best_score)
    assert metrics["test_score"] == pytest.approx(result.test_score)
    assert metrics["n_trials"] == 4 and metrics["n_complete"] == 4

    children = mlflow_store.children(parent.info.run_id)
    assert [c.info.run_name for c in children] == ["trial-0", "trial-1", "trial-2", "trial-3"]
    for child, row in zip(children, result.trials, strict=True):
        assert child.info.status == "FINISHED"
        assert child.data.tags["trainhooks.state"] == "complete"
        assert child.data.params["penalty"] == str(row["params"]["penalty"])
        assert float(child.data.params["alpha"]) == pytest.approx(row["params"]["alpha"])
        assert child.data.metrics["score"] == pytest.approx(row["mean_test_score"])
        history = client.get_metric_history(child.info.run_id, "epoch_score")
        assert sorted(m.step for m in history) == [1, 2, 3]

    dst = tmp_path / "downloads"
    table = list(csv.DictReader(io.StringIO(artifact_text(mlflow_store, parent.info.run_id, "trials.csv", dst))))
    summary = json.loads(artifact_text(mlflow_store, parent.info.run_id, "summary.json", dst))
    artifact_text(mlflow_store, parent.info.run_id, "config.toml", dst)
    config = _read_toml(dst / "config.toml")
    assert [int(r["trial_id"]) for r in table] == [0, 1, 2, 3]
    assert float(table[0]["mean_test_score"]) == pytest.approx(result.trials[0]["mean_test_score"])
    assert summary["best_trial_id"] == result.summary["best_trial_id"]
    assert config["search"]["n_trials"] == 4

    # the refit best model: logged with signature and input example, loadable, with its test metric
    import mlflow.sklearn
    from mlflow.models import Model

    (output,) = client.get_run(parent.info.run_id).outputs.model_outputs
    model = client.get_logged_model(output.model_id)
    assert str(model.status).endswith("READY")
    assert model.params["alpha"] == str(result.best_params["alpha"])
    assert [(m.key, m.value) for m in model.metrics] == [("test_accuracy", pytest.approx(result.test_score))]
    info = Model.load(model.artifact_location)
    assert info.signature is not None and info.saved_input_example_info is not None
    loaded = mlflow.sklearn.load_model(model.artifact_location)
    assert (loaded.predict(features()) == result.best_estimator.predict(features())).all()


class PruneAndBreak:
    """Prunes trial 2 at its second epoch (trials 1 and 3 fail on their own: a bad penalty)."""

    plugin_name = "prune_and_break"

    @hookimpl
    def trainhooks_should_stop_trial(self, event: Any) -> StopDecision | None:
        if event.trial_id == 2 and event.epoch == 2:
            return StopDecision(reason="pruned:test", prune=True)
        return None


class BreaksOnL1(SGDClassifier):
    """An SGD classifier whose fit raises with the l1 penalty (a failure no up-front check can see)."""

    def partial_fit(self, X: Any, y: Any, classes: Any = None) -> BreaksOnL1:
        if self.penalty == "l1":
            raise ValueError("no-such-penalty: this estimator breaks on l1")
        return super().partial_fit(X, y, classes=classes)


def test_failed_and_pruned_trials_are_marked(mlflow_store: Store) -> None:
    space = {"alpha": [1e-4, 1e-3], "penalty": ["l2", "l1"]}
    estimator = BreaksOnL1(random_state=0)
    result = run_tune(
        mlflow_store,
        PruneAndBreak(),
        estimator=estimator,
        strategy="grid",
        n_trials=4,
        space=space,
    )
    states = {row["trial_id"]: row["state"] for row in result.trials}
    (parent,) = mlflow_store.parents()
    children = {int(c.data.tags["trainhooks.trial_id"]): c for c in mlflow_store.children(parent.info.run_id)}
    assert set(children) == set(states)
    for trial_id, child in children.items():
        assert child.data.tags["trainhooks.state"] == states[trial_id]
        if states[trial_id] == "failed":
            assert child.info.status == "FAILED"
            assert "no-such-penalty" in child.data.tags["trainhooks.error"]
        elif states[trial_id] == "pruned":
            assert child.data.tags["trainhooks.stop_reason"] == "pruned:test"
            assert child.data.metrics["epochs"] == 2
        else:
            assert child.info.status == "FINISHED"
    assert {"failed", "pruned", "complete"} <= set(states.values())
    assert parent.data.metrics["n_failed"] == result.summary["n_failed"] > 0, parent.data.metrics
    # the refit model of a custom estimator class (defined here) is logged too, with cloudpickle
    assert mlflow_store.client.get_run(parent.info.run_id).outputs.model_outputs
    assert "trainhooks.missing" not in parent.data.tags


@pytest.mark.parametrize(("log_trials", "expected"), [("top_k", 2), ("none", 0)])
def test_log_trials_limits_child_runs_but_keeps_the_whole_table(
    mlflow_store: Store, tmp_path: Path, log_trials: str, expected: int
) -> None:
    result = run_tune(mlflow_store, n_trials=5, settings={"log_trials": log_trials, "top_k": 2})
    (parent,) = mlflow_store.parents()
    children = mlflow_store.children(parent.info.run_id)
    assert len(children) == expected
    best_two = sorted(result.trials, key=lambda r: (-r["mean_test_score"], r["trial_id"]))[:expected]
    assert [int(c.data.tags["trainhooks.trial_id"]) for c in children] == sorted(r["trial_id"] for r in best_two)
    for child in children:
        assert len(mlflow_store.client.get_metric_history(child.info.run_id, "epoch_score")) == 3
    table = artifact_text(mlflow_store, parent.info.run_id, "trials.csv", tmp_path / "dl")
    assert len(table.strip().splitlines()) == 1 + 5


# -- statuses on interruption and failure --------------------------------------------------------


class InterruptAt:
    """Presses Ctrl-C when trial ``trial_id`` ends."""

    plugin_name = "interrupter"

    def __init__(self, trial_id: int) -> None:
        self.trial_id = trial_id

    @hookimpl(trylast=True)
    def trainhooks_on_trial_end(self, event: Any) -> None:
        if event.trial_id == self.trial_id:
            raise KeyboardInterrupt


class FailAt:
    """Raises in ``trainhooks_on_trial_end`` (fatal with ``on_error = "raise"``)."""

    plugin_name = "failer"

    @hookimpl(trylast=True)
    def trainhooks_on_trial_end(self, event: Any) -> None:
        if event.trial_id == 1:
            raise RuntimeError("disk on fire")


def test_ctrl_c_ends_runs_killed_and_nothing_is_left_running(mlflow_store: Store) -> None:
    from trainhooks import SearchInterrupted

    with pytest.raises(SearchInterrupted):
        run_tune(mlflow_store, InterruptAt(1), n_trials=4)
    (parent,) = mlflow_store.parents()
    assert parent.info.status == "KILLED"
    assert parent.data.tags["trainhooks.stop_reason"] == "interrupted"
    assert all(run.info.status != "RUNNING" for run in mlflow_store.runs())
    assert len(mlflow_store.children(parent.info.run_id)) == 2
    # the best trial so far was refit, scored on the held-out rows and logged
    assert "test_accuracy" in parent.data.metrics
    assert mlflow_store.client.search_logged_models([parent.info.experiment_id])


def test_a_failed_run_ends_failed_with_its_error(mlflow_store: Store) -> None:
    with pytest.raises(RuntimeError, match="disk on fire"):
        run_tune(mlflow_store, FailAt(), n_trials=4, on_error="raise")
    (parent,) = mlflow_store.parents()
    assert parent.info.status == "FAILED"
    assert "disk on fire" in parent.data.tags["trainhooks.error"]
    assert all(run.info.status != "RUNNING" for run in mlflow_store.runs())


# -- registry ----------------------------------------------------------------------------------

WEAK = {"alpha": [10.0], "penalty": ["l1"]}  # over-regularised: predicts one class
GOOD = {"alpha": [1e-3], "penalty": ["l2"]}


def registered(store: Store, recorder: EventRecorder, space: dict, **settings: Any) -> Any:
    name = f"{store.experiment}-model"
    return run_tune(
        store, recorder=recorder, strategy="grid", n_trials=1, space=space, settings={"register_as": name, **settings}
    )


def test_registry_versions_and_guarded_champion_alias(mlflow_store: Store) -> None:
    name = f"{mlflow_store.experiment}-model"
    client = mlflow_store.client
    recorder = EventRecorder()
    promote = {"promote_alias": "champion"}

    weak = registered(mlflow_store, recorder, WEAK, **promote)
    assert str(client.get_model_version_by_alias(name, "champion").version) == "1"

    good = registered(mlflow_store, recorder, GOOD, **promote)
    assert good.test_score > weak.test_score
    assert str(client.get_model_version_by_alias(name, "champion").version) == "2"
    assert any("'champion' moved from v1" in note for note in good.summary["notes"])

    worse = registered(mlflow_store, recorder, WEAK, **promote)
    assert str(client.get_model_version_by_alias(name, "champion").version) == "2"
    assert any("'champion' stays on v2" in note for note in worse.summary["notes"])

    equal_needs_margin = registered(mlflow_store, recorder, GOOD, min_improvement=0.5, **promote)
    assert str(client.get_model_version_by_alias(name, "champion").version) == "2"
    assert any(">= 0.5" in note for note in equal_needs_margin.summary["notes"])

    versions = sorted(client.search_model_versions(f"name = '{name}'"), key=lambda v: int(v.version))
    assert [str(v.version) for v in versions] == ["1", "2", "3", "4"]
    assert float(versions[1].tags["trainhooks.test_score"]) == pytest.approx(good.test_score)
    events = recorder.of(ModelRegistered)
    assert [(e.version, e.alias) for e in events] == [("1", "champion"), ("2", "champion"), ("3", None), ("4", None)]

    import mlflow.pyfunc

    source = client.get_model_version(name, "2").source
    assert (mlflow.pyfunc.load_model(source).predict(features()) == good.best_estimator.predict(features())).all()


class Deny:
    """An RBAC stand-in that denies one action."""

    plugin_name = "deny"

    def __init__(self, action: str) -> None:
        self.action = action

    @hookimpl
    def trainhooks_check_permission(self, request: Any) -> PermissionDecision | None:
        if request.action == self.action:
            return PermissionDecision.deny("not on a Monday", rule="test")
        return None


def test_registry_actions_ask_permission(mlflow_store: Store) -> None:
    name = f"{mlflow_store.experiment}-model"
    client = mlflow_store.client
    recorder = EventRecorder()
    settings = {"register_as": name, "promote_alias": "champion"}

    denied = run_tune(mlflow_store, Deny("model.register"), recorder=recorder, n_trials=1, settings=settings)
    assert not client.search_model_versions(f"name = '{name}'")
    assert any("not registered" in n and "not on a Monday" in n for n in denied.summary["notes"])
    assert not recorder.of(ModelRegistered)

    no_promote = run_tune(mlflow_store, Deny("model.promote"), recorder=recorder, n_trials=1, settings=settings)
    assert [str(v.version) for v in client.search_model_versions(f"name = '{name}'")] == ["1"]
    assert not client.get_registered_model(name).aliases
    assert any("permission denied" in n for n in no_promote.summary["notes"])
    (event,) = recorder.of(ModelRegistered)
    assert (event.version, event.alias) == ("1", None)
    asked = [c.kwargs["request"].action for c in recorder.calls if c.hook == "trainhooks_check_permission"]
    assert "model.register" in asked and "model.promote" in asked


# -- settings and failures ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("table", "field"),
    [
        ({"log_trials": "some"}, "plugins.mlflow.log_trials"),
        ({"top_k": 0}, "plugins.mlflow.top_k"),
        ({"promote_alias": "champion"}, "plugins.mlflow: "),
        ({"colour": "blue"}, "plugins.mlflow.colour: unknown key"),
        ({"top_kk": 3}, "plugins.mlflow.top_kk: unknown key (did you mean 'top_k'?)"),
    ],
)
def test_bad_settings_are_one_line_config_errors_and_write_nothing(
    mlflow_store: Store, table: dict, field: str
) -> None:
    from trainhooks import ConfigError

    recorder = EventRecorder()
    with pytest.raises(ConfigError) as error:
        run_tune(mlflow_store, recorder=recorder, settings=table)
    assert field in str(error.value) and "\n" not in str(error.value)
    assert recorder.events == []
    assert mlflow_store.runs() == []


def test_unreachable_server_stops_the_run_before_any_trial(mlflow_store: Store) -> None:
    from mlflow_support import free_port

    from trainhooks import TrainhooksError

    recorder = EventRecorder()
    uri = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(TrainhooksError, match=rf"mlflow: tracking server {uri} is unreachable") as error:
        run_tune(mlflow_store, recorder=recorder, settings={"tracking_uri": uri})
    assert error.value.exit_code == 1 and "\n" not in str(error.value)
    assert recorder.events == []


def test_tracking_failure_mid_run_is_isolated_and_noted(mlflow_db_template: Path, tmp_path: Path) -> None:
    """The store breaks after trial 1 (its tables vanish): training goes on, the summary says what was lost."""
    import shutil
    import sqlite3

    from mlflow_support import Store

    class BreakStore:
        plugin_name = "breaker"

        @hookimpl(trylast=True)
        def trainhooks_on_trial_end(self, event: Any) -> None:
            if event.trial_id == 1:
                wait_for_parent_run()  # the plugin writes in the background; break the store after that
                with sqlite3.connect(db) as con:
                    con.execute("ALTER TABLE runs RENAME TO runs_gone")
                    con.execute("ALTER TABLE metrics RENAME TO metrics_gone")

    def wait_for_parent_run() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with sqlite3.connect(db) as con:
                if con.execute("SELECT count(*) FROM runs").fetchone()[0]:
                    return
            time.sleep(0.05)
        raise AssertionError("the mlflow plugin never created the parent run")

    db = tmp_path / "own.db"
    shutil.copyfile(mlflow_db_template, db)
    store = Store(f"sqlite:///{db}", "breaking")
    recorder = EventRecorder()
    result = run_tune(store, BreakStore(), recorder=recorder, n_trials=4)

    assert result.summary["n_trials"] == 4 and result.best_estimator is not None
    (note,) = [n for n in result.summary.get("notes", []) if n.startswith("mlflow:")]
    assert f"writes to {store.uri} are pending in" in note  # kept in the spool, not lost (test_outage.py)
    assert f"trainhooks runs sync {result.run_id}" in note
    assert recorder.of(PluginFailed) == []
    with sqlite3.connect(db) as con:
        con.execute("ALTER TABLE runs_gone RENAME TO runs")
        con.execute("ALTER TABLE metrics_gone RENAME TO metrics")
    (parent,) = store.parents()
    assert len(store.children(parent.info.run_id)) <= 2  # trials 0 and 1 at most, until the spool is sent


def test_train_logs_one_parent_with_one_trial(mlflow_store: Store) -> None:
    from sklearn.linear_model import LogisticRegression

    X, y = breast_cancer(200)
    session = make_session(EventRecorder(), builtins=("mlflow",))
    result = session.train(
        LogisticRegression(max_iter=200),
        X,
        y,
        cv=3,
        test_size=0.25,
        experiment=mlflow_store.experiment,
        plugin_config=mlflow_store.plugin_config(),
    )
    (parent,) = mlflow_store.parents()
    assert parent.data.tags["trainhooks.kind"] == "train"
    assert parent.data.tags["trainhooks.strategy"] == "fixed"
    assert parent.info.status == "FINISHED"
    (child,) = mlflow_store.children(parent.info.run_id)
    assert child.data.metrics["score"] == pytest.approx(result.best_score)
    assert parent.data.metrics["test_score"] == pytest.approx(result.test_score)


def test_a_refused_run_writes_nothing(mlflow_store: Store) -> None:
    from trainhooks import PermissionDenied

    with pytest.raises(PermissionDenied):
        run_tune(mlflow_store, Deny("run.tune"), settings={"register_as": "never"})
    assert mlflow_store.runs() == []
    assert mlflow_store.client.get_experiment_by_name(mlflow_store.experiment) is None


def test_trials_in_worker_processes_log_the_same_tree(mlflow_store: Store) -> None:
    """Two trials at a time in a process pool: events interleave, the driver still writes each trial whole."""
    result = run_tune(mlflow_store, n_trials=4, executor="process", n_jobs=2)
    (parent,) = mlflow_store.parents()
    assert parent.info.status == "FINISHED"
    children = mlflow_store.children(parent.info.run_id)
    assert len(children) == 4
    for child, row in zip(children, result.trials, strict=True):
        assert child.info.status == "FINISHED"
        assert child.data.metrics["score"] == pytest.approx(row["mean_test_score"])
        history = mlflow_store.client.get_metric_history(child.info.run_id, "epoch_score")
        assert sorted(m.step for m in history) == list(range(1, row["epochs"] + 1))
