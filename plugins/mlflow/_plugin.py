"""``MlflowPlugin``: the hook implementations that turn a trainhooks run into an MLflow run tree.

Nothing is written in ``trainhooks_configure`` (the run may still be refused); the parent run is
created on ``run-started``. Writes go through one background :class:`WriteQueue`, so training does
not wait for MLflow. The first failed write (e.g. the tracking server went away) is reported once:
the next hook raises (the core isolates it and emits ``plugin-failed``) and a note in the run
summary says what was not logged; the queue stops writing, so training goes on at full speed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from trainhooks.hooks import (
    EpochEnded,
    ModelFitted,
    ModelRegistered,
    RunContext,
    RunEnded,
    RunFailed,
    RunStarted,
    TrialEnded,
    TrialStarted,
    hookimpl,
)

from . import _layout as layout
from ._client import check_reachable, http_limits, make_client
from ._queue import WriteQueue, one_line
from ._settings import MlflowSettings, parse_settings, resolve_tracking_uri

log = logging.getLogger("trainhooks.plugins.mlflow")


class TrackingFailed(RuntimeError):
    """Raised (once per run) from a hook after a write to MLflow failed; the core reports it."""


class MlflowPlugin:
    """Logs runs, nested trials, artifacts and the refit model to MLflow; registers and promotes it.

    After a run, ``tracking_uri`` and ``parent_run_id`` say where it was logged.
    """

    def __init__(self) -> None:
        self.settings = MlflowSettings()
        self.tracking_uri: str | None = None
        self.parent_run_id: str | None = None
        self._queue: WriteQueue | None = None
        self._reset()

    def _reset(self) -> None:
        if self._queue is not None:  # a previous run that never ended (should not happen)
            self._queue.close()
        self._run: RunContext | None = None
        self._config: Mapping[str, Any] = {}
        self._writer: Any = None
        self._queue = None
        self._records: dict[int, layout.TrialRecord] = {}
        self._reported = False
        self._scoring: str | None = None

    # -- setup ---------------------------------------------------------------------------------

    @hookimpl
    def trainhooks_configure(self, config: Mapping[str, Any], run: RunContext) -> None:
        """Read ``[plugins.mlflow]`` and check that a tracking server answers; writes nothing."""
        self._reset()
        self.settings = parse_settings((config.get("plugins") or {}).get("mlflow", {}))
        self.tracking_uri = resolve_tracking_uri(config, self.settings)
        self.parent_run_id = None
        self._run, self._config = run, config
        self._scoring = (config.get("search") or {}).get("scoring")
        check_reachable(self.tracking_uri, timeout_s=self.settings.http_timeout_s)

    @hookimpl
    def trainhooks_cli_commands(self) -> list[Any]:
        from ._cli import runs_group

        return [runs_group]

    # -- writing and failure reporting ---------------------------------------------------------

    def _limited(self, call: Callable[[], Any]) -> Any:
        with http_limits(self.settings.http_retries, self.settings.http_timeout_s):
            return call()

    def _submit(self, what: str, write: Callable[[], Any]) -> None:
        if self._queue is not None:
            self._queue.submit(what, write)

    def _call(self, what: str, write: Callable[[], Any]) -> Any:
        """Run ``write`` on the writer thread and wait; ``None`` if tracking already failed."""
        if self._queue is None:
            return None
        try:
            return self._queue.call(what, write)
        except Exception:
            self._report()
            raise

    def _report(self) -> None:
        """After the first failed write: note what is lost, and raise once so the core reports it."""
        failure = self._queue.failure if self._queue is not None else None
        if failure is None or self._reported:
            return
        self._reported = True
        text = (
            f"mlflow: logging to {self.tracking_uri} failed while {failure.what} ({failure.error}); "
            "not logged from then on: later trial runs, the refit model and the parent run's summary and artifacts"
        )
        self._note(text)
        raise TrackingFailed(text)

    def _note(self, text: str, level: int = logging.WARNING) -> None:
        log.log(level, "%s", text)
        if self._run is not None:
            self._run.add_note(text)

    # -- run and trials ------------------------------------------------------------------------

    @hookimpl
    def trainhooks_on_run_start(self, event: RunStarted) -> None:
        from ._writer import RunTreeWriter

        experiment = str((event.config.get("experiment") or {}).get("name") or "default")
        uri = self.tracking_uri or ""

        def start() -> None:
            self._writer = RunTreeWriter(make_client(uri), experiment)
            started = layout.ms(event.timestamp)
            self.parent_run_id = self._writer.open_parent(event.run_id, event.kind, event.config, started)

        self._queue = WriteQueue(self._limited)
        self._submit("creating the parent run", start)

    @hookimpl
    def trainhooks_on_trial_start(self, event: TrialStarted) -> None:
        record = layout.TrialRecord(event.trial_id, dict(event.params), layout.ms(event.timestamp))
        self._records[event.trial_id] = record
        if self.settings.log_trials == "all":
            self._submit(f"creating the run of trial {event.trial_id}", lambda: self._writer.open_trial(record))
        self._report()

    @hookimpl
    def trainhooks_on_epoch_end(self, event: EpochEnded) -> None:
        record = self._records.get(event.trial_id)
        if record is not None:  # buffered; written in one batch when the trial ends
            record.epochs.append((event.epoch, layout.ms(event.timestamp), dict(event.metrics)))

    @hookimpl
    def trainhooks_on_trial_end(self, event: TrialEnded) -> None:
        record = self._records.setdefault(
            event.trial_id, layout.TrialRecord(event.trial_id, dict(event.params), layout.ms(event.timestamp))
        )
        record.ended, record.ended_ms = event, layout.ms(event.timestamp)
        if self.settings.log_trials == "all":
            self._submit(f"logging trial {event.trial_id}", lambda: self._writer.close_trial(record))
        self._report()

    # -- model and registry --------------------------------------------------------------------

    @hookimpl
    def trainhooks_on_model_fitted(self, event: ModelFitted) -> None:
        if not self.settings.log_model or self._queue is None:
            return
        from ._model import log_refit_model

        test_metric = f"test_{self._scoring}" if self._scoring else "test_score"

        def write() -> Any:
            return log_refit_model(
                self._writer.client, self._writer.experiment_id, self._writer.parent_id, event, test_metric
            )

        logged = self._call("logging the refit model", write)
        self._report()
        if logged is not None and self.settings.register_as:
            self._register(logged, event)

    def _register(self, logged: Any, event: ModelFitted) -> None:
        from . import _registry as registry

        assert self._run is not None
        name = self.settings.register_as or ""
        decision = self._run.check_permission("model.register", name)
        if not decision.allowed:
            self._note(f"mlflow: model not registered as {name!r}: permission denied ({decision.reason})")
            return
        tags = {
            registry.SCORE_TAG: str(event.test_score),
            registry.SCORING_TAG: str(self._scoring),
            registry.RUN_TAG: event.run_id,
        }

        def write() -> str:
            return registry.register_version(
                self._writer.client, name, logged.artifact_location, logged.model_id, self._writer.parent_id, tags
            )

        version = self._call(f"registering {name!r}", write)
        if version is None:
            return
        alias = self._promote(name, version, event.test_score) if self.settings.promote_alias else None
        self._run.emit(ModelRegistered, model_name=name, version=version, alias=alias, score=event.test_score)

    def _promote(self, name: str, version: str, score: float | None) -> str | None:
        from . import _registry as registry

        assert self._run is not None
        alias = self.settings.promote_alias or ""
        client = self._writer.client
        holder = self._call(f"reading alias {alias!r}", lambda: registry.alias_holder(client, name, alias))
        choice = registry.decide_promotion(
            alias=alias,
            version=version,
            score=score,
            scoring=str(self._scoring),
            holder=holder,
            min_improvement=self.settings.min_improvement,
        )
        if not choice.promote:
            self._note(f"mlflow: {name}: {choice.reason}")
            return None
        decision = self._run.check_permission("model.promote", name)
        if not decision.allowed:
            self._note(f"mlflow: {name}: {alias!r} not moved to v{version}: permission denied ({decision.reason})")
            return None
        self._call(f"setting alias {alias!r}", lambda: client.set_registered_model_alias(name, alias, version))
        self._note(f"mlflow: {name}: {choice.reason}", logging.INFO)
        return alias

    # -- end -----------------------------------------------------------------------------------

    def _close(self, *, status: str, ended_ms: int, summary: Mapping[str, Any] | None, error: str | None) -> None:
        """Queue the last writes (open trials, top-k trials, parent), wait for them, report failures."""
        if self._queue is None:
            return
        records = sorted(self._records.values(), key=lambda r: r.trial_id)
        if self.settings.log_trials == "all":
            for record in records:
                if record.ended is None:
                    self._submit(
                        f"ending trial {record.trial_id}",
                        lambda r=record: self._writer.end_open_trial(r, status, ended_ms),
                    )
        elif self.settings.log_trials == "top_k":
            for record in layout.top_trials(records, self.settings.top_k):
                self._submit(f"logging trial {record.trial_id}", lambda r=record: self._writer.log_trial(r))
        self._submit(
            "ending the parent run",
            lambda: self._writer.close_parent(
                summary=summary, records=records, config=self._config, status=status, ended_ms=ended_ms, error=error
            ),
        )
        queue, self._queue = self._queue, None
        queue.close()
        if queue.failure is None:
            return
        if queue.skipped:
            log.warning("mlflow: not logged after the failure: %s", "; ".join(queue.skipped))
        self._end_lost_parent(status, ended_ms)
        self._queue = queue  # so that _report sees the failure
        try:
            self._report()
        finally:
            self._queue = None

    def _end_lost_parent(self, status: str, ended_ms: int) -> None:
        """After a failure, try once more to end the parent run so it is not left RUNNING."""
        if self.parent_run_id is None or self._writer is None:
            return
        try:
            self._limited(
                lambda: self._writer.client.set_terminated(self.parent_run_id, status=status, end_time=ended_ms)
            )
        except Exception as exc:
            log.warning("mlflow: parent run %s could not be ended (%s)", self.parent_run_id, one_line(exc))

    @hookimpl
    def trainhooks_on_run_end(self, event: RunEnded) -> None:
        status = "KILLED" if event.summary.get("stop_reason") == "interrupted" else "FINISHED"
        self._close(status=status, ended_ms=layout.ms(event.timestamp), summary=event.summary, error=None)

    @hookimpl
    def trainhooks_on_run_error(self, event: RunFailed) -> None:
        status = "KILLED" if event.error_type == "KeyboardInterrupt" else "FAILED"
        self._close(
            status=status,
            ended_ms=layout.ms(event.timestamp),
            summary=None,
            error=f"{event.error_type}: {event.error}",
        )


__all__ = ["MlflowPlugin", "TrackingFailed"]
