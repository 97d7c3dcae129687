"""Logging the refit best model as an MLflow model of the parent run, without global MLflow state.

``mlflow.sklearn.log_model`` works on the process-wide tracking URI; this does the same steps
through our own client instead: create a logged model, save it with its signature and input
example, upload it, mark it ready and link it to the parent run as an output.

The input example is rebuilt with the training data's column dtypes (``ModelFitted.feature_dtypes``),
so the signature keeps numbers as numbers and ``mlflow.pyfunc.load_model(uri).predict(frame)``
accepts the same DataFrame the model was trained on. The model is stored with cloudpickle (any
estimator or pipeline) or, if asked, skops; types skops would refuse to load are named in full
before anything is written.
"""

from __future__ import annotations

import pickle
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trainhooks.hooks import ModelFitted

MODEL_NAME = "model"
"""The logged model's name: the parent run's model is ``runs:/<parent run id>/model``."""


@dataclass(frozen=True)
class LoggedModel:
    model_id: str
    model_uri: str  # models:/<model_id>
    artifact_location: str  # where the files are (what the registry stores as a version's source)


@dataclass(frozen=True)
class ModelNotLogged:
    """What the writer answers when the refit model could not be logged: ``error`` says why, in one line."""

    error: str


class ModelNotSaved(Exception):
    """The refit model cannot be stored in the chosen format (the message says why and what to do)."""


def input_example(event: ModelFitted) -> Any:
    """The event's example rows as a DataFrame with the training columns' dtypes (an array without names)."""
    if not event.feature_names:
        import numpy as np

        return np.asarray(event.input_example)
    import pandas as pd

    frame = pd.DataFrame(event.input_example, columns=list(event.feature_names))
    try:
        return frame.astype(event.feature_dtypes or {})
    except (TypeError, ValueError):  # a dtype this pandas cannot rebuild from plain values: pandas' own guess
        return frame.infer_objects()


def check_skops(model: Any, trusted: Sequence[str]) -> None:
    """Raise :class:`ModelNotSaved` naming every type skops would refuse to load (beyond ``trusted``)."""
    import skops.io

    untrusted = sorted(set(skops.io.get_untrusted_types(data=skops.io.dumps(model))) - set(trusted))
    if untrusted:
        raise ModelNotSaved(
            f"skops does not trust {', '.join(untrusted)}: add them to plugins.mlflow.skops_trusted_types "
            '(only types you trust), or set plugins.mlflow.serialization = "cloudpickle"'
        )


REQUIREMENTS_CHECK = "warn_dependency_requirement_mismatches"
"""MLflow's internal function that compares a model's pip requirements with the installed packages."""


@contextmanager
def _requirements_not_rechecked() -> Iterator[None]:
    """Skip MLflow's check of a saved model's pip requirements against the installed packages.

    The check reads the file list of every installed distribution (0.3-0.5 s on each model
    logged, the largest part of it), and can only pass here: the requirements we give are
    ``get_default_pip_requirements()``, the installed versions themselves. If MLflow renames the
    function (it is internal), the check simply runs again; a test watches for that.
    """
    import mlflow.utils.environment as environment

    check = getattr(environment, REQUIREMENTS_CHECK, None)
    if check is None:
        yield
        return
    setattr(environment, REQUIREMENTS_CHECK, lambda requirements: None)
    try:
        yield
    finally:
        setattr(environment, REQUIREMENTS_CHECK, check)


def log_refit_model(
    client: Any,
    experiment_id: str,
    run_id: str,
    event: ModelFitted,
    test_metric: str,
    *,
    serialization: str = "cloudpickle",
    skops_trusted_types: Sequence[str] = (),
) -> LoggedModel:
    """Log the model pickled at ``event.model_path`` to ``run_id``; its held-out score as ``test_metric``."""
    import mlflow.sklearn
    from mlflow.entities import LoggedModelOutput, Metric
    from mlflow.models import Model, infer_signature

    with open(event.model_path, "rb") as fh:
        model = pickle.load(fh)  # written by the trainhooks core for this run
    if serialization == "skops":
        check_skops(model, skops_trusted_types)
    example = input_example(event)
    signature = infer_signature(example, model.predict(example))
    params = {k: str(v) for k, v in event.params.items()}
    logged = client.create_logged_model(
        experiment_id, name=MODEL_NAME, source_run_id=run_id, params=params, model_type="sklearn"
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
            with _requirements_not_rechecked():
                mlflow.sklearn.save_model(
                    model,
                    str(path),
                    mlflow_model=mlflow_model,
                    signature=signature,
                    input_example=example,
                    serialization_format=serialization,
                    skops_trusted_types=list(skops_trusted_types) or None,
                    pip_requirements=mlflow.sklearn.get_default_pip_requirements(
                        include_cloudpickle=serialization == "cloudpickle", include_skops=serialization == "skops"
                    ),
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


__all__ = [
    "MODEL_NAME",
    "LoggedModel",
    "ModelNotLogged",
    "ModelNotSaved",
    "check_skops",
    "input_example",
    "log_refit_model",
]
