"""Find, block, load and validate plugins into a pluggy ``PluginManager``.

Built-in plugins are named here by import path only (the core never imports them directly);
third-party plugins come from the ``trainhooks`` entry-point group. A blocked plugin is never
imported. A plugin that fails to import, to build, or to validate against the hook specs is
reported by name and distribution and skipped, or is fatal with ``strict``.
"""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from importlib.metadata import EntryPoint, entry_points
from typing import Any

import pluggy

from trainhooks.hooks import PROJECT_NAME, did_you_mean
from trainhooks.hooks.specs import SPEC_MODULES

from ._version import __version__
from .errors import ConfigError, PluginLoadError
from .extras import EXTRAS

log = logging.getLogger(__name__)

AUTOLOAD_ENV = "TRAINHOOKS_DISABLE_PLUGIN_AUTOLOAD"
"""Set to ``1`` to skip entry-point plugins (built-ins still load)."""

REQUIRED_ENV = "TRAINHOOKS_REQUIRE_PLUGINS"
"""Comma-separated plugin names an operator requires (e.g. ``rbac``): they cannot be blocked by a
run config, the CLI or the Python API, and failing to load them is fatal."""

ESSENTIAL_PLUGINS: dict[str, str] = {
    "strategies": "trainhooks.strategies:BuiltinStrategies",
}
"""Plugins the core needs to work at all; they cannot be blocked."""

BUILTIN_PLUGINS: dict[str, str] = {
    "progress": "trainhooks.plugins.progress:ProgressPlugin",
    "mlflow": "trainhooks.plugins.mlflow:MlflowPlugin",
    "early_stopping": "trainhooks.plugins.early_stopping:EarlyStoppingPlugin",
    "rbac": "trainhooks.plugins.rbac:RbacPlugin",
    "metrics": "trainhooks.plugins.metrics:MetricsPlugin",
    "report": "trainhooks.plugins.report:ReportPlugin",
    "data_checks": "trainhooks.plugins.data_checks:DataChecksPlugin",
}
"""Built-in plugins by name -> ``module:factory``; loaded like third-party ones, and blockable."""

BUILTIN_EXTRAS: dict[str, str] = {"mlflow": "mlflow", "metrics": "metrics", "report": "report"}
"""Built-in plugins that need an optional extra (plugin name -> extra name, see trainhooks.extras)."""

NOT_INSTALLED = "not-installed"
"""Status of a built-in plugin whose extra is missing: not an error, and not a load failure."""


@dataclass
class PluginInfo:
    """What ``trainhooks plugins`` reports about one plugin."""

    name: str
    source: str  # "builtin", "entrypoint" or "explicit"
    distribution: str | None
    version: str | None
    hooks: list[str] = field(default_factory=list)
    status: str = "active"  # "active", "blocked", "failed" or "not-installed"
    error: str | None = None  # why it is not active; "not installed (pip install ...)" for "not-installed"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def new_plugin_manager() -> pluggy.PluginManager:
    """A plugin manager that knows every trainhooks hook spec and no plugin yet."""
    manager = pluggy.PluginManager(PROJECT_NAME)
    for module in SPEC_MODULES:
        manager.add_hookspecs(module)
    return manager


def _import_factory(target: str) -> Callable[[], Any]:
    module_name, _, attribute = target.partition(":")
    obj: Any = importlib.import_module(module_name)
    for part in attribute.split("."):
        obj = getattr(obj, part)
    return obj


def describe_error(exc: BaseException) -> str:
    """One line: the exception type and its message, multi-line messages joined with "; "."""
    text = "; ".join(line.strip() for line in str(exc).splitlines() if line.strip())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _hooks_of(manager: pluggy.PluginManager, plugin: object) -> list[str]:
    return sorted(caller.name for caller in manager.get_hookcallers(plugin) or [])


def _validate_registration(manager: pluggy.PluginManager, plugin: object) -> None:
    """Refuse hooks that have no spec (usually a misspelt hook name), and hook wrappers.

    trainhooks calls every implementation itself (core/dispatch.py) so that one failing plugin never
    stops the others; a ``wrapper=True`` or ``hookwrapper=True`` implementation would never run
    there. Refusing it at load says so, instead of a hook that silently does nothing.
    """
    callers = manager.get_hookcallers(plugin) or []
    unknown = [c.name for c in callers if c.spec is None]
    if unknown:
        raise pluggy.PluginValidationError(plugin, f"unknown hook {unknown[0]!r} (no such hook spec; misspelt?)")
    for caller in callers:
        for impl in caller.get_hookimpls():
            if impl.plugin is plugin and (impl.wrapper or impl.hookwrapper):
                kind = "wrapper=True" if impl.wrapper else "hookwrapper=True"
                raise pluggy.PluginValidationError(
                    plugin,
                    f"hook {caller.name!r} is declared with {kind}; trainhooks does not run hook wrappers "
                    "(use a plain @hookimpl, see docs/writing-plugins.md)",
                )


class PluginLoader:
    """Loads plugins into one manager and keeps a report of every one it saw."""

    def __init__(
        self,
        manager: pluggy.PluginManager,
        *,
        blocked: Iterable[str] = (),
        strict: bool = False,
        autoload: bool | None = None,
    ) -> None:
        self.manager = manager
        self.blocked = set(blocked)
        self.required = {n.strip() for n in os.environ.get(REQUIRED_ENV, "").split(",") if n.strip()}
        self.strict = strict
        self.autoload = os.environ.get(AUTOLOAD_ENV, "") not in ("1", "true", "yes") if autoload is None else autoload
        self.report: list[PluginInfo] = []

    @property
    def protected(self) -> frozenset[str]:
        """Plugins the run cannot go without: the essential ones and those ``TRAINHOOKS_REQUIRE_PLUGINS`` names.

        The dispatcher never skips or disables them: a failure of theirs in a setup hook stops the run.
        """
        return frozenset(ESSENTIAL_PLUGINS) | self.required

    def load_all(self, extra: Sequence[object] = ()) -> list[PluginInfo]:
        """Load essential and built-in plugins, entry-point plugins, then ``extra`` instances."""
        overruled = sorted(self.blocked & self.required)
        if overruled:
            raise PluginLoadError(f"plugin {overruled[0]!r} is required by {REQUIRED_ENV} and cannot be disabled")
        for name, target in ESSENTIAL_PLUGINS.items():
            self._load(name, "builtin", "trainhooks", __version__, lambda t=target: _import_factory(t))
        for name, target in BUILTIN_PLUGINS.items():
            if self._extra_missing(name):
                continue
            self._load(name, "builtin", "trainhooks", __version__, lambda t=target: _import_factory(t))
        if self.autoload:
            for ep in sorted(entry_points(group=PROJECT_NAME), key=lambda e: e.name):
                self._load_entry_point(ep)
        for plugin in extra:
            name = getattr(plugin, "plugin_name", None) or type(plugin).__name__
            self._load(name, "explicit", None, None, lambda p=plugin: lambda: p)
        missing = sorted(self.required - {info.name for info in self.report if info.status == "active"})
        if missing:
            absent = [info for info in self.report if info.name == missing[0] and info.status == NOT_INSTALLED]
            hint = f": {absent[0].error}" if absent else ""
            raise PluginLoadError(f"plugin {missing[0]!r} is required by {REQUIRED_ENV} but is not loaded{hint}")
        return self.report

    def _extra_missing(self, name: str) -> bool:
        """Report a (not blocked) built-in plugin whose extra is missing as not installed, unimported."""
        extra = EXTRAS.get(BUILTIN_EXTRAS.get(name, ""))
        if extra is None or name in self.blocked or not extra.missing():
            return False
        self.report.append(
            PluginInfo(
                name=name,
                source="builtin",
                distribution="trainhooks",
                version=__version__,
                status=NOT_INSTALLED,
                error=f"not installed ({extra.hint})",
            )
        )
        return True

    def _load_entry_point(self, ep: EntryPoint) -> None:
        dist = getattr(ep, "dist", None)
        dist_name = dist.metadata["Name"] if dist is not None else None
        dist_version = dist.version if dist is not None else None
        self._load(ep.name, "entrypoint", dist_name, dist_version, ep.load)

    def _load(
        self,
        name: str,
        source: str,
        distribution: str | None,
        version: str | None,
        resolve: Callable[[], Callable[[], Any]],
    ) -> None:
        info = PluginInfo(name=name, source=source, distribution=distribution, version=version)
        self.report.append(info)
        if name in self.blocked and name not in ESSENTIAL_PLUGINS:
            info.status = "blocked"
            return
        if self.manager.has_plugin(name):
            self._fail(info, f"a plugin named {name!r} is already registered")
            return
        try:
            plugin = resolve()()  # import the factory, then build a fresh instance
            self.manager.register(plugin, name=name)
        except KeyboardInterrupt:
            raise
        except Exception as exc:  # any import or validation problem: report, skip
            self._fail(info, describe_error(exc))
            return
        try:
            _validate_registration(self.manager, plugin)
        except pluggy.PluginValidationError as exc:
            self.manager.unregister(plugin)
            self._fail(info, describe_error(exc))
            return
        info.hooks = _hooks_of(self.manager, plugin)

    def _fail(self, info: PluginInfo, error: str) -> None:
        info.status = "failed"
        info.error = error
        where = f" (distribution {info.distribution} {info.version})" if info.distribution else ""
        message = f"plugin {info.name!r}{where} was not loaded: {error}"
        if self.strict or info.name in self.required:
            raise PluginLoadError(message)
        log.warning(message)


def check_plugin_tables(tables: Iterable[str], report: Sequence[PluginInfo]) -> None:
    """Refuse a ``[plugins.<name>]`` table that no plugin of ``report`` can read.

    A blocked plugin's table is allowed (the user turned the plugin off, not the settings), and so
    is a failed one's (its load failure was reported already). A built-in plugin whose extra is not
    installed, or a name no plugin has, is a one-line :class:`ConfigError`: the first with the
    ``pip install`` command, the second with a near-miss suggestion.
    """
    known = {info.name: info for info in report}
    for name in tables:
        info = known.get(name)
        if info is None:
            raise ConfigError(f"plugins.{name}: no plugin named {name!r} is loaded{did_you_mean(name, known)}")
        if info.status == NOT_INSTALLED:
            raise ConfigError(f"plugins.{name}: the {name} plugin is {info.error}")


__all__ = [
    "AUTOLOAD_ENV",
    "BUILTIN_EXTRAS",
    "BUILTIN_PLUGINS",
    "ESSENTIAL_PLUGINS",
    "NOT_INSTALLED",
    "REQUIRED_ENV",
    "PluginInfo",
    "PluginLoader",
    "check_plugin_tables",
    "describe_error",
    "new_plugin_manager",
]
