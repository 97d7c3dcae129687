"""Talking to MLflow: the client, batched writes, the reachability check and HTTP limits.

MLflow is imported lazily (it takes seconds), and the process-global tracking URI is never set:
everything goes through an ``MlflowClient`` bound to one URI.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from trainhooks import TrainhooksError

from ._redact import redact

MAX_ENTITIES, MAX_PARAMS, MAX_TAGS = 1000, 100, 100
"""MLflow's ``log_batch`` limits per request (metrics + params + tags together at most 1000)."""

MAX_PARAM_LENGTH = 6000
"""MLflow rejects longer parameter values."""


def is_http(uri: str) -> bool:
    return uri.startswith(("http://", "https://"))


def check_reachable(uri: str, timeout_s: float = 5.0) -> None:
    """Raise a one-line :class:`TrainhooksError` unless the tracking server at ``uri`` answers ``/health``."""
    if not is_http(uri):
        return
    import requests

    try:
        response = requests.get(uri.rstrip("/") + "/health", timeout=timeout_s)
        response.raise_for_status()
    except requests.RequestException as exc:
        reason = type(exc).__name__ if isinstance(exc, requests.ConnectionError) else str(exc).splitlines()[0]
        raise TrainhooksError(redact(f"mlflow: tracking server {uri} is unreachable: {reason}", uri)) from None


def make_client(uri: str) -> Any:
    """An ``MlflowClient`` for tracking and registry at ``uri``."""
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=uri, registry_uri=uri)


@contextmanager
def http_limits(retries: int, timeout_s: int) -> Iterator[None]:
    """Bound MLflow's HTTP retries/timeout during this plugin's calls, unless the user set them.

    MLflow reads these environment variables on every request and by default retries for minutes,
    which would stall training when the server goes away. The previous values are restored after.
    """
    wanted = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": str(retries), "MLFLOW_HTTP_REQUEST_TIMEOUT": str(timeout_s)}
    changed = {key: value for key, value in wanted.items() if key not in os.environ}
    os.environ.update(changed)
    try:
        yield
    finally:
        for key in changed:
            os.environ.pop(key, None)


def param_value(value: Any) -> str:
    """A parameter value as MLflow stores it (a string, cut to MLflow's limit)."""
    text = "None" if value is None else str(value)
    return text[:MAX_PARAM_LENGTH]


def log_batch(
    client: Any,
    run_id: str,
    metrics: Sequence[Any] = (),
    params: Sequence[Any] = (),
    tags: Sequence[Any] = (),
) -> int:
    """Write metrics, params and tags in as few ``log_batch`` requests as MLflow allows; returns the count."""
    metrics, params, tags = list(metrics), list(params), list(tags)
    requests = 0
    while metrics or params or tags:
        room = MAX_ENTITIES - min(len(params), MAX_PARAMS) - min(len(tags), MAX_TAGS)
        client.log_batch(run_id, metrics=metrics[:room], params=params[:MAX_PARAMS], tags=tags[:MAX_TAGS])
        metrics, params, tags = metrics[room:], params[MAX_PARAMS:], tags[MAX_TAGS:]
        requests += 1
    return requests


__all__ = ["check_reachable", "http_limits", "is_http", "log_batch", "make_client", "param_value"]
