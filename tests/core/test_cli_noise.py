"""The terminal belongs to the progress display: libraries' chatter shows with ``--debug`` only.

A tune on a Dask LocalCluster logging to a fresh MLflow SQLite store is the noisiest run there is:
Dask's scheduler and nannies log INFO lines, MLflow migrates the new database ("Creating initial
MLflow database tables", alembic). None of it may reach stdout or stderr of a normal run.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from builders import run_config, write_toml

NOISE = re.compile(r"INFO|DEBUG|distributed\.|alembic|Creating initial MLflow database tables|View run")


def noisy_run(tmp_path: Path, store: str) -> Path:
    config = run_config(
        experiment={"name": "noise", "tracking_uri": f"sqlite:///{tmp_path / store}"},
        search={"n_trials": 2, "cv": 2, "executor": "dask", "n_jobs": 2},
    )
    return write_toml(tmp_path / f"{store}.toml", config)


@pytest.mark.slow
@pytest.mark.timeout(180)  # two runs, each starting a Dask cluster and migrating a new MLflow database
def test_dask_and_mlflow_stay_off_the_terminal_unless_debug(run_cli: Any, tmp_path: Path) -> None:
    pytest.importorskip("distributed")

    normal = run_cli("tune", str(noisy_run(tmp_path, "normal.db")))
    assert normal.returncode == 0, normal.stderr
    assert not NOISE.search(normal.stdout + normal.stderr), normal.stderr
    assert (tmp_path / "normal.db").exists()  # MLflow did log the run

    # an empty cache: MLflow migrates the store template, as on a machine's first run, and says so
    debug = run_cli(
        "--debug", "tune", str(noisy_run(tmp_path, "debug.db")), env={"TRAINHOOKS_CACHE_DIR": str(tmp_path)}
    )
    assert debug.returncode == 0, debug.stderr
    assert "INFO distributed.scheduler" in debug.stderr
    assert "Creating initial MLflow database tables" in debug.stderr
