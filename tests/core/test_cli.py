"""The ``trainhooks`` command: tune/train from TOML, JSON output, and one-line errors with exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import REPO

from trainhooks import SUMMARY_KEYS
from trainhooks.cli import main

GOOD = """
[experiment]
name = "cli-test"

[data]
dataset = "breast_cancer"
test_size = 0.2
random_state = 0

[model]
estimator = "sklearn.linear_model.LogisticRegression"
params = { max_iter = 300 }

[search]
strategy = "random"
n_trials = 3
cv = 3
scoring = "accuracy"
max_epochs = 2

[search.space]
C = { low = 0.01, high = 10.0, log = true }

[plugins]
disable = ["mlflow"]
"""


def run_main(args: list[str], capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(args)
    out, err = capsys.readouterr()
    return int(info.value.code or 0), out, err


def test_tune_prints_json_with_run_id_summary_and_trials(tmp_path: Path, capsys) -> None:
    config = tmp_path / "run.toml"
    config.write_text(GOOD)
    code, out, err = run_main(["tune", str(config), "--json", "--quiet"], capsys)
    assert code == 0, err
    data = json.loads(out)
    assert set(data) == {"run_id", "summary", "trials"}
    assert list(data["summary"]) == list(SUMMARY_KEYS)
    assert data["summary"]["n_trials"] == 3 and len(data["trials"]) == 3
    assert 0.8 < data["summary"]["test_score"] <= 1.0


def test_overrides_from_the_command_line(tmp_path: Path, capsys) -> None:
    config = tmp_path / "run.toml"
    config.write_text(GOOD)
    code, out, _ = run_main(
        ["tune", str(config), "--json", "-q", "--n-trials", "2", "--seed", "5", "--set", "search.cv=4"], capsys
    )
    assert code == 0
    data = json.loads(out)
    assert data["summary"]["n_trials"] == 2
    assert len([k for k in data["trials"][0] if k.startswith("split")]) == 4


def test_train_command_and_human_output(tmp_path: Path, capsys) -> None:
    config = tmp_path / "run.toml"
    config.write_text(GOOD)
    code, out, _ = run_main(["train", str(config), "-q"], capsys)
    assert code == 0
    assert "Train summary" in out and "best_score" in out and "test_score" in out


def test_progress_prints_plain_lines_when_not_a_terminal(tmp_path: Path, capsys) -> None:
    config = tmp_path / "run.toml"
    config.write_text(GOOD)
    code, _, err = run_main(["tune", str(config), "--json"], capsys)
    assert code == 0
    lines = [line for line in err.splitlines() if line.startswith("trial ")]
    assert len(lines) == 3 and lines[0].startswith("trial 1/3: complete score=")


@pytest.mark.parametrize("command", [[], ["tune"], ["train"], ["plugins"]])
def test_every_command_has_help(command: list[str], capsys) -> None:
    code, out, _ = run_main([*command, "--help"], capsys)
    assert code == 0 and "Usage:" in out


BAD_CONFIGS = {
    "low_not_below_high": (
        GOOD.replace("C = { low = 0.01, high = 10.0, log = true }", "C = { low = 10.0, high = 1.0 }"),
        "search.space.C.low: must be < high",
    ),
    "misspelt_key": (GOOD.replace("n_trials = 3", "n_trails = 3"), "search.n_trails: unknown key"),
    "zero_trials": (GOOD.replace("n_trials = 3", "n_trials = 0"), "search.n_trials: Input should be greater than 0"),
    "unknown_scorer": (GOOD.replace('scoring = "accuracy"', 'scoring = "acuracy"'), "search.scoring: unknown scorer"),
    "missing_model": (
        GOOD.replace('[model]\nestimator = "sklearn.linear_model.LogisticRegression"\nparams = { max_iter = 300 }', ""),
        "model: required",
    ),
    "arbitrary_import": (
        GOOD.replace("sklearn.linear_model.LogisticRegression", "os.system"),
        "model.estimator: 'os.system' is not a scikit-learn estimator",
    ),
    "sklearn_non_estimator": (
        GOOD.replace("sklearn.linear_model.LogisticRegression", "sklearn.utils.shuffle"),
        "model.estimator: 'sklearn.utils.shuffle' is not a scikit-learn estimator class",
    ),
    "unknown_param": (GOOD.replace("max_iter = 300", "max_iters = 300"), "model.params:"),
    "unknown_strategy": (GOOD.replace('strategy = "random"', 'strategy = "genetic"'), "search.strategy: unknown"),
    "bad_executor": (GOOD.replace("max_epochs = 2", 'executor = "spark"'), "search.executor:"),
    "zero_eval_every": (GOOD.replace("max_epochs = 2", "max_epochs = 2\neval_every = 0"), "search.eval_every:"),
    "unknown_dataset": (GOOD.replace('"breast_cancer"', '"mnist"'), "data.dataset: unknown dataset 'mnist'"),
    "bad_on_error": (GOOD.replace('disable = ["mlflow"]', 'on_error = "ignore"'), "plugins.on_error:"),
    "not_toml": ("[search\nn_trials = ", "not valid TOML"),
}


def snapshot(directory: Path) -> set[str]:
    return {str(p.relative_to(directory)) for p in directory.rglob("*")}


@pytest.mark.parametrize("case", sorted(BAD_CONFIGS))
def test_bad_config_is_one_line_exit_2_and_nothing_written(case: str, tmp_path: Path, capsys) -> None:
    text, expected = BAD_CONFIGS[case]
    config = tmp_path / "bad.toml"
    config.write_text(text.replace('disable = ["mlflow"]', "disable = []"))  # the real plugins are loaded
    before = snapshot(tmp_path)
    code, out, err = run_main(["tune", str(config)], capsys)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ") and expected in lines[0]
    assert "Traceback" not in err and out == ""
    assert snapshot(tmp_path) == before, "a refused run must not write anything"


def test_several_bad_fields_are_each_reported_on_their_own_line(tmp_path: Path, capsys) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(GOOD.replace("n_trials = 3", "n_trials = -1").replace("cv = 3", "cv = 1"))
    code, _, err = run_main(["tune", str(config)], capsys)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 2
    assert any("search.n_trials" in line for line in lines) and any("search.cv" in line for line in lines)
    assert all(line.startswith(f"error: {config}: ") for line in lines)


def test_missing_config_file(capsys) -> None:
    code, _, err = run_main(["tune", "nope.toml"], capsys)
    assert code == 2 and err.strip() == "error: nope.toml: config file not found"


def data_config(path: str, target: str = "label") -> str:
    return GOOD.replace('dataset = "breast_cancer"', f'path = "{path}"\ntarget = "{target}"')


def frame(**columns) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    base = {"a": rng.normal(size=40), "b": rng.normal(size=40), "label": np.arange(40) % 2}
    return pd.DataFrame({**base, **columns})


BAD_DATA = {
    "missing_file": (None, "data.path: file not found"),
    "missing_target": (frame(), "data.target: column 'target' not in"),
    "empty": (frame().iloc[:0], "the data is empty"),
    "text_feature": (frame(city=["x"] * 40), "non-numeric feature columns ['city']"),
    "nan_feature": (frame(a=[np.nan] + [0.0] * 39), "features contain NaN"),
    "single_class": (frame(label=[1] * 40), "single class"),
}


@pytest.mark.parametrize("case", sorted(BAD_DATA))
@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_bad_data_is_one_line_exit_2_and_nothing_written(case: str, suffix: str, tmp_path: Path, capsys) -> None:
    table, expected = BAD_DATA[case]
    data = tmp_path / f"data{suffix}"
    if table is not None:
        table.to_csv(data, index=False) if suffix == ".csv" else table.to_parquet(data)
    config = tmp_path / "bad.toml"
    config.write_text(data_config(data.name, "target" if case == "missing_target" else "label"))
    before = snapshot(tmp_path)
    code, _, err = run_main(["tune", str(config)], capsys)
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and expected in err
    assert snapshot(tmp_path) == before


def test_a_good_csv_trains(tmp_path: Path, capsys) -> None:
    frame().to_csv(tmp_path / "data.csv", index=False)
    config = tmp_path / "run.toml"
    config.write_text(data_config("data.csv"))
    code, out, err = run_main(["tune", str(config), "--json", "-q"], capsys)
    assert code == 0, err
    assert json.loads(out)["summary"]["n_complete"] == 3


def test_debug_shows_the_traceback(tmp_path: Path, capsys) -> None:
    code, _, err = run_main(["--debug", "tune", "nope.toml"], capsys)
    assert code == 2 and "Traceback" in err and "config file not found" in err


@pytest.mark.slow
def test_the_installed_command_runs_the_quickstart_example(run_cli, tmp_path: Path) -> None:
    example = REPO / "examples" / "quickstart.toml"
    proc = run_cli("tune", str(example), "--json", "--no-plugin", "mlflow", "--n-trials", "4")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)["summary"]
    assert summary["strategy"] == "bayes" and summary["n_trials"] == 4 and summary["best_score"] > 0.8
