"""A new SQLite store starts as a copy of an empty, migrated store instead of migrating itself.

MLflow creates a new SQLite store by creating its tables and then running every alembic migration
since its first release, one transaction (and one ``fsync``) each: 0.6 s of CPU and 1-4 s of wall
time on a 2-core machine, paid by the first run in every new directory (``make demo``, a test, a
notebook). The result is the same file every time for one MLflow version, so it is made once per
MLflow version in the user's cache directory (:func:`cache_dir`), and a new store is a copy of it.

The template holds the schema and MLflow's own bookkeeping rows (``alembic_version``, the default
workspace) but no experiment: MLflow creates its default experiment (id 0) when it opens the copy,
with the artifact location of the copy's own directory, as for a store it created itself. MLflow
checks the copy's schema revision when it opens it (``_verify_schema``), so a template from another
schema is refused, not used.

A new store is also switched to SQLite's write-ahead log (``journal_mode=WAL``, kept in the file):
each MLflow commit is then one append and one ``fsync`` of the log instead of a rollback journal's
several, which made a trial's three writes (seven commits) 5-9x faster on a busy 2-core machine
(20 trials: 1.7-2.4 s -> 0.2-0.4 s). Commits stay durable (``synchronous`` stays FULL). WAL needs
every process using the file on one machine (not a network file system), and SQLite keeps
``<db>-wal`` and ``<db>-shm`` beside it while it is open; :func:`checkpoint` moves everything into
the database file itself when the writer is done, so a copy of ``mlflow.db`` alone is complete.
Stores that already exist keep their journal mode.

Everything here is an optimisation: if the cache cannot be written or the copy fails, MLflow
creates the store itself as before. It runs under the store's lock (``_client.store_lock``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import sqlite3
from collections.abc import Iterable
from pathlib import Path

log = logging.getLogger("trainhooks.plugins.mlflow")

CACHE_ENV = "TRAINHOOKS_CACHE_DIR"
"""Overrides where trainhooks caches files (default ``$XDG_CACHE_HOME/trainhooks``, else ``~/.cache/trainhooks``)."""


def cache_dir() -> Path:
    """The user's trainhooks cache directory (not created here)."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "trainhooks"


def template_path() -> Path:
    """Where the empty migrated store of the installed MLflow version is kept."""
    import mlflow

    return cache_dir() / f"mlflow-{mlflow.__version__}-empty-store.db"


def _build(template: Path) -> None:
    """Let MLflow create and migrate a store at a temporary name, empty it of experiments, publish it."""
    from filelock import FileLock
    from mlflow import MlflowClient

    template.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(f"{template}.lock", timeout=300):
        if template.is_file():  # built meanwhile by another process
            return
        building = template.with_name(f".{template.name}.{os.getpid()}.tmp")
        try:
            uri = f"sqlite:///{building}"
            client = MlflowClient(tracking_uri=uri, registry_uri=uri)
            client.search_registered_models(max_results=1)  # the registry's tables are checked too
            with contextlib.closing(sqlite3.connect(building)) as db:
                db.execute("DELETE FROM experiments")  # MLflow makes its default experiment in each copy
                db.commit()
            os.replace(building, template)
        finally:
            building.unlink(missing_ok=True)


def seed_new_store(path: Path) -> bool:
    """Make a new store at ``path`` a copy of the template (built first if missing); True if it did.

    Does nothing to an existing non-empty file. Never raises: MLflow creates the store itself if
    anything here fails (the reason is logged at DEBUG).
    """
    if path.is_file() and path.stat().st_size > 0:
        return False
    copy = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        template = template_path()
        if not template.is_file():
            _build(template)
        shutil.copyfile(template, copy)
        with contextlib.closing(sqlite3.connect(copy)) as db:
            db.execute("PRAGMA journal_mode=WAL")
        os.replace(copy, path)  # whole or not at all: a reader never sees half a copy
    except Exception as exc:  # an optimisation only: MLflow makes the store itself
        log.debug("mlflow: new store %s not copied from the template (%s); MLflow creates it", path, exc)
        return False
    finally:
        copy.unlink(missing_ok=True)
    return True


def checkpoint(paths: Iterable[Path]) -> None:
    """Move what SQLite's write-ahead log holds into each database file (a no-op without WAL).

    The writer calls it when it is done, before exiting without closing MLflow's connections. The
    log is emptied too unless another process is using the store (then it waits at most a second,
    and copies what it can without waiting).
    """
    for path in paths:
        with contextlib.suppress(sqlite3.Error), contextlib.closing(sqlite3.connect(path, timeout=1)) as db:
            busy, _, _ = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            if busy:
                db.execute("PRAGMA wal_checkpoint(PASSIVE)")


__all__ = ["CACHE_ENV", "cache_dir", "checkpoint", "seed_new_store", "template_path"]
