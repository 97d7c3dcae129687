"""``trainhooks`` commands: tune, train, plugins, and commands added by plugins.

Errors are one line on stderr (``error: <file>: <field>: <problem>``) with exit code 2 for bad
usage, config or data, 3 for a denied permission and 1 for anything else; ``--debug`` adds the
traceback. A run whose every trial failed prints its summary (or ``--json``) on stdout as usual,
then the first trial's error in one line, and exits 1. Ctrl-C closes the run cleanly, prints what
finished and exits 130.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click

from trainhooks.hooks import SettingsError

from .. import predict
from .._version import __version__
from ..config import load_config
from ..errors import TrainhooksError
from ..results import AllTrialsFailed
from ..runner import SearchInterrupted
from ..session import Session
from . import output

EXIT_INTERRUPTED = 130
CORE_COMMANDS = ("tune", "train", "plugins", "predict")

_state = {"debug": False}


def _plugin_options(func: Callable[..., Any]) -> Callable[..., Any]:
    func = click.option(
        "--no-plugin", "no_plugin", multiple=True, metavar="NAME", help="Block plugin NAME before it is imported."
    )(func)
    func = click.option(
        "--strict-plugins", is_flag=True, help="Fail if any plugin cannot be loaded (default: report and skip)."
    )(func)
    return func


class PluginCommandGroup(click.Group):
    """A group that also offers the commands plugins return from ``trainhooks_cli_commands``."""

    _plugin_commands: dict[str, click.Command] | None = None

    def _from_plugins(self) -> dict[str, click.Command]:
        """Commands from every plugin that answers; one that raises or answers garbage is reported
        (one line naming it) and skipped, so ``--help`` and the other commands keep working."""
        if self._plugin_commands is None:
            self._plugin_commands = {}
            session = Session()
            for answer in session.dispatcher.collect("trainhooks_cli_commands"):
                for command in answer.value:
                    if command.name and command.name not in self.commands:
                        self._plugin_commands.setdefault(command.name, command)
        return self._plugin_commands

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self._from_plugins()})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return super().get_command(ctx, cmd_name) or self._from_plugins().get(cmd_name)


@click.group(cls=PluginCommandGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="trainhooks")
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logging.")
def cli(debug: bool) -> None:
    """Train and tune scikit-learn models; everything else is a plugin."""
    _state["debug"] = debug
    _configure_logging(debug)


def _configure_logging(debug: bool) -> None:
    """Warnings and errors on stderr; with ``--debug`` every record.

    The level is set on the terminal handler, not only on the root logger: libraries that raise
    their own loggers to INFO (Dask's ``distributed`` does on import) would otherwise print their
    chatter through it and break the progress display.
    """
    level = logging.DEBUG if debug else logging.WARNING
    handler = logging.StreamHandler()
    handler.setLevel(level)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level, handlers=[handler])


@cli.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@_plugin_options
def plugins_command(as_json: bool, no_plugin: Sequence[str], strict_plugins: bool) -> None:
    """List plugins: where each comes from, the hooks it implements, and its status."""
    session = Session(disable=no_plugin, strict_plugins=strict_plugins)
    if as_json:
        output.print_json([info.to_dict() for info in session.plugin_report])
    else:
        output.print_plugins(session.plugin_report)


def _resume_option(kind: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``tune --resume RUN_ID`` (a train run is one trial: nothing to continue)."""
    if kind != "tune":
        return lambda func: func
    return click.option(
        "--resume",
        metavar="RUN_ID",
        help="Continue the interrupted run RUN_ID from its journal (same CONFIG; see docs/durability.md).",
    )


def _run_command(kind: str) -> click.Command:
    @click.argument("config", type=click.Path(path_type=Path))
    @click.option("--json", "as_json", is_flag=True, help="Print {run_id, summary, trials} as JSON.")
    @click.option("--n-trials", type=click.IntRange(min=1), help="Override search.n_trials.")
    @click.option("--seed", type=int, help="Override search.random_state.")
    @click.option("--tracking-uri", help="Override experiment.tracking_uri.")
    @click.option(
        "--set",
        "assignments",
        multiple=True,
        metavar="KEY=VALUE",
        help="Override any config key, e.g. --set plugins.metrics.port=9100 (VALUE is read as TOML).",
    )
    @click.option("-q", "--quiet", is_flag=True, help="No progress display.")
    @click.option(
        "--save-model",
        type=click.Path(path_type=Path, dir_okay=False),
        metavar="PATH",
        help="Write the refit best model to PATH (joblib; load it with `trainhooks predict PATH DATA`).",
    )
    @_plugin_options
    @_resume_option(kind)
    def command(
        config: Path,
        as_json: bool,
        n_trials: int | None,
        seed: int | None,
        tracking_uri: str | None,
        assignments: Sequence[str],
        quiet: bool,
        save_model: Path | None,
        no_plugin: Sequence[str],
        strict_plugins: bool,
        resume: str | None = None,
    ) -> None:
        overrides = parse_assignments(assignments)
        if resume is not None:
            overrides["run.resume"] = resume
        if n_trials is not None:
            overrides["search.n_trials"] = n_trials
        if seed is not None:
            overrides["search.random_state"] = seed
        if tracking_uri is not None:
            overrides["experiment.tracking_uri"] = tracking_uri
        run_config = load_config(config, overrides)
        if kind == "tune" and run_config.search.executor == "process":
            from ..executors.process import start_fork_server

            start_fork_server()  # scikit-learn loads in the fork server while plugins and data load here
        if save_model is not None:
            predict.check_destination(save_model)
        blocked = [*run_config.plugins.disable, *no_plugin, *(["progress"] if quiet else [])]
        session = Session(
            disable=blocked,
            strict_plugins=strict_plugins,
            on_error=run_config.plugins.on_error,
            max_failures=run_config.plugins.max_failures,
            hook_timeout_s=run_config.plugins.hook_timeout_s,
        )
        try:
            result = session.run_config(run_config, kind, source=str(config.resolve()))
        except SearchInterrupted as interrupted:
            _report(interrupted.result, as_json)
            output.stderr.print("interrupted: the run was closed; the summary above covers the finished trials")
            sys.exit(EXIT_INTERRUPTED)
        except AllTrialsFailed as failed:  # the summary still goes to stdout; main() prints the error line
            _report(failed.result, as_json)
            raise
        if save_model is not None:
            _save_best(result, save_model)
        _report(result, as_json)

    command.__doc__ = (
        "Search hyperparameters as CONFIG describes; print the summary."
        if kind == "tune"
        else "Cross-validate and fit the model CONFIG describes (no search); print the summary."
    )
    return cli.command(kind)(command)


def _save_best(result: Any, path: Path) -> None:
    """``--save-model``: write the refit model, or say on stderr why there is none (``refit = false``)."""
    if result.best_estimator is None:
        output.stderr.print(f"--save-model: no refit model to save ([search] refit = false?); {path} not written")
        return
    predict.save_model(result.best_estimator, path)


@cli.command("predict")
@click.argument("model", metavar="MODEL")
@click.argument("data", metavar="DATA", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "-o",
    "--output",
    "out",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write the predictions to this CSV (or .parquet) file instead of stdout.",
)
@click.option("--proba", is_flag=True, help="Class probabilities (one proba_<class> column per class).")
@click.option("--tracking-uri", metavar="URI", help="Where a plugin looks up a model URI (e.g. MLflow's store).")
@_plugin_options
def predict_command(
    model: str,
    data: Path,
    out: Path | None,
    proba: bool,
    tracking_uri: str | None,
    no_plugin: Sequence[str],
    strict_plugins: bool,
) -> None:
    """Predict for the rows of DATA (CSV or Parquet with the training columns) with MODEL.

    MODEL is a file written by `tune/train --save-model`, or a model URI a plugin loads, such as
    MLflow's runs:/<run_id>/model or models:/<name>@<alias>. A model file is a pickle: only load
    files you trust. Predictions go to stdout as CSV unless -o is given.
    """
    frame = predict.read_table(data)
    if out is not None:
        predict.check_destination(out, field="--output")
    session = Session(disable=no_plugin, strict_plugins=strict_plugins) if not Path(model).is_file() else None
    estimator = predict.load_model(model, session.dispatcher if session else None, tracking_uri=tracking_uri)
    table = predict.predictions(estimator, predict.model_input(estimator, frame), proba=proba)
    text = predict.write_table(table, out)
    if text is not None:
        click.echo(text, nl=False)


def _report(result: Any, as_json: bool) -> None:
    if as_json:
        output.print_json(result.to_json_dict())
    else:
        output.print_summary(
            result.summary, result.run_id, title="Tune summary" if result.kind == "tune" else "Train summary"
        )


def parse_assignments(assignments: Sequence[str]) -> dict[str, Any]:
    """``KEY=VALUE`` pairs with TOML values (bare words are strings)."""
    from ..config import tomllib

    overrides: dict[str, Any] = {}
    for item in assignments:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"{item!r} is not KEY=VALUE", param_hint="--set")
        try:
            value = tomllib.loads(f"v = {raw}")["v"]
        except tomllib.TOMLDecodeError:
            value = raw
        overrides[key.strip()] = value
    return overrides


tune_command = _run_command("tune")
train_command = _run_command("train")


def main(argv: Sequence[str] | None = None) -> None:
    """Console entry point: runs the CLI and turns errors into one line and an exit code."""
    try:
        cli.main(args=list(argv) if argv is not None else None, prog_name="trainhooks", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.Abort:
        output.stderr.print("aborted")
        sys.exit(EXIT_INTERRUPTED)
    except (TrainhooksError, SettingsError) as exc:  # a plugin command's bad settings: exit 2 too
        _fail(exc, exc.exit_code)
    except KeyboardInterrupt:
        output.stderr.print("interrupted")
        sys.exit(EXIT_INTERRUPTED)
    except Exception as exc:
        _fail(exc, 1, prefix=f"{type(exc).__name__}: ")
    sys.exit(0)


def _fail(exc: BaseException, code: int, prefix: str = "") -> None:
    if _state["debug"]:
        import traceback

        traceback.print_exception(exc)
    for line in (str(exc) or type(exc).__name__).splitlines() or [""]:
        print(f"error: {prefix}{line}", file=sys.stderr)
    sys.exit(code)


__all__ = ["cli", "main", "parse_assignments"]
