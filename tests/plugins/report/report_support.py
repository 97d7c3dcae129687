"""What the report tests share: a search with complete, stopped, pruned and failed trials, and PNG checks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from sklearn.linear_model import SGDClassifier

from trainhooks.hooks import EpochEnded, StopDecision, hookimpl
from trainhooks.plugins.report import ReportPlugin
from trainhooks.testing import EventRecorder, make_session

ALL_FIGURES = ["evaluation.png", "history.png", "importance.png", "learning_curves.png", "partial_dependence.png"]


class FailsWithL1(SGDClassifier):
    """An SGDClassifier whose ``penalty="l1"`` trials fail (a real exception in fit)."""

    def partial_fit(self, X: Any, y: Any, classes: Any = None, sample_weight: Any = None) -> Any:
        if self.penalty == "l1":
            raise ValueError("l1 is not allowed here")
        return super().partial_fit(X, y, classes=classes, sample_weight=sample_weight)


class PruneAndStop:
    """Prunes the first trial that reaches epoch 2 and stops the second one early (kept complete)."""

    plugin_name = "prune_and_stop"

    def __init__(self) -> None:
        self.at_epoch_2: list[int] = []

    @hookimpl
    def trainhooks_should_stop_trial(self, event: EpochEnded) -> StopDecision | None:
        if event.epoch != 2:
            return None
        self.at_epoch_2.append(event.trial_id)
        if len(self.at_epoch_2) == 1:
            return StopDecision("pruned_by_test", prune=True)
        if len(self.at_epoch_2) == 2:
            return StopDecision("stopped_by_test")
        return None


def mixed_search(strategy: str, **options: Any) -> tuple[ReportPlugin, Any, EventRecorder]:
    """A real search on breast_cancer whose trials end complete, stopped, pruned and failed."""
    from builders import breast_cancer

    X, y = breast_cancer(300)
    report, recorder = ReportPlugin(), EventRecorder()
    session = make_session(recorder, report, PruneAndStop())
    space = (
        {"alpha": [1e-4, 1e-3, 1e-2], "penalty": ["l2", "l1", "elasticnet"]}
        if strategy == "grid"
        else {"alpha": {"low": 1e-5, "high": 1e-1, "log": True}, "penalty": ["l2", "l1", "elasticnet"]}
    )
    settings = {"strategy": strategy, "n_trials": 9, "cv": 3, "max_epochs": 4, "random_state": 1, "scoring": "accuracy"}
    settings.update({"test_size": 0.25, **options})
    result = session.tune(FailsWithL1(loss="log_loss", random_state=0), space, X, y, **settings)
    assert report.wait(), "the figures were not finished"  # the run does not wait for its drawing
    return report, result, recorder


def png_sizes(folder: Path) -> dict[str, tuple[int, int]]:
    """Every PNG in ``folder`` opened and fully decoded with PIL: name -> (width, height)."""
    sizes = {}
    for path in sorted(folder.glob("*.png")):
        assert path.stat().st_size > 1000, path
        with Image.open(path) as image:
            image.load()
            assert image.format == "PNG"
            pixels = np.asarray(image.convert("L"))
            assert pixels.min() < 128 < pixels.max(), f"{path.name} is blank"
            sizes[path.name] = image.size
    return sizes
