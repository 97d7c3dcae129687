"""Translate between a ``[model]`` table and the scikit-learn estimator it describes.

:func:`build_model` turns a validated :class:`~trainhooks.config.ModelConfig` (one estimator, maybe
behind ``preprocess = "auto"``, or a Pipeline of ``steps`` with ColumnTransformer steps) into an
unfitted estimator. Every class name goes through :func:`~trainhooks.estimators.resolve_estimator`
(``sklearn.*`` or plugin-registered, no private modules), and each problem is one line naming its
field (``model.steps[1].estimator: ...``).

:func:`describe_model` goes the other way for the Python API: the ``[model]`` table a config file
would write for an estimator, so plugins see the same run configuration for the same model from
TOML and from Python. :func:`shown_model` gives a config file's table in that same form.

:func:`auto_preprocessor` is the automatic preprocessing: a ColumnTransformer that picks its
columns by dtype when it is fitted (sklearn's ``make_column_selector``).
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

from sklearn.base import BaseEstimator
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from .config import AUTO, ModelConfig, StepConfig, TransformerConfig
from .errors import ConfigError
from .estimators import estimator_name, resolve_estimator
from .space import to_plain
from .validation import check_estimator_params, convert_class_keys

NUMERIC_DTYPES = ["number", "bool"]
"""Columns the automatic preprocessing imputes and scales; every other column is categorical."""

PREPROCESS_STEP, MODEL_STEP = "prep", "model"
"""Step names of the Pipeline that ``preprocess = "auto"`` builds: search keys are ``model__<param>``."""

COLUMN_ACTIONS = ("drop", "passthrough")
"""What a ColumnTransformer entry may name instead of an estimator."""


def auto_preprocessor() -> ColumnTransformer:
    """Impute (median) and scale numeric and boolean columns; impute (most frequent) and one-hot
    encode (unknown categories ignored) every other column (strings, categoricals).

    The columns are chosen by dtype when it is fitted, so it adapts to any table. The one-hot output
    is dense, so any estimator can follow it. Its parameters are searchable by sklearn's names
    (``prep__num__impute__strategy``, ``prep__cat__onehot__min_frequency``).
    """
    numeric = Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())])
    categorical = Pipeline(
        [
            ("impute", SimpleImputer(strategy="most_frequent")),
            ("onehot", OneHotEncoder(handle_unknown="ignore", sparse_output=False)),
        ]
    )
    return ColumnTransformer(
        [
            ("num", numeric, make_column_selector(dtype_include=NUMERIC_DTYPES)),
            ("cat", categorical, make_column_selector(dtype_exclude=NUMERIC_DTYPES)),
        ]
    )


# -- config -> estimator ---------------------------------------------------------------------------


def build_model(model: ModelConfig, registered: Mapping[str, type], y: Any) -> BaseEstimator:
    """The unfitted estimator ``model`` describes; ``y`` turns TOML ``class_weight`` keys into labels.

    Raises :class:`~trainhooks.ConfigError` naming the first bad field.
    """
    build = _Builder(registered, y)
    if model.steps is not None:
        return build.pipeline(model.steps, "model.steps")
    estimator = build.instance(model.estimator or "", model.params, "model")
    if model.preprocess == AUTO:
        return Pipeline([(PREPROCESS_STEP, auto_preprocessor()), (MODEL_STEP, estimator)])
    return estimator


class _Builder:
    """Builds the parts of a ``[model]`` table, each error naming its dotted path."""

    def __init__(self, registered: Mapping[str, type], y: Any) -> None:
        self.registered = registered
        self.y = y

    def instance(self, dotted: str, params: Mapping[str, Any] | None, where: str) -> BaseEstimator:
        cls = resolve_estimator(dotted, self.registered, where=f"{where}.estimator")
        converted = convert_class_keys(params or {}, self.y, f"{where}.params")
        try:
            estimator = cls(**converted)
        except TypeError as exc:
            raise ConfigError(f"{where}.params: {exc}") from None
        check_estimator_params(estimator, where=f"{where}.params")
        return estimator

    def pipeline(self, steps: Sequence[StepConfig], where: str) -> Pipeline:
        _unique_names([step.name for step in steps], where)
        return Pipeline([(step.name, self.step(step, f"{where}[{i}]")) for i, step in enumerate(steps)])

    def step(self, step: StepConfig, where: str) -> Any:
        if step.estimator == AUTO:
            return auto_preprocessor()
        if step.estimator == "passthrough":
            return "passthrough"
        columns_step = issubclass(
            resolve_estimator(step.estimator, self.registered, where=f"{where}.estimator"), ColumnTransformer
        )
        if step.transformers is None:
            if columns_step:
                raise ConfigError(f"{where}.transformers: required for a ColumnTransformer step")
            return self.instance(step.estimator, step.params, where)
        if not columns_step:
            raise ConfigError(
                f"{where}.transformers: only a ColumnTransformer step takes transformers "
                f"(estimator = 'sklearn.compose.ColumnTransformer'), not {step.estimator!r}"
            )
        _unique_names([entry.name for entry in step.transformers], f"{where}.transformers")
        entries = [self.column_entry(entry, f"{where}.transformers[{i}]") for i, entry in enumerate(step.transformers)]
        params = {"transformers": entries, **(step.params or {})}
        return self.instance(step.estimator, params, where)

    def column_entry(self, entry: TransformerConfig, where: str) -> tuple[str, Any, Any]:
        if entry.steps is not None:
            what: Any = self.pipeline(entry.steps, f"{where}.steps")
        elif entry.estimator in COLUMN_ACTIONS:
            what = entry.estimator
        elif entry.estimator == AUTO:
            raise ConfigError(f"{where}.estimator: 'auto' is a whole preprocessing step; use it as a step's estimator")
        else:
            what = self.instance(entry.estimator or "", entry.params, where)
        if entry.columns is not None:
            return entry.name, what, list(entry.columns)
        selector = make_column_selector(
            pattern=entry.pattern, dtype_include=entry.dtype_include, dtype_exclude=entry.dtype_exclude
        )
        return entry.name, what, selector


def as_table(model: ModelConfig, X: Any) -> Any:
    """``X`` as a pandas DataFrame if ``model`` chooses columns by dtype (``auto``, ``dtype_include``...)
    and ``X`` is an array (a built-in dataset): sklearn's ``make_column_selector`` needs a table."""
    if hasattr(X, "select_dtypes") or not _selects_by_dtype(model):
        return X
    import pandas as pd

    return pd.DataFrame(X)


def _selects_by_dtype(model: ModelConfig) -> bool:
    if model.preprocess == AUTO:
        return True
    steps = list(model.steps or [])
    while steps:
        step = steps.pop()
        if step.estimator == AUTO:
            return True
        for entry in step.transformers or []:
            if entry.columns is None:
                return True
            steps.extend(entry.steps or [])
    return False


def _unique_names(names: Sequence[str], where: str) -> None:
    seen: set[str] = set()
    for i, name in enumerate(names):
        if name in seen:
            raise ConfigError(f"{where}[{i}].name: {name!r} names an earlier entry too (names must be unique)")
        seen.add(name)


# -- estimator -> config ---------------------------------------------------------------------------


def explicit_params(estimator: Any) -> dict[str, Any]:
    """The estimator's parameters that differ from its class defaults, as plain JSON values.

    A config file names only what it sets, so a Python estimator is described the same way: the
    run configuration of ``SGDClassifier(loss="log_loss")`` is identical from TOML and from Python.
    A value that is not JSON all the way down (an estimator, a callable, a list of Pipeline steps
    holding estimators) appears as its repr, so the run configuration always serializes.
    """
    defaults = {
        name: param.default
        for name, param in inspect.signature(type(estimator).__init__).parameters.items()
        if param.default is not inspect.Parameter.empty
    }
    changed = {
        name: value
        for name, value in estimator.get_params(deep=False).items()
        if name not in defaults or repr(value) != repr(defaults[name])
    }
    plain = to_plain(changed)
    return {k: v if _is_json(v) else repr(changed[k]) for k, v in plain.items()}


def _is_json(value: Any) -> bool:
    """Whether ``value`` is plain JSON at every depth (not only at the top, as a list of steps is)."""
    if isinstance(value, (list, tuple)):
        return all(_is_json(item) for item in value)
    if isinstance(value, dict):
        return all(isinstance(key, str) and _is_json(item) for key, item in value.items())
    return isinstance(value, (str, int, float, bool, type(None)))


class _NotTabular(Exception):
    """A part of a Python estimator that a ``[model]`` table cannot express."""


def describe_model(estimator: Any) -> dict[str, Any]:
    """The ``[model]`` table of a Python estimator (a class or an instance), in a config file's terms.

    A plain ``Pipeline`` is described by its ``steps`` (the automatic preprocessing as
    ``estimator = "auto"``, a ColumnTransformer by its ``transformers``), so the same pipeline from
    TOML and from Python reaches plugins with the same configuration. What a table cannot express
    (a nested Pipeline step, a callable column choice, a Pipeline with ``memory``) leaves the whole
    model described as one estimator whose non-JSON parameters are reprs.
    """
    if isinstance(estimator, type):
        return {"estimator": estimator_name(estimator), "params": {}}
    if type(estimator) is Pipeline and not explicit_params(estimator).keys() - {"steps"}:
        try:
            return {"steps": [_describe_step(name, step) for name, step in estimator.steps]}
        except _NotTabular:
            pass
    return {"estimator": estimator_name(type(estimator)), "params": explicit_params(estimator)}


def shown_model(model: ModelConfig, estimator: BaseEstimator) -> ModelConfig:
    """A config file's ``[model]`` as plugins see it: the names as written, each params table replaced
    by the built estimator's explicit parameters (what :func:`describe_model` gives from Python)."""
    if model.steps is None:
        final = estimator.steps[-1][1] if model.preprocess == AUTO else estimator
        return model.model_copy(update={"params": explicit_params(final)})
    steps = [_shown_step(step, built) for step, (_, built) in zip(model.steps, estimator.steps, strict=True)]
    return model.model_copy(update={"steps": steps})


def _shown_step(step: StepConfig, built: Any) -> StepConfig:
    if not isinstance(built, BaseEstimator) or step.estimator == AUTO:
        return step
    update: dict[str, Any] = {"params": _own_params(built) or None}
    if step.transformers is not None:
        built_entries = [what for _, what, _ in built.transformers]
        update["transformers"] = [_shown_entry(e, w) for e, w in zip(step.transformers, built_entries, strict=True)]
    return step.model_copy(update=update)


def _shown_entry(entry: TransformerConfig, built: Any) -> TransformerConfig:
    if entry.steps is not None:
        steps = [_shown_step(step, b) for step, (_, b) in zip(entry.steps, built.steps, strict=True)]
        return entry.model_copy(update={"steps": steps})
    if isinstance(built, BaseEstimator):
        return entry.model_copy(update={"params": _own_params(built) or None})
    return entry


def _own_params(estimator: BaseEstimator) -> dict[str, Any]:
    """Explicit parameters, less a ColumnTransformer's ``transformers`` (shown as its own list)."""
    params = explicit_params(estimator)
    if isinstance(estimator, ColumnTransformer):
        params.pop("transformers", None)
    return params


def _describe_step(name: str, step: Any) -> dict[str, Any]:
    if step is None or step == "passthrough":
        return {"name": name, "estimator": "passthrough"}
    if not isinstance(step, BaseEstimator) or isinstance(step, Pipeline):
        raise _NotTabular
    if isinstance(step, ColumnTransformer) and tuple(_column_table(step)) == _auto_table():
        return {"name": name, "estimator": AUTO}
    described: dict[str, Any] = {"name": name, "estimator": estimator_name(type(step))}
    if isinstance(step, ColumnTransformer):
        described["transformers"] = _column_table(step)
    params = _own_params(step)
    if params:
        described["params"] = params
    return described


def _column_table(transformer: ColumnTransformer) -> list[dict[str, Any]]:
    """The ``transformers`` list of a ColumnTransformer step as a config file writes it."""
    return [_describe_entry(name, what, columns) for name, what, columns in transformer.transformers]


def _describe_entry(name: str, what: Any, columns: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": name}
    if isinstance(what, str) and what in COLUMN_ACTIONS:
        entry["estimator"] = what
    elif type(what) is Pipeline:
        entry["steps"] = [_describe_step(step_name, step) for step_name, step in what.steps]
    elif isinstance(what, BaseEstimator):
        entry["estimator"] = estimator_name(type(what))
        params = _own_params(what)
        if params:
            entry["params"] = params
    else:
        raise _NotTabular
    entry.update(_describe_columns(columns))
    return entry


def _describe_columns(columns: Any) -> dict[str, Any]:
    if isinstance(columns, make_column_selector):
        selector = {
            "pattern": columns.pattern,
            "dtype_include": _dtype_names(columns.dtype_include),
            "dtype_exclude": _dtype_names(columns.dtype_exclude),
        }
        return {key: value for key, value in selector.items() if value is not None}
    if isinstance(columns, (list, tuple)) and all(isinstance(c, (str, int)) for c in columns):
        return {"columns": list(columns)}
    raise _NotTabular  # a single name (1-D input), a slice, a mask or another callable


def _dtype_names(dtypes: Any) -> list[str] | None:
    if dtypes is None:
        return None
    names = [dtypes] if isinstance(dtypes, str) else dtypes
    if not isinstance(names, (list, tuple)) or not all(isinstance(n, str) for n in names):
        raise _NotTabular  # numpy types: a config file names dtypes by string
    return list(names)


@cache
def _auto_table() -> tuple[Any, ...]:
    return tuple(_column_table(auto_preprocessor()))


__all__: list[str] = [
    "MODEL_STEP",
    "NUMERIC_DTYPES",
    "PREPROCESS_STEP",
    "as_table",
    "auto_preprocessor",
    "build_model",
    "describe_model",
    "explicit_params",
    "shown_model",
]
