"""Loading a logged model back by its MLflow URI, for ``trainhooks predict runs:/<run_id>/model``.

MLflow's scikit-learn flavour reads it, so the caller gets the estimator itself, with
``predict_proba`` when it has one. MLflow resolves ``runs:/`` URIs of MLflow 3's logged models
through the process-wide tracking URI only, so that is set to the given store for the duration of
the call and restored after it; MLflow's download progress bar and INFO lines stay off the
terminal (``--debug`` shows the INFO lines).
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from collections.abc import Iterator
from typing import Any

from trainhooks import DataError, TrainhooksError

from ._process import one_line
from ._redact import redact

SCHEMES = ("runs:/", "models:/")
"""The model URIs this plugin answers: a run's logged model, a registered or logged model."""

PROGRESS_BAR = "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"


def is_model_uri(uri: str) -> bool:
    return uri.startswith(SCHEMES)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """No download progress bar; MLflow's INFO lines (a new store's migrations) at DEBUG only."""
    logger = logging.getLogger("mlflow")
    level, progress = logger.level, os.environ.get(PROGRESS_BAR)
    if not logging.getLogger().isEnabledFor(logging.DEBUG):
        logger.setLevel(logging.WARNING)
    os.environ[PROGRESS_BAR] = "false"
    try:
        yield
    finally:
        logger.setLevel(level)
        if progress is None:
            os.environ.pop(PROGRESS_BAR, None)
        else:
            os.environ[PROGRESS_BAR] = progress


def load_model(uri: str, tracking_uri: str) -> Any:
    """The scikit-learn model at ``uri`` in the store at ``tracking_uri``.

    A URI that names nothing (no such run, model, version or alias) is a :class:`DataError`
    (exit 2); any other failure (an unreachable server) a :class:`TrainhooksError` (exit 1). Both
    are one line naming the URI and the store, credentials masked.
    """
    import mlflow.sklearn
    from mlflow.exceptions import MlflowException
    from mlflow.tracking._tracking_service.utils import _use_tracking_uri  # MLflow's own (since 2.x)

    where = f"MODEL: {uri} (tracking store {redact(tracking_uri, tracking_uri)})"
    try:
        with _quiet(), _use_tracking_uri(tracking_uri), tempfile.TemporaryDirectory(prefix="trainhooks-") as tmp:
            return mlflow.sklearn.load_model(uri, dst_path=tmp)
    except MlflowException as exc:
        problem = redact(one_line(exc), tracking_uri)
        if exc.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE", "NOT_FOUND"):
            raise DataError(f"{where}: not found: {problem}") from None
        raise TrainhooksError(f"{where}: cannot be loaded: {problem}") from None
    except OSError as exc:
        raise TrainhooksError(f"{where}: cannot be loaded: {redact(one_line(exc), tracking_uri)}") from None


__all__ = ["SCHEMES", "is_model_uri", "load_model"]
