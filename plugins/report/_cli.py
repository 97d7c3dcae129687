"""``trainhooks report RUN_ID -o report.html``: one self-contained HTML page of a saved run.

It reads ``<dir>/<run_id>/report/`` (what the report plugin saved during the run), so it works
after the run, on another machine, without MLflow. RUN_ID may be an unambiguous prefix.
"""

from __future__ import annotations

from pathlib import Path

import click

from trainhooks import ConfigError
from trainhooks.hooks import did_you_mean

from ._settings import DEFAULT_RUNS_DIR
from ._store import REPORT_FOLDER, RunFiles


def find_run(runs_dir: Path, run_id: str) -> Path:
    """The report folder of ``run_id`` (or of the one run whose id starts with it) in ``runs_dir``.

    Raises a one-line :class:`ConfigError` (exit 2) naming the near miss for an unknown id.
    """
    known = sorted(p.parent.name for p in runs_dir.glob(f"*/{REPORT_FOLDER}") if p.is_dir())
    if run_id in known:
        return runs_dir / run_id / REPORT_FOLDER
    matches = [name for name in known if name.startswith(run_id)] if run_id else []
    if len(matches) == 1:
        return runs_dir / matches[0] / REPORT_FOLDER
    if len(matches) > 1:
        raise ConfigError(f"RUN_ID: {run_id!r} matches {len(matches)} runs in {runs_dir}; give more characters")
    where = f"{runs_dir}" if known else f"{runs_dir} (no saved runs there)"
    raise ConfigError(f"RUN_ID: no run {run_id!r} in {where}{did_you_mean(run_id, known)}")


@click.command("report")
@click.argument("run_id", metavar="RUN_ID")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=Path("report.html"),
    show_default=True, help="The HTML file to write.",
)  # fmt: skip
@click.option(
    "--dir", "runs_dir", type=click.Path(file_okay=False, path_type=Path), default=Path(DEFAULT_RUNS_DIR),
    show_default=True, help="The runs directory ([plugins.report] dir, or [run] dir, of the run).",
)  # fmt: skip
def report_command(run_id: str, output: Path, runs_dir: Path) -> None:
    """Write one self-contained HTML page (summary, trials, figures) of a run the report plugin saved.

    RUN_ID is the run's id, or an unambiguous prefix of it. Right after the run, it waits for the
    figures still being drawn (up to ``[plugins.report] wait_s``), or draws them if nothing is drawing them.
    """
    from ._drawing import wait_for_figures
    from ._html import render
    from ._settings import ReportSettings

    folder = find_run(runs_dir, run_id)
    config = RunFiles.load(folder).run.get("config") or {}
    wait_s = ((config.get("plugins") or {}).get("report") or {}).get("wait_s", ReportSettings().wait_s)
    wait_for_figures(folder, float(wait_s))  # right after a run, its drawing may still be going on
    try:
        output.write_text(render(RunFiles.load(folder)), encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"--output: cannot write {output}: {exc.strerror}") from None
    click.echo(str(output))


__all__ = ["find_run", "report_command"]
