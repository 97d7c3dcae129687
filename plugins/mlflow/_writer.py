"""Writes the run tree through one ``MlflowClient``: the parent run, trial child runs, artifacts,
the refit model and its registry entries.

It runs in the writer process (``_process``), one instance per trainhooks run. Each trial costs
three requests whatever its length (create the child run, one batch of params/metrics/tags
including the whole epoch history, end it).

The refit model and each artifact of the parent run (trials.csv, config.toml, summary.json) are
logged on their own: one that fails (a model skops refuses, an unreadable model file) is left out,
the others are still logged, and the parent run is tagged with what is missing and why
(:data:`MISSING_TAG`). A failure of the run's own writes (the server went away) makes the writer
process keep that write and the later ones in the run's spool (``_process``, ``_spool``).

Every write can be made again without duplicating anything, so a spool can be replayed after a
crash in the middle of it: the parent run is found by its ``trainhooks.run_id`` tag and a trial's
run by its parent and ``trainhooks.trial_id`` before one is created; metrics carry explicit
timestamps and steps (MLflow keeps one copy of an identical point); artifacts overwrite their
path; a model already linked to the parent run is not logged again.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from trainhooks.hooks import ModelFitted

from . import _layout as layout
from . import _registry as registry
from ._client import log_batch, param_value
from ._dataset import log_training_data
from ._model import MODEL_NAME, LoggedModel, ModelNotLogged, ModelNotSaved, log_refit_model
from ._process import one_line
from ._redact import redact
from ._toml import dumps as toml_dumps

MISSING_TAG = f"{layout.TAG_PREFIX}missing"
"""Parent run tag listing what was not logged (``"model, summary.json"``); ``<tag>.<what>`` says why."""


class RunTreeWriter:
    """One trainhooks run in one MLflow experiment.

    Every config value, param, tag and artifact text goes through :func:`~._redact.redact` with
    ``uri`` (the tracking URI in use): credentials are never written to MLflow.
    """

    def __init__(self, client: Any, experiment_name: str, uri: str | None = None, run_key: str | None = None) -> None:
        self.client = client
        self.experiment_name = experiment_name
        self.uri = uri
        self.run_key = run_key  # the trainhooks run id: finds the parent run when replaying a spool
        self.experiment_id: str | None = None
        self.parent_id: str | None = None
        self._children: dict[int, str] = {}  # trial id -> its child run
        # True while every child run of the parent is in _children (this writer created the parent and
        # no write failed since): a new trial's run is then created without searching for it first.
        self.children_known = False
        self.user: str | None = None  # the run's principal: MLflow's User of the parent and trial runs
        self.missing: dict[str, str] = {}  # what was not logged -> why (tagged on the parent at its end)

    def _clean(self, value: Any) -> Any:
        return redact(value, self.uri)

    # -- parent --------------------------------------------------------------------------------

    def _experiment(self) -> str:
        experiment = self.client.get_experiment_by_name(self.experiment_name)
        if experiment is not None:
            if experiment.lifecycle_stage == "deleted":
                self.client.restore_experiment(experiment.experiment_id)
            return experiment.experiment_id
        try:
            return self.client.create_experiment(self.experiment_name)
        except Exception:  # created meanwhile by another writer
            experiment = self.client.get_experiment_by_name(self.experiment_name)
            if experiment is None:
                raise
            return experiment.experiment_id

    def _find(self, *conditions: str) -> str | None:
        """The id of the oldest run of the experiment matching every ``tags.<key> = 'value'`` condition."""
        if self.experiment_id is None:
            self.experiment_id = self._experiment()
        runs = self.client.search_runs(
            [self.experiment_id], filter_string=" and ".join(conditions), order_by=["attributes.start_time ASC"]
        )
        return runs[0].info.run_id if runs else None

    def _parent(self) -> str:
        """The parent run's id; found by the trainhooks run id when this writer did not create it."""
        if self.parent_id is None and self.run_key is not None:
            found = self._find(f"tags.`{layout.TAG_PREFIX}run_id` = '{self.run_key}'")
            self.parent_id = found  # children carry no run_id tag: only a parent matches
        if self.parent_id is None:
            raise RuntimeError("the parent run was never created")
        return self.parent_id

    def _child(self, trial_id: int) -> str | None:
        """The run of trial ``trial_id`` under the parent, if it exists."""
        if trial_id not in self._children and not self.children_known:
            found = self._find(
                f"tags.`{layout.PARENT_TAG}` = '{self._parent()}'",
                f"tags.`{layout.TAG_PREFIX}trial_id` = '{trial_id}'",
            )
            if found is not None:
                self._children[trial_id] = found
        return self._children.get(trial_id)

    def open_parent(
        self,
        run_id: str,
        kind: str,
        config: Mapping[str, Any],
        started_ms: int,
        *,
        user: str | None = None,
        source: str | None = None,
        dataset: Mapping[str, Any] | None = None,
    ) -> layout.ParentRun:
        """Create the parent run (tags, params, the training data as a dataset input); returns its ids."""
        from mlflow.entities import Param

        config = self._clean(config)  # the tags' digest too is of the redacted config
        self.experiment_id = self._experiment()
        self.user, self.run_key = user, run_id
        self.parent_id = self._find(f"tags.`{layout.TAG_PREFIX}run_id` = '{run_id}'")
        if self.parent_id is None:
            run = self.client.create_run(
                self.experiment_id,
                start_time=started_ms,
                tags=layout.parent_tags(run_id, kind, config, user=user, source=self._clean(source)),
                run_name=f"{kind}-{run_id[:8]}",
            )
            self.parent_id = run.info.run_id
            self.children_known = True
        else:  # a resumed run (or a replay): the parent is running again until this run ends it
            self.client.update_run(self.parent_id, status="RUNNING")
        params = [Param(k, param_value(v)) for k, v in layout.parent_params(config).items()]
        log_batch(self.client, self.parent_id, params=params)
        if dataset:
            log_training_data(self.client, self.parent_id, self._clean(dataset))
        return layout.ParentRun(self.parent_id, self.experiment_id)

    def close_parent(
        self,
        *,
        summary: Mapping[str, Any] | None,
        records: list[layout.TrialRecord],
        config: Mapping[str, Any],
        status: str,
        ended_ms: int,
        error: str | None = None,
    ) -> None:
        """Summary metrics and tags, the artifacts (trials CSV, summary JSON, config TOML), then the status."""
        from mlflow.entities import Metric, RunTag

        self._parent()
        assert self.parent_id is not None
        summary, config, error = self._clean(summary), self._clean(config), self._clean(error)
        tags = [RunTag(f"{layout.TAG_PREFIX}status", status)]
        metrics: list[Any] = []
        if summary is not None:
            metrics = [Metric(k, v, ended_ms, 0) for k, v in layout.summary_metrics(summary).items()]
            tags.append(RunTag(f"{layout.TAG_PREFIX}stop_reason", str(summary.get("stop_reason"))))
            tags.append(RunTag(f"{layout.TAG_PREFIX}best_trial_id", str(summary.get("best_trial_id"))))
            tags.append(RunTag(f"{layout.TAG_PREFIX}best_params", json.dumps(summary.get("best_params"))[:5000]))
        metrics += [Metric(*point) for point in layout.search_history(records)]  # the search, step = trial_id
        if error:
            tags.append(RunTag(f"{layout.TAG_PREFIX}error", error[:5000]))
        log_batch(self.client, self.parent_id, metrics=metrics, tags=tags)
        artifacts: dict[str, Callable[[], str]] = {
            "trials.csv": lambda: self._clean(layout.trials_csv(records)),
            "config.toml": lambda: toml_dumps(config),
        }
        if summary is not None:
            artifacts["summary.json"] = lambda: json.dumps(summary, indent=2, default=str)
        for name, text in artifacts.items():
            self._log_text(name, text)
        if self.missing:
            missing = [RunTag(MISSING_TAG, ", ".join(self.missing))]
            missing += [RunTag(f"{MISSING_TAG}.{what}", why[:5000]) for what, why in self.missing.items()]
            log_batch(self.client, self.parent_id, tags=missing)
        self.client.set_terminated(self.parent_id, status=status, end_time=ended_ms)

    def _log_text(self, name: str, text: Callable[[], str]) -> None:
        """Log one artifact of the parent run; a failure is recorded in :attr:`missing`, not raised."""
        assert self.parent_id is not None
        try:
            with tempfile.TemporaryDirectory(prefix="trainhooks-mlflow-") as tmp:
                path = Path(tmp) / name
                path.write_text(text(), encoding="utf-8")
                self.client.log_artifact(self.parent_id, str(path))
        except Exception as exc:
            self.missing[name] = self._clean(one_line(exc))

    def log_artifacts(
        self, paths: tuple[str, ...], artifact_path: str | None, metrics: dict[str, float], ms: int
    ) -> None:
        """Files another plugin wrote for the run (``artifacts-written``), and its metrics, on the parent run."""
        from ._artifacts import log_files

        log_files(self.client, self._parent(), paths, artifact_path, metrics, ms)

    # -- trials --------------------------------------------------------------------------------

    def open_trial(self, record: layout.TrialRecord) -> None:
        parent_id = self._parent()
        if self._child(record.trial_id) is not None:  # made before (a replayed spool, a resumed run)
            return
        assert self.experiment_id is not None
        run = self.client.create_run(
            self.experiment_id,
            start_time=record.started_ms,
            tags={
                layout.PARENT_TAG: parent_id,
                f"{layout.TAG_PREFIX}trial_id": str(record.trial_id),
                f"{layout.TAG_PREFIX}state": "running",
                **layout.identity_tags(self.user, None),
            },
            run_name=layout.trial_run_name(record.trial_id),
        )
        self._children[record.trial_id] = run.info.run_id

    def close_trial(self, record: layout.TrialRecord) -> None:
        """The trial's params, epoch history, final metrics and tags in one batch, then its status."""
        from mlflow.entities import Metric, Param, RunTag

        child_id = self._child(record.trial_id)
        if child_id is None:
            raise RuntimeError(f"the run of trial {record.trial_id} was never created")
        assert record.ended is not None and record.ended_ms is not None
        ended = record.ended
        metrics = [
            Metric(key, value, when, epoch)
            for epoch, when, values in record.epochs
            for key, value in layout.epoch_metrics(values).items()
        ]
        metrics += [Metric(k, v, record.ended_ms, 0) for k, v in layout.final_metrics(ended).items()]
        params = [Param(k, param_value(v)) for k, v in self._clean(dict(ended.params)).items()]
        tags = [RunTag(k, v) for k, v in self._clean(layout.trial_tags(ended)).items()]
        log_batch(self.client, child_id, metrics=metrics, params=params, tags=tags)
        self.client.set_terminated(child_id, status=layout.trial_status(ended), end_time=record.ended_ms)

    def log_trial(self, record: layout.TrialRecord) -> None:
        """Create and close the child run of a finished trial at once (``log_trials = "top_k"``)."""
        self.open_trial(record)
        self.close_trial(record)

    def end_open_trial(self, record: layout.TrialRecord, status: str, ended_ms: int) -> None:
        """End a child run whose trial never reported ``trial-ended`` (the run failed)."""
        child_id = self._child(record.trial_id)
        if child_id is not None:
            self.client.set_terminated(child_id, status=status, end_time=ended_ms)

    # -- model and registry --------------------------------------------------------------------

    def log_model(
        self,
        event: ModelFitted,
        test_metric: str,
        serialization: str = "cloudpickle",
        skops_trusted_types: Sequence[str] = (),
    ) -> LoggedModel | ModelNotLogged:
        """Log the refit model; if the model cannot be, say why (and remember it for the parent's tags)
        instead of raising. A store that cannot be written (``OSError``) raises, like any other write.

        A model already linked to the parent run (a replayed spool) is returned, not logged again.
        """
        parent_id = self._parent()
        logged = self._logged_model(parent_id)
        if logged is not None:
            return logged
        assert self.experiment_id is not None and self.parent_id is not None
        try:
            return log_refit_model(
                self.client,
                self.experiment_id,
                self.parent_id,
                event,
                test_metric,
                serialization=serialization,
                skops_trusted_types=skops_trusted_types,
            )
        except OSError:
            raise  # the store's fault (an unwritable artifact store, a lost server), not the model's: kept and retried
        except Exception as exc:
            why = self._clean(str(exc) if isinstance(exc, ModelNotSaved) else one_line(exc))
            self.missing["model"] = why
            return ModelNotLogged(why)

    def _logged_model(self, parent_id: str) -> LoggedModel | None:
        outputs = self.client.get_run(parent_id).outputs
        for output in getattr(outputs, "model_outputs", None) or []:
            model = self.client.get_logged_model(output.model_id)
            if str(model.status) in ("READY", "LoggedModelStatus.READY") and model.name == MODEL_NAME:
                return LoggedModel(model.model_id, f"models:/{model.model_id}", model.artifact_location)
        return None

    def register(self, name: str, logged: LoggedModel, tags: dict[str, str]) -> str:
        return registry.register_version(
            self.client, name, logged.artifact_location, logged.model_id, self._parent(), tags
        )

    def alias_holder(self, name: str, alias: str) -> registry.Holder | None:
        return registry.alias_holder(self.client, name, alias)

    def set_alias(self, name: str, alias: str, version: str) -> None:
        self.client.set_registered_model_alias(name, alias, version)


__all__ = ["MISSING_TAG", "RunTreeWriter"]
