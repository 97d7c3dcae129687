"""The run configuration as TOML, so a logged ``config.toml`` can be run again.

Writing is tomli-w's job; this module only maps a configuration onto what TOML can hold:
``None`` means "not set" and is left out (TOML has no null), numpy scalars become Python numbers,
and any other object (a class, a path) becomes its string.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import tomli_w

_TOML_SCALARS = (str, bool, int, float, dt.date, dt.time)  # dt.datetime is a dt.date


def _tomlable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _tomlable(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [_tomlable(v) for v in value if v is not None]
    if isinstance(value, _TOML_SCALARS):
        return value
    if hasattr(value, "item"):  # numpy scalar
        return _tomlable(value.item())
    return str(value)


def dumps(config: Mapping[str, Any]) -> str:
    """``config`` as TOML text that ``tomllib.loads`` reads back (minus ``None`` values)."""
    return tomli_w.dumps(_tomlable(config))


__all__ = ["dumps"]
