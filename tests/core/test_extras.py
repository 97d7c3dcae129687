"""Optional extras: without ``trainhooks[mlflow]``, ``[metrics]`` or ``[dask]`` the core still works.

The CLI runs in a subprocess where the extras' modules cannot be imported (a ``sitecustomize``
installs an import hook that refuses them, as if they were not installed), so these tests see what
a user of ``pip install trainhooks`` sees, without a second environment.
"""

from __future__ import annotations

import ast
import json
from importlib.metadata import distribution
from pathlib import Path

import pytest
from builders import run_config, write_toml
from helpers import REPO

from trainhooks import ConfigError
from trainhooks.extras import EXTRAS
from trainhooks.plugin_loader import BUILTIN_EXTRAS, NOT_INSTALLED, PluginInfo, check_plugin_tables

HIDDEN = ("mlflow", "tomli_w", "prometheus_client", "dask", "distributed", "matplotlib")

SITECUSTOMIZE = '''
import os
import sys

HIDDEN = set(os.environ["HIDE_MODULES"].split(","))


class NotInstalled:
    """Refuse the hidden modules as if they were not installed."""

    @staticmethod
    def find_spec(name, path=None, target=None):
        if name.partition(".")[0] in HIDDEN:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, NotInstalled)
'''


@pytest.fixture
def without_extras(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Environment for ``run_cli`` in which mlflow, prometheus_client and dask cannot be imported."""
    site = tmp_path_factory.mktemp("no-extras")
    (site / "sitecustomize.py").write_text(SITECUSTOMIZE, encoding="utf-8")
    return {"PYTHONPATH": str(site), "HIDE_MODULES": ",".join(HIDDEN), "TRAINHOOKS_DISABLE_PLUGIN_AUTOLOAD": "1"}


def listing(proc) -> dict[str, dict]:
    assert proc.returncode == 0, proc.stderr
    return {entry["name"]: entry for entry in json.loads(proc.stdout)}


# -- trainhooks plugins ------------------------------------------------------------------------


def test_plugins_whose_extra_is_missing_show_as_not_installed(run_cli, without_extras) -> None:
    plugins = listing(run_cli("plugins", "--json", env=without_extras))
    for name, extra in (("mlflow", "mlflow"), ("metrics", "metrics"), ("report", "report")):
        assert plugins[name]["status"] == NOT_INSTALLED == "not-installed"
        assert plugins[name]["error"] == f"not installed (pip install 'trainhooks[{extra}]')"
        assert plugins[name]["hooks"] == []
    for name in ("early_stopping", "rbac", "progress", "strategies"):
        assert plugins[name]["status"] == "active", plugins[name]

    table = run_cli("plugins", env={**without_extras, "COLUMNS": "80"})
    assert table.returncode == 0 and table.stderr == ""
    assert "mlflow: not installed (pip install 'trainhooks[mlflow]')" in table.stdout
    assert "Traceback" not in table.stdout


def test_a_missing_extra_is_not_a_load_failure_even_when_strict(run_cli, without_extras) -> None:
    proc = run_cli("plugins", "--strict-plugins", env=without_extras)
    assert proc.returncode == 0, proc.stderr


def test_a_blocked_plugin_is_blocked_not_missing(run_cli, without_extras) -> None:
    plugins = listing(run_cli("plugins", "--json", "--no-plugin", "mlflow", env=without_extras))
    assert plugins["mlflow"]["status"] == "blocked"


def test_a_required_plugin_that_is_not_installed_says_how_to_install_it(run_cli, without_extras) -> None:
    proc = run_cli("plugins", env={**without_extras, "TRAINHOOKS_REQUIRE_PLUGINS": "mlflow"})
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        "error: plugin 'mlflow' is required by TRAINHOOKS_REQUIRE_PLUGINS but is not loaded: "
        "not installed (pip install 'trainhooks[mlflow]')"
    ]


def test_hook_names_are_shown_whole_on_a_narrow_terminal(run_cli) -> None:
    proc = run_cli("plugins", "--json")
    hooks = {hook for entry in json.loads(proc.stdout) for hook in entry["hooks"]}
    assert "trainhooks_should_stop_search" in hooks
    table = run_cli("plugins", env={"COLUMNS": "80"})
    assert table.returncode == 0, table.stderr
    shown = {word for line in table.stdout.splitlines() for word in line.split()}
    assert hooks <= shown, sorted(hooks - shown)
    assert "…" not in table.stdout
    assert max(len(line) for line in table.stdout.splitlines()) <= 80


# -- runs without the extras ------------------------------------------------------------------


@pytest.mark.slow
def test_tune_runs_without_mlflow_and_configuring_it_says_how_to_install_it(
    run_cli, without_extras, tmp_path: Path
) -> None:
    plain = write_toml(tmp_path / "plain.toml", run_config(search={"n_trials": 2}))
    proc = run_cli("tune", "--json", "--quiet", str(plain), env=without_extras)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["summary"]["n_complete"] == 2
    assert not (tmp_path / "mlflow.db").exists()

    configured = write_toml(tmp_path / "mlflow.toml", run_config(plugins={"mlflow": {"log_trials": "none"}}))
    proc = run_cli("tune", str(configured), env=without_extras)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "error: plugins.mlflow: the mlflow plugin is not installed (pip install 'trainhooks[mlflow]')"
    ]


@pytest.mark.slow
def test_the_dask_executor_without_dask_is_one_line_naming_the_extra(run_cli, without_extras, tmp_path: Path) -> None:
    config = write_toml(tmp_path / "dask.toml", run_config(search={"executor": "dask", "n_jobs": 2}))
    proc = run_cli("tune", str(config), env=without_extras)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {config}: search.executor: ")  # refused with the file
    assert "pip install 'trainhooks[dask]'" in lines[0]


# -- check_plugin_tables, the extras table, and where the core imports them -----------------


def info(name: str, status: str = "active") -> PluginInfo:
    error = "not installed (pip install 'trainhooks[mlflow]')" if status == NOT_INSTALLED else None
    return PluginInfo(name, "builtin", "trainhooks", "0", status=status, error=error)


def test_plugin_tables_must_name_a_plugin_that_can_read_them() -> None:
    report = [info("early_stopping"), info("rbac", "blocked"), info("mlflow", NOT_INSTALLED), info("odd", "failed")]
    check_plugin_tables(["early_stopping", "rbac", "odd"], report)  # blocked and failed: reported elsewhere
    with pytest.raises(ConfigError, match=r"^plugins\.early_stoping: no plugin named 'early_stoping' is loaded "):
        check_plugin_tables(["early_stoping"], report)
    with pytest.raises(ConfigError) as caught:
        check_plugin_tables(["mlflow"], report)
    assert str(caught.value) == "plugins.mlflow: the mlflow plugin is not installed (pip install 'trainhooks[mlflow]')"
    assert caught.value.exit_code == 2


def test_every_extra_the_core_names_is_declared_by_the_distribution() -> None:
    declared = set(distribution("trainhooks").metadata.get_all("Provides-Extra") or [])
    assert set(EXTRAS) | {"all", "dev"} == declared
    assert set(BUILTIN_EXTRAS.values()) <= set(EXTRAS)
    requires = distribution("trainhooks").requires or []
    everything = next(r for r in requires if r.startswith("trainhooks[") and 'extra == "all"' in r)
    assert all(name in everything for name in EXTRAS)


def test_the_core_never_imports_an_extra_outside_the_code_that_needs_it() -> None:
    """mlflow only in the mlflow plugin, prometheus_client in metrics, matplotlib in report, dask in its executor."""
    owners = {
        "mlflow": "plugins/mlflow",
        "tomli_w": "plugins/mlflow",
        "prometheus_client": "plugins/metrics",
        "matplotlib": "plugins/report",
        "dask": "core/executors/dask.py",
        "distributed": "core/executors/dask.py",
    }
    offenders = []
    for folder in ("core", "hooks", "plugins"):
        for path in (REPO / folder).rglob("*.py"):
            relative = path.relative_to(REPO).as_posix()
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    modules = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    modules = [node.module]
                else:
                    continue
                for module in modules:
                    owner = owners.get(module.partition(".")[0])
                    if owner is not None and not relative.startswith(owner):
                        offenders.append(f"{relative}:{node.lineno} imports {module}")
    assert offenders == []
