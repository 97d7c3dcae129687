"""The catalogue of permission actions: every ``action`` a ``trainhooks_check_permission`` request
can carry from the core or a built-in plugin, with what it guards and what its resource is.

Policies (the ``rbac`` plugin) grant these names, optionally on a resource glob. A meta-test
(``tests/plugins/rbac/test_rbac_policy.py``) finds every action the code asks about and fails if one is missing
here, in the policy tests or in ``docs/rbac.md``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Action:
    """One permission action.

    :param name: dotted name, ``<area>.<verb>``, as sent in ``PermissionRequest.action``.
    :param description: one line: what is about to happen when this is asked.
    :param resource: what ``PermissionRequest.resource`` names for this action.
    :param asked_by: who asks (``"core"`` or the plugin's name).
    """

    name: str
    description: str
    resource: str
    asked_by: str


ACTIONS: dict[str, Action] = {
    action.name: action
    for action in (
        Action("run.tune", "start a hyperparameter search (before anything is written)", "experiment name", "core"),
        Action("run.train", "start a single cross-validated training run", "experiment name", "core"),
        Action("model.register", "register a new version of a model", "registered model name", "mlflow"),
        Action("model.promote", "move an alias (e.g. champion) to a model version", "registered model name", "mlflow"),
    )
}
"""Known actions by name."""


__all__ = ["ACTIONS", "Action"]
