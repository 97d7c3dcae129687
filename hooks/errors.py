"""The error a plugin raises when its settings are invalid."""

from __future__ import annotations


class SettingsError(ValueError):
    """A setting is invalid; the message is one line per problem, each naming the dotted field.

    For example ``plugins.early_stopping.patience: Input should be a valid integer (got True)``.
    Raised from ``trainhooks_configure`` it reaches the user exactly like the core's own
    ``trainhooks.ConfigError`` (a subclass of this class): the CLI prints the lines and exits 2,
    and ``except trainhooks.ConfigError`` catches it in Python.
    """

    exit_code = 2


__all__ = ["SettingsError"]
