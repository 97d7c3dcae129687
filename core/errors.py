"""Errors a user can act on. Each carries the CLI exit code and a one-line message."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from trainhooks.hooks import SettingsError


class TrainhooksError(Exception):
    """Base class: a one-line, user-facing error with an exit code (DESIGN section 5)."""

    exit_code = 1


class ConfigError(TrainhooksError, SettingsError):
    """The configuration (file, keyword arguments or plugin table) is invalid. Exit 2.

    It is also the contract's :class:`trainhooks.hooks.SettingsError`, so one ``except`` catches
    both; a plugin's ``SettingsError`` from ``trainhooks_configure`` is re-raised as this class.
    """

    exit_code = 2


class DataError(TrainhooksError):
    """The data cannot be trained on (missing file or column, NaN, one class...). Exit 2."""

    exit_code = 2


class PermissionDenied(TrainhooksError):
    """A ``trainhooks_check_permission`` answer refused the action. Exit 3."""

    exit_code = 3


class PluginLoadError(TrainhooksError):
    """A plugin could not be loaded and ``strict_plugins`` is on. Exit 1."""

    exit_code = 1


@contextmanager
def settings_errors_as_config() -> Iterator[None]:
    """Re-raise a plugin's :class:`~trainhooks.hooks.SettingsError` inside the block as a ConfigError.

    Plugins raise the contract's error (they do not import the core); around code that calls
    plugins (setup hooks, strategy factories) this makes their errors reach users like the core's
    own: exit 2 with the same lines, and ``except trainhooks.ConfigError`` catches them.
    """
    try:
        yield
    except ConfigError:
        raise
    except SettingsError as exc:
        raise ConfigError(str(exc)) from exc


__all__ = [
    "ConfigError",
    "DataError",
    "PermissionDenied",
    "PluginLoadError",
    "TrainhooksError",
    "settings_errors_as_config",
]
