"""Files other plugins wrote for the run (``artifacts-written``) as artifacts and metrics of the parent run.

The ``report`` plugin's figures are the first such files: it announces them at ``run-started``
with a ``ready_file`` (its drawing goes on in the background) and its held-out evaluation at
``model-fitted`` with metrics. Files that are complete are logged at once. Announced ones that are
still being written at the run's end become a late write (:data:`~._process.LATE_COMMAND`): the
writer process logs them once their ``ready_file`` exists (at most :data:`READY_WAIT_S` later),
and the run does not wait for them; nor does the driver's process at its exit, the writer process
goes on alone (``_process``). So the figures reach the parent run a moment after the run ended,
and the run costs the same with MLflow as without. :meth:`MlflowPlugin.wait
<trainhooks.plugins.mlflow.MlflowPlugin.wait>` waits for them in the same process.

The writes go through the writer process like every other (:meth:`~._writer.RunTreeWriter.log_artifacts`):
a failed upload is kept in the run's spool and sent again with the rest (``trainhooks runs sync``);
the files themselves stay in the run's directory, so a replay finds them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trainhooks.hooks import ArtifactsWritten

from ._process import LATE_COMMAND

READY_WAIT_S = 120.0
"""How long after the run's end the writer waits for announced files (``ready_file``), then logs what is there."""


@dataclass(frozen=True)
class ArtifactWrite:
    """One ``log_artifacts`` command: the files, where they go, the metrics, their time.

    With a ``ready_file`` the files are still being written: a late write (:meth:`args` then starts
    with the ``ready_file`` and how long to wait for it); else only those that exist are named.
    """

    what: str
    paths: tuple[str, ...]
    artifact_path: str | None
    metrics: dict[str, float]
    timestamp_ms: int
    ready_file: str | None = None

    @property
    def command(self) -> str:
        return "log_artifacts" if self.ready_file is None else LATE_COMMAND

    def args(self) -> tuple[Any, ...]:
        files = (self.paths, self.artifact_path, self.metrics, self.timestamp_ms)
        return files if self.ready_file is None else (self.ready_file, READY_WAIT_S, *files)


class AnnouncedArtifacts:
    """The run's ``artifacts-written`` events: complete ones become writes at once, announced ones at the end."""

    def __init__(self) -> None:
        self._waiting: list[ArtifactsWritten] = []

    def add(self, event: ArtifactsWritten) -> ArtifactWrite | None:
        """The write for ``event`` if its files are complete; else keep it for :meth:`at_end`."""
        if event.ready_file is not None and not Path(event.ready_file).exists():
            self._waiting.append(event)
            return None
        return _write(event)

    def at_end(self) -> list[ArtifactWrite]:
        """The writes of the announced events: late ones for files still being written (never waits)."""
        writes = [_write(event, late=not Path(str(event.ready_file)).exists()) for event in self._waiting]
        self._waiting.clear()
        return writes


def _write(event: ArtifactsWritten, *, late: bool = False) -> ArtifactWrite:
    # absolute: the writer process (shared by every run of this process) may work in another directory
    paths = tuple(str(Path(path).resolve()) for path in event.paths if late or Path(path).is_file())
    where = f" under {event.artifact_path}/" if event.artifact_path else ""
    return ArtifactWrite(
        f"logging {'the' if late else len(paths)} {event.kind} files{where}",
        paths,
        event.artifact_path,
        dict(event.metrics),
        int(event.timestamp * 1000),
        str(Path(str(event.ready_file)).resolve()) if late else None,
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


__all__ = ["READY_WAIT_S", "AnnouncedArtifacts", "ArtifactWrite", "log_files"]
