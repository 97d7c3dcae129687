"""The progress hooks and what they print on stderr.

Every ended trial is one line naming its ``trial_id`` (the id of events, the summary's
``best_trial_id``, trials.csv and MLflow's ``trial-<id>`` runs; 0-based), so with parallel trials
the line says which trial ended, not in which order. The run's position is a count, worded so it
cannot be read as an id: ``16/20 done``. On a terminal (rich's ``Console.is_terminal``) a live bar
below those lines shows the counts, best so far, rate and ETA, the ETA counting down between
trials; elsewhere (a pipe, a CI log) each trial line carries the same status, plainly.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping
from typing import Any, TextIO

from rich.console import Console
from rich.progress import BarColumn, Progress, ProgressColumn, Task, TextColumn, TimeElapsedColumn
from rich.text import Text

from trainhooks.hooks import EpochEnded, RunEnded, RunFailed, RunStarted, TrialEnded, TrialStarted, hookimpl

from ._forecast import Forecast, format_duration

Clock = Callable[[], float]


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def trial_line(event: TrialEnded, folds: tuple[int, int] | None = None) -> str:
    """What one ended trial says: its id, state, score, epochs and wall time (and why it stopped).

    A one-epoch trial that reported per fold says ``folds=<done>/<planned>`` instead of ``epochs=1``:
    its reports were folds, not epochs (a trial pruned after 1 of 3 folds reads ``folds=1/3``).
    """
    detail = event.error or event.stop_reason
    trained = f"folds={folds[0]}/{folds[1]}" if folds else f"epochs={event.epochs}"
    line = f"trial {event.trial_id}: {event.state} score={_number(event.score)} {trained} {event.duration_s:.2f}s"
    return line + (f" ({detail})" if detail else "")


def status_line(forecast: Forecast, now: float) -> str:
    """Counts, best so far, rate and ETA: ``16/20 done (14 complete, 1 pruned, 1 failed) | best ...``."""
    counts = forecast.counts
    parts = [
        f"{forecast.done}/{forecast.total} done ({counts.get('complete', 0)} complete, "
        f"{counts.get('pruned', 0)} pruned, {counts.get('failed', 0)} failed)",
        "best -" if forecast.best is None else f"best {forecast.best:.4g} (trial {forecast.best_trial})",
    ]
    rate = forecast.rate_per_min(now)
    if rate is not None:
        parts.append(f"{rate:.3g} trials/min")
    eta = forecast.eta(now)
    if eta is not None:
        parts.append(f"ETA {format_duration(eta.seconds)}" + (" (timeout)" if eta.bound == "timeout" else ""))
    return " | ".join(parts)


class _StatusColumn(ProgressColumn):
    """The live bar's status text, recomputed at every refresh so the ETA counts down."""

    def __init__(self, forecast: Forecast, clock: Clock) -> None:
        super().__init__()
        self.forecast, self.clock = forecast, clock

    def render(self, task: Task) -> Text:
        return Text(status_line(self.forecast, self.clock()))


class ProgressPlugin:
    """Progress bar (terminal) or one plain line per trial (pipes, CI), on stderr by default.

    :param stream: where to write (default: ``sys.stderr`` at the time of the run).
    :param clock: seconds on a monotonic clock (default ``time.monotonic``); tests pass a fake one.
    """

    def __init__(self, stream: TextIO | None = None, clock: Clock = time.monotonic) -> None:
        self.stream = stream
        self.clock = clock
        self._search: Mapping[str, Any] = {}
        self._forecast: Forecast | None = None
        self._console: Console | None = None
        self._progress: Progress | None = None
        self._task: Any = None
        self._folds: dict[int, tuple[int, int]] = {}  # trial_id -> (folds done, planned) of fold reports

    @hookimpl
    def trainhooks_configure(self, config: Mapping[str, Any]) -> None:
        self._search = config.get("search") or {}

    @hookimpl
    def trainhooks_on_run_start(self, event: RunStarted) -> None:
        tune = event.kind == "tune"
        self._forecast = Forecast(
            total=int(self._search.get("n_trials") or 1) if tune else 1,
            started_at=self.clock(),
            slots=int(self._search.get("n_jobs") or 1) if tune else 1,
            timeout_s=self._search.get("timeout_s") if tune else None,
        )
        self._console = Console(file=self.stream if self.stream is not None else sys.stderr, highlight=False)
        if self._console.is_terminal:
            self._progress = Progress(
                TextColumn(f"[bold]{event.kind}[/bold]"),
                BarColumn(bar_width=20),
                _StatusColumn(self._forecast, self.clock),
                TimeElapsedColumn(),
                console=self._console,
                get_time=self.clock,
            )
            self._task = self._progress.add_task(event.kind, total=self._forecast.total)
            self._progress.start()

    @hookimpl
    def trainhooks_on_trial_start(self, event: TrialStarted) -> None:
        if self._forecast is not None:
            self._forecast.trial_started(event.trial_id, self.clock())

    @hookimpl
    def trainhooks_on_epoch_end(self, event: EpochEnded) -> None:
        if event.unit == "fold":
            self._folds[event.trial_id] = (event.epoch, event.planned_epochs)

    @hookimpl
    def trainhooks_on_trial_end(self, event: TrialEnded) -> None:
        if self._forecast is None or self._console is None:
            return
        self._forecast.trial_ended(event.trial_id, event.state, event.score, event.duration_s)
        line = trial_line(event, self._folds.pop(event.trial_id, None))
        if self._progress is not None:
            self._progress.console.print(line, markup=False)
            self._progress.update(self._task, completed=self._forecast.done)
        else:
            self._console.print(f"{line} | {status_line(self._forecast, self.clock())}", markup=False, soft_wrap=True)

    def _close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
        self._forecast = None
        self._folds.clear()

    @hookimpl
    def trainhooks_on_run_end(self, event: RunEnded) -> None:
        self._close()

    @hookimpl
    def trainhooks_on_run_error(self, event: RunFailed) -> None:
        self._close()


__all__ = ["ProgressPlugin", "status_line", "trial_line"]
