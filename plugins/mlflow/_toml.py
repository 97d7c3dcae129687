"""A small TOML writer for the run configuration, so a logged ``config.toml`` can be run again.

It covers what a trainhooks configuration holds: nested tables of strings, numbers, booleans,
lists and inline tables. ``None`` means "not set" and is left out (TOML has no null).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else json.dumps(key)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, Mapping):
        items = [f"{_key(str(k))} = {_value(v)}" for k, v in value.items() if v is not None]
        return "{ " + ", ".join(items) + " }" if items else "{}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_value(v) for v in value if v is not None) + "]"
    return json.dumps(str(value))


def _table(lines: list[str], path: list[str], table: Mapping[str, Any]) -> None:
    scalars = {k: v for k, v in table.items() if v is not None and not isinstance(v, Mapping)}
    tables = {k: v for k, v in table.items() if isinstance(v, Mapping)}
    if path and (scalars or not tables):
        lines.append(f"[{'.'.join(_key(p) for p in path)}]")
    lines.extend(f"{_key(str(k))} = {_value(v)}" for k, v in scalars.items())
    if path and (scalars or not tables):
        lines.append("")
    for key, sub in tables.items():
        _table(lines, [*path, str(key)], sub)


def dumps(config: Mapping[str, Any]) -> str:
    """``config`` as TOML text that ``tomllib.loads`` reads back (minus ``None`` values)."""
    lines: list[str] = []
    _table(lines, [], config)
    return "\n".join(lines).rstrip() + "\n"


__all__ = ["dumps"]
