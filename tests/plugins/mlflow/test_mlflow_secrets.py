"""Secrets and noise: credentials in the tracking URI never leave the plugin, MLflow's chatter stays
off the terminal unless ``--debug``, and a store that cannot be written is one line.

The credentials go to a real ``mlflow server`` without authentication: the MLflow client sends
them (basic auth from the URI, the token from the environment) and the server ignores them, so
the run succeeds and everything it wrote can be read back and searched for the secrets.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from builders import run_config, write_toml

from trainhooks.plugins.mlflow._redact import redact, redact_uri

if TYPE_CHECKING:
    from mlflow_support import MlflowServer

PASSWORD = "s3cret-Pa55word"
ENV_PASSWORD = "env-passw0rd-value"
ENV_TOKEN = "env-t0ken-value"
SECRETS = (PASSWORD, ENV_PASSWORD, ENV_TOKEN)
SECRET_ENV = {"MLFLOW_TRACKING_PASSWORD": ENV_PASSWORD, "MLFLOW_TRACKING_TOKEN": ENV_TOKEN}

MLFLOW_NOISE = re.compile(r"View run|View experiment|Creating initial MLflow database tables|alembic|INFO")


def with_credentials(uri: str) -> str:
    return uri.replace("http://", f"http://alice:{PASSWORD}@", 1)


def tune_file(path: Path, experiment: str, tracking_uri: str) -> Path:
    """A small grid tune (two trials) logging to ``tracking_uri``."""
    config = run_config(
        experiment={"name": experiment, "tracking_uri": tracking_uri},
        search={"strategy": "grid", "n_trials": None, "space": {"alpha": [1e-4, 1e-2], "max_iter": [5]}},
    )
    return write_toml(path, config)


def everything_logged(server: MlflowServer, experiment: str, folder: Path) -> str:
    """Every param, tag and artifact file of the experiment's runs, as one text."""
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=server.uri)
    found = client.get_experiment_by_name(experiment)
    assert found is not None
    runs = client.search_runs([found.experiment_id])
    assert len(runs) >= 3  # the parent and its trials
    texts = [json.dumps([run.data.params, run.data.tags, run.info.run_name]) for run in runs]
    for run in runs:
        if client.list_artifacts(run.info.run_id):
            target = folder / run.info.run_id
            target.mkdir(parents=True)
            client.download_artifacts(run.info.run_id, "", str(target))
            texts += [p.read_text(errors="replace") for p in target.rglob("*") if p.is_file()]
    return "\n".join(texts)


@pytest.mark.slow
@pytest.mark.timeout(300)  # the module's first test starts the server
def test_credentials_in_the_tracking_uri_are_in_no_artifact_param_tag_or_output(
    mlflow_server: MlflowServer, run_cli: Any, tmp_path: Path
) -> None:
    config = tune_file(tmp_path / "run.toml", "secrets", with_credentials(mlflow_server.uri))

    quiet = run_cli("tune", str(config), "--json", env=SECRET_ENV)
    assert quiet.returncode == 0, quiet.stderr
    loud = run_cli("--debug", "tune", str(config), env=SECRET_ENV)
    assert loud.returncode == 0, loud.stderr

    for result in (quiet, loud):
        for secret in SECRETS:
            assert secret not in result.stdout + result.stderr
    assert not MLFLOW_NOISE.search(quiet.stderr), quiet.stderr
    # with --debug MLflow's own lines are shown, credentials masked
    assert re.search(r"View run \S+ at: http://alice:\*\*\*@127\.0\.0\.1", loud.stderr), loud.stderr

    logged = everything_logged(mlflow_server, "secrets", tmp_path / "downloads")
    for secret in SECRETS:
        assert secret not in logged
    assert 'tracking_uri = "http://alice:***@127.0.0.1' in logged  # config.toml: the store, not the secret


@pytest.mark.slow
def test_an_unreachable_server_with_credentials_is_named_without_them(run_cli: Any, tmp_path: Path) -> None:
    from mlflow_support import free_port

    uri = with_credentials(f"http://127.0.0.1:{free_port()}")
    tune = run_cli("tune", str(tune_file(tmp_path / "run.toml", "gone", uri)), "-q", env=SECRET_ENV)
    listing = run_cli("runs", "list", "--tracking-uri", uri, env=SECRET_ENV)
    assert listing.returncode == 1
    for result in (tune, listing):
        assert "http://alice:***@127.0.0.1" in result.stderr
        for secret in SECRETS:
            assert secret not in result.stdout + result.stderr


@pytest.mark.slow
def test_runs_list_on_a_new_store_prints_no_migration_lines(run_cli: Any, tmp_path: Path) -> None:
    result = run_cli("runs", "list", "--tracking-uri", f"sqlite:///{tmp_path / 'new.db'}")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "no trainhooks runs found"
    assert result.stderr == ""


@pytest.mark.slow
@pytest.mark.parametrize(
    ("store", "named"),
    [
        ("sqlite:////proc/forbidden/mlflow.db", "/proc/forbidden"),  # a read-only place (even for root)
        ("sqlite:///a-file/mlflow.db", "a-file"),  # a file where a directory is expected
        ("mlruns-is-a-file", "mlruns"),  # the database is fine, the artifact store is not
    ],
)
def test_a_store_that_cannot_be_written_is_one_line_and_the_search_goes_on(
    store: str, named: str, run_cli: Any, tmp_path: Path
) -> None:
    (tmp_path / "a-file").write_text("")
    if store == "mlruns-is-a-file":
        (tmp_path / "mlruns").write_text("")  # where the SQLite store puts artifacts (the working directory)
        store = "sqlite:///mlflow.db"
    config = tune_file(tmp_path / "run.toml", "unwritable", store)

    result = run_cli("tune", str(config), "--json", "-q")

    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)["summary"]
    assert summary["n_complete"] == summary["n_trials"] == 2
    (note,) = [n for n in summary["notes"] if n.startswith("mlflow:")]
    # what could not be written is either kept for `runs sync` (an unreachable store) or named as lost
    kept = "are pending" in note and "trainhooks runs sync" in note
    assert named in note and (kept or "not logged" in note) and "\n" not in note
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and named in lines[0], result.stderr
    assert "Traceback" not in result.stderr


def test_redaction_masks_passwords_tokens_secret_query_values_and_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert redact_uri("http://alice:pw@host:5000/x") == "http://alice:***@host:5000/x"
    assert redact_uri("https://ghp_token@host") == "https://***@host"
    assert (
        redact_uri("https://host/api?user=a&access_token=abc&sig=x")
        == "https://host/api?user=a&access_token=***&sig=***"
    )
    assert redact_uri("sqlite:////tmp/mlflow.db") == "sqlite:////tmp/mlflow.db"

    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", ENV_TOKEN)
    uri = "http://alice:p%40ss-word@host"
    text = f"failed at {uri}/api: sent p@ss-word and {ENV_TOKEN}"
    assert redact(text, uri) == "failed at http://alice:***@host/api: sent *** and ***"
    config = {"experiment": {"tracking_uri": uri}, "search": {"space": {"a": [1, 2]}}}
    assert redact(config, uri) == {
        "experiment": {"tracking_uri": "http://alice:***@host"},
        "search": {"space": {"a": [1, 2]}},
    }


NO_STORE = "error: experiment.tracking_uri: no MLflow tracking store for the scheme"


@pytest.mark.parametrize(
    ("uri", "line"),
    [
        (
            "sqllite:///m.db",
            f"{NO_STORE} 'sqllite' (did you mean 'sqlite'?)",
        ),
        (
            "htp://alice:s3cret@127.0.0.1:1",
            "error: experiment.tracking_uri: no MLflow tracking store for the scheme 'htp'",
        ),
    ],
)
def test_a_tracking_uri_scheme_mlflow_has_no_store_for_is_refused_up_front(
    run_cli: Any, tmp_path: Path, uri: str, line: str
) -> None:
    config = write_toml(tmp_path / "run.toml", run_config(experiment={"tracking_uri": uri}))
    before = set(os.listdir(tmp_path))
    proc = run_cli("tune", str(config))
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith(line) and len(proc.stderr.strip().splitlines()) == 1
    assert "s3cret" not in proc.stderr + proc.stdout
    assert set(os.listdir(tmp_path)) == before
