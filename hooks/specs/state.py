"""Plugin state hooks: what a plugin must keep so that a resumed run continues exactly.

The core writes each plugin's state into the run journal at every trial boundary and hands it back
when the run is continued with ``trainhooks tune CONFIG --resume RUN_ID`` (docs/durability.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..markers import hookspec


@hookspec
def trainhooks_state_dict() -> dict[str, Any] | None:
    """Called in the driver after every trial ended (a trial boundary), while the run journal is on.

    Return what your plugin needs to carry on after a crash as if the run had never stopped: the
    decisions the finished trials led to (histories, counters, best so far). Trials still running
    are run again from scratch on resume, so leave them out. The core stores the answer under your
    plugin's name in the run journal; keep it small, it is written at every trial boundary.

    :return: a JSON-ready dict (strings, numbers, booleans, ``None``, lists and dicts), or ``None``
        when there is nothing to keep.
    """


@hookspec
def trainhooks_load_state_dict(state: Mapping[str, Any]) -> None:
    """Called when a run is resumed, after ``trainhooks_configure`` and before ``run-started``.

    Only plugins that returned a state at the interrupted run's last trial boundary are called,
    each with its own. ``trainhooks_configure`` has already reset your per-run state and read your
    settings (unchanged: a run whose configuration changed cannot be resumed); restore what
    :func:`trainhooks_state_dict` returned on top of it. The replayed trials' events are not sent
    again: this state stands for them. Raise :class:`~trainhooks.hooks.SettingsError` naming the key
    to refuse the state (exit 2).

    :param state: your plugin's answer to ``trainhooks_state_dict`` at that boundary, read-only.

    The return value is ignored.
    """
