"""`trainhooks tune --tracking-uri`, `runs list` and `runs compare` on a real SQLite store."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from builders import run_config, write_toml

from trainhooks.cli import main

if TYPE_CHECKING:
    from mlflow_support import Store


def tune_config(experiment: str) -> dict[str, Any]:
    """The small default run (3 trials) logged to ``experiment``."""
    return run_config(experiment={"name": experiment}, data={"test_size": 0.25})


QUIET = ["-q", "--no-plugin", "early_stopping", "--no-plugin", "rbac", "--no-plugin", "metrics"]


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(list(argv))
    out, err = capsys.readouterr()
    return int(exit_info.value.code or 0), out, err


@pytest.fixture
def two_runs(mlflow_store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    """Two CLI tunes logged with --tracking-uri, differing in n_trials."""
    config = tmp_path / "tune.toml"
    write_toml(config, tune_config(mlflow_store.experiment))
    results = []
    for n_trials in ("3", "2"):
        code, out, err = cli(
            capsys, "tune", str(config), "--json", "--n-trials", n_trials, "--tracking-uri", mlflow_store.uri, *QUIET
        )
        assert code == 0, err
        results.append(json.loads(out))
    return results


def test_tune_from_the_cli_logs_to_the_given_tracking_uri(mlflow_store: Store, two_runs: list[dict]) -> None:
    parents = mlflow_store.parents()
    assert sorted(p.data.tags["trainhooks.run_id"] for p in parents) == sorted(r["run_id"] for r in two_runs)
    assert not Path("mlflow.db").exists()  # nothing went to the default store


def test_runs_list_shows_recent_runs_with_score_strategy_trials_and_state(
    mlflow_store: Store, two_runs: list[dict], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = cli(
        capsys, "runs", "list", "--experiment", mlflow_store.experiment, "--json", "--tracking-uri", mlflow_store.uri
    )
    assert code == 0
    rows = json.loads(out)
    assert [r["trainhooks_run_id"] for r in rows] == [two_runs[1]["run_id"], two_runs[0]["run_id"]]  # newest first
    assert [r["n_trials"] for r in rows] == [2, 3]
    assert rows[0]["best_score"] == pytest.approx(two_runs[1]["summary"]["best_score"])
    assert {(r["strategy"], r["state"], r["kind"]) for r in rows} == {("random", "FINISHED", "tune")}

    code, out, _ = cli(
        capsys, "runs", "list", "--experiment", mlflow_store.experiment, "--tracking-uri", mlflow_store.uri
    )
    assert code == 0
    assert rows[0]["run_id"] in out and "FINISHED" in out and "random" in out


def test_runs_compare_marks_differing_params_and_best_metrics(
    mlflow_store: Store, two_runs: list[dict], capsys: pytest.CaptureFixture[str]
) -> None:
    short = [r["run_id"][:12] for r in two_runs]  # trainhooks run id prefixes, as the summary shows them
    code, out, _ = cli(capsys, "runs", "compare", *short, "--json", "--tracking-uri", mlflow_store.uri)
    assert code == 0
    comparison = json.loads(out)
    ids = [run["run_id"] for run in comparison["runs"]]
    assert [run["trainhooks_run_id"] for run in comparison["runs"]] == [r["run_id"] for r in two_runs]
    assert comparison["differing_params"] == ["search.n_trials"]
    assert comparison["params"]["search.n_trials"] == {ids[0]: "3", ids[1]: "2"}
    scores = [r["summary"]["best_score"] for r in two_runs]
    assert comparison["metrics"]["best_score"] == {ids[0]: pytest.approx(scores[0]), ids[1]: pytest.approx(scores[1])}
    if scores[0] != scores[1]:
        assert comparison["best"]["best_score"] == [ids[scores.index(max(scores))]]
    assert "n_trials" not in comparison["best"]  # counts are not ranked

    code, out, _ = cli(capsys, "runs", "compare", *ids, "--tracking-uri", mlflow_store.uri)
    assert code == 0
    assert "≠ search.n_trials" in out
    assert "  search.cv" in out  # equal params are not marked
    assert " *" in out  # some metric has a best run


def test_runs_commands_fail_in_one_line(
    mlflow_store: Store, two_runs: list[dict], capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = cli(
        capsys, "runs", "compare", "nosuchrun", two_runs[0]["run_id"], "--tracking-uri", mlflow_store.uri
    )
    assert code == 2
    assert err.strip() == "error: runs compare: no run 'nosuchrun' (neither an MLflow run id nor a trainhooks run id)"

    code, _, err = cli(capsys, "runs", "list", "--experiment", "nope", "--tracking-uri", mlflow_store.uri)
    assert code == 2 and err.strip() == "error: --experiment: no MLflow experiment named 'nope'"


def test_runs_list_reads_mlflow_tracking_uri_from_the_environment(
    mlflow_store: Store, two_runs: list[dict], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_store.uri)
    code, out, _ = cli(capsys, "runs", "list", "--experiment", mlflow_store.experiment, "--json")
    assert code == 0 and len(json.loads(out)) == 2


def test_unreachable_tracking_server_is_one_line_exit_1_before_any_trial(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from mlflow_support import free_port

    config = tmp_path / "tune.toml"
    write_toml(config, tune_config("unreachable"))
    uri = f"http://127.0.0.1:{free_port()}"
    code, out, err = cli(capsys, "tune", str(config), "--tracking-uri", uri, *QUIET)
    assert code == 1
    assert err.strip() == f"error: mlflow: tracking server {uri} is unreachable: ConnectionError"
    assert "trial" not in out


def test_the_logged_config_toml_runs_again(
    mlflow_store: Store, two_runs: list[dict], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from trainhooks import load_config

    parent = next(p for p in mlflow_store.parents() if p.data.tags["trainhooks.run_id"] == two_runs[1]["run_id"])
    logged = Path(mlflow_store.client.download_artifacts(parent.info.run_id, "config.toml", str(tmp_path)))
    config = load_config(logged)
    assert config.search.n_trials == 2 and config.experiment.tracking_uri == mlflow_store.uri
    code, out, err = cli(capsys, "tune", str(logged), "--json", *QUIET)
    assert code == 0, err
    assert json.loads(out)["summary"]["best_score"] == pytest.approx(two_runs[1]["summary"]["best_score"])
