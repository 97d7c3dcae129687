"""The logged refit model loads and predicts: pyfunc on a mixed-type DataFrame, skops, and
``trainhooks predict runs:/…`` / ``models:/…@alias``, all against a real SQLite store."""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pytest
from builders import write_frame
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.linear_model import SGDClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from trainhooks.testing import EventRecorder, make_session

if TYPE_CHECKING:
    from mlflow_support import Store

SPACE = {"clf__alpha": {"low": 1e-4, "high": 1e-1, "log": True}}


def mixed_frame(n_rows: int = 240) -> tuple[pd.DataFrame, pd.Series]:
    """Integer, float, string and boolean columns, string labels that depend on all of them."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "age": rng.integers(18, 80, n_rows),
            "income": rng.normal(50.0, 10.0, n_rows).round(2),
            "city": rng.choice(["paris", "lyon", "nice"], n_rows),
            "member": rng.choice([True, False], n_rows),
        }
    )
    city = frame["city"].map({"paris": 1.0, "lyon": -1.0, "nice": 0.0})
    score = (frame["age"] - 48) / 18 + (frame["income"] - 50) / 10 + city
    return frame, pd.Series(np.where(score + rng.normal(0, 0.5, n_rows) > 0, "yes", "no"), name="label")


def pipeline(selector: bool = False) -> Pipeline:
    """One-hot the string column, scale the numbers, then a logistic SGD (so it has predict_proba)."""
    strings: Any = make_column_selector(dtype_include=["object", "string"]) if selector else ["city"]
    prep = ColumnTransformer(
        [
            ("cat", OneHotEncoder(handle_unknown="ignore"), strings),
            ("num", StandardScaler(), ["age", "income"]),
        ]
    )
    return Pipeline([("prep", prep), ("clf", SGDClassifier(loss="log_loss", random_state=0))])


def tune_mixed(store: Store, *, selector: bool = False, recorder: EventRecorder | None = None, **settings: Any) -> Any:
    X, y = mixed_frame()
    session = make_session(recorder or EventRecorder(), builtins=("mlflow",))
    return session.tune(
        pipeline(selector),
        SPACE,
        X,
        y,
        strategy="random",
        n_trials=3,
        cv=3,
        scoring="accuracy",
        random_state=0,
        test_size=0.25,
        experiment=store.experiment,
        plugin_config=store.plugin_config(**settings),
    )


@pytest.fixture
def user_store(mlflow_store: Store, monkeypatch: pytest.MonkeyPatch) -> Store:
    """``mlflow_store``, also as this process's MLflow tracking URI (as a user loading models has it)."""
    import mlflow

    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_store.uri)
    assert mlflow.get_tracking_uri() == mlflow_store.uri
    return mlflow_store


def test_pyfunc_predicts_the_mixed_frame_like_the_refit_pipeline(user_store: Store) -> None:
    import mlflow.pyfunc

    mlflow_store = user_store
    result = tune_mixed(mlflow_store)
    (parent,) = mlflow_store.parents()
    X, _ = mixed_frame()

    model = mlflow.pyfunc.load_model(f"runs:/{parent.info.run_id}/model")
    inputs = {col.name: col.type.name for col in model.metadata.get_input_schema().inputs}
    assert inputs == {"age": "long", "income": "double", "city": "string", "member": "boolean"}
    assert list(np.asarray(model.predict(X))) == list(result.best_estimator.predict(X))
    assert "trainhooks.missing" not in parent.data.tags


def test_the_logged_model_pins_the_installed_versions_without_mlflow_rechecking_them(user_store: Store) -> None:
    """The plugin skips MLflow's requirement check (it reads every installed package's file list:
    most of the model's logging time) because the requirements it gives are the installed
    versions: they are pinned in the model, and the skipped function still exists in this MLflow."""
    import mlflow.pyfunc
    import mlflow.utils.environment
    import sklearn

    from trainhooks.plugins.mlflow._model import REQUIREMENTS_CHECK

    tune_mixed(user_store)
    (parent,) = user_store.parents()
    requirements = Path(mlflow.pyfunc.get_model_dependencies(f"runs:/{parent.info.run_id}/model")).read_text()
    assert f"scikit-learn=={sklearn.__version__}" in requirements.splitlines()
    assert callable(getattr(mlflow.utils.environment, REQUIREMENTS_CHECK))  # else the check is back (slower)
    assert getattr(mlflow.utils.environment, REQUIREMENTS_CHECK).__module__ == "mlflow.utils.requirements_utils"


def test_skops_refusing_a_column_selector_loses_only_the_model(mlflow_store: Store, tmp_path: Path) -> None:
    result = tune_mixed(mlflow_store, selector=True, serialization="skops")

    (parent,) = mlflow_store.parents()
    assert parent.info.status == "FINISHED"
    assert parent.data.metrics["n_trials"] == 3  # the summary is still logged ...
    artifacts = {a.path for a in mlflow_store.client.list_artifacts(parent.info.run_id)}
    assert {"trials.csv", "config.toml", "summary.json"} <= artifacts  # ... and every artifact
    assert not mlflow_store.client.get_run(parent.info.run_id).outputs.model_outputs
    assert parent.data.tags["trainhooks.missing"] == "model"
    why = parent.data.tags["trainhooks.missing.model"]
    assert "sklearn.compose._column_transformer.make_column_selector" in why  # named in full
    assert "plugins.mlflow.skops_trusted_types" in why
    (note,) = [n for n in result.summary["notes"] if n.startswith("mlflow:")]
    assert note.startswith("mlflow: the refit model was not logged: skops does not trust")


def test_skops_with_its_trusted_types_logs_a_loadable_model(user_store: Store) -> None:
    import mlflow.pyfunc

    mlflow_store = user_store
    trusted = ["builtins.object", "sklearn.compose._column_transformer.make_column_selector"]
    result = tune_mixed(mlflow_store, selector=True, serialization="skops", skops_trusted_types=trusted)

    (parent,) = mlflow_store.parents()
    X, _ = mixed_frame()
    model = mlflow.pyfunc.load_model(f"runs:/{parent.info.run_id}/model")
    assert list(np.asarray(model.predict(X))) == list(result.best_estimator.predict(X))


@pytest.mark.slow
def test_predict_cli_from_a_run_and_from_a_registered_alias(mlflow_store: Store, run_cli, tmp_path: Path) -> None:
    result = tune_mixed(mlflow_store, register_as=f"{mlflow_store.experiment}-model", promote_alias="champion")
    (parent,) = mlflow_store.parents()
    X, y = mixed_frame()
    data = write_frame(tmp_path / "rows.csv", X.assign(label=y))  # extra columns (the target) are ignored

    by_run = run_cli("predict", f"runs:/{parent.info.run_id}/model", str(data), "--tracking-uri", mlflow_store.uri)
    assert by_run.returncode == 0, by_run.stderr
    assert list(pd.read_csv(io.StringIO(by_run.stdout))["prediction"]) == list(result.best_estimator.predict(X))

    out = tmp_path / "proba.csv"
    uri = f"models:/{mlflow_store.experiment}-model@champion"
    by_alias = run_cli("predict", uri, str(data), "--proba", "-o", str(out), "--tracking-uri", mlflow_store.uri)
    assert by_alias.returncode == 0, by_alias.stderr
    expected = result.best_estimator.predict_proba(X)
    table = pd.read_csv(out)
    assert list(table.columns) == ["proba_no", "proba_yes"]
    np.testing.assert_allclose(table.to_numpy(), expected)

    missing = run_cli("predict", "runs:/0123456789abcdef/model", str(data), "--tracking-uri", mlflow_store.uri)
    assert missing.returncode == 2
    (line,) = missing.stderr.strip().splitlines()
    assert line.startswith("error: MODEL: runs:/0123456789abcdef/model")
