"""``python -m trainhooks.cli``: the same as the ``trainhooks`` command."""

from . import main

main()
