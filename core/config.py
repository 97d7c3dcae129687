"""The run configuration (DESIGN section 5), validated with pydantic.

:func:`load_config` reads a TOML file and reports *every* bad field, one line each, naming its
dotted path (``search.space.alpha.low: must be < high``). Plugin tables under ``[plugins.<name>]``
are kept as they are and checked by their plugins in ``trainhooks_configure``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .errors import ConfigError
from .space import SearchSpace

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ExperimentConfig(_Section):
    name: str = Field(default="default", min_length=1)
    tracking_uri: str | None = None


class DataConfig(_Section):
    dataset: str | None = None
    path: str | None = None
    target: str | None = None
    test_size: float = Field(default=0.2, ge=0.0, lt=1.0)
    random_state: int | None = 0

    @model_validator(mode="after")
    def _one_source(self) -> DataConfig:
        if (self.dataset is None) == (self.path is None):
            raise ValueError("give exactly one of 'dataset' or 'path'")
        if self.path is not None and not self.target:
            raise ValueError("'target' is required with 'path'")
        return self


class ModelConfig(_Section):
    estimator: str = Field(min_length=1)
    params: dict[str, Any] = Field(default_factory=dict)


class SearchConfig(_Section):
    strategy: str = "random"
    n_trials: int = Field(default=10, gt=0)
    cv: int = Field(default=5, ge=2)
    scoring: str | None = None
    random_state: int | None = 0
    n_jobs: int = Field(default=1, ge=1)
    executor: Literal["sequential", "process", "dask"] = "sequential"
    dask_address: str | None = None
    max_epochs: int = Field(default=10, ge=1)
    eval_every: int = Field(default=1, ge=1)
    timeout_s: float | None = Field(default=None, gt=0)
    blas_threads: int | None = Field(default=None, ge=1)
    space: dict[str, Any] = Field(default_factory=dict)

    @field_validator("scoring")
    @classmethod
    def _known_scorer(cls, value: str | None) -> str | None:
        from sklearn.metrics import get_scorer_names

        if value is not None and value not in get_scorer_names():
            raise ValueError(f"unknown scorer {value!r} (see sklearn.metrics.get_scorer_names())")
        return value


class PluginsConfig(BaseModel):
    """``[plugins]``: the loader's settings; ``[plugins.<name>]`` tables are extra keys."""

    model_config = ConfigDict(extra="allow")

    disable: list[str] = Field(default_factory=list)
    on_error: Literal["warn", "raise", "disable"] = "warn"
    max_failures: int = Field(default=3, ge=1)

    @model_validator(mode="after")
    def _tables_only(self) -> PluginsConfig:
        for key, value in (self.model_extra or {}).items():
            if not isinstance(value, dict):
                raise ValueError(f"'{key}' must be a table [plugins.{key}] of that plugin's settings")
        return self

    def table(self, name: str) -> dict[str, Any]:
        """The settings table of plugin ``name`` (empty if absent)."""
        return dict((self.model_extra or {}).get(name, {}))


class RunConfig(_Section):
    """A whole run: what to train, on which data, how to search, and plugin settings."""

    experiment: ExperimentConfig = Field(default_factory=ExperimentConfig)
    data: DataConfig | None = None
    model: ModelConfig
    search: SearchConfig = Field(default_factory=SearchConfig)
    plugins: PluginsConfig = Field(default_factory=PluginsConfig)

    def to_plain(self) -> dict[str, Any]:
        """The configuration as a plain JSON-ready dict (what ``run-started`` carries)."""
        return self.model_dump(mode="json")


def _error_lines(exc: ValidationError) -> list[str]:
    lines = []
    for error in exc.errors():
        path = ".".join(str(part) for part in error["loc"]) or "(top level)"
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown key"
        elif error["type"] == "missing":
            message = "required"
        lines.append(f"{path}: {message}")
    return lines


def parse_config(data: dict[str, Any]) -> RunConfig:
    """Validate a configuration mapping; every problem becomes one line of the ConfigError."""
    lines: list[str] = []
    config = None
    try:
        config = RunConfig.model_validate(data)
    except ValidationError as exc:
        lines.extend(_error_lines(exc))
    space = (data.get("search") or {}).get("space") if isinstance(data.get("search"), dict) else None
    if space is not None:
        for name, spec in space.items() if isinstance(space, dict) else []:
            try:
                SearchSpace.parse({name: spec})
            except ConfigError as exc:
                lines.append(str(exc))
    if lines:
        raise ConfigError("\n".join(dict.fromkeys(lines)))
    assert config is not None
    return config


def check_search_settings(settings: dict[str, Any]) -> None:
    """Validate Python-API keyword arguments by the rules of the ``[search]`` table.

    ``tune(max_epochs=0)`` then fails before any event with the same one-line message a config
    file would get (``max_epochs: Input should be greater than or equal to 1``).
    """
    try:
        SearchConfig.model_validate(settings)
    except ValidationError as exc:
        raise ConfigError("\n".join(_error_lines(exc))) from None


def read_config_file(path: str | Path) -> dict[str, Any]:
    """The raw TOML table of a configuration file (not yet validated)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file: {exc.strerror}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


def set_path(data: dict[str, Any], dotted: str, value: Any) -> None:
    """Set ``data["a"]["b"]["c"] = value`` for ``dotted == "a.b.c"``, creating tables as needed."""
    *parents, last = dotted.split(".")
    table = data
    for key in parents:
        child = table.setdefault(key, {})
        if not isinstance(child, dict):
            raise ConfigError(f"{dotted}: {key!r} is not a table")
        table = child
    table[last] = value


def load_config(path: str | Path, overrides: dict[str, Any] | None = None) -> RunConfig:
    """Read and validate a TOML run configuration, after applying dotted-path ``overrides``.

    Every error line names the file and the field.
    """
    data = read_config_file(path)
    for dotted, value in (overrides or {}).items():
        set_path(data, dotted, value)
    try:
        return parse_config(data)
    except ConfigError as exc:
        raise ConfigError("\n".join(f"{path}: {line}" for line in str(exc).splitlines())) from None


__all__ = [
    "DataConfig",
    "ExperimentConfig",
    "ModelConfig",
    "PluginsConfig",
    "RunConfig",
    "SearchConfig",
    "check_search_settings",
    "load_config",
    "parse_config",
    "read_config_file",
    "set_path",
]
