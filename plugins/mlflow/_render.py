"""Printing ``runs list`` / ``runs compare`` for people (rich tables); JSON goes through the core's print_json."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

DIFF_MARK = "≠"
BEST_MARK = "*"


def _console() -> Console:
    """A console for stdout; when it is not a terminal, wide enough that ids are never cut."""
    console = Console(highlight=False, soft_wrap=True)
    return console if console.is_terminal else Console(highlight=False, soft_wrap=True, width=250)


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def print_run_list(rows: list[dict[str, Any]]) -> None:
    console = _console()
    if not rows:
        console.print("no trainhooks runs found")
        return
    table = Table(title="trainhooks runs (newest first)", title_justify="left")
    for column in (
        "run_id",
        "experiment",
        "kind",
        "strategy",
        "scoring",
        "best_score",
        "test",
        "trials",
        "state",
        "resumable",
    ):
        table.add_column(column)
    style = {"FINISHED": "green", "FAILED": "red", "KILLED": "yellow", "RUNNING": "cyan"}
    for row in rows:
        state = row["state"]
        resume = f"{row['journal']} (--resume {row['trainhooks_run_id']})" if row.get("resume") else "-"
        table.add_row(
            row["run_id"],
            _fmt(row["experiment"]),
            _fmt(row["kind"]),
            _fmt(row["strategy"]),
            _fmt(row["scoring"]),
            _fmt(row["best_score"]),
            _fmt(row["test_score"]),
            _fmt(row["n_trials"]),
            f"[{style.get(state, '')}]{state}[/]" if style.get(state) else state,
            resume,
        )
    console.print(table)
    if any(row.get("resume") for row in rows):
        console.print("continue a resumable run with: trainhooks tune CONFIG --resume RUN_ID (its config file)")


def print_comparison(comparison: dict[str, Any]) -> None:
    console = _console()
    ids = [run["run_id"] for run in comparison["runs"]]
    heads = [f"{run['run_id'][:12]}\n{run['name'] or ''}" for run in comparison["runs"]]
    differing = set(comparison["differing_params"])

    params = Table(title=f"params ({DIFF_MARK} = differs)", title_justify="left")
    params.add_column("param")
    for head in heads:
        params.add_column(head)
    for name, values in comparison["params"].items():
        if name in differing:
            params.add_row(f"[bold yellow]{DIFF_MARK} {name}[/]", *(f"[bold yellow]{_fmt(values[i])}[/]" for i in ids))
        else:
            params.add_row(f"  {name}", *(_fmt(values[i]) for i in ids))
    console.print(params)

    metrics = Table(title=f"metrics ({BEST_MARK} = best)", title_justify="left")
    metrics.add_column("metric")
    for head in heads:
        metrics.add_column(head)
    for name, values in comparison["metrics"].items():
        best = set(comparison["best"].get(name, ()))
        cells = [f"[bold green]{_fmt(values[i])} {BEST_MARK}[/]" if i in best else _fmt(values[i]) for i in ids]
        metrics.add_row(name, *cells)
    console.print(metrics)


__all__ = ["print_comparison", "print_run_list"]
