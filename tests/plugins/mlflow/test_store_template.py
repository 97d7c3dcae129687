"""A new SQLite store is a copy of a migrated empty store: the same store MLflow would have made,
in write-ahead-log mode.

The template is made once per MLflow version in the cache directory (``TRAINHOOKS_CACHE_DIR``);
every new store after that skips MLflow's migrations. MLflow must not be able to tell the
difference: same schema and revision, its own default experiment pointing at the copy's directory.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from builders import run_config, write_toml
from mlflow import MlflowClient

from trainhooks.plugins.mlflow._client import make_client
from trainhooks.plugins.mlflow._template import CACHE_ENV, template_path


def schema(path: Path) -> list[tuple[str, str, list[str]]]:
    """Every table, index and trigger of a SQLite file, and the alembic revision.

    Each object's SQL is compared as the sorted set of its lines: MLflow's own migrations write a
    table's constraints in an order that differs from one process to the next.
    """
    with contextlib.closing(sqlite3.connect(path)) as db:
        objects = db.execute("SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'").fetchall()
        (revision,) = db.execute("SELECT version_num FROM alembic_version").fetchone()
    lines = [
        (kind, name, sorted(line.strip().rstrip(",") for line in (sql or "").splitlines()))
        for kind, name, sql in objects
    ]
    return [*sorted(lines), ("revision", revision, [])]


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_a_copied_store_is_the_store_mlflow_makes(tmp_path: Path, cache: Path) -> None:
    from mlflow.store.db.utils import _verify_schema
    from sqlalchemy import create_engine

    made = tmp_path / "made" / "mlflow.db"  # made by MLflow itself, as before the template
    made.parent.mkdir()
    MlflowClient(tracking_uri=f"sqlite:///{made}").search_experiments()

    copied = tmp_path / "copied" / "mlflow.db"
    copied.parent.mkdir()
    client = make_client(f"sqlite:///{copied}")

    assert template_path().is_file() and template_path().parent == cache
    assert schema(copied) == schema(made)
    _verify_schema(create_engine(f"sqlite:///{copied}"))  # MLflow's own check that the schema is current
    (default,) = client.search_experiments()  # MLflow made its default experiment in the copy
    assert default.experiment_id == "0" and default.name == "Default"
    assert Path(default.artifact_location.removeprefix("file://")).parent.name == "mlruns"

    run = client.create_run(client.create_experiment("e"))
    client.log_metric(run.info.run_id, "m", 1.0)
    client.set_terminated(run.info.run_id)
    again = MlflowClient(tracking_uri=f"sqlite:///{copied}")  # what `mlflow ui` opens
    assert again.get_run(run.info.run_id).data.metrics == {"m": 1.0}


def test_the_template_is_made_once_and_an_existing_store_is_never_replaced(tmp_path: Path, cache: Path) -> None:
    first = tmp_path / "a.db"
    client = make_client(f"sqlite:///{first}")
    built = template_path().stat().st_mtime_ns
    experiment = client.create_experiment("kept")

    make_client(f"sqlite:///{tmp_path / 'b.db'}")
    assert template_path().stat().st_mtime_ns == built
    reopened = make_client(f"sqlite:///{first}")
    assert reopened.get_experiment(experiment).name == "kept"


def test_without_a_writable_cache_mlflow_makes_the_store_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    monkeypatch.setenv(CACHE_ENV, str(blocker / "cache"))

    client = make_client(f"sqlite:///{tmp_path / 'mlflow.db'}")

    assert [e.name for e in client.search_experiments()] == ["Default"]
    assert not list(tmp_path.glob(".mlflow.db.*"))  # no copy left half-made


def test_a_new_store_logs_through_a_write_ahead_log_and_its_file_alone_holds_the_run(
    tmp_path: Path, cache: Path, run_cli: Any
) -> None:
    config = write_toml(
        tmp_path / "run.toml",
        run_config(experiment={"name": "wal", "tracking_uri": f"sqlite:///{tmp_path / 'mlflow.db'}"}),
    )

    done = run_cli("tune", str(config), "--json", "-q", "--no-plugin", "report")

    assert done.returncode == 0, done.stderr
    copy = tmp_path / "copy.db"
    shutil.copyfile(tmp_path / "mlflow.db", copy)  # the database file alone, without mlflow.db-wal
    with contextlib.closing(sqlite3.connect(copy)) as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    client = MlflowClient(tracking_uri=f"sqlite:///{copy}")
    experiment = client.get_experiment_by_name("wal").experiment_id
    parents = client.search_runs([experiment], filter_string="tags.`trainhooks.kind` = 'tune'")
    run_id = json.loads(done.stdout)["run_id"]
    assert [(p.data.tags["trainhooks.run_id"], p.info.status) for p in parents] == [(run_id, "FINISHED")]
