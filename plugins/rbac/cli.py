"""``trainhooks audit verify FILE``: check an audit log's hash chain from the command line."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from .audit import verify


@click.group("audit")
def audit_group() -> None:
    """Inspect the RBAC plugin's audit log."""


@audit_group.command("verify")
@click.argument("file", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--expect-head", metavar="HASH", help="Hash of a head recorded earlier; detects deleted tail records.")
@click.option("--json", "as_json", is_flag=True, help="Print {ok, records, head, line, problem} as JSON.")
def verify_command(file: Path, expect_head: str | None, as_json: bool) -> None:
    """Verify FILE's chain; report the first broken or missing record. Exit 0 if intact, 1 if not."""
    result = verify(file, expect_head=expect_head)
    if as_json:
        click.echo(json.dumps(result.to_dict()))
    elif result.ok:
        click.echo(f"ok: {file}: {result.records} records, head {result.head}")
    else:
        click.echo(f"broken: {file}: line {result.line}: {result.problem} ({result.records} good records before it)")
    if not result.ok:
        sys.exit(1)


__all__ = ["audit_group"]
