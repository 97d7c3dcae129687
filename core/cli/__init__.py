"""The ``trainhooks`` command line."""

from .app import cli, main

__all__ = ["cli", "main"]
