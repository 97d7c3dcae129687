"""Validating a plugin's settings table: one pydantic model, one line per problem.

A plugin declares its ``[plugins.<name>]`` table as a :class:`PluginSettings` model and turns
the table into that model with :func:`validate_settings`::

    class Settings(PluginSettings):
        path: str | None = None
        every: int = Field(default=1, ge=1)

    @hookimpl
    def trainhooks_configure(self, config):
        table = config.get("plugins", {}).get("eventlog", {})
        self.settings = validate_settings(Settings, table, prefix="plugins.eventlog")

Every problem becomes one line of a :class:`~trainhooks.hooks.SettingsError`
(``plugins.eventlog.every: Input should be greater than or equal to 1 (got 0)``), an unknown key
gets a near-miss suggestion (``plugins.eventlog.pth: unknown key (did you mean 'path'?)``).
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from .errors import SettingsError
from .frozen import thaw

ModelT = TypeVar("ModelT", bound=BaseModel)


class PluginSettings(BaseModel):
    """Base model for a plugin's settings: unknown keys refused, strict types, finite numbers, frozen.

    Strict means no silent conversion: ``true`` is not an int and ``"3"`` is not a number (an int
    is still accepted for a float field, since TOML writes ``0`` for zero). ``inf`` and ``nan``
    are refused for every float field, so no hand-written finiteness checks are needed.
    """

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True)


def did_you_mean(value: str, choices: Iterable[str]) -> str:
    """``" (did you mean 'x'?)"`` for the closest of ``choices`` to ``value``, or ``""`` if none is close."""
    matches = difflib.get_close_matches(str(value), [str(c) for c in choices], n=1)
    return f" (did you mean {matches[0]!r}?)" if matches else ""


def validate_settings(
    model_cls: type[ModelT],
    data: Mapping[str, Any] | None,
    *,
    prefix: str = "",
    context: Mapping[str, Any] | None = None,
) -> ModelT:
    """Validate ``data`` with ``model_cls``; raise :class:`SettingsError`, one line per problem.

    A validator of the model may itself raise :class:`SettingsError` whose lines already name
    their fields in full (a nested table parsed by its own rules): those lines are kept as they are.

    :param model_cls: the pydantic model (usually a :class:`PluginSettings` subclass).
    :param data: the table to validate; ``None`` means an empty table. Frozen config snapshots
        (read-only dicts, tuples) are accepted: they are thawed into plain dicts and lists first.
    :param prefix: dotted path of the table (``plugins.early_stopping``); each line names
        ``<prefix>.<field path>``.
    :param context: pydantic's validation context, passed to the model's validators.
    :returns: the validated model instance.
    """
    try:
        return model_cls.model_validate(thaw(dict(data or {})), context=dict(context or {}))
    except ValidationError as exc:
        raise SettingsError("\n".join(_error_lines(exc, model_cls, prefix=prefix))) from None


def _error_lines(exc: ValidationError, model_cls: type[BaseModel] | None = None, *, prefix: str = "") -> list[str]:
    """One ``<prefix>.<field path>: <message>`` line per problem in ``exc`` (duplicates dropped).

    ``model_cls`` (the model that raised) is used to suggest the near miss of an unknown key.
    """
    lines = []
    for error in exc.errors():
        loc = error["loc"]
        path = _dotted(prefix, loc)
        kind = error["type"]
        raised = (error.get("ctx") or {}).get("error")
        if isinstance(raised, SettingsError):  # a nested parser's lines name their fields already
            lines.extend(str(raised).splitlines())
            continue
        if kind == "extra_forbidden":
            choices = _field_names(model_cls, loc[:-1]) if model_cls is not None else []
            message = "unknown key" + did_you_mean(str(loc[-1]), choices)
        elif kind == "missing":
            message = "required"
        else:
            message = error["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
            if loc:  # a model-level check's input is the whole table: not worth repeating
                message += f" (got {error['input']!r})"
        lines.append(f"{path}: {message}")
    return list(dict.fromkeys(lines))


def _dotted(prefix: str, loc: tuple[int | str, ...]) -> str:
    path = prefix
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path = f"{path}.{part}" if path else str(part)
    return path or "(top level)"


def _field_names(model_cls: type[BaseModel], loc: tuple[int | str, ...]) -> list[str]:
    """The field names of the (nested) model found at ``loc`` inside ``model_cls``, if any."""
    current: Any = model_cls
    for part in loc:
        current = _step(current, part)
        if current is None:
            return []
    model = _model_in(current)
    if model is None:
        return []
    return [field.alias or name for name, field in model.model_fields.items()]


def _step(annotation: Any, part: int | str) -> Any:
    """The type found one ``loc`` step inside ``annotation`` (a model field, dict value or list item)."""
    model = _model_in(annotation)
    if model is not None:
        for name, field in model.model_fields.items():
            if part in (name, field.alias):
                return field.annotation
        return None
    for option in _options(annotation):
        origin, args = typing.get_origin(option), typing.get_args(option)
        if origin in (dict, Mapping) and len(args) == 2:
            return args[1]
        if origin in (list, tuple, set, frozenset) and args and isinstance(part, int):
            return args[0]
    return None


def _options(annotation: Any) -> tuple[Any, ...]:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return typing.get_args(annotation)
    return (annotation,)


def _model_in(annotation: Any) -> type[BaseModel] | None:
    for option in _options(annotation):
        if isinstance(option, type) and issubclass(option, BaseModel):
            return option
    return None


__all__ = ["PluginSettings", "did_you_mean", "validate_settings"]
