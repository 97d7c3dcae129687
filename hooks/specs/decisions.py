"""Decision hooks: the only way a plugin changes what the core does.

Plugins are asked in pluggy's order; the first non-``None`` answer wins and the rest are not
asked. A plugin that raises is reported like a failed notification; then a stop question fails
*open* (no stop, with a warning) and a permission question fails *closed* (deny).
"""

from __future__ import annotations

from ..decisions import PermissionDecision, PermissionRequest, StopDecision
from ..events import EpochEnded, TrialEnded
from ..markers import hookspec


@hookspec(firstresult=True)
def trainhooks_should_stop_trial(event: EpochEnded) -> StopDecision | None:
    """Asked after every ``epoch-ended``: should this trial stop now?

    The trial stops at this epoch, wherever it runs (the built-in executors wait for the answer).
    A one-epoch trial is asked after each fold (``event.unit == "fold"``, ``event.epoch`` = folds
    done, ``metrics`` their running mean): stopping it there saves its remaining folds.

    :param event: the ``epoch-ended`` event just sent to the notification hooks.
    :return: a :class:`~trainhooks.hooks.StopDecision` (``prune=True`` marks the trial "pruned",
        otherwise it ends early as "complete"), or ``None`` to let it go on. On a fold report
        before the last fold any decision ends the trial "pruned" (its score covers only some
        folds) and ``use_epoch`` is ignored.

    Stops at first non-None result.
    """


@hookspec(firstresult=True)
def trainhooks_should_stop_search(event: TrialEnded) -> StopDecision | None:
    """Asked after every ``trial-ended``: should the whole search stop?

    :param event: the ``trial-ended`` event just sent to the notification hooks.
    :return: a :class:`~trainhooks.hooks.StopDecision` whose ``reason`` becomes the summary's
        ``stop_reason`` and the ``search-stopped`` event's reason, or ``None`` to go on.

    Stops at first non-None result.
    """


@hookspec(firstresult=True)
def trainhooks_check_permission(request: PermissionRequest) -> PermissionDecision | None:
    """Asked before every privileged action (``run.tune``, ``model.register``, ...).

    :param request: who (``principal``) wants to do what (``action``) to which ``resource``.
    :return: a :class:`~trainhooks.hooks.PermissionDecision` allowing or denying with a reason, or
        ``None`` for no opinion. When no plugin answers, the action is allowed. A plugin that
        raises denies (fail closed).

    Stops at first non-None result.
    """
