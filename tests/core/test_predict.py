"""The best model without MLflow: ``RunResult.best_estimator``, ``--save-model`` and ``trainhooks predict``."""

from __future__ import annotations

import io
import json
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
from builders import labelled_frame, run_config, write_frame, write_toml
from sklearn.linear_model import SGDClassifier

import trainhooks
from trainhooks import DataError
from trainhooks.predict import load_model, model_input, predictions, save_model


def frame() -> pd.DataFrame:
    """Numeric features ``a``, ``b``, ``c`` and string labels that they predict well."""
    data = labelled_frame(120)
    data["c"] = data["a"] - data["b"]
    data["label"] = np.where(data["a"] + data["b"] > 0, "up", "down")
    return data


def test_the_refit_model_saved_and_loaded_predicts_the_same(tmp_path: Path) -> None:
    data = frame()
    X, y = data[["a", "b", "c"]], data["label"]
    result = trainhooks.tune(
        SGDClassifier(loss="log_loss", random_state=0), {"alpha": [1e-4, 1e-2]}, X, y, strategy="grid", cv=3
    )
    assert result.best_estimator.get_params()["alpha"] == result.best_params["alpha"]  # the refit, fitted

    model = load_model(str(save_model(result.best_estimator, tmp_path / "best.joblib")))
    shuffled = data[["label", "c", "b", "a"]]  # other order, an extra column: the training columns are taken
    table = predictions(model, model_input(model, shuffled))
    assert list(table["prediction"]) == list(result.best_estimator.predict(X))
    proba = predictions(model, model_input(model, shuffled), proba=True)
    assert list(proba.columns) == ["proba_down", "proba_up"]
    np.testing.assert_allclose(proba.to_numpy(), result.best_estimator.predict_proba(X))

    with pytest.raises(DataError, match=r"^DATA: missing 1 column\(s\) the model was trained on: 'b'$"):
        model_input(model, data.drop(columns=["b"]))


@pytest.fixture
def saved_run(tmp_path: Path, run_cli) -> tuple[Path, Path, dict]:
    """``trainhooks tune --save-model`` on a CSV: the model file, the CSV and the run's JSON output."""
    csv = write_frame(tmp_path / "train.csv", frame())
    config = run_config(
        data={"dataset": None, "path": str(csv), "target": "label"},
        model={"params": {"random_state": 0, "loss": "log_loss"}},
    )
    path = tmp_path / "best.joblib"
    done = run_cli("tune", str(write_toml(tmp_path / "run.toml", config)), "--json", "-q", "--save-model", str(path))
    assert done.returncode == 0, done.stderr
    return path, csv, json.loads(done.stdout)


@pytest.mark.slow
def test_tune_saves_the_model_and_predict_reads_it(saved_run, run_cli, tmp_path: Path) -> None:
    path, csv, report = saved_run
    model = joblib.load(path)
    assert model.get_params()["alpha"] == pytest.approx(report["summary"]["best_params"]["alpha"])
    X = frame()[["a", "b", "c"]]

    to_stdout = run_cli("predict", str(path), str(csv))
    assert to_stdout.returncode == 0, to_stdout.stderr
    assert list(pd.read_csv(io.StringIO(to_stdout.stdout))["prediction"]) == list(model.predict(X))

    out = tmp_path / "proba.parquet"
    to_file = run_cli("predict", str(path), str(csv), "--proba", "-o", str(out))
    assert to_file.returncode == 0, to_file.stderr
    assert to_file.stdout == ""
    np.testing.assert_allclose(pd.read_parquet(out).to_numpy(), model.predict_proba(X))


@pytest.mark.slow
def test_predict_input_problems_are_one_line_and_exit_2(saved_run, run_cli, tmp_path: Path) -> None:
    path, _, _ = saved_run
    short = write_frame(tmp_path / "short.csv", frame().drop(columns=["c"]))
    cases = {
        (str(path), str(short)): "error: DATA: missing 1 column(s) the model was trained on: 'c'",
        (str(tmp_path / "nope.joblib"), str(short)): f"error: MODEL: file not found: {tmp_path / 'nope.joblib'}",
        (str(path), str(tmp_path / "nope.csv")): f"error: DATA: file not found: {tmp_path / 'nope.csv'}",
        ("runs:/abc/model", str(short), "--no-plugin", "mlflow"): "error: MODEL: no plugin loads 'runs:/abc/model'",
    }
    for args, expected in cases.items():
        done = run_cli("predict", *args)
        assert done.returncode == 2, (args, done.stderr)
        (line,) = done.stderr.strip().splitlines()
        assert line.startswith(expected), line


@pytest.mark.slow
def test_save_model_into_a_missing_directory_is_refused_before_the_run(run_cli, tmp_path: Path) -> None:
    config = write_toml(tmp_path / "run.toml", run_config())
    done = run_cli("train", str(config), "-q", "--save-model", str(tmp_path / "no" / "model.joblib"))
    assert done.returncode == 2
    assert done.stderr.strip() == f"error: --save-model: directory not found: {tmp_path / 'no'}"
    assert done.stdout == ""  # nothing ran
