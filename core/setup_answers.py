"""What a setup hook must return, checked before the core uses a plugin's answer.

A plugin that returns the wrong shape (a list where a dict of classes is due, a string where a
factory is due) would otherwise break the core far from its cause, in a message that does not
name the plugin. :func:`answer_problem` says what is wrong in one phrase; the dispatcher names the
plugin and applies ``[plugins] on_error`` (core/dispatch.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from trainhooks.hooks import DataReport


def _type_name(value: Any) -> str:
    return type(value).__name__


def _mapping_of(what: str, check: Callable[[Any], str | None]) -> Callable[[Any], str | None]:
    def problem(value: Any) -> str | None:
        if not isinstance(value, Mapping):
            return f"returned {_type_name(value)}, not a dict of {what}"
        for name, item in value.items():
            if not isinstance(name, str) or not name:
                return f"returned a key {name!r} that is not a name (a non-empty string)"
            issue = check(item)
            if issue:
                return f"{name!r}: {issue}"
        return None

    return problem


def _factory(value: Any) -> str | None:
    return None if callable(value) else f"is {_type_name(value)}, not a callable strategy factory"


def _estimator_class(value: Any) -> str | None:
    if not isinstance(value, type):
        return f"is {_type_name(value)}, not an estimator class"
    if not callable(getattr(value, "fit", None)):
        return f"class {value.__name__} has no fit method (not a scikit-learn estimator)"
    return None


def _data_report(value: Any) -> str | None:
    return None if isinstance(value, DataReport) else f"returned {_type_name(value)}, not a DataReport"


def _commands(value: Any) -> str | None:
    import click  # the command line's library; imported only when commands are collected

    if not isinstance(value, (list, tuple)):
        return f"returned {_type_name(value)}, not a list of click commands"
    for index, item in enumerate(value):
        if not isinstance(item, click.Command):
            return f"item {index} is {_type_name(item)}, not a click.Command"
        if not item.name:
            return f"item {index} is a click command without a name"
    return None


def _json_state(value: Any) -> str | None:
    if not isinstance(value, dict):
        return f"returned {_type_name(value)}, not a dict (a JSON-ready state)"
    try:
        json.dumps(value, allow_nan=True)
    except (TypeError, ValueError) as exc:
        return f"returned a state that is not JSON-ready ({exc})"
    return None


def _model(value: Any) -> str | None:
    return None if callable(getattr(value, "predict", None)) else f"returned {_type_name(value)}, which has no predict"


ANSWER_CHECKS: dict[str, Callable[[Any], str | None]] = {
    "trainhooks_check_data_source": _data_report,
    "trainhooks_validate_data": _data_report,
    "trainhooks_register_strategies": _mapping_of("strategy name -> factory", _factory),
    "trainhooks_register_estimators": _mapping_of("estimator name -> class", _estimator_class),
    "trainhooks_cli_commands": _commands,
    "trainhooks_state_dict": _json_state,
    "trainhooks_load_model": _model,
}
"""Setup hook name -> ``problem(answer)``, ``None`` when the (non-``None``) answer is usable."""


def answer_problem(hook_name: str, value: Any) -> str | None:
    """What is wrong with a plugin's non-``None`` answer to ``hook_name``, or ``None``."""
    check = ANSWER_CHECKS.get(hook_name)
    return check(value) if check is not None else None


__all__ = ["ANSWER_CHECKS", "answer_problem"]
