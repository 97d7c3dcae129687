"""Optional dependency groups (pip extras) and how the core says which one is missing.

``pip install trainhooks`` gives the core and the built-in plugins with light dependencies;
MLflow, Dask and Prometheus come with the extras named here (pyproject.toml lists their packages).
The core only *probes* for an extra's modules (it never imports them): a built-in plugin whose
extra is missing is reported as not installed, and asking for a feature that needs one is a
one-line :class:`ConfigError` with the ``pip install`` command that fixes it.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

from .errors import ConfigError


@dataclass(frozen=True)
class Extra:
    """One extra of the trainhooks distribution and the top-level modules it makes importable."""

    name: str
    modules: tuple[str, ...]

    @property
    def hint(self) -> str:
        """The command that installs it: ``pip install 'trainhooks[<name>]'``."""
        return f"pip install 'trainhooks[{self.name}]'"

    def missing(self) -> list[str]:
        """The extra's modules that cannot be imported here (found without importing them)."""
        return [module for module in self.modules if not _importable(module)]

    def require(self, field: str, feature: str) -> None:
        """Raise a one-line :class:`ConfigError` naming ``field`` unless the extra is installed.

        E.g. ``search.executor: "dask" needs the dask extra: pip install 'trainhooks[dask]' (missing: distributed)``.
        """
        missing = self.missing()
        if missing:
            raise ConfigError(
                f"{field}: {feature} needs the {self.name} extra: {self.hint} (missing: {', '.join(missing)})"
            )


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # an import hook refused it, or a broken half-imported module
        return False


EXTRAS: dict[str, Extra] = {
    extra.name: extra
    for extra in (
        Extra("mlflow", ("mlflow", "tomli_w")),
        Extra("dask", ("dask", "distributed")),
        Extra("metrics", ("prometheus_client",)),
        Extra("report", ("matplotlib",)),
        Extra("optuna", ("optuna",)),
    )
}
"""Every optional extra but ``all`` (which is all of them) and ``dev`` (test and lint tools)."""


__all__ = ["EXTRAS", "Extra"]
