"""The SQLite store's file: a new store used by several runs at once, a store an interrupted
migration broke, a store on a full disk.

MLflow creates and migrates a SQLite store's schema on first use; three processes doing that at
once on a new file race (their migrations collide and leave ``_alembic_tmp_*`` tables). The plugin
opens a SQLite store under ``<db>.lock``, so every run logs; a store that is already half-migrated
is one line saying how to repair it, and so is a full disk.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from builders import run_config, write_toml
from mlflow_support import Store

from trainhooks.plugins.mlflow._template import CACHE_ENV

TRAINHOOKS = Path(sys.executable).with_name("trainhooks")
SEARCH = {"n_trials": 3, "cv": 2, "max_epochs": 1}


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_three_runs_started_together_on_a_new_store_all_log_every_trial(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'new.db'}", "first-use")
    config = run_config(
        experiment={"name": store.experiment, "tracking_uri": store.uri},
        search=SEARCH,
        plugins={"disable": ["report"]},
    )
    runs = []
    env = {**os.environ, CACHE_ENV: str(tmp_path / "cache")}  # an empty cache: they also race to make the template
    for index in range(3):
        path = write_toml(tmp_path / f"run{index}.toml", config)
        command = [str(TRAINHOOKS), "tune", str(path), "--json", "-q"]
        runs.append(subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env))
    outputs = [run.communicate(timeout=500) for run in runs]

    for run, (stdout, stderr) in zip(runs, outputs, strict=True):
        assert run.returncode == 0 and stderr == "", stderr
        assert not [note for note in json.loads(stdout)["summary"].get("notes", []) if note.startswith("mlflow:")]
    run_ids = {json.loads(stdout)["run_id"] for stdout, _ in outputs}
    parents = store.parents()
    assert {p.data.tags["trainhooks.run_id"] for p in parents} == run_ids
    for parent in parents:
        assert parent.info.status == "FINISHED"
        children = store.children(parent.info.run_id)
        assert [c.data.tags["trainhooks.trial_id"] for c in children] == ["0", "1", "2"]
        assert {c.info.status for c in children} == {"FINISHED"}
    with sqlite3.connect(tmp_path / "new.db") as db:
        assert not db.execute("SELECT name FROM sqlite_master WHERE name LIKE '_alembic_tmp%'").fetchall()


@pytest.fixture
def half_migrated(tmp_path: Path, mlflow_db_template: Path) -> Path:
    """A store an interrupted migration left behind: a leftover ``_alembic_tmp_`` copy of a table."""
    path = tmp_path / "broken.db"
    shutil.copyfile(mlflow_db_template, path)
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE _alembic_tmp_trace_tags (key VARCHAR(250), value VARCHAR(8000))")
    return path


@pytest.mark.slow
def test_a_half_migrated_store_is_one_line_saying_how_to_repair_it(half_migrated: Path, run_cli: Any) -> None:
    uri = f"sqlite:///{half_migrated}"
    config = write_toml(
        half_migrated.with_name("run.toml"), run_config(experiment={"tracking_uri": uri}, search=SEARCH)
    )

    tune = run_cli("tune", str(config), "--json", "-q")
    listing = run_cli("runs", "list", "--tracking-uri", uri)

    assert tune.returncode == 0, tune.stderr  # the search goes on without tracking
    summary = json.loads(tune.stdout)["summary"]
    assert summary["n_complete"] == 3
    assert listing.returncode == 1
    for stderr in (tune.stderr, listing.stderr):  # (a run also says where its unsent writes wait)
        assert "Traceback" not in stderr and "[SQL" not in stderr, stderr
        (line,) = [line for line in stderr.splitlines() if "_alembic_tmp_" in line]
        assert f"left table _alembic_tmp_trace_tags in {half_migrated}" in line
        assert "restore a backup" in line and "mlflow db upgrade" in line


@pytest.mark.slow
def test_a_full_disk_under_the_store_is_one_line_naming_it_and_the_search_goes_on(
    tmp_path: Path, mlflow_db_template: Path
) -> None:
    """A real write failure: the run's processes may write no file beyond half the store's size
    (RLIMIT_FSIZE, EFBIG: SQLite fails as on a full disk), while the small run journal still fits."""
    db = tmp_path / "full.db"
    shutil.copyfile(mlflow_db_template, db)
    limit = db.stat().st_size // 2

    def full_disk() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    config = write_toml(
        tmp_path / "run.toml",
        run_config(experiment={"tracking_uri": f"sqlite:///{db}"}, search=SEARCH, plugins={"disable": ["report"]}),
    )
    result = subprocess.run(
        [str(TRAINHOOKS), "tune", str(config), "--json", "-q"],
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=full_disk,
    )

    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)["summary"]
    assert summary["n_complete"] == 3  # the search goes on
    assert "Traceback" not in result.stderr and "[SQL" not in result.stderr, result.stderr
    (failed,) = [line for line in result.stderr.splitlines() if "logging to" in line]
    assert f"logging to sqlite:///{db} failed while creating the parent run" in failed
    (pending,) = [n for n in summary["notes"] if n.startswith("mlflow:")]  # the spool keeps the writes
    assert "pending" in pending and "trainhooks runs sync" in pending
