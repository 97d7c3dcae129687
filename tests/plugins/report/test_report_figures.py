"""The report plugin on real searches: grid, random and bayes runs with complete, early-stopped,
pruned and failed trials give every figure (decoded with PIL), the saved trials and curves, and
held-out metrics in the summary notes; too few trials or no held-out split skip figures with a reason."""

from __future__ import annotations

import json

import pytest
from report_support import ALL_FIGURES, mixed_search, png_sizes
from sklearn.linear_model import SGDRegressor

from trainhooks.hooks import ModelFitted, TrialEnded, hookimpl
from trainhooks.plugins.report import ReportPlugin
from trainhooks.testing import EventRecorder, make_session, small_search


@pytest.mark.slow
@pytest.mark.parametrize("strategy", ["grid", "random", "bayes"])
def test_every_figure_is_drawn_for_a_search_with_pruned_and_failed_trials(strategy: str) -> None:
    report, result, _ = mixed_search(strategy)
    states = [t["state"] for t in result.trials]
    assert {"complete", "pruned", "failed"} <= set(states), states

    folder = report.folder
    assert folder is not None and folder.parent.name == result.run_id
    assert sorted(png_sizes(folder)) == ALL_FIGURES

    trials = [json.loads(line) for line in (folder / "trials.jsonl").read_text().splitlines()]
    assert [t["state"] for t in sorted(trials, key=lambda t: t["trial_id"])] == states
    epochs = [json.loads(line) for line in (folder / "epochs.jsonl").read_text().splitlines()]
    pruned = next(t["trial_id"] for t in result.trials if t["state"] == "pruned")
    assert max(e["epoch"] for e in epochs if e["trial_id"] == pruned) == 2
    figures = json.loads((folder / "figures.json").read_text())
    assert all(entry["drawn"] for entry in figures.values())
    assert json.loads((folder / "summary.json").read_text())["n_trials"] == len(states)

    notes = result.summary["notes"]
    assert any(note.startswith("report: held-out (75 rows): accuracy ") for note in notes), notes
    assert sum(note.startswith("report: held-out class ") for note in notes) == 2


@pytest.mark.slow
def test_held_out_predictions_reach_plugins_as_plain_lists() -> None:
    _, result, recorder = mixed_search("random", n_trials=3)
    fitted = recorder.of(ModelFitted)[0]
    assert len(fitted.y_true) == len(fitted.y_pred) == len(fitted.y_score) == 75
    assert list(fitted.classes) == [0, 1] and all(len(row) == 2 for row in fitted.y_score)  # predict_proba rows
    accuracy = sum(a == b for a, b in zip(fitted.y_true, fitted.y_pred, strict=True)) / 75
    assert accuracy == pytest.approx(result.summary["test_score"])


@pytest.mark.slow
def test_a_regressor_gets_residuals_and_mae_rmse_r2() -> None:
    from builders import breast_cancer

    X, _ = breast_cancer(200)
    y = X[:, 0] * 3 + X[:, 1]
    report = ReportPlugin()
    session = make_session(EventRecorder(), report)
    result = session.tune(
        SGDRegressor(random_state=0), {"alpha": {"low": 1e-5, "high": 1e-1, "log": True}}, X[:, 2:], y,
        strategy="random", n_trials=5, cv=3, max_epochs=3, random_state=0, test_size=0.2,
    )  # fmt: skip
    assert report.wait()
    assert sorted(png_sizes(report.folder)) == ALL_FIGURES
    regression = [n for n in result.summary["notes"] if n.startswith("report: held-out (40 rows): MAE ")]
    assert len(regression) == 1 and ", RMSE " in regression[0] and ", R² " in regression[0]
    evaluation = json.loads((report.folder / "evaluation.json").read_text())
    assert evaluation["task"] == "regression" and evaluation["mae"] > 0


@pytest.mark.slow
def test_too_few_trials_and_no_test_split_skip_figures_with_a_reason() -> None:
    report, _, _ = mixed_search("random", n_trials=2, test_size=None)
    assert sorted(png_sizes(report.folder)) == ["history.png", "learning_curves.png"]
    figures = json.loads((report.folder / "figures.json").read_text())
    assert figures["importance.png"]["why_not"].startswith("needs at least 4 complete trials")
    assert figures["evaluation.png"] == {"title": "Refit model on the held-out split", "drawn": False, "why_not": None}


class KillDrawing:
    """Kills the report's drawing process as the last trial ends (as an OOM killer might)."""

    plugin_name = "kill_drawing"

    def __init__(self, report: ReportPlugin) -> None:
        self.report = report

    @hookimpl(trylast=True)
    def trainhooks_on_trial_end(self, event: TrialEnded) -> None:
        proc = self.report._process._proc
        if event.trial_id == 4 and proc is not None:  # started by that trial's search drawing, just queued
            proc.kill()
            proc.wait()


@pytest.mark.slow
def test_a_killed_drawing_process_is_replaced_and_the_run_still_ends() -> None:
    report = ReportPlugin()
    session = make_session(EventRecorder(), report, KillDrawing(report))
    result = small_search(session, n_trials=5, test_size=0.2)
    assert result.summary["n_complete"] == 5
    assert report._process.generation == 2  # the killed one and its replacement
    assert report.wait()
    assert sorted(png_sizes(report.folder)) == ALL_FIGURES
