"""The report's figures and held-out metrics on the MLflow parent run (issue 15), through ``artifacts-written``.

Real searches with the report and mlflow plugins on a real SQLite store: the parent run's artifacts
hold ``report/*.png`` (the same files as on disk, each a PNG PIL decodes) and ``report/evaluation.json``,
its metrics the held-out accuracy, macro F1 and per-class precision/recall/F1; a store that fails at the
run's end keeps the upload in the spool and ``trainhooks runs sync`` sends it.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from trainhooks import hookimpl
from trainhooks.hooks import ArtifactsWritten, RunEnded
from trainhooks.plugins.report import ReportPlugin
from trainhooks.testing import EventRecorder, make_session, small_search


def tune_with_report(store: Any, *plugins: object) -> tuple[ReportPlugin, Any, EventRecorder, Any]:
    """A small search with the report and mlflow plugins; also returns the mlflow plugin (for ``wait``)."""
    report, recorder = ReportPlugin(), EventRecorder()
    session = make_session(recorder, report, *plugins, builtins=("mlflow",))
    result = small_search(
        session,
        n_trials=5,
        test_size=0.25,
        experiment=store.experiment,
        plugin_config={"mlflow": {"tracking_uri": store.uri, "http_retries": 0, "http_timeout_s": 2}},
    )
    return report, result, recorder, session.get_plugin("mlflow")


def parent_of(store: Any, run_id: str) -> Any:
    (parent,) = [r for r in store.parents() if r.data.tags.get("trainhooks.run_id") == run_id]
    return parent


def report_artifacts(store: Any, parent_id: str) -> list[str]:
    return sorted(Path(f.path).name for f in store.client.list_artifacts(parent_id, "report"))


def test_report_figures_and_held_out_metrics_are_on_the_parent_run(mlflow_store: Any, tmp_path: Path) -> None:
    report, result, recorder, mlflow_plugin = tune_with_report(mlflow_store)
    folder = report.folder
    assert folder is not None
    # the run did not wait for the drawing: the writer process logs the figures once they are complete
    assert mlflow_plugin.wait(120)
    assert (folder / "figures.json").is_file()
    on_disk = sorted(p.name for p in folder.glob("*.png"))
    assert len(on_disk) == 5

    parent = parent_of(mlflow_store, result.run_id)
    parent_id = parent.info.run_id
    assert report_artifacts(mlflow_store, parent_id) == sorted([*on_disk, "evaluation.json"])
    for name in on_disk:
        path = Path(mlflow_store.client.download_artifacts(parent_id, f"report/{name}", str(tmp_path)))
        assert path.stat().st_size > 1000
        with Image.open(path) as image:
            image.load()
            assert image.format == "PNG" and min(image.size) > 100

    metrics = parent.data.metrics
    assert metrics["test_accuracy"] == pytest.approx(result.summary["test_score"])
    assert 0 < metrics["test_macro_f1"] <= 1
    assert {f"test_{kind}/{label}" for kind in ("precision", "recall", "f1") for label in (0, 1)} <= set(metrics)
    announced = recorder.of(ArtifactsWritten)
    assert [e.ready_file is not None for e in announced] == [True, False]  # figures at run-started, evaluation
    assert all(Path(path).is_absolute() for event in announced for path in event.paths)
    assert recorder.names.index("artifacts-written") == 1  # right after run-started, in seq order


class StoreGoneAtTheEnd:
    """Breaks the SQLite store when the run ends, before the mlflow plugin closes the parent run."""

    plugin_name = "store_gone"

    def __init__(self, db: Path) -> None:
        self.db = db

    @hookimpl(tryfirst=True)
    def trainhooks_on_run_end(self, event: RunEnded) -> None:
        with sqlite3.connect(self.db) as con:
            con.execute("ALTER TABLE runs RENAME TO runs_gone")

    def repair(self) -> None:
        with sqlite3.connect(self.db) as con:
            # the writer's retries meanwhile opened the store, and MLflow created an empty table in its place
            con.execute("DROP TABLE IF EXISTS runs")
            con.execute("ALTER TABLE runs_gone RENAME TO runs")


@pytest.mark.slow
def test_a_failed_figure_upload_is_spooled_and_runs_sync_sends_it(
    mlflow_db_template: Path, tmp_path: Path, run_cli: Any
) -> None:
    from mlflow_support import Store

    db = tmp_path / "own.db"
    shutil.copyfile(mlflow_db_template, db)
    store = Store(f"sqlite:///{db}", "report-outage")
    outage = StoreGoneAtTheEnd(db)
    report, result, _, mlflow_plugin = tune_with_report(store, outage)
    notes = [n for n in result.summary.get("notes", []) if "pending in" in n]
    assert len(notes) == 1 and f"trainhooks runs sync {result.run_id}" in notes[0], result.summary.get("notes")
    assert mlflow_plugin.wait(120)  # the figures' late write joined the others in the spool

    outage.repair()
    synced = run_cli("runs", "sync")
    assert synced.returncode == 0, synced.stderr
    on_disk = sorted(p.name for p in report.folder.glob("*.png"))
    assert len(on_disk) == 5
    parent_id = parent_of(store, result.run_id).info.run_id
    assert report_artifacts(store, parent_id) == sorted([*on_disk, "evaluation.json"])
