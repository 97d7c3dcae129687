"""What a plugin may do during a run besides answering hooks: the :class:`RunContext`."""

from __future__ import annotations

from typing import Any, Protocol

from .decisions import PermissionDecision
from .events import Event


class RunContext(Protocol):
    """Handed to ``trainhooks_configure`` (as ``run``) before each run.

    It lets a plugin act on the run's behalf without holding live core objects: ask permission
    for the run's principal (a plugin cannot choose who it acts as), emit a new event (the core
    stamps ``run_id``, ``timestamp`` and ``seq``), and leave a note or a link in the run summary.
    """

    run_id: str
    """The run's id, as on every event of the run."""
    kind: str
    """``"tune"`` or ``"train"``."""
    principal: str
    """Who the run acts as (fixed by the core; permission checks are asked for this principal)."""
    experiment: str
    """The experiment name (``[experiment] name``), the resource of the ``run.<kind>`` permission."""

    def check_permission(self, action: str, resource: str) -> PermissionDecision:
        """Ask every permission plugin whether the run's principal may do ``action`` on ``resource``."""

    def emit(self, event_type: type[Event], **fields: Any) -> Event:
        """Create an event of ``event_type`` for this run and deliver it to plugins and signals.

        Sent from inside a hook, it is delivered once the event being handled has reached every
        plugin (so all see the run's events in ``seq`` order); the stamped event is returned at once.
        """

    def add_note(self, note: str) -> None:
        """Add a line to the summary's ``notes`` (e.g. what could not be logged)."""

    def add_link(self, name: str, *, run_id: str | None = None, url: str | None = None) -> None:
        """Say where else the run is recorded: ``summary["links"][name] = {"run_id": ..., "url": ...}``.

        E.g. the MLflow plugin adds ``"mlflow"`` with its parent run's id, and its page when a
        tracking server serves one. The CLI prints each link once, beside the run id, and
        ``--json`` carries them in the summary. Adding the same ``name`` again replaces it. A link
        added while handling ``run-ended`` (once the plugin's writes are done) reaches
        ``RunResult.summary`` and the CLI, not that event's own summary.
        """


__all__ = ["RunContext"]
