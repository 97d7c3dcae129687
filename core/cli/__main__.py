"""``python -m trainhooks.cli``: the same as the ``trainhooks`` command."""

from .console import run

run()
