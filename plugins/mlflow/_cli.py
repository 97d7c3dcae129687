"""``trainhooks runs list`` and ``trainhooks runs compare``: read trainhooks runs back from MLflow.

These commands run outside any trainhooks run, so there is no RunContext and no permission check
(reading is left to the tracking server's own access control).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from trainhooks import ConfigError

from ._compare import compare_runs, list_rows
from ._settings import DEFAULT_TRACKING_URI

_uri_option = click.option(
    "--tracking-uri",
    metavar="URI",
    help=f"MLflow tracking URI (default: $MLFLOW_TRACKING_URI or {DEFAULT_TRACKING_URI}).",
)

_runs_dir_option = click.option(
    "--dir",
    "root",
    default="trainhooks-runs",
    show_default=True,
    metavar="DIR",
    help="The runs' directories ([run] dir): their journals and MLflow spools.",
)


def _client(tracking_uri: str | None) -> Any:
    from ._client import check_reachable, make_client

    uri = tracking_uri or os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_TRACKING_URI
    check_reachable(uri)
    import mlflow  # sets up its own INFO logger to stderr on import (e.g. a new store's migration lines)

    if not logging.getLogger().isEnabledFor(logging.DEBUG):  # shown with --debug only, as during a run
        logging.getLogger(mlflow.__name__).setLevel(logging.WARNING)
    return make_client(uri)


@click.group("runs")
def runs_group() -> None:
    """Browse and compare trainhooks runs logged to MLflow (the mlflow plugin)."""


@runs_group.command("list")
@click.option("--experiment", metavar="NAME", help="Only runs of this experiment (default: all experiments).")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True, help="How many runs.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@_runs_dir_option
@_uri_option
def list_command(experiment: str | None, limit: int, as_json: bool, root: str, tracking_uri: str | None) -> None:
    """Recent trainhooks runs, newest first: best score, strategy, trials, state, and which can be resumed."""
    from trainhooks.cli.output import print_json

    from ._render import print_run_list

    rows = with_resume(list_rows(_client(tracking_uri), experiment=experiment, limit=limit), root)
    if as_json:
        print_json(rows)
    else:
        print_run_list(rows)


RESUMABLE = frozenset({"interrupted", "failed", "crashed"})
"""Journal statuses a run can be continued from (``trainhooks.journal.Journal.status``)."""


def with_resume(rows: list[dict[str, Any]], root: str) -> list[dict[str, Any]]:
    """Add each row's journal status (``journal``, ``None`` without one) and, for a run that can be
    continued, the command that does it (``resume``); journals are found under ``root``."""
    from trainhooks.journal import list_journals

    status = {journal.run_id: journal.status for journal in list_journals(root)}
    for row in rows:
        row["journal"] = status.get(row["trainhooks_run_id"] or "")
        resumable = row["journal"] in RESUMABLE
        row["resume"] = f"trainhooks tune CONFIG --resume {row['trainhooks_run_id']}" if resumable else None
    return rows


@runs_group.command("compare")
@click.argument("runs", nargs=-1, required=True, metavar="RUN RUN...")
@click.option("--json", "as_json", is_flag=True, help="Print params, metrics and the best run per metric as JSON.")
@_uri_option
def compare_command(runs: Sequence[str], as_json: bool, tracking_uri: str | None) -> None:
    """Params and metrics of runs side by side; differing params highlighted, best per metric marked.

    RUN is an MLflow run id, or a trainhooks run id or an unambiguous prefix of it.
    """
    from trainhooks.cli.output import print_json

    from ._render import print_comparison

    if len(runs) < 2:
        raise ConfigError("runs compare: give at least two runs")
    comparison = compare_runs(_client(tracking_uri), list(runs))
    if as_json:
        print_json(comparison)
    else:
        print_comparison(comparison)


@runs_group.command("sync")
@click.argument("run_id", required=False, metavar="[RUN_ID]")
@_runs_dir_option
@click.option("--json", "as_json", is_flag=True, help="Print what was sent per run as JSON.")
def sync_command(run_id: str | None, root: str, as_json: bool) -> None:
    """Send the MLflow writes a tracking outage left in runs' spools (every run's, or RUN_ID's).

    Each spool goes to the store its run logged to. Sending twice adds nothing. Exit 1 if writes
    are still pending (the store still fails).
    """
    from dataclasses import asdict

    from trainhooks import TrainhooksError
    from trainhooks.cli.output import print_json

    from ._process import sync_spool
    from ._spool import find_spools, spool_dir

    if run_id is None:
        spools = find_spools(root)
    else:
        matches = sorted(p.parent.name for p in find_spools(root) if p.parent.name.startswith(run_id))
        if len(matches) > 1:
            raise ConfigError(f"runs sync: {run_id!r} matches several runs: {', '.join(matches)}")
        if not matches and not spool_dir(root, run_id).parent.is_dir():
            raise ConfigError(f"runs sync: no run {run_id!r} in {root}")
        spools = [spool_dir(root, matches[0])] if matches else []
    results = [sync_spool(path) for path in spools]
    if as_json:
        print_json([asdict(r) for r in results])
    else:
        for r in results:
            name = Path(r.directory).parent.name
            left = f"; {r.pending} still pending: {r.error}" if r.pending else ""
            click.echo(f"{name}: sent {r.sent} writes to {r.uri}{left}")
        if not results:
            click.echo("nothing to send")
    pending = sum(r.pending for r in results)
    if pending:
        raise TrainhooksError(f"runs sync: {pending} writes are still pending; run it again when the store answers")


__all__ = ["runs_group"]
