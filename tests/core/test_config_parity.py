"""One carrier of run settings: a run configured from TOML and the same run from Python reach
plugins with the same configuration (``trainhooks_configure`` and ``run-started``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import tomli_w
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import SGDClassifier

import trainhooks
from trainhooks.config import (
    BayesSettings,
    DataConfig,
    ExperimentConfig,
    PluginsConfig,
    RunSettings,
    SearchConfig,
    TpeSettings,
    load_config,
)
from trainhooks.hooks import RunStarted, SettingsError, hookimpl
from trainhooks.plugin_loader import BUILTIN_PLUGINS
from trainhooks.testing import EventRecorder, make_session

EVERY_SEARCH_SETTING: dict[str, Any] = {
    "strategy": "bayes",
    "n_trials": 7,
    "cv": 3,
    "scoring": "accuracy",
    "random_state": 11,
    "n_jobs": 2,
    "executor": "dask",
    "dask_address": "tcp://127.0.0.1:1",
    "max_epochs": 4,
    "eval_every": 2,
    "timeout_s": 30.5,
    "blas_threads": 1,
    "refit": False,
    "bayes": {
        "base_estimator": "RF",
        "acq_func": "EI",
        "acq_optimizer": "sampling",
        "n_restarts_optimizer": 3,
        "n_points": 500,
        "kernel_restarts": 1,
        "n_initial_points": 3,
        "lookahead": False,
    },
    "tpe": {"n_startup_trials": 4, "multivariate": True},
    "space": {
        "alpha": {"low": 1e-6, "high": 0.1, "log": True},
        "penalty": ["l2", "l1"],
        "max_iter": {"low": 5, "high": 50, "type": "int"},
    },
}
"""A value other than the default for every ``[search]`` setting (a new setting needs one here)."""

EXPERIMENT = {"name": "parity", "tracking_uri": "sqlite:///parity.db"}
PLUGINS = {"disable": sorted(BUILTIN_PLUGINS), "on_error": "raise", "max_failures": 5, "hook_timeout_s": 42.5}
"""Every built-in blocked: the capturing plugin is the only one that sees the run."""
DATA = {"test_size": 0.25, "random_state": 11}
RUN = {"dir": "parity-runs", "journal": False}
"""``resume`` is left out: the run to continue is looked for before plugins are configured
(tests/core/test_resume.py)."""
MODEL_PARAMS = {"loss": "log_loss", "random_state": 0}


class CaptureAndStop:
    """Records the configuration it is given, then refuses the run (so nothing trains or connects)."""

    plugin_name = "capture"

    def __init__(self) -> None:
        self.config: dict[str, Any] | None = None

    @hookimpl
    def trainhooks_configure(self, config: Any) -> None:
        self.config = trainhooks.hooks.thaw(config)
        raise SettingsError("plugins.capture: stop here")


def test_the_example_names_every_setting_of_each_table() -> None:
    assert set(EVERY_SEARCH_SETTING) == set(SearchConfig.model_fields)
    assert set(EVERY_SEARCH_SETTING["bayes"]) == set(BayesSettings.model_fields)
    assert set(EVERY_SEARCH_SETTING["tpe"]) == set(TpeSettings.model_fields)
    assert set(EXPERIMENT) == set(ExperimentConfig.model_fields)
    assert set(PLUGINS) == set(PluginsConfig.model_fields)
    assert set(RUN) | {"resume"} == set(RunSettings.model_fields)
    assert set(DATA) | {"dataset", "path", "target"} == set(DataConfig.model_fields)


def _from_toml(tmp_path: Path) -> dict[str, Any]:
    path = tmp_path / "run.toml"
    document = {
        "experiment": EXPERIMENT,
        "data": {"dataset": "breast_cancer", **DATA},
        "model": {"estimator": "sklearn.linear_model.SGDClassifier", "params": MODEL_PARAMS},
        "search": EVERY_SEARCH_SETTING,
        "plugins": {**PLUGINS, "capture": {"level": 2}},
        "run": RUN,
    }
    path.write_text(tomli_w.dumps(document), encoding="utf-8")
    config = load_config(path)
    capture = CaptureAndStop()
    session = trainhooks.Session(
        plugins=[capture],
        disable=config.plugins.disable,
        autoload=False,
        on_error="raise",
        max_failures=5,
        hook_timeout_s=config.plugins.hook_timeout_s,
    )
    with pytest.raises(trainhooks.ConfigError, match="stop here"):
        session.run_config(config, "tune")
    assert capture.config is not None
    return capture.config


def _from_python() -> dict[str, Any]:
    X, y = load_breast_cancer(return_X_y=True)
    capture = CaptureAndStop()
    session = trainhooks.Session(
        plugins=[capture],
        disable=PLUGINS["disable"],
        autoload=False,
        on_error="raise",
        max_failures=5,
        hook_timeout_s=PLUGINS["hook_timeout_s"],
    )
    search = dict(EVERY_SEARCH_SETTING)
    space = search.pop("space")
    with pytest.raises(trainhooks.ConfigError, match="stop here"):
        session.tune(
            SGDClassifier(**MODEL_PARAMS),
            space,
            X,
            y,
            experiment=EXPERIMENT["name"],
            tracking_uri=EXPERIMENT["tracking_uri"],
            test_size=DATA["test_size"],
            plugin_config={"capture": {"level": 2}},
            run=RUN,
            **search,
        )
    assert capture.config is not None
    return capture.config


def test_every_setting_reaches_plugins_identically_from_toml_and_from_python(tmp_path: Path) -> None:
    from_toml, from_python = _from_toml(tmp_path), _from_python()
    # the data source is the one difference: a named dataset in the file, arrays from Python
    assert from_toml["data"].pop("dataset") == "breast_cancer"
    assert from_python["data"].pop("dataset") is None
    assert from_toml == from_python
    assert from_python["search"]["space"] == {
        "alpha": {"low": 1e-6, "high": 0.1, "log": True, "type": "float"},
        "penalty": ["l2", "l1"],
        "max_iter": {"low": 5, "high": 50, "log": False, "type": "int"},
    }
    assert from_python["model"] == {"estimator": "sklearn.linear_model.SGDClassifier", "params": MODEL_PARAMS}
    assert from_python["plugins"]["capture"] == {"level": 2}


def test_run_started_carries_the_same_config_as_a_config_file(tmp_path: Path) -> None:
    """A real small run each way: ``run-started.config`` agrees (but for the data source)."""
    search = {"strategy": "random", "n_trials": 2, "cv": 3, "scoring": "accuracy", "max_epochs": 2}
    space = {"alpha": {"low": 1e-4, "high": 0.1, "log": True}}
    path = tmp_path / "small.toml"
    path.write_text(
        tomli_w.dumps(
            {
                "data": {"dataset": "breast_cancer", "test_size": 0.0},
                "model": {"estimator": "sklearn.linear_model.SGDClassifier", "params": MODEL_PARAMS},
                "search": {**search, "space": space},
                "plugins": {"disable": list(BUILTIN_PLUGINS)},  # as make_session blocks them
            }
        ),
        encoding="utf-8",
    )
    configs = []
    for run in ("toml", "python"):
        recorder = EventRecorder()
        session = make_session(recorder)
        if run == "toml":
            session.run_config(load_config(path), "tune")
        else:
            X, y = load_breast_cancer(return_X_y=True)
            session.tune(SGDClassifier(**MODEL_PARAMS), space, X, y, random_state=0, **search)
        (started,) = recorder.of(RunStarted)
        configs.append(trainhooks.hooks.thaw(started.config))
    for config in configs:
        config["data"].pop("dataset")
    assert configs[0] == configs[1]


def test_a_splitter_and_a_scorer_callable_from_python_appear_as_their_repr() -> None:
    from sklearn.metrics import make_scorer, recall_score
    from sklearn.model_selection import StratifiedKFold

    X, y = load_breast_cancer(return_X_y=True)
    recorder = EventRecorder()
    splitter, scorer = StratifiedKFold(3), make_scorer(recall_score)
    result = make_session(recorder).tune(
        SGDClassifier(random_state=0), {"alpha": [1e-4, 1e-3]}, X, y, strategy="grid", cv=splitter, scoring=scorer
    )
    config = recorder.of(RunStarted)[0].config
    assert config["search"]["cv"] == repr(splitter) and config["search"]["scoring"] == repr(scorer)
    assert result.summary["scoring"] == repr(scorer) and "split2_test_score" in result.trials[0]
