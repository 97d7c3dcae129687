"""The settings helper of the plugin contract: strict pydantic models, one line per problem."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import pytest
from pydantic import Field, model_validator

import trainhooks
from trainhooks.hooks import PluginSettings, SettingsError, did_you_mean, freeze, hookimpl, validate_settings


class Role(PluginSettings):
    permissions: list[str] = []


class Settings(PluginSettings):
    patience: int | None = Field(default=None, ge=1)
    min_delta: float = Field(default=0.0, ge=0.0)
    mode: Literal["min", "max"] = "max"
    path: str
    roles: dict[str, Role] = {}

    @model_validator(mode="after")
    def _check(self) -> Settings:
        if self.mode == "min" and self.patience is None:
            raise ValueError("mode 'min' needs patience")
        return self


def problems(data: Mapping[str, Any]) -> list[str]:
    with pytest.raises(SettingsError) as info:
        validate_settings(Settings, data, prefix="plugins.demo")
    return str(info.value).splitlines()


def test_valid_table_becomes_the_model() -> None:
    settings = validate_settings(Settings, {"path": "x", "patience": 3, "min_delta": 0}, prefix="plugins.demo")
    assert settings.patience == 3 and settings.min_delta == 0.0 and isinstance(settings.min_delta, float)


def test_a_frozen_config_snapshot_validates_like_plain_data() -> None:
    table = freeze({"path": "x", "roles": {"viewer": {"permissions": ["run.train"]}}})
    settings = validate_settings(Settings, table, prefix="plugins.demo")
    assert settings.roles["viewer"].permissions == ["run.train"]


def test_a_bool_is_not_an_int() -> None:
    assert problems({"path": "x", "patience": True}) == [
        "plugins.demo.patience: Input should be a valid integer (got True)"
    ]


def test_a_string_is_not_a_number() -> None:
    assert problems({"path": "x", "min_delta": "0.1"}) == [
        "plugins.demo.min_delta: Input should be a valid number (got '0.1')"
    ]


@pytest.mark.parametrize("value", [float("inf"), float("-inf"), float("nan")])
def test_non_finite_floats_are_refused(value: float) -> None:
    (line,) = problems({"path": "x", "min_delta": value})
    assert line.startswith("plugins.demo.min_delta: Input should be a finite number (got ")


def test_unknown_key_gets_a_near_miss_suggestion() -> None:
    assert problems({"path": "x", "patiense": 3}) == ["plugins.demo.patiense: unknown key (did you mean 'patience'?)"]


def test_unknown_key_without_a_near_miss_has_no_suggestion() -> None:
    assert problems({"path": "x", "colour": "red"}) == ["plugins.demo.colour: unknown key"]


def test_unknown_key_in_a_nested_model_is_suggested_from_that_model() -> None:
    assert problems({"path": "x", "roles": {"viewer": {"permisions": []}}}) == [
        "plugins.demo.roles.viewer.permisions: unknown key (did you mean 'permissions'?)"
    ]


def test_every_problem_is_one_line_naming_its_field() -> None:
    assert problems({"patience": 0, "mode": "up", "extra": 1}) == [
        "plugins.demo.patience: Input should be greater than or equal to 1 (got 0)",
        "plugins.demo.mode: Input should be 'min' or 'max' (got 'up')",
        "plugins.demo.path: required",
        "plugins.demo.extra: unknown key",
    ]


def test_list_items_are_named_by_index() -> None:
    assert problems({"path": "x", "roles": {"viewer": {"permissions": ["ok", 3]}}}) == [
        "plugins.demo.roles.viewer.permissions[1]: Input should be a valid string (got 3)"
    ]


def test_a_model_check_names_the_table() -> None:
    assert problems({"path": "x", "mode": "min"}) == ["plugins.demo: mode 'min' needs patience"]


def test_the_model_is_frozen() -> None:
    settings = validate_settings(Settings, {"path": "x"})
    with pytest.raises(ValueError, match="frozen"):
        settings.path = "y"  # type: ignore[misc]


def test_did_you_mean() -> None:
    assert did_you_mean("early_stoping", ["mlflow", "early_stopping"]) == " (did you mean 'early_stopping'?)"
    assert did_you_mean("zzz", ["mlflow", "early_stopping"]) == ""


def test_config_error_is_a_settings_error() -> None:
    assert issubclass(trainhooks.ConfigError, SettingsError)
    assert trainhooks.ConfigError.exit_code == SettingsError.exit_code == 2


class StrictPlugin:
    """A third-party plugin that validates its table with the contract's helper."""

    plugin_name = "strict"

    @hookimpl
    def trainhooks_configure(self, config: Mapping[str, Any]) -> None:
        table = (config.get("plugins") or {}).get("strict", {})
        validate_settings(Settings, table, prefix="plugins.strict")


def test_a_plugin_settings_error_reaches_python_as_config_error(trainhooks_session, trainhooks_small_search) -> None:
    session = trainhooks_session(StrictPlugin())
    with pytest.raises(trainhooks.ConfigError) as info:
        trainhooks_small_search(session, plugin_config={"strict": {"path": "x", "patiense": 2}})
    assert str(info.value) == "plugins.strict.patiense: unknown key (did you mean 'patience'?)"
    assert isinstance(info.value.__cause__, SettingsError)
