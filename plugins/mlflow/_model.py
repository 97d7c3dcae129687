"""Logging the refit best model as an MLflow model of the parent run, without global MLflow state.

``mlflow.sklearn.log_model`` works on the process-wide tracking URI; this does the same steps
through our own client instead: create a logged model, save it with its signature and input
example, upload it, mark it ready and link it to the parent run as an output.
"""

from __future__ import annotations

import pickle
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trainhooks.hooks import ModelFitted


@dataclass(frozen=True)
class LoggedModel:
    model_id: str
    model_uri: str  # models:/<model_id>
    artifact_location: str  # where the files are (what the registry stores as a version's source)


def _example(event: ModelFitted) -> Any:
    import numpy as np

    rows = np.asarray(event.input_example)
    if event.feature_names:
        import pandas as pd

        return pd.DataFrame(rows, columns=list(event.feature_names))
    return rows


def log_refit_model(client: Any, experiment_id: str, run_id: str, event: ModelFitted, test_metric: str) -> LoggedModel:
    """Log the model pickled at ``event.model_path`` to ``run_id``; its held-out score as ``test_metric``."""
    import mlflow.sklearn
    from mlflow.entities import LoggedModelOutput, Metric
    from mlflow.models import Model, infer_signature

    with open(event.model_path, "rb") as fh:
        model = pickle.load(fh)  # written by the trainhooks core for this run
    example = _example(event)
    signature = infer_signature(example, model.predict(example))
    params = {k: str(v) for k, v in event.params.items()}
    logged = client.create_logged_model(
        experiment_id, name="model", source_run_id=run_id, params=params, model_type="sklearn"
    )
    try:
        with tempfile.TemporaryDirectory(prefix="trainhooks-model-") as tmp:
            path = Path(tmp) / "model"
            mlflow_model = Model(
                artifact_path=logged.artifact_location,
                model_uuid=logged.model_id,
                run_id=run_id,
                model_id=logged.model_id,
            )
            mlflow.sklearn.save_model(
                model,
                str(path),
                mlflow_model=mlflow_model,
                signature=signature,
                input_example=example,
                pip_requirements=mlflow.sklearn.get_default_pip_requirements(),
            )
            client.log_model_artifacts(logged.model_id, str(path))
    except BaseException:
        client.finalize_logged_model(logged.model_id, "FAILED")
        raise
    client.finalize_logged_model(logged.model_id, "READY")
    client.log_outputs(run_id, [LoggedModelOutput(logged.model_id, step=0)])
    if event.test_score is not None:
        when = int(event.timestamp * 1000)
        client.log_batch(
            run_id,
            metrics=[
                Metric(test_metric, float(event.test_score), when, 0, model_id=logged.model_id),
            ],
        )
    return LoggedModel(logged.model_id, f"models:/{logged.model_id}", logged.artifact_location)


__all__ = ["LoggedModel", "log_refit_model"]
