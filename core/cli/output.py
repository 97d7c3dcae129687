"""Printing results for people (rich tables) and for programs (JSON)."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..plugin_loader import NOT_INSTALLED, PluginInfo
from ..results import SUMMARY_KEYS, all_trials_failed

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
    """The summary as a two-column table; failed trials stand out (red when every trial failed).

    The ``notes`` row, one line per note, says how many trials failed and the most common reason.
    The title carries the whole run id; each of the summary's ``links`` follows as ``<name> run_id``
    (e.g. the MLflow parent run's id) and, when there is one, ``<name> url`` (its page), printed once.
    """
    table = Table(title=f"{title} (run {run_id})", show_header=False, title_justify="left")
    table.add_column("key", style="bold")
    table.add_column("value")
    failed_style = "red" if all_trials_failed(summary) else "yellow" if summary.get("n_failed") else ""
    for key in (*SUMMARY_KEYS, *(k for k in summary if k not in SUMMARY_KEYS and k != "links")):
        if key in summary:
            value = summary[key]
            text = "\n".join(value) if key == "notes" else format_value(value)
            table.add_row(key, Text(text, style=failed_style if key == "n_failed" else ""))
    for name, link in (summary.get("links") or {}).items():
        for field in ("run_id", "url"):
            if link.get(field):
                table.add_row(f"{name} {field}", Text(str(link[field])))
    stdout.print(table)


_STATUS_STYLE = {"active": "green", "blocked": "yellow", NOT_INSTALLED: "yellow", "failed": "red"}


def print_plugins(report: Sequence[PluginInfo]) -> None:
    """The plugin report as a table, then one line per plugin that is not active and says why.

    Hook names are never cut (one per line, in a column that does not wrap); an error or install
    hint goes below the table, whole, instead of being folded into a narrow column.
    """
    longest_hook = max((len(hook) for info in report for hook in info.hooks), default=1)
    table = Table(
        title="trainhooks plugins", title_justify="left", box=None, pad_edge=False, header_style="bold underline"
    )
    table.add_column("name", no_wrap=True)
    table.add_column("source", no_wrap=True)
    table.add_column("distribution", overflow="fold", min_width=len("distribution"))
    table.add_column("status", max_width=len("installed"))  # "not installed" wraps at its space
    table.add_column("hooks", no_wrap=True, min_width=longest_hook)
    notes: list[Text] = []
    for info in report:
        dist = "\n".join(filter(None, (info.distribution, info.version))) or "-"
        style = _STATUS_STYLE.get(info.status, "")
        status = Text(info.status.replace("-", " "), style=style)
        table.add_row(info.name, info.source, dist, status, "\n".join(info.hooks) or "-")
        if info.error:
            notes.append(Text.assemble((info.name, "bold"), ": ", (info.error, style)))
    stdout.print(table)
    for note in notes:
        stdout.print(note)
