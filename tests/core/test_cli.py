"""The ``trainhooks`` command: tune/train from TOML, JSON output, and one-line errors with exit codes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from builders import labelled_frame, run_config, toml_text, write_frame, write_toml
from helpers import REPO

from trainhooks import SUMMARY_KEYS
from trainhooks.cli import main

GOOD = run_config(
    experiment={"name": "cli-test"},
    data={"test_size": 0.2, "random_state": 0},
    model={"estimator": "sklearn.linear_model.LogisticRegression", "params": {"max_iter": 300}},
    search={"space": {"C": {"low": 0.01, "high": 10.0, "log": True}}},
    plugins={"disable": ["mlflow"]},
)
"""A small random search over LogisticRegression's ``C``; the mlflow plugin is off."""


def run_main(args: list[str], capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(args)
    out, err = capsys.readouterr()
    return int(info.value.code or 0), out, err


def test_tune_prints_json_with_run_id_summary_and_trials(tmp_path: Path, capsys) -> None:
    config = tmp_path / "run.toml"
    write_toml(config, GOOD)
    code, out, err = run_main(["tune", str(config), "--json", "--quiet"], capsys)
    assert code == 0, err
    data = json.loads(out)
    assert set(data) == {"run_id", "summary", "trials"}
    keys = list(data["summary"])
    assert keys[: len(SUMMARY_KEYS)] == list(SUMMARY_KEYS)  # the fixed keys, in order
    assert set(keys[len(SUMMARY_KEYS) :]) <= {"notes", "links"}  # what DESIGN allows beside them
    assert data["summary"]["n_trials"] == 3 and len(data["trials"]) == 3
    assert 0.8 < data["summary"]["test_score"] <= 1.0


def test_a_process_that_calls_main_and_goes_on_keeps_collecting_garbage(tmp_path: Path, capsys) -> None:
    """Only the console script freezes the heap (``trainhooks.cli.console``): a program (or test)
    importing the CLI and calling ``main()`` twice still has a working collector."""
    import gc

    config = tmp_path / "run.toml"
    write_toml(config, GOOD)
    for _ in range(2):
        assert run_main(["tune", str(config), "--json", "-q", "--n-trials", "1"], capsys)[0] == 0
    assert gc.get_freeze_count() == 0  # nothing moved out of the collector's reach


def test_overrides_from_the_command_line(tmp_path: Path, capsys) -> None:
    config = tmp_path / "run.toml"
    write_toml(config, GOOD)
    code, out, _ = run_main(
        ["tune", str(config), "--json", "-q", "--n-trials", "2", "--seed", "5", "--set", "search.cv=4"], capsys
    )
    assert code == 0
    data = json.loads(out)
    assert data["summary"]["n_trials"] == 2
    assert len([k for k in data["trials"][0] if k.startswith("split")]) == 4


def test_train_command_and_human_output(tmp_path: Path, capsys) -> None:
    config = tmp_path / "run.toml"
    write_toml(config, GOOD)
    code, out, _ = run_main(["train", str(config), "-q"], capsys)
    assert code == 0
    assert "Train summary" in out and "best_score" in out and "test_score" in out


def test_progress_prints_plain_lines_when_not_a_terminal(tmp_path: Path, capsys) -> None:
    config = tmp_path / "run.toml"
    write_toml(config, GOOD)
    code, _, err = run_main(["tune", str(config), "--json"], capsys)
    assert code == 0
    lines = [line for line in err.splitlines() if line.startswith("trial ")]
    assert len(lines) == 3 and lines[0].startswith("trial 0: complete score=") and "| 1/3 done (" in lines[0]


@pytest.mark.parametrize("command", [[], ["tune"], ["train"], ["plugins"]])
def test_every_command_has_help(command: list[str], capsys) -> None:
    code, out, _ = run_main([*command, "--help"], capsys)
    assert code == 0 and "Usage:" in out


def with_all_plugins(**changes: Any) -> str:
    """GOOD with ``changes``, as TOML, and the real plugins loaded (nothing disabled)."""
    return toml_text(run_config(run_config(GOOD, plugins={"disable": []}), **changes))


BAD_CONFIGS = {
    "low_not_below_high": (
        with_all_plugins(search={"space": {"C": {"low": 10.0, "high": 1.0}}}),
        "search.space.C.low: must be < high",
    ),
    "misspelt_key": (with_all_plugins(search={"n_trials": None, "n_trails": 3}), "search.n_trails: unknown key"),
    "zero_trials": (with_all_plugins(search={"n_trials": 0}), "search.n_trials: Input should be greater than 0"),
    "unknown_scorer": (with_all_plugins(search={"scoring": "acuracy"}), "search.scoring: unknown scorer"),
    "missing_model": (
        with_all_plugins(model=None),
        "model: required",
    ),
    "arbitrary_import": (
        with_all_plugins(model={"estimator": "os.system"}),
        "model.estimator: 'os.system' is not a scikit-learn estimator",
    ),
    "sklearn_non_estimator": (
        with_all_plugins(model={"estimator": "sklearn.utils.shuffle"}),
        "model.estimator: 'sklearn.utils.shuffle' is not a scikit-learn estimator class",
    ),
    "unknown_param": (with_all_plugins(model={"params": {"max_iters": 300}}), "model.params:"),
    "unknown_strategy": (with_all_plugins(search={"strategy": "genetic"}), "search.strategy: unknown"),
    "bad_executor": (with_all_plugins(search={"executor": "spark"}), "search.executor:"),
    "zero_eval_every": (with_all_plugins(search={"eval_every": 0}), "search.eval_every:"),
    "unknown_dataset": (with_all_plugins(data={"dataset": "mnist"}), "data.dataset: unknown dataset 'mnist'"),
    "bad_on_error": (with_all_plugins(plugins={"on_error": "ignore"}), "plugins.on_error:"),
    "not_toml": ("[search\nn_trials = ", "not valid TOML"),
}


def snapshot(directory: Path) -> set[str]:
    return {str(p.relative_to(directory)) for p in directory.rglob("*")}


@pytest.mark.parametrize("case", sorted(BAD_CONFIGS))
def test_bad_config_is_one_line_exit_2_and_nothing_written(case: str, tmp_path: Path, capsys) -> None:
    text, expected = BAD_CONFIGS[case]
    config = tmp_path / "bad.toml"
    config.write_text(text)
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
    write_toml(config, run_config(GOOD, search={"n_trials": -1, "cv": 1}))
    code, _, err = run_main(["tune", str(config)], capsys)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 2
    assert any("search.n_trials" in line for line in lines) and any("search.cv" in line for line in lines)
    assert all(line.startswith(f"error: {config}: ") for line in lines)


def test_missing_config_file(capsys) -> None:
    code, _, err = run_main(["tune", "nope.toml"], capsys)
    assert code == 2 and err.strip() == "error: nope.toml: config file not found"


def data_config(path: str, target: str = "label") -> dict[str, Any]:
    return run_config(GOOD, data={"dataset": None, "path": path, "target": target})


frame = labelled_frame  # 40 seeded rows: features a, b and a two-class label


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
        write_frame(data, table)
    config = tmp_path / "bad.toml"
    write_toml(config, data_config(data.name, "target" if case == "missing_target" else "label"))
    before = snapshot(tmp_path)
    code, _, err = run_main(["tune", str(config)], capsys)
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and expected in err
    assert snapshot(tmp_path) == before


def test_a_good_csv_trains(tmp_path: Path, capsys) -> None:
    write_frame(tmp_path / "data.csv", frame())
    config = tmp_path / "run.toml"
    write_toml(config, data_config("data.csv"))
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
