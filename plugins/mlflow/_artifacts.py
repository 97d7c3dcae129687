"""Files other plugins wrote for the run (``artifacts-written``) as artifacts and metrics of the parent run.

The ``report`` plugin's figures are the first such files: it announces them at ``run-started``
with a ``ready_file`` (its drawing goes on in the background) and its held-out evaluation at
``model-fitted`` with metrics. Files that are complete are logged at once; announced ones are
waited for at the run's end, before the parent run is closed (at most :data:`READY_WAIT_S`), so
a run with MLflow waits for its figures and a run without does not. The writes go through the
writer process like every other (:meth:`~._writer.RunTreeWriter.log_artifacts`): a failed upload is
kept in the run's spool and sent again with the rest; the files themselves stay in the run's
directory, so a replay finds them.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trainhooks.hooks import ArtifactsWritten

READY_WAIT_S = 30.0
"""How long the end of a run waits for announced files (their ``ready_file``) before logging what is there."""

AWAITED_SUFFIX = ".awaited"
"""Appended to a ``ready_file`` this plugin will wait for: the file it creates to say so (``ArtifactsWritten``)."""

POLL_S = 0.02
"""How often a missing ``ready_file`` is looked for (it is another process's file)."""


@dataclass(frozen=True)
class ArtifactWrite:
    """One ``log_artifacts`` command: the files that exist, where they go, the metrics, their time."""

    what: str
    paths: tuple[str, ...]
    artifact_path: str | None
    metrics: dict[str, float]
    timestamp_ms: int

    def args(self) -> tuple[Any, ...]:
        return (self.paths, self.artifact_path, self.metrics, self.timestamp_ms)


class AnnouncedArtifacts:
    """The run's ``artifacts-written`` events: complete ones become writes at once, announced ones at the end."""

    def __init__(self) -> None:
        self._waiting: list[ArtifactsWritten] = []

    def add(self, event: ArtifactsWritten) -> ArtifactWrite | None:
        """The write for ``event`` if its files are complete; else keep it for :meth:`at_end`.

        A kept one is marked awaited (``<ready_file>.awaited``), so its producer knows the run's
        end will wait for it and gets it under way early rather than leave the spare core to the search.
        """
        if event.ready_file is not None and not Path(event.ready_file).exists():
            self._waiting.append(event)
            with contextlib.suppress(OSError):  # only a hint: without it the producer starts later
                Path(f"{event.ready_file}{AWAITED_SUFFIX}").touch()
            return None
        return _write(event)

    def at_end(self, timeout_s: float = READY_WAIT_S) -> tuple[list[ArtifactWrite], list[str]]:
        """Wait for the announced files (all within ``timeout_s``); the writes, and a note per late event."""
        deadline = time.monotonic() + timeout_s
        writes, late = [], []
        for event in self._waiting:
            assert event.ready_file is not None
            while not Path(event.ready_file).exists() and time.monotonic() < deadline:
                time.sleep(POLL_S)
            if not Path(event.ready_file).exists():
                late.append(f"{event.kind} files not complete within {timeout_s:g} s ({event.ready_file} missing)")
            writes.append(_write(event))
        self._waiting.clear()
        return writes, late


def _write(event: ArtifactsWritten) -> ArtifactWrite:
    # absolute: the writer process (shared by every run of this process) may work in another directory
    paths = tuple(str(Path(path).resolve()) for path in event.paths if Path(path).is_file())
    where = f" under {event.artifact_path}/" if event.artifact_path else ""
    return ArtifactWrite(
        f"logging {len(paths)} {event.kind} files{where}",
        paths,
        event.artifact_path,
        dict(event.metrics),
        int(event.timestamp * 1000),
    )


def log_files(
    client: Any, run_id: str, paths: tuple[str, ...], artifact_path: str | None, metrics: dict[str, float], ms: int
) -> None:
    """Writer side: log each file under ``artifact_path`` and the metrics (step 0) on ``run_id``.

    Raises on the first failure, so the writer process keeps the whole write in the spool; logging
    again overwrites the same artifact paths and metric points, so a replay duplicates nothing.
    """
    from mlflow.entities import Metric

    from ._client import log_batch

    for path in paths:
        client.log_artifact(run_id, path, artifact_path)
    if metrics:
        log_batch(client, run_id, metrics=[Metric(name, value, ms, 0) for name, value in metrics.items()])


__all__ = ["AWAITED_SUFFIX", "READY_WAIT_S", "AnnouncedArtifacts", "ArtifactWrite", "log_files"]
