"""Pipelines and categorical data from TOML and from Python (issue 12 items 1 and 2).

A mixed-type table (numbers with gaps, strings with gaps, string labels) is tuned through a
``[model]`` table (``preprocess = "auto"``, ``steps`` with the automatic preprocessing, an explicit
ColumnTransformer step) and through the Python API; a bad ``[model]`` table is one line naming its
field, before any event and with nothing written.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from builders import breast_cancer, run_config, write_frame, write_toml
from helpers import REPO
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.impute import SimpleImputer
from sklearn.linear_model import SGDClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

import trainhooks
from trainhooks import ConfigError
from trainhooks.config import load_config, parse_config
from trainhooks.hooks import RunStarted, thaw
from trainhooks.pipelines import auto_preprocessor, build_model, describe_model
from trainhooks.plugin_loader import BUILTIN_PLUGINS
from trainhooks.testing import EventRecorder, make_session

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

SGD = "sklearn.linear_model.SGDClassifier"
CLF_PARAMS = {"loss": "log_loss", "random_state": 0}


def mixed_frame(n_rows: int = 240) -> pd.DataFrame:
    """Numbers and strings, both with gaps, and a three-class string ``label`` that needs both."""
    rng = np.random.default_rng(3)
    colour = rng.choice(["red", "green", "blue"], n_rows)
    frame = pd.DataFrame(
        {
            "size": rng.normal(10, 3, n_rows),
            "weight": rng.normal(50, 10, n_rows),
            "colour": colour,
            "shop": rng.choice(["north", "south"], n_rows),
        }
    )
    latent = (frame["size"] - 10) / 3 + np.select([colour == "red", colour == "blue"], [1.5, -1.5], 0.0)
    frame["label"] = np.select([latent < -0.7, latent < 0.7], ["small", "medium"], "large")
    frame.loc[::9, "size"] = np.nan
    frame.loc[::7, "colour"] = np.nan
    return frame


AUTO_STEPS = {"steps": [{"name": "prep", "estimator": "auto"}, {"name": "clf", "estimator": SGD, "params": CLF_PARAMS}]}

EXPLICIT_STEPS = {
    "steps": [
        {
            "name": "prep",
            "estimator": "sklearn.compose.ColumnTransformer",
            "transformers": [
                {
                    "name": "num",
                    "steps": [
                        {
                            "name": "impute",
                            "estimator": "sklearn.impute.SimpleImputer",
                            "params": {"strategy": "median"},
                        },
                        {"name": "scale", "estimator": "sklearn.preprocessing.StandardScaler"},
                    ],
                    "columns": ["size", "weight"],
                },
                {
                    "name": "cat",
                    "steps": [
                        {
                            "name": "impute",
                            "estimator": "sklearn.impute.SimpleImputer",
                            "params": {"strategy": "most_frequent"},
                        },
                        {
                            "name": "onehot",
                            "estimator": "sklearn.preprocessing.OneHotEncoder",
                            "params": {"handle_unknown": "ignore"},
                        },
                    ],
                    "dtype_exclude": ["number"],
                },
            ],
        },
        {"name": "clf", "estimator": SGD, "params": CLF_PARAMS},
    ]
}


def explicit_pipeline() -> Pipeline:
    """What ``EXPLICIT_STEPS`` describes, written in Python."""
    numeric = Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())])
    categorical = Pipeline(
        [("impute", SimpleImputer(strategy="most_frequent")), ("onehot", OneHotEncoder(handle_unknown="ignore"))]
    )
    prep = ColumnTransformer(
        [("num", numeric, ["size", "weight"]), ("cat", categorical, make_column_selector(dtype_exclude=["number"]))]
    )
    return Pipeline([("prep", prep), ("clf", SGDClassifier(**CLF_PARAMS))])


MODELS = {
    "preprocess auto": ({"estimator": SGD, "params": CLF_PARAMS, "preprocess": "auto"}, "model__alpha"),
    "auto step": (AUTO_STEPS, "clf__alpha"),
    "explicit ColumnTransformer": (EXPLICIT_STEPS, "clf__alpha"),
}


def mixed_run(tmp_path: Path, model: dict[str, Any], alpha_key: str, **search: Any) -> dict[str, Any]:
    """A run config over ``mixed.csv`` in ``tmp_path`` with ``model`` as its ``[model]`` table."""
    write_frame(tmp_path / "mixed.csv", mixed_frame())
    return run_config(
        data={"dataset": None, "path": str(tmp_path / "mixed.csv"), "target": "label", "test_size": 0.25},
        model={"estimator": None, "params": None, **model},
        search={
            "scoring": "f1_macro",
            "max_epochs": 10,
            "space": {alpha_key: {"low": 1e-4, "high": 1e-1, "log": True}},
            **search,
        },
    )


@pytest.mark.slow
@pytest.mark.parametrize(("model", "alpha_key"), MODELS.values(), ids=list(MODELS))
def test_a_mixed_csv_with_string_labels_tunes_through_the_cli(
    run_cli: Any, tmp_path: Path, model: dict[str, Any], alpha_key: str
) -> None:
    config = write_toml(tmp_path / "run.toml", mixed_run(tmp_path, model, alpha_key))
    proc = run_cli("tune", str(config), "--json", "--no-plugin", "mlflow")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert [trial["state"] for trial in out["trials"]] == ["complete"] * 3
    assert all(alpha_key in trial["params"] for trial in out["trials"])
    assert out["summary"]["best_score"] > 0.5  # three classes: chance is about 0.33
    assert out["summary"]["test_score"] > 0.5  # the refit pipeline scores the held-out strings


def test_a_python_pipeline_tunes_a_dataframe_with_string_labels() -> None:
    frame = mixed_frame()
    X, y = frame.drop(columns=["label"]), frame["label"]
    pipeline = Pipeline([("prep", auto_preprocessor()), ("clf", SGDClassifier(**CLF_PARAMS))])
    result = make_session(EventRecorder()).tune(
        pipeline, {"clf__alpha": [1e-4, 1e-2]}, X, y, strategy="grid", cv=3, scoring="f1_macro", test_size=0.25
    )
    assert result.summary["n_complete"] == 2 and result.summary["test_score"] > 0.6
    assert set(result.best_estimator.predict(X)) <= {"small", "medium", "large"}


def _run_started(session_run: Any) -> dict[str, Any]:
    recorder = EventRecorder()
    session_run(make_session(recorder))
    (started,) = recorder.of(RunStarted)
    config = thaw(started.config)
    config["data"] = {k: v for k, v in config["data"].items() if k not in ("dataset", "path", "target")}
    return config


@pytest.mark.parametrize(
    ("model", "python_pipeline"),
    [
        (AUTO_STEPS, lambda: Pipeline([("prep", auto_preprocessor()), ("clf", SGDClassifier(**CLF_PARAMS))])),
        (EXPLICIT_STEPS, explicit_pipeline),
    ],
    ids=["auto step", "explicit ColumnTransformer"],
)
def test_the_same_pipeline_from_toml_and_python_reaches_plugins_with_the_same_config(
    tmp_path: Path, model: dict[str, Any], python_pipeline: Any
) -> None:
    search = {"strategy": "random", "n_trials": 2, "cv": 2, "scoring": "f1_macro", "max_epochs": 2}
    path = write_toml(
        tmp_path / "run.toml",
        mixed_run(tmp_path, model, "clf__alpha", **search) | {"plugins": {"disable": list(BUILTIN_PLUGINS)}},
    )
    frame = mixed_frame()
    from_toml = _run_started(lambda session: session.run_config(load_config(path), "tune"))
    from_python = _run_started(
        lambda session: session.tune(
            python_pipeline(),
            {"clf__alpha": {"low": 1e-4, "high": 1e-1, "log": True}},
            frame.drop(columns=["label"]),
            frame["label"],
            test_size=0.25,
            random_state=0,
            **search,
        )
    )
    assert from_toml["model"] == model  # the steps as written (their params are all explicit)
    assert from_python == from_toml


def test_model_params_show_what_the_built_estimator_sets() -> None:
    """A default written out is not shown (as for a single estimator): TOML and Python then agree.

    ``auto`` on a built-in dataset (arrays): the features become a table, so dtypes can be chosen.
    """
    model = {
        "steps": [{"name": "prep", "estimator": "auto"}, {"name": "clf", "estimator": SGD, "params": {"alpha": 1e-4}}]
    }
    recorder = EventRecorder()
    config = run_config(
        model={"estimator": None, "params": None, **model}, search={"strategy": "grid", "space": {"clf__alpha": [1e-3]}}
    )
    make_session(recorder).run_config(parse_config(config), "tune")
    assert thaw(recorder.of(RunStarted)[0].config)["model"] == {
        "steps": [{"name": "prep", "estimator": "auto"}, {"name": "clf", "estimator": SGD}]
    }


def test_a_pipeline_a_table_cannot_express_is_described_as_one_estimator() -> None:
    odd = Pipeline([("log", FunctionTransformer(np.log1p)), ("clf", SGDClassifier())])
    assert describe_model(odd)["steps"][0] == {
        "name": "log",
        "estimator": "sklearn.preprocessing.FunctionTransformer",
        "params": {"func": repr(np.log1p)},
    }
    nested = Pipeline([("inner", Pipeline([("scale", StandardScaler())])), ("clf", SGDClassifier())])
    described = describe_model(nested)
    assert described["estimator"] == "sklearn.pipeline.Pipeline" and "steps" in described["params"]
    assert describe_model(SGDClassifier) == {"estimator": SGD, "params": {}}


def test_a_pipeline_nested_in_a_pipeline_tunes_and_its_config_shows_the_steps_as_text() -> None:
    # a [model] table cannot express a Pipeline step: the run config carries the steps' repr
    # (JSON all the way down) instead of failing to serialize before the first trial
    X, y = breast_cancer(120)
    inner = Pipeline([("scale", StandardScaler())])
    nested = Pipeline([("prep", inner), ("clf", SGDClassifier(random_state=0))])
    recorder = EventRecorder()
    result = make_session(recorder).tune(nested, {"clf__alpha": [1e-4, 1e-2]}, X, y, strategy="grid", cv=2)

    assert result.summary["n_complete"] == 2
    model = thaw(recorder.of(RunStarted)[0].config)["model"]
    assert model == {"estimator": "sklearn.pipeline.Pipeline", "params": {"steps": repr(nested.steps)}}
    assert json.loads(json.dumps(model)) == model


STEP_ERRORS: list[tuple[str, dict[str, Any], str]] = [
    (
        "a step outside sklearn",
        {"steps": [{"name": "prep", "estimator": "auto"}, {"name": "clf", "estimator": "os.system"}]},
        "model.steps[1].estimator: 'os.system' is not a scikit-learn estimator",
    ),
    (
        "a step through a private module",
        {"steps": [{"name": "clf", "estimator": "sklearn.utils._mocking.CheckingClassifier"}]},
        "model.steps[0].estimator: 'sklearn.utils._mocking.CheckingClassifier' goes through the private name",
    ),
    (
        "a step param the estimator rejects",
        {
            "steps": [
                {"name": "prep", "estimator": "auto"},
                {"name": "clf", "estimator": SGD, "params": {"alpha": -1.0}},
            ]
        },
        "model.steps[1].params.alpha: The 'alpha' parameter of SGDClassifier must be a float",
    ),
    (
        "a step param the estimator does not have",
        {"steps": [{"name": "clf", "estimator": SGD, "params": {"alpah": 0.1}}]},
        "model.steps[0].params: SGDClassifier.__init__() got an unexpected keyword argument 'alpah'",
    ),
    (
        "both estimator and steps",
        {"estimator": SGD, "steps": [{"name": "clf", "estimator": SGD}]},
        "model: give exactly one of 'estimator' or 'steps'",
    ),
    (
        "neither estimator nor steps",
        {"params": {"alpha": 0.1}},
        "model: give exactly one of 'estimator' or 'steps'",
    ),
    (
        "a step name with a double underscore",
        {"steps": [{"name": "my__clf", "estimator": SGD}]},
        "model.steps[0].name: must not contain '__'",
    ),
    (
        "a misspelt step key",
        {"steps": [{"name": "clf", "estimater": SGD}]},
        "model.steps[0].estimator: required\nmodel.steps[0].estimater: unknown key (did you mean 'estimator'?)",
    ),
    (
        "two steps with one name",
        {"steps": [{"name": "clf", "estimator": "auto"}, {"name": "clf", "estimator": SGD}]},
        "model.steps[1].name: 'clf' names an earlier entry too",
    ),
    (
        "transformers on a step that is no ColumnTransformer",
        {
            "steps": [
                {
                    "name": "scale",
                    "estimator": "sklearn.preprocessing.StandardScaler",
                    "transformers": [
                        {"name": "n", "estimator": "sklearn.preprocessing.StandardScaler", "columns": [0]}
                    ],
                },
                {"name": "clf", "estimator": SGD},
            ]
        },
        "model.steps[0].transformers: only a ColumnTransformer step takes transformers",
    ),
    (
        "a ColumnTransformer without transformers",
        {
            "steps": [
                {"name": "prep", "estimator": "sklearn.compose.ColumnTransformer"},
                {"name": "clf", "estimator": SGD},
            ]
        },
        "model.steps[0].transformers: required for a ColumnTransformer step",
    ),
    (
        "columns and a dtype selector in one transformer",
        {
            "steps": [
                {
                    "name": "prep",
                    "estimator": "sklearn.compose.ColumnTransformer",
                    "transformers": [
                        {"name": "num", "estimator": "sklearn.preprocessing.StandardScaler", "columns": [0]},
                        {
                            "name": "x",
                            "estimator": "sklearn.preprocessing.StandardScaler",
                            "columns": [1],
                            "pattern": "a",
                        },
                    ],
                },
                {"name": "clf", "estimator": SGD},
            ]
        },
        "model.steps[0].transformers[1]: give either 'columns' or a selector",
    ),
    (
        "a transformer outside sklearn",
        {
            "steps": [
                {
                    "name": "prep",
                    "estimator": "sklearn.compose.ColumnTransformer",
                    "transformers": [{"name": "num", "estimator": "numpy.log", "dtype_include": ["number"]}],
                },
                {"name": "clf", "estimator": SGD},
            ]
        },
        "model.steps[0].transformers[0].estimator: 'numpy.log' is not a scikit-learn estimator",
    ),
    (
        "params on the auto step",
        {"steps": [{"name": "prep", "estimator": "auto", "params": {"x": 1}}, {"name": "clf", "estimator": SGD}]},
        "model.steps[0]: estimator 'auto' takes no params or transformers",
    ),
    (
        "preprocess with steps",
        {"preprocess": "auto", "steps": [{"name": "clf", "estimator": SGD}]},
        "model: 'preprocess' goes with 'estimator'",
    ),
]


@pytest.mark.parametrize(("case", "model", "message"), STEP_ERRORS, ids=[c[0] for c in STEP_ERRORS])
def test_a_bad_model_table_is_one_line_naming_the_field(case: str, model: dict[str, Any], message: str) -> None:
    recorder = EventRecorder()
    config = run_config(model={"estimator": None, "params": None, **model}, search={"space": {"clf__alpha": [1e-3]}})
    with pytest.raises(ConfigError) as raised:
        make_session(recorder).run_config(parse_config(config), "tune")
    error = str(raised.value)
    assert error.startswith(message), error
    assert error.count("\n") == message.count("\n")  # one line per bad field
    assert recorder.events == []


@pytest.mark.parametrize(
    ("model", "key", "message"),
    [
        (
            AUTO_STEPS,
            "clf__alpah",
            "search.space.clf__alpah: Pipeline has no parameter 'clf__alpah' (did you mean 'clf__alpha'?)",
        ),
        (
            {"estimator": SGD, "preprocess": "auto"},
            "alpha",
            "search.space.alpha: Pipeline has no parameter 'alpha' (did you mean 'model__alpha'?)",
        ),
    ],
    ids=["misspelt", "without its step"],
)
def test_a_space_key_is_checked_against_the_built_pipeline(model: dict[str, Any], key: str, message: str) -> None:
    recorder = EventRecorder()
    config = run_config(model={"estimator": None, "params": None, **model}, search={"space": {key: [1e-3]}})
    with pytest.raises(ConfigError) as raised:
        make_session(recorder).run_config(parse_config(config), "tune")
    assert str(raised.value) == message
    assert recorder.events == []


@pytest.mark.slow
def test_the_cli_refuses_a_bad_step_with_exit_2_and_writes_nothing(run_cli: Any, tmp_path: Path) -> None:
    """MLflow on: the refusal comes before the plugin opens a store."""
    bad = {
        "steps": [
            {"name": "prep", "estimator": "auto"},
            {"name": "clf", "estimator": "sklearn.linear_model.SGDClasifier"},
        ]
    }
    config = write_toml(tmp_path / "bad.toml", mixed_run(tmp_path, bad, "clf__alpha"))
    before = set(os.listdir(tmp_path))
    proc = run_cli("tune", str(config))
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("error: model.steps[1].estimator: 'sklearn.linear_model.SGDClasifier' is not")
    assert len(proc.stderr.strip().splitlines()) == 1
    assert set(os.listdir(tmp_path)) == before  # no mlflow.db, no mlruns/


def test_string_columns_without_preprocessing_suggest_preprocess_auto(tmp_path: Path) -> None:
    """Refused before any trial (by the data checks, wherever they live), with the one-line fix."""
    config = mixed_run(tmp_path, {"estimator": SGD}, "alpha")
    with pytest.raises(trainhooks.DataError, match=r'non-numeric feature columns .* preprocess = "auto"'):
        make_session(EventRecorder(), builtins=["data_checks"]).run_config(parse_config(config), "tune")


# -- examples/tabular ------------------------------------------------------------------------------

EXAMPLE = REPO / "examples" / "tabular"


def test_the_example_data_is_what_its_generator_writes(tmp_path: Path) -> None:
    make_data = _import(EXAMPLE / "make_data.py")
    make_data.main([str(tmp_path / "data.csv")])
    assert (tmp_path / "data.csv").read_bytes() == (EXAMPLE / "data.csv").read_bytes()
    frame = pd.read_csv(EXAMPLE / "data.csv")
    assert len(frame) == 3000 and frame.isna().any().sum() == 4
    assert set(frame["risk"]) == {"low", "medium", "high"}
    assert set(frame.select_dtypes(exclude="number").columns) == {"plan", "region", "channel", "risk"}


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_the_tabular_example_runs_from_toml_and_from_python(run_cli: Any, tmp_path: Path) -> None:
    """Both finish every trial (complete or pruned, none failed) with the process executor."""
    for name in ("tune.toml", "data.csv"):
        shutil.copy(EXAMPLE / name, tmp_path / name)
    proc = run_cli("tune", str(tmp_path / "tune.toml"), "--json", "--no-plugin", "mlflow")
    assert proc.returncode == 0, proc.stderr
    from_toml = json.loads(proc.stdout)["summary"]
    from_python = _import(EXAMPLE / "tune.py").main(disable=["mlflow"]).summary
    for summary in (from_toml, from_python):
        assert summary["n_trials"] == 12 and summary["n_failed"] == 0
        assert summary["n_complete"] + summary["n_pruned"] == 12 and summary["n_complete"] >= 3
        assert summary["best_score"] > 0.6 and summary["test_score"] > 0.6  # f1_macro of three classes


def _import(path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("page", ["configuration.md", "tuning.md"])
def test_the_model_tables_in_the_docs_build_and_fit(page: str) -> None:
    """Each TOML example with ``steps`` or ``preprocess`` parses, builds and fits a mixed table."""
    blocks = re.findall(r"```toml\n(.*?)```", (REPO / "docs" / page).read_text(encoding="utf-8"), re.DOTALL)
    models = [tomllib.loads(block)["model"] for block in blocks if re.search(r"^(steps|preprocess) =", block, re.M)]
    assert models
    frame = mixed_frame().rename(columns={"size": "age", "weight": "income"})
    X, y = frame.drop(columns=["label"]), frame["label"]
    for model in models:
        built = build_model(parse_config({"data": {"dataset": "iris"}, "model": model}).model, {}, y)
        assert set(built.fit(X, y).predict(X)) <= {"small", "medium", "large"}
