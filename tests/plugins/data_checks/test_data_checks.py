"""The built-in ``data_checks`` plugin and the data-validation hooks, with real CSV/Parquet files.

Problems: one line each, exit 2, nothing written (no MLflow store, no files); warnings: summary notes.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from builders import labelled_frame, run_config, write_frame, write_toml
from helpers import REPO

import trainhooks
from trainhooks.cli import main
from trainhooks.hooks import DataReport, DataView, hookimpl

QUIET = ["progress", "mlflow", "report"]
"""Plugins a run that is not refused does without: the checks under test need none of them."""
OFF = [arg for name in QUIET[1:] for arg in ("--no-plugin", name)]

CSV_RUN = run_config(
    data={"dataset": None, "path": "data.csv", "target": "label", "test_size": 0.25},
    model={"estimator": "sklearn.linear_model.LogisticRegression", "params": {"max_iter": 300}},
    search={"n_trials": 2, "cv": 3, "space": {"C": {"low": 0.1, "high": 10.0, "log": True}}},
    experiment={"name": "data-checks", "tracking_uri": "sqlite:///mlflow.db"},
)
"""A small search on ``data.csv``, logging to an MLflow SQLite store in the working directory
(when the mlflow plugin is installed): a refused run must leave neither ``mlflow.db`` nor ``mlruns``."""


def run_main(args: list[str], capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(args)
    out, err = capsys.readouterr()
    return int(info.value.code or 0), out, err


def files(directory: Path) -> set[str]:
    return {str(p.relative_to(directory)) for p in directory.rglob("*")}


def tune_file(tmp_path: Path, capsys, frame: pd.DataFrame | None = None, *extra: str, **sections: Any):
    """Write ``frame`` as data.csv and a run file, run ``trainhooks tune``; (code, out, err, files written)."""
    if frame is not None:
        write_frame(tmp_path / "data.csv", frame)
    write_toml(tmp_path / "run.toml", run_config(CSV_RUN, **sections))
    before = files(tmp_path)
    code, out, err = run_main(["tune", str(tmp_path / "run.toml"), "-q", "--json", *extra], capsys)
    return code, out, err, files(tmp_path) - before


def data_notes(out: str) -> list[str]:
    """The summary notes of ``tune --json`` output that came from the data checks (other plugins add theirs)."""
    return [note for note in json.loads(out)["summary"].get("notes", []) if note.startswith("data")]


def errors(err: str) -> list[str]:
    lines = err.strip().splitlines()
    assert all(line.startswith("error: ") for line in lines), err
    return [line.removeprefix("error: ") for line in lines]


# -- problems: one line each, exit 2, nothing written ----------------------------------------------


def test_every_problem_is_one_line_exit_2_and_nothing_is_written(tmp_path: Path, capsys) -> None:
    frame = labelled_frame(60, city=["x", "y"] * 30)
    frame.loc[3, "a"] = np.nan
    frame.loc[[0, 1, 2], "label"] = 7  # 3 rows of class 7: 2 in training, fewer than the 3 folds
    code, out, err, written = tune_file(tmp_path, capsys, frame)
    assert code == 2 and out == ""
    assert errors(err) == [
        "data: non-numeric feature columns ['city'] need preprocessing: "
        'set [model] preprocess = "auto" (or give a Pipeline, e.g. trainhooks.pipelines.auto_preprocessor())',
        "data: features contain NaN or missing values in 1 rows (a: 1); "
        "impute them (a Pipeline with SimpleImputer) or drop those rows",
        "data: class 7 has 2 training rows, fewer than the 3 stratified CV folds (search.cv); "
        "every class needs at least 3 (more rows of it, fewer folds, or drop the class)",
    ]
    assert written == set(), "a refused run writes nothing (no MLflow store, no files)"


@pytest.mark.parametrize(
    ("frame", "expected"),
    [
        (labelled_frame(40, label=["only"] * 40), "data: the target has a single class ('only'); a classifier needs"),
        (labelled_frame(40, b=[np.inf] * 3 + [0.0] * 37), "data: features contain infinite values in 3 rows (b: 3)"),
        (labelled_frame(40, label=["a"] * 36 + ["b"] * 4), "data: class 'b' has 3 training rows, fewer than the 4"),
    ],
    ids=["single_class", "infinite", "rare_class"],
)
def test_each_check_names_what_is_wrong(frame: pd.DataFrame, expected: str, tmp_path: Path, capsys) -> None:
    code, _, err, written = tune_file(tmp_path, capsys, frame, search={"cv": 4})
    assert code == 2 and written == set()
    assert len(errors(err)) == 1 and errors(err)[0].startswith(expected), err


def test_a_file_over_max_bytes_is_refused_before_it_is_read(tmp_path: Path, capsys) -> None:
    """Not a CSV at all: reading it would fail with a parse error, so the size line proves it was not read."""
    (tmp_path / "data.csv").write_bytes(b"\x00\xff" * 2048)
    code, _, err, written = tune_file(tmp_path, capsys, plugins={"data_checks": {"max_bytes": 1024}})
    assert code == 2 and written == set()
    assert errors(err) == [
        "data.path: data.csv is 4.0 KiB, over plugins.data_checks.max_bytes (1.0 KiB); "
        "it was not read (raise the limit, or sample the file)"
    ]


@pytest.mark.slow
def test_the_default_limit_refuses_a_large_csv_at_once_from_the_installed_command(run_cli, tmp_path: Path) -> None:
    """A 1 GiB CSV (sparse on disk) is refused in well under a second, before pandas sees it."""
    with (tmp_path / "data.csv").open("wb") as fh:
        fh.write(b"a,b,label\n")
        fh.truncate(1024**3)
    write_toml(tmp_path / "run.toml", CSV_RUN)
    proc = run_cli("tune", str(tmp_path / "run.toml"), "-q", "--no-plugin", "mlflow")
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip() == (
        f"error: data.path: {Path('data.csv')} is 1.0 GiB, over plugins.data_checks.max_bytes (256.0 MiB); "
        "it was not read (raise the limit, or sample the file)"
    )


def test_a_parquet_file_with_too_many_rows_is_refused_from_its_metadata(tmp_path: Path, capsys) -> None:
    write_frame(tmp_path / "data.parquet", labelled_frame(120))
    code, _, err, written = tune_file(
        tmp_path,
        capsys,
        data={"path": "data.parquet"},
        plugins={"data_checks": {"max_rows": 100}},
    )
    assert code == 2 and written == set()
    assert errors(err) == [
        "data.path: data.parquet has 120 rows, over plugins.data_checks.max_rows (100); "
        "it was not read (raise the limit, or sample the file)"
    ]


def test_a_csv_with_too_many_rows_is_refused_after_loading(tmp_path: Path, capsys) -> None:
    code, _, err, _ = tune_file(tmp_path, capsys, labelled_frame(120), plugins={"data_checks": {"max_rows": 100}})
    assert code == 2 and errors(err) == ["data: 120 rows, over plugins.data_checks.max_rows (100)"]


def test_a_bad_settings_table_is_a_config_error(tmp_path: Path, capsys) -> None:
    code, _, err, _ = tune_file(
        tmp_path, capsys, labelled_frame(), plugins={"data_checks": {"max_bytes": 0, "skip": ["dtype"]}}
    )
    assert code == 2
    lines = errors(err)
    assert lines[0].startswith("plugins.data_checks.max_bytes: Input should be greater than or equal to 1")
    assert lines[1].startswith("plugins.data_checks.skip[0]: Input should be 'size', 'dtypes'")


# -- warnings: the summary's notes ---------------------------------------------------------------


def noisy_frame() -> pd.DataFrame:
    """Trainable, with a constant column, a copy of ``b``, 20 repeated rows and missing values in ``a``."""
    frame = labelled_frame(80, const=[1.5] * 80)
    frame["b_copy"] = frame["b"]
    frame = pd.concat([frame, frame.iloc[:20]], ignore_index=True)
    frame.loc[[5, 6], "a"] = np.nan
    return frame


def test_warnings_reach_the_summary_notes_and_the_run_goes_on(tmp_path: Path, capsys) -> None:
    model = {
        "estimator": "sklearn.ensemble.HistGradientBoostingClassifier",  # accepts NaN: missing is a warning
        "params": {"max_iter": 5},
    }
    code, out, err, _ = tune_file(
        tmp_path, capsys, noisy_frame(), *OFF, model=model, search={"space": {"learning_rate": [0.1, 0.3]}}
    )
    assert code == 0, err
    notes = data_notes(out)
    assert notes == [
        "data: features have missing values in 2 rows (a: 2); the estimator accepts them",
        "data: constant feature columns (one value in every training row): 'const'",
        "data: duplicated feature columns: 'b_copy' duplicates 'b'",
        notes[3],
    ]
    shared = re.fullmatch(r"data: (\d+) of 25 held-out rows also appear in the training split .*", notes[3])
    assert shared and 1 <= int(shared[1]) <= 20, notes[3]


def test_skipped_checks_say_nothing(tmp_path: Path, capsys) -> None:
    skip = ["missing", "constant_columns", "duplicate_columns", "shared_rows"]
    model = {"estimator": "sklearn.ensemble.HistGradientBoostingClassifier", "params": {"max_iter": 5}}
    code, out, err, _ = tune_file(
        tmp_path,
        capsys,
        noisy_frame(),
        *OFF,
        model=model,
        search={"space": {"learning_rate": [0.1, 0.3]}},
        plugins={"data_checks": {"skip": skip}},
    )
    assert code == 0, err
    assert data_notes(out) == []


def test_from_python_problems_raise_data_error_and_warnings_are_notes() -> None:
    frame = noisy_frame()
    X, y = frame.drop(columns="label").fillna(0.0), frame["label"]
    from sklearn.linear_model import LogisticRegression

    result = trainhooks.tune(LogisticRegression(), {"C": [0.1, 1.0]}, X, y, cv=3, test_size=0.25, disable=QUIET)
    assert any(n.startswith("data: constant feature columns") for n in result.summary["notes"])
    with pytest.raises(trainhooks.DataError) as info:
        trainhooks.tune(LogisticRegression(), {"C": [0.1, 1.0]}, X.assign(city="x"), y, cv=3, disable=QUIET)
    assert (
        str(info.value) == "data: non-numeric feature columns ['city'] need preprocessing: "
        'set [model] preprocess = "auto" (or give a Pipeline, e.g. trainhooks.pipelines.auto_preprocessor())'
    )


# -- without the plugin, and with third-party checks ---------------------------------------------


def test_without_data_checks_runs_work_and_the_core_keeps_its_guards(tmp_path: Path, capsys) -> None:
    code, out, err, _ = tune_file(tmp_path, capsys, noisy_frame().fillna(0.0), *OFF, "--no-plugin", "data_checks")
    assert code == 0, err
    assert data_notes(out) == []
    code, _, err, written = tune_file(tmp_path, capsys, labelled_frame().iloc[:0], "--no-plugin", "data_checks")
    assert code == 2 and errors(err) == ["data: the data is empty"] and written == set()
    code, _, err, _ = tune_file(
        tmp_path, capsys, labelled_frame(label=[np.nan] + [1.0] * 39), "--no-plugin", "data_checks"
    )
    assert code == 2 and errors(err) == ["data: the target contains NaN or infinite values (1 rows)"]


class Snooper:
    """A third-party check: a problem of its own, and an attempt to change the data it is shown."""

    plugin_name = "snooper"

    def __init__(self) -> None:
        self.seen: DataView | None = None
        self.write_error: Exception | None = None

    @hookimpl
    def trainhooks_validate_data(self, dataset: DataView) -> DataReport:
        self.seen = dataset
        try:
            dataset.X_train[0, 0] = 1e9
        except ValueError as exc:
            self.write_error = exc
        return DataReport(
            problems=["snooper: no", "data: features contain infinite values in 1 rows (x0: 1); clean them first"]
        )


def test_every_plugins_problems_count_and_plugins_see_read_only_views(small_xy) -> None:
    X, y = small_xy[0].copy(), small_xy[1]
    X[0, 1] = np.inf
    snooper = Snooper()
    with pytest.raises(trainhooks.DataError) as info:
        trainhooks.tune(
            __import__("sklearn.linear_model").linear_model.LogisticRegression(),
            {"C": [1.0]},
            X,
            y,
            cv=3,
            test_size=0.2,
            plugins=[snooper],
            disable=QUIET,
        )
    lines = str(info.value).splitlines()
    assert sorted(lines) == sorted(
        [
            "snooper: no",
            "data: features contain infinite values in 1 rows (x1: 1); clean them first",
            "data: features contain infinite values in 1 rows (x0: 1); clean them first",
        ]
    )
    seen = snooper.seen
    assert isinstance(snooper.write_error, ValueError) and X[0, 0] != 1e9
    assert seen is not None and seen.source == "arrays" and seen.task == "classification"
    assert (seen.n_splits, seen.stratified, seen.pipeline, seen.allow_nan) == (3, True, False, False)
    assert seen.n_rows == 300 and seen.has_test and len(seen.y_test) == 60
    assert seen.feature_names[:2] == ("x0", "x1") and seen.dtypes["x0"] == "float64"


class WrongAnswer:
    plugin_name = "wrong_answer"

    @hookimpl
    def trainhooks_validate_data(self) -> list[str]:
        return ["not a report"]


def test_a_plugin_answering_the_wrong_shape_is_reported_and_skipped(small_xy, caplog) -> None:
    from sklearn.linear_model import LogisticRegression

    result = trainhooks.train(LogisticRegression(), *small_xy, cv=3, plugins=[WrongAnswer()], disable=QUIET)
    assert result.summary["n_complete"] == 1
    assert "plugin 'wrong_answer' failed in trainhooks_validate_data: returned list, not a DataReport" in caplog.text


@pytest.mark.slow
def test_the_schema_check_example_of_writing_plugins_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    page = (REPO / "docs" / "writing-plugins.md").read_text(encoding="utf-8")
    section = page.split("\n## Checking data\n", 1)[1].split("\n## ", 1)[0]
    module, usage = re.findall(r"```python\n(.*?)```", section, re.DOTALL)
    assert module.startswith("# schema_check.py\n")
    (tmp_path / "schema_check.py").write_text(module, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    exec(compile(usage, "writing-plugins.md:checking-data", "exec"), {"__name__": "__docs__"})
