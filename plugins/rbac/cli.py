"""``trainhooks audit verify FILE``: check an audit log from the command line.

Exit 0 intact, 1 tampered or damaged (one line naming the record and the check that failed), 2 when
it cannot be checked: the file does not exist, the key file cannot be read, or the log is keyed and
no key was given.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from .audit_key import KEY_ENV, load_key
from .verification import verify

EXIT_BROKEN = 1
EXIT_CANNOT_CHECK = 2


@click.group("audit")
def audit_group() -> None:
    """Inspect the RBAC plugin's audit log."""


@audit_group.command("verify")
@click.argument("file", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--expect-head", metavar="HASH", help="A head hash recorded elsewhere earlier; the log must contain it.")
@click.option(
    "--key-file",
    type=click.Path(path_type=Path, dir_okay=False),
    envvar=KEY_ENV,
    show_envvar=True,
    help="The audit key, to check the HMACs of a keyed log.",
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print the result as JSON: ok, status, records, keyed, head, line, problem."
)
@click.pass_context
def verify_command(
    ctx: click.Context, file: Path, expect_head: str | None, key_file: Path | None, as_json: bool
) -> None:
    """Verify FILE: its records, their chain, its head file and, with the key, their HMACs.

    Exit 0 if intact, 1 if not, 2 if it cannot be checked (a keyed log and no key).
    """
    source = "--key-file" if ctx.get_parameter_source("key_file") == click.core.ParameterSource.COMMANDLINE else KEY_ENV
    key = load_key(key_file, source) if key_file else None
    result = verify(file, expect_head=expect_head, key=key)
    if as_json:
        click.echo(json.dumps(result.to_dict()))
    elif result.status == "ok":
        keyed = f" ({result.keyed} keyed, HMACs checked)" if result.keyed else ""
        click.echo(f"ok: {file}: {result.records} records{keyed}, head {result.head}")
    elif result.status == "broken":
        click.echo(f"broken: {file}: {result.problem}")
    else:
        click.echo(f"cannot check: {file}: {result.problem}")
    if result.status != "ok":
        sys.exit(EXIT_BROKEN if result.status == "broken" else EXIT_CANNOT_CHECK)


__all__ = ["audit_group"]
