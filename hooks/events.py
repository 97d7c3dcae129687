"""Lifecycle events: small frozen dataclasses that every hook and signal receives.

Each event class has a class-level kebab-case ``name`` and the common fields ``run_id``,
``timestamp`` and ``seq`` (strictly increasing within a run). Container fields are frozen
snapshots (:class:`~trainhooks.hooks.frozen.FrozenDict` / tuples), so a plugin cannot change what
the next plugin sees. Plugins may define new event types by subclassing :class:`Event`; every
subclass with a ``name`` is registered for :meth:`Event.from_dict`.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from .frozen import freeze, thaw

E = TypeVar("E", bound="Event")

EVENT_TYPES: dict[str, type[Event]] = {}
"""Every known event class by its ``name``; filled in as event classes are defined."""


@dataclass(frozen=True, kw_only=True)
class Event:
    """Base class of all lifecycle events."""

    name: ClassVar[str] = ""

    run_id: str
    """The run's id (a hex uuid4), the same on every event of one run and in ``RunResult.run_id``."""
    timestamp: float
    """When the core created the event, in seconds since the Unix epoch (``time.time()``)."""
    seq: int
    """The event's position in its run: 1 for ``run-started``, then strictly increasing by one."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("name"):
            known = EVENT_TYPES.get(cls.name)
            if known is not None and known.__qualname__ != cls.__qualname__:
                raise TypeError(f"event name {cls.name!r} is already used by {known.__qualname__}")
            EVENT_TYPES[cls.name] = cls

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            frozen = freeze(value)
            if frozen is not value:
                object.__setattr__(self, field.name, frozen)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict of this event, including its ``name``."""
        data = {field.name: thaw(getattr(self, field.name)) for field in dataclasses.fields(self)}
        return {"name": self.name, **data}

    def to_json(self) -> str:
        """One line of JSON (the event log format)."""
        return json.dumps(self.to_dict(), allow_nan=True, separators=(",", ":"))

    @staticmethod
    def from_dict(data: dict[str, Any]) -> Event:
        """Rebuild an event from :meth:`to_dict` output, choosing the class by ``name``."""
        payload = dict(data)
        name = payload.pop("name", None)
        try:
            cls = EVENT_TYPES[name]
        except KeyError:
            raise ValueError(f"unknown event name {name!r}") from None
        return cls(**payload)

    @staticmethod
    def from_json(line: str) -> Event:
        """Rebuild an event from :meth:`to_json` output."""
        return Event.from_dict(json.loads(line))


@dataclass(frozen=True, kw_only=True)
class RunStarted(Event):
    """A tune or train run begins; ``config`` is the validated run configuration."""

    name: ClassVar[str] = "run-started"
    kind: str
    """``"tune"`` (a search) or ``"train"`` (one cross-validated fit of the estimator as given)."""
    config: dict[str, Any]
    """The validated run configuration as a read-only plain mapping, one table per section of the
    TOML run file (docs/configuration.md has every key); the same tables for a Python API run.

    - ``experiment``: the experiment name and tracking URI.
    - ``data``: where the data comes from and the held-out split.
    - ``model``: the estimator's dotted name and its fixed parameters.
    - ``search``: strategy, budget, cross-validation, scoring, executor, epochs and the ``space``.
    - ``plugins``: blocking and the error policy, plus each plugin's own table
      (``config["plugins"].get("<plugin name>", {})``).
    - ``run``: where the run keeps its files (``dir``, ``journal``) and ``resume``: the id of the
      interrupted run this one continues under the same ``run_id``, else ``None`` (docs/durability.md).
    """
    source: str | None = None
    """Where the run was described: the config file's path (``trainhooks tune CONFIG``), or the
    Python script that called the API (``sys.argv[0]``); ``None`` when there is none (an
    interactive session)."""
    dataset: dict[str, Any] | None = None
    """The training data, described (the data itself never reaches plugins), by key:

    - ``name``: a short name (the scikit-learn dataset, the file's name, or ``"arrays"``).
    - ``source``: where it came from: ``"sklearn.datasets.load_<name>"``, the file path, or
      ``"arrays"`` for data given from Python.
    - ``digest``: 16 hex digits of ``joblib.hash`` of the training features and target (same
      data, same digest).
    - ``n_rows``: training rows (what cross-validation splits); ``n_test_rows``: held-out rows.
    - ``features``: feature name -> dtype name (``"float64"``, ``"int64"``, ``"object"``...), in
      column order; arrays' columns are named ``"x0"``, ``"x1"``, ...
    - ``target``: the target column's name (``[data] target``), or ``None``."""


@dataclass(frozen=True, kw_only=True)
class TrialStarted(Event):
    """A trial (one set of parameters) is about to be trained."""

    name: ClassVar[str] = "trial-started"
    trial_id: int
    """0-based position of the trial in the order its parameters were asked; unique in the run."""
    params: dict[str, Any]
    """The parameters this trial sets on the estimator, by name, as plain JSON values."""


@dataclass(frozen=True, kw_only=True)
class EpochEnded(Event):
    """A trial reports progress: all folds finished an epoch, or (``unit = "fold"``) one more fold.

    A trial with several epochs reports once per epoch, its folds trained in lockstep
    (``unit = "epoch"``). A trial with one epoch (an estimator without ``partial_fit`` or
    ``warm_start``, a Pipeline whose final step has neither, or ``search.max_epochs = 1``) reports
    after each fold instead (``unit = "fold"``): ``epoch`` counts the folds done, ``planned_epochs``
    is the number of folds and ``metrics`` holds the running mean over the folds done, so pruners
    that judge "steps" work on both units unchanged. ``planned_epochs`` and ``is_last`` are decided
    by the core: plugins read them here instead of re-deriving them from the configuration.
    """

    name: ClassVar[str] = "epoch-ended"
    trial_id: int
    """The trial this report belongs to (its ``trial-started`` came first)."""
    epoch: int
    """1-based step: with ``unit = "epoch"`` the epochs trained so far (with ``search.eval_every = k``
    only every k-th epoch and the last one are scored and sent, so numbers may skip); with
    ``unit = "fold"`` the folds trained and scored so far (1, 2, ... without gaps)."""
    metrics: dict[str, Any]
    """Validation scores at this step (greater is better, as with scikit-learn scorers), by key:

    - ``score``: mean of ``fold_scores`` (may be NaN or infinite when a fold diverged).
    - ``score_std``: their population standard deviation.
    - ``fold_scores``: one score per fold, in fold order (a tuple): every fold with
      ``unit = "epoch"``, the ``epoch`` folds done so far with ``unit = "fold"`` (so ``score`` is
      their running mean)."""
    planned_epochs: int
    """How many steps the core will report for this trial unless a plugin stops it: its epochs
    (decided from ``search.max_epochs`` and the estimator's own ``n_estimators``/``max_iter``), or
    its number of folds with ``unit = "fold"``."""
    is_last: bool
    """``True`` for the trial's final planned step (``epoch == planned_epochs``)."""
    unit: str = "epoch"
    """What ``epoch`` counts: ``"epoch"`` (all folds trained one more epoch) or ``"fold"`` (a
    one-epoch trial finished one more fold). A stop decision on a ``"fold"`` report before the
    last fold ends the trial "pruned" whatever it asks, and its ``use_epoch`` is ignored."""


@dataclass(frozen=True, kw_only=True)
class TrialEnded(Event):
    """A trial is over: ``state`` is "complete", "pruned" or "failed"."""

    name: ClassVar[str] = "trial-ended"
    trial_id: int
    """The trial's id, as in its ``trial-started``."""
    params: dict[str, Any]
    """The trial's parameters, as in its ``trial-started``."""
    state: str
    """``"complete"`` (trained to the end or stopped early by a plugin), ``"pruned"`` (stopped by a
    plugin's ``StopDecision(prune=True)``; its score is never told to the strategy) or ``"failed"``."""
    score: float | None
    """The trial's reported mean validation score: from its last scored epoch, or from the epoch a
    plugin chose with ``StopDecision.use_epoch``; ``None`` when the trial failed."""
    score_std: float | None
    """Standard deviation over folds that goes with ``score``; ``None`` when the trial failed."""
    fold_scores: tuple[float, ...]
    """Per-fold validation scores that go with ``score`` (empty when the trial failed early). A
    one-epoch trial pruned after some of its folds (``unit = "fold"`` reports) has the scores of
    the folds it trained, and ``score`` is their mean."""
    epochs: int
    """How many epochs the trial actually trained: its last ``epoch-ended`` epoch (``unit = "epoch"``),
    1 for a trial that reported per fold, or fewer if it failed."""
    duration_s: float
    """Wall time of the trial where it ran, in seconds (training and scoring all folds)."""
    error: str | None = None
    """``"<ExceptionType>: <message>"`` for a failed trial (a lost worker reads ``"worker lost: ..."``);
    ``None`` otherwise."""
    stop_reason: str | None = None
    """The ``reason`` of the ``StopDecision`` that stopped or pruned the trial (for the built-in
    early_stopping plugin: see docs/early-stopping.md); ``None`` when no plugin stopped it."""


@dataclass(frozen=True, kw_only=True)
class ModelFitted(Event):
    """The best parameters were refit on the whole training split.

    The model is not handed over live: ``model_path`` is a pickle of it (valid until the run's last
    event), ``input_example`` a few rows of features as plain lists, ``feature_names`` their names
    and ``feature_dtypes`` their types, so a plugin can rebuild rows like the training data:
    ``pandas.DataFrame(event.input_example, columns=event.feature_names).astype(event.feature_dtypes)``.
    With a held-out split (``test_size``), ``y_true``, ``y_pred`` and ``y_score`` are its labels and
    the refit model's predictions and scores, as plain lists, so plugins can evaluate the model.
    """

    name: ClassVar[str] = "model-fitted"
    trial_id: int
    """The best complete trial, whose parameters were refit."""
    params: dict[str, Any]
    """Its parameters."""
    epochs: int
    """The epochs the refit trained: the best trial's reported epoch."""
    model_path: str
    """Path of a pickle of the refit estimator; readable until the run's last event."""
    test_score: float | None
    """The refit model's score on the held-out split, or ``None`` when there is none (no ``test_size``)."""
    input_example: list[Any]
    """The first few rows of the held-out (or training) features, as plain lists."""
    feature_names: list[str] | None = None
    """Column names of the features when the data had them (a DataFrame), else ``None``."""
    feature_dtypes: dict[str, str] | None = None
    """Each feature column's pandas dtype name (``"int64"``, ``"float64"``, ``"str"``, ``"object"``,
    ``"category"``, ``"bool"``...) when the data was a DataFrame, else ``None``. The plain lists of
    ``input_example`` lose them: without them a mixed-type row reads back as strings."""
    y_true: list[Any] | None = None
    """The held-out split's target values, in row order; ``None`` without a held-out split."""
    y_pred: list[Any] | None = None
    """The refit model's predictions for those rows (labels for a classifier); ``None`` without a held-out split."""
    y_score: list[list[float]] | None = None
    """A classifier's per-row scores: ``predict_proba`` rows (one column per class, in ``classes``
    order), else ``decision_function`` rows (a binary model: one column, the score of ``classes[1]``);
    ``None`` for a regressor, a model with neither method, or without a held-out split."""
    classes: list[Any] | None = None
    """A classifier's class labels (its ``classes_``), the column order of ``y_score``; else ``None``."""


@dataclass(frozen=True, kw_only=True)
class SearchStopped(Event):
    """The search ends before its budget: ``by`` is the deciding plugin's name or "core"."""

    name: ClassVar[str] = "search-stopped"
    reason: str
    """Why: a plugin's ``StopDecision.reason``, or from the core ``"timeout"`` or ``"interrupted"`` (Ctrl-C)."""
    by: str
    """The name of the plugin that decided, or ``"core"``."""


@dataclass(frozen=True, kw_only=True)
class ModelRegistered(Event):
    """A model version was registered (and possibly given an alias)."""

    name: ClassVar[str] = "model-registered"
    model_name: str
    """The registered model's name."""
    version: str
    """The new version (a string, as registries give it)."""
    alias: str | None
    """The alias now pointing at this version (e.g. ``"champion"``), or ``None``."""
    score: float | None
    """The score the registering plugin judged the model by (the built-in mlflow plugin: the test score)."""


@dataclass(frozen=True, kw_only=True)
class ArtifactsWritten(Event):
    """A plugin wrote files that belong to the run (figures, a report), for trackers to keep with it.

    A plugin sends it with ``RunContext.emit(ArtifactsWritten, ...)``; it reaches plugins after the
    event being handled, and before ``run-ended``. A plugin that keeps a run's files (the built-in
    ``mlflow`` plugin logs them as artifacts of the parent run under ``artifact_path``, and
    ``metrics`` as the parent run's metrics) answers it; the producer never needs to know who does.

    Files may still be being written when it is sent: a producer that writes them off the critical
    path (the ``report`` plugin draws in a background process) names a ``ready_file`` that it writes
    last. A consumer that must copy the files waits for that file (bounded), off the run's critical
    path if it can (the ``mlflow`` plugin's writer process logs them after the run), and then
    takes those of ``paths`` that exist; one that only needs to know where they are goes on at
    once. A producer that starts its last files at ``run-ended`` handles it with
    ``@hookimpl(tryfirst=True)``, so they are under way before a consumer's ``run-ended``.
    """

    name: ClassVar[str] = "artifacts-written"
    kind: str
    """What they are, e.g. ``"report"`` (the producing plugin's name is a good choice)."""
    paths: tuple[str, ...]
    """Absolute paths of the files. With a ``ready_file``, those the producer may write: a path
    that does not exist once ``ready_file`` exists was not produced (e.g. a figure with too few trials)."""
    artifact_path: str | None = None
    """Where under the run's artifacts they belong (``"report"`` → ``report/history.png``); ``None``:
    at the top."""
    metrics: dict[str, float] = dataclasses.field(default_factory=dict)
    """Numbers computed with the files that belong to the run as metrics (e.g. ``"test_accuracy"``,
    ``"test_f1/malignant"``): name → finite value."""
    ready_file: str | None = None
    """``None``: every file exists and is complete now. Otherwise a file the producer writes after
    all the others (e.g. the report's ``figures.json``): once it exists, the files are complete."""


@dataclass(frozen=True, kw_only=True)
class RunEnded(Event):
    """The run finished: all trials ran, the search was stopped early, or Ctrl-C interrupted it.

    After Ctrl-C during the search, ``summary["stop_reason"]`` is ``"interrupted"`` and it covers
    the trials that ended (no model is refit). Exactly one of ``run-ended`` and ``run-failed``
    ends every run.
    """

    name: ClassVar[str] = "run-ended"
    summary: dict[str, Any]
    """The run summary (also ``RunResult.summary``, the CLI's output and MLflow's run): a flat
    mapping with the fixed keys below, in this order (``trainhooks.SUMMARY_KEYS``).

    - ``best_score``: mean validation score of the best complete trial (``None`` if none completed).
    - ``best_params``: that trial's parameters.
    - ``best_trial_id``: that trial's ``trial_id``.
    - ``test_score``: the refit best model's score on the held-out split, or ``None``.
    - ``median``: median score over complete trials.
    - ``std``: population standard deviation of those scores.
    - ``min``: lowest score of a complete trial.
    - ``max``: highest score of a complete trial.
    - ``n_trials``: trials run (every ``trial-ended``).
    - ``n_complete``: trials that ended "complete".
    - ``n_pruned``: trials that ended "pruned".
    - ``n_failed``: trials that ended "failed".
    - ``strategy``: the search strategy's name (``"fixed"`` for a train run).
    - ``scoring``: the scorer's name, or ``None`` for the estimator's default ``score``.
    - ``stop_reason``: ``"n_trials"``, ``"exhausted"`` (the strategy had nothing left),
      ``"timeout"``, ``"interrupted"`` or the reason of the plugin that stopped the search.
    - ``wall_time_s``: wall time of the run so far, in seconds.
    - ``fit_time_s``: time spent training, summed over trials, in seconds.

    A ``notes`` list follows the fixed keys when there is something to note: first the core's line
    on failed trials (``"3 of 20 trials failed; most common: "ValueError: ..." (3)"``), then the
    lines plugins added (``RunContext.add_note``).

    A run whose every trial failed (``n_failed == n_trials > 0``) still ends with ``run-ended``;
    then the Python API raises ``trainhooks.AllTrialsFailed`` and the CLI exits 1."""


@dataclass(frozen=True, kw_only=True)
class RunFailed(Event):
    """The run ended with an exception, which then propagates to the caller.

    That includes Ctrl-C outside the search loop (``error_type`` "KeyboardInterrupt"), e.g. while a
    plugin handles ``run-started``; Ctrl-C during the search ends the run with ``run-ended``.
    """

    name: ClassVar[str] = "run-failed"
    error: str
    """The exception's message (its type name when the message is empty)."""
    error_type: str
    """The exception's class name, e.g. ``"ConfigError"`` or ``"KeyboardInterrupt"``."""


@dataclass(frozen=True, kw_only=True)
class PluginFailed(Event):
    """A plugin raised in a hook, answered a setup hook with the wrong shape, or timed out.

    Sent for notification hooks (under ``[plugins] on_error = "warn"`` or ``"disable"``; the other
    plugins still got the event), for stop decisions, which then count as no answer, and for setup
    hooks, whose failures are sent right after ``run-started``; a permission plugin that raises
    denies instead. A call that missed ``[plugins] hook_timeout_s`` says so in ``error``
    (``"did not return within 60 s (the call was abandoned)"``); that plugin gets no more calls.
    """

    name: ClassVar[str] = "plugin-failed"
    plugin: str
    """The name of the plugin that raised."""
    hook: str
    """The hook it raised in, e.g. ``"trainhooks_on_trial_end"``."""
    error: str
    """``"<ExceptionType>: <message>"``, or what was wrong with the answer, or the timeout."""


__all__ = [
    "EVENT_TYPES",
    "ArtifactsWritten",
    "EpochEnded",
    "Event",
    "ModelFitted",
    "ModelRegistered",
    "PluginFailed",
    "RunEnded",
    "RunFailed",
    "RunStarted",
    "SearchStopped",
    "TrialEnded",
    "TrialStarted",
]
