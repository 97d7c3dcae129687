"""Talking to MLflow: the client, batched writes, the reachability check and HTTP limits.

MLflow is imported lazily (it takes seconds), and the process-global tracking URI is never set:
everything goes through an ``MlflowClient`` bound to one URI.

A SQLite store is opened under a file lock (``<db>.lock`` beside the database): MLflow creates and
migrates the schema on first use, and several processes doing that at once on a new file race
(half-done migrations leave ``_alembic_tmp_*`` tables and every later run on the store fails).
Under the lock the first process migrates and the others find a finished schema. A store already
left half-migrated is refused with one line that says how to repair it.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from trainhooks import TrainhooksError

from ._redact import redact
from ._template import seed_new_store

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


STORE_LOCK_TIMEOUT_S = 300.0
"""How long to wait for another process that is creating or migrating the same SQLite store."""


class StoreBroken(TrainhooksError):
    """The SQLite store was left half-migrated by an interrupted MLflow schema migration."""


def sqlite_path(uri: str) -> Path | None:
    """The database file of a ``sqlite:`` URI (``None`` for other stores and in-memory SQLite)."""
    if not uri.startswith("sqlite:"):
        return None
    from sqlalchemy.engine import make_url

    database = make_url(uri).database
    return Path(database) if database and database != ":memory:" else None


def check_not_half_migrated(path: Path) -> None:
    """Raise :class:`StoreBroken` (one line: what happened and how to repair it) if ``path`` holds
    ``_alembic_tmp_*`` tables, which a migration interrupted half-way leaves behind."""
    if not path.is_file():
        return
    try:
        with contextlib.closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as db:
            rows = db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE '\\_alembic\\_tmp\\_%' ESCAPE '\\'"
            ).fetchall()
    except sqlite3.Error:
        return  # not readable as SQLite: MLflow's own error says so
    if rows:
        table = sorted(name for (name,) in rows)[0]
        raise StoreBroken(
            f"mlflow: an interrupted MLflow migration left table {table} in {path}: restore a backup of it, "
            "or drop that table and run `mlflow db upgrade` on the store, or use a new file (docs/mlflow.md)"
        )


@contextmanager
def store_lock(uri: str) -> Iterator[None]:
    """Hold ``<db>.lock`` while a SQLite store is created or migrated; no lock for other stores.

    Where the lock file cannot be created (a read-only directory) the store is opened without it:
    such a store cannot be created or migrated by this process anyway.
    """
    path = sqlite_path(uri)
    if path is None:
        yield
        return
    from filelock import FileLock, Timeout

    lock = FileLock(f"{path}.lock", timeout=STORE_LOCK_TIMEOUT_S)
    try:
        lock.acquire()
    except Timeout:
        raise TrainhooksError(
            f"mlflow: waited {STORE_LOCK_TIMEOUT_S:.0f} s for {path}.lock (another process is creating the store)"
        ) from None
    except OSError:
        yield
        return
    try:
        yield
    finally:
        lock.release()


SQLITE_STORES: set[Path] = set()
"""The SQLite files this process opened through :func:`make_client` (checkpointed when the writer exits)."""


def make_client(uri: str) -> Any:
    """An ``MlflowClient`` for tracking and registry at ``uri``, its store created and migrated.

    MLflow opens (creates, migrates) a store when the client is made and on its first request; for
    SQLite both happen here, under :func:`store_lock`, after checking the file is not half-migrated;
    a new SQLite file starts as a copy of a migrated empty store (``_template``).
    """
    from mlflow import MlflowClient

    path = sqlite_path(uri)
    if path is None:
        return MlflowClient(tracking_uri=uri, registry_uri=uri)
    SQLITE_STORES.add(path.resolve())
    with store_lock(uri):
        check_not_half_migrated(path)
        seed_new_store(path)  # a copy of a migrated empty store: no migrations on a new file
        client = MlflowClient(tracking_uri=uri, registry_uri=uri)
        client.search_registered_models(max_results=1)  # opens the registry store too
        return client


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


__all__ = [
    "SQLITE_STORES",
    "StoreBroken",
    "check_not_half_migrated",
    "check_reachable",
    "http_limits",
    "is_http",
    "log_batch",
    "make_client",
    "param_value",
    "sqlite_path",
    "store_lock",
]
