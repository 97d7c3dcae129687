"""The files of one run's report, ``<runs dir>/<run_id>/report/``, written and read back.

The plugin appends a line per ended trial and per epoch while the run goes (cheap, append-only);
the drawing process and ``trainhooks report`` read the same files, so the HTML page shows exactly
what the run saved. A reader ignores a last line still being written.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

REPORT_FOLDER = "report"

RUN_FILE = "run.json"  # run id, kind, experiment, start time, config
TRIALS_FILE = "trials.jsonl"  # one line per ended trial
EPOCHS_FILE = "epochs.jsonl"  # one line per scored epoch
HOLDOUT_FILE = "holdout.json"  # held-out labels, predictions and scores of the refit model
EVALUATION_FILE = "evaluation.json"  # held-out metrics
SUMMARY_FILE = "summary.json"  # the run summary, written at run end
FIGURES_FILE = "figures.json"  # which figures were drawn and why others were not; written last
DRAWING_FILE = "drawing.json"  # the drawing process's pid, for readers that wait for the figures

FIGURES: dict[str, str] = {
    "history.png": "Optimisation history",
    "importance.png": "Parameter importance",
    "partial_dependence.png": "Partial dependence",
    "learning_curves.png": "Learning curves",
    "evaluation.png": "Refit model on the held-out split",
}
"""Every figure the report can hold, in the order it shows them, with its title."""


def report_dir(runs_dir: str | os.PathLike[str], run_id: str) -> Path:
    """``<runs_dir>/<run_id>/report``: where one run's report files live."""
    return Path(runs_dir) / run_id / REPORT_FOLDER


def write_json(path: Path, data: Any) -> None:
    """Write ``data`` as JSON atomically (a temporary file, then a rename): readers never see half."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=1, default=str), encoding="utf-8")
    os.replace(tmp, path)


def read_json(path: Path, default: Any = None) -> Any:
    """The JSON in ``path``, or ``default`` when the file does not exist."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return default


def append_line(handle: IO[str], record: dict[str, Any], *, flush: bool = True) -> None:
    """Append one JSON line; flushed at once (another process may read it) unless ``flush`` is False."""
    handle.write(json.dumps(record, separators=(",", ":"), default=str) + "\n")
    if flush:
        handle.flush()


def read_lines(path: Path) -> list[dict[str, Any]]:
    """Every complete JSON line of ``path`` (none when it does not exist; a partial last line is skipped)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    records = []
    for line in text.splitlines(keepends=True):
        if line.endswith("\n") and line.strip():
            records.append(json.loads(line))
    return records


@dataclass
class RunFiles:
    """Everything saved for one run's report, read back from its folder."""

    folder: Path
    run: dict[str, Any] = field(default_factory=dict)
    trials: list[dict[str, Any]] = field(default_factory=list)
    epochs: list[dict[str, Any]] = field(default_factory=list)
    holdout: dict[str, Any] | None = None
    evaluation: dict[str, Any] | None = None
    summary: dict[str, Any] | None = None
    figures: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, folder: Path) -> RunFiles:
        return cls(
            folder=folder,
            run=read_json(folder / RUN_FILE, {}),
            trials=sorted(read_lines(folder / TRIALS_FILE), key=lambda t: t["trial_id"]),
            epochs=read_lines(folder / EPOCHS_FILE),
            holdout=read_json(folder / HOLDOUT_FILE),
            evaluation=read_json(folder / EVALUATION_FILE),
            summary=read_json(folder / SUMMARY_FILE),
            figures=read_json(folder / FIGURES_FILE, {}),
        )

    def curves(self) -> dict[int, list[tuple[int, float]]]:
        """Each trial's (epoch, score) points in epoch order."""
        out: dict[int, list[tuple[int, float]]] = {}
        for record in self.epochs:
            out.setdefault(int(record["trial_id"]), []).append((int(record["epoch"]), float(record["score"])))
        return {trial_id: sorted(points) for trial_id, points in out.items()}


__all__ = [
    "DRAWING_FILE",
    "EPOCHS_FILE",
    "EVALUATION_FILE",
    "FIGURES",
    "FIGURES_FILE",
    "HOLDOUT_FILE",
    "REPORT_FOLDER",
    "RUN_FILE",
    "SUMMARY_FILE",
    "TRIALS_FILE",
    "RunFiles",
    "append_line",
    "read_json",
    "read_lines",
    "report_dir",
    "write_json",
]
