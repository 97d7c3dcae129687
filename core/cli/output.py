"""Printing results for people (rich tables) and for programs (JSON)."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

from ..plugin_loader import PluginInfo
from ..results import SUMMARY_KEYS

stdout = Console(highlight=False, soft_wrap=True)
stderr = Console(stderr=True, highlight=False, soft_wrap=True)


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    return str(value)


def _finite(value: Any) -> Any:
    """JSON has no NaN: non-finite floats become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def print_json(data: Any) -> None:
    """Strict JSON on stdout (one document; NaN and infinity become null). Plugin commands use it too."""
    sys.stdout.write(json.dumps(_finite(data), indent=2, default=_json_default) + "\n")
    sys.stdout.flush()


def format_value(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict):
        return ", ".join(f"{k}={format_value(v)}" for k, v in value.items()) or "(defaults)"
    return str(value)


def print_summary(summary: dict[str, Any], run_id: str, title: str = "Run summary") -> None:
    """The summary as a two-column table."""
    table = Table(title=f"{title} ({run_id[:12]})", show_header=False, title_justify="left")
    table.add_column("key", style="bold")
    table.add_column("value")
    for key in (*SUMMARY_KEYS, *(k for k in summary if k not in SUMMARY_KEYS)):
        if key in summary:
            value = summary[key]
            table.add_row(key, "\n".join(value) if key == "notes" else format_value(value))
    stdout.print(table)


def print_plugins(report: Sequence[PluginInfo]) -> None:
    table = Table(title="trainhooks plugins", title_justify="left")
    for column in ("name", "source", "distribution", "status", "hooks"):
        table.add_column(column)
    for info in report:
        dist = f"{info.distribution} {info.version}" if info.distribution else "-"
        status = info.status if not info.error else f"{info.status}: {info.error}"
        style = {"active": "green", "blocked": "yellow", "failed": "red"}.get(info.status, "")
        table.add_row(info.name, info.source, dist, f"[{style}]{status}[/{style}]", ", ".join(info.hooks) or "-")
    stdout.print(table)
