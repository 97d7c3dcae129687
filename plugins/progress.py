"""``progress``: shows how a run is going on stderr.

On a terminal, a rich progress bar with the best score so far; otherwise one plain line per
finished trial. Block it (``--quiet`` or ``--no-plugin progress``) for silence.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any, TextIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from trainhooks.hooks import RunEnded, RunFailed, RunStarted, TrialEnded, hookimpl


class ProgressPlugin:
    """Progress bar (terminal) or plain lines (pipes, CI)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream
        self._progress: Progress | None = None
        self._task: Any = None
        self._best: float | None = None
        self._done = 0
        self._total: int | None = None

    @hookimpl
    def trainhooks_configure(self, config: Mapping[str, Any]) -> None:
        self._total = (config.get("search") or {}).get("n_trials")
        self._best, self._done = None, 0

    def _stream(self) -> TextIO:
        return self.stream if self.stream is not None else sys.stderr

    @hookimpl
    def trainhooks_on_run_start(self, event: RunStarted) -> None:
        if event.kind != "tune":
            self._total = 1
        stream = self._stream()
        if stream.isatty():
            console = Console(file=stream)
            self._progress = Progress(
                TextColumn(f"[bold]{event.kind}[/bold]"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("best {task.fields[best]}"),
                TimeElapsedColumn(),
                console=console,
                transient=False,
            )
            self._task = self._progress.add_task(event.kind, total=self._total, best="-")
            self._progress.start()

    @hookimpl
    def trainhooks_on_trial_end(self, event: TrialEnded) -> None:
        self._done += 1
        if event.state == "complete" and event.score is not None and (self._best is None or event.score > self._best):
            self._best = event.score
        best = f"{self._best:.4g}" if self._best is not None else "-"
        if self._progress is not None:
            self._progress.update(self._task, advance=1, best=best)
            return
        score = f"{event.score:.4g}" if event.score is not None else "-"
        of = f"/{self._total}" if self._total else ""
        detail = f" ({event.error or event.stop_reason})" if (event.error or event.stop_reason) else ""
        print(
            f"trial {self._done}{of}: {event.state} score={score} best={best} "
            f"epochs={event.epochs} {event.duration_s:.2f}s{detail}",
            file=self._stream(),
            flush=True,
        )

    def _close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    @hookimpl
    def trainhooks_on_run_end(self, event: RunEnded) -> None:
        self._close()

    @hookimpl
    def trainhooks_on_run_error(self, event: RunFailed) -> None:
        self._close()
