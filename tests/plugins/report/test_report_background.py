"""The run never waits for its drawing: the figures are finished behind it, and readers wait for them.

A drawing process frozen with SIGSTOP cannot finish anything, so a run that returns while it is
frozen did not wait for it; once it continues, ``ReportPlugin.wait()`` sees the figures complete.
``trainhooks report`` draws the figures itself when no drawing process is left to finish them.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from report_support import ALL_FIGURES, png_sizes

from trainhooks.hooks import ModelFitted, TrialEnded, TrialStarted, hookimpl
from trainhooks.plugins.report import ReportPlugin
from trainhooks.testing import EventRecorder, make_session, small_search

TRAINHOOKS = Path(sys.executable).with_name("trainhooks")


class FreezeDrawing:
    """Stops the report's drawing process (SIGSTOP) once the model drawing is queued to it."""

    plugin_name = "freeze_drawing"

    def __init__(self, report: ReportPlugin) -> None:
        self.report = report

    @hookimpl(trylast=True)
    def trainhooks_on_model_fitted(self, event: ModelFitted) -> None:
        os.kill(self.report._process.pid, signal.SIGSTOP)


class DrawingFileAtTrialEnds:
    """Reads which process the report's ``drawing.json`` names as each trial ends."""

    plugin_name = "drawing_file_at_trial_ends"

    def __init__(self, report: ReportPlugin) -> None:
        self.report = report
        self.named: list[int] = []

    @hookimpl(tryfirst=True)
    def trainhooks_on_trial_end(self, event: TrialEnded) -> None:
        assert self.report.folder is not None
        self.named.append(json.loads((self.report.folder / "drawing.json").read_text())["pid"])


def test_the_drawing_process_starts_once_the_last_planned_trial_ended(tmp_path: Path) -> None:
    """The trials have the spare core to themselves; readers wait on the run's process meanwhile."""
    report = ReportPlugin()
    probe = DrawingFileAtTrialEnds(report)
    session = make_session(EventRecorder(), report, probe)
    small_search(session, n_trials=4, plugin_config={"report": {"dir": str(tmp_path)}})
    assert report.wait()
    assert probe.named == [os.getpid()] * 4  # still the run's process as each trial ended
    assert report.folder is not None
    drawing = json.loads((report.folder / "drawing.json").read_text())["pid"]
    assert drawing not in (None, os.getpid())  # then the drawing process


@pytest.mark.slow
def test_the_run_returns_while_its_drawing_is_frozen_and_the_figures_follow(tmp_path: Path) -> None:
    report = ReportPlugin()
    session = make_session(EventRecorder(), report, FreezeDrawing(report))
    try:
        result = small_search(session, n_trials=5, test_size=0.2, plugin_config={"report": {"dir": str(tmp_path)}})
        folder = report.folder
        assert folder is not None and not (folder / "figures.json").exists()
        assert report.wait(timeout_s=0) is False
        (note,) = [n for n in result.summary["notes"] if n.startswith(f"report: {folder} ")]
        assert f"trainhooks report {result.run_id} -o report.html" in note
    finally:
        if report._process.pid is not None:
            os.kill(report._process.pid, signal.SIGCONT)
    assert report.wait()
    assert sorted(png_sizes(folder)) == ALL_FIGURES
    assert all(entry["drawn"] for entry in json.loads((folder / "figures.json").read_text()).values())


class KillDrawingAfterTheModel:
    """Kills the drawing process (SIGKILL) once the search and model drawings are queued to it."""

    plugin_name = "kill_drawing_after_the_model"

    def __init__(self, report: ReportPlugin) -> None:
        self.report = report

    @hookimpl(trylast=True)
    def trainhooks_on_model_fitted(self, event: ModelFitted) -> None:
        proc = self.report._process._proc
        proc.kill()
        proc.wait()


@pytest.mark.slow
def test_drawings_lost_with_a_killed_drawing_process_are_drawn_again_by_a_fresh_one(tmp_path: Path) -> None:
    report = ReportPlugin()
    session = make_session(EventRecorder(), report, KillDrawingAfterTheModel(report))
    small_search(session, n_trials=5, test_size=0.2, plugin_config={"report": {"dir": str(tmp_path)}})
    assert report.wait()
    assert sorted(png_sizes(report.folder)) == ALL_FIGURES


@pytest.mark.slow
def test_trainhooks_report_draws_the_figures_when_no_drawing_process_is_left(tmp_path: Path) -> None:
    report = ReportPlugin()
    session = make_session(EventRecorder(), report)
    result = small_search(session, n_trials=5, test_size=0.2, plugin_config={"report": {"dir": str(tmp_path)}})
    assert report.wait()
    folder = report.folder
    for path in [*folder.glob("*.png"), folder / "figures.json"]:  # as if the drawing died before finishing
        path.unlink()
    (folder / "drawing.json").write_text(json.dumps({"pid": _dead_pid()}))

    page = tmp_path / "page.html"
    proc = subprocess.run(
        [str(TRAINHOOKS), "report", result.run_id, "-o", str(page), "--dir", str(tmp_path)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert sorted(png_sizes(folder)) == ALL_FIGURES
    assert page.read_text().count("data:image/png;base64,") == len(ALL_FIGURES)


def _dead_pid() -> int:
    """The pid of a process that has exited and been reaped."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


class LoseTheEpochsFile:
    """Closes the report's epoch file under it as the second trial starts (as if its disk went away)."""

    plugin_name = "lose_the_epochs_file"

    def __init__(self, report: ReportPlugin) -> None:
        self.report = report

    @hookimpl
    def trainhooks_on_trial_start(self, event: TrialStarted) -> None:
        if event.trial_id == 1 and self.report._epochs is not None:
            self.report._epochs.close()


def test_an_epoch_line_that_cannot_be_saved_never_breaks_the_run(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Epochs arrive on a signal (no hook isolation): the failure is one warning, the run and its figures go on."""
    report = ReportPlugin()
    session = make_session(EventRecorder(), report, LoseTheEpochsFile(report))
    result = small_search(session, n_trials=4, plugin_config={"report": {"dir": str(tmp_path)}})
    assert result.summary["n_complete"] == 4
    assert report.wait()
    warnings = [r.getMessage() for r in caplog.records if "saving an epoch failed" in r.getMessage()]
    assert len(warnings) == 1 and "no learning curves for this run" in warnings[0]
    assert "history.png" in png_sizes(report.folder)
    assert len((report.folder / "trials.jsonl").read_text().splitlines()) == 4  # every trial still saved
