"""The model registry flow: a new version of the refit model, and a guarded alias.

The alias (e.g. ``champion``) moves to the new version only if the new version's held-out score
beats the current holder's by at least ``min_improvement``; otherwise it stays and we say why.
Scores are compared only when both versions were scored with the same scorer (scikit-learn
scorers are "greater is better").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

SCORE_TAG = "trainhooks.test_score"
SCORING_TAG = "trainhooks.scoring"
RUN_TAG = "trainhooks.run_id"


@dataclass(frozen=True)
class Holder:
    """The version that holds the alias now, with what we know about its score."""

    version: str
    score: float | None
    scoring: str | None


@dataclass(frozen=True)
class Promotion:
    """Whether to move the alias, and a sentence saying why."""

    promote: bool
    reason: str


def decide_promotion(
    *,
    alias: str,
    version: str,
    score: float | None,
    scoring: str | None,
    holder: Holder | None,
    min_improvement: float,
) -> Promotion:
    """Pure decision: move ``alias`` to ``version`` (scored ``score``) away from ``holder``?"""
    if score is None:
        return Promotion(False, f"v{version} has no held-out score (set a test split), so {alias!r} stays")
    if holder is None:
        return Promotion(True, f"{alias!r} set on v{version} ({score:.6g}); it had no holder")
    if holder.version == version:
        return Promotion(False, f"v{version} already holds {alias!r}")
    if holder.score is None:
        return Promotion(False, f"{alias!r} stays on v{holder.version}: it has no recorded held-out score to beat")
    if holder.scoring != scoring:
        return Promotion(
            False,
            f"{alias!r} stays on v{holder.version}: it was scored with {holder.scoring!r}, not {scoring!r}",
        )
    gain = score - holder.score
    if gain > 0 and gain >= min_improvement:
        return Promotion(
            True, f"{alias!r} moved from v{holder.version} ({holder.score:.6g}) to v{version} ({score:.6g})"
        )
    return Promotion(
        False,
        f"{alias!r} stays on v{holder.version}: v{version} scored {score:.6g} vs {holder.score:.6g}"
        f" (needs an improvement > 0 and >= {min_improvement:g})",
    )


def register_version(client: Any, name: str, source: str, model_id: str, run_id: str, tags: dict[str, str]) -> str:
    """Create ``name`` if needed and a new version from the logged model; returns the version.

    ``source`` is the model's storage location, not ``models:/<id>``: MLflow resolves the latter
    through the process-global tracking URI, not this client's.
    """
    from mlflow.exceptions import MlflowException

    try:
        client.get_registered_model(name)
    except MlflowException:
        try:
            client.create_registered_model(name)
        except MlflowException:  # created meanwhile by another run
            client.get_registered_model(name)
    version = client.create_model_version(name, source, run_id=run_id, tags=tags, model_id=model_id)
    return str(version.version)


def alias_holder(client: Any, name: str, alias: str) -> Holder | None:
    """The version holding ``alias`` and its recorded score, or ``None`` if the alias is unset."""
    from mlflow.exceptions import MlflowException

    try:
        version = client.get_model_version_by_alias(name, alias)
    except MlflowException:
        return None
    tags = version.tags or {}
    raw = tags.get(SCORE_TAG)
    try:
        score = float(raw) if raw not in (None, "", "None") else None
    except ValueError:
        score = None
    return Holder(str(version.version), score, tags.get(SCORING_TAG))


__all__ = ["Holder", "Promotion", "alias_holder", "decide_promotion", "register_version"]
