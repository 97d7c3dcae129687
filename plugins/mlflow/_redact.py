"""Credentials never leave the plugin: one function masks them in anything it writes or says.

A tracking URI may carry a secret (``http://user:password@host``, ``https://token@host``, a query
value such as ``?token=...``), and MLflow reads more from ``MLFLOW_TRACKING_PASSWORD`` and
``MLFLOW_TRACKING_TOKEN``. The plugin needs the real URI to connect, so nothing is redacted on the
way in; :func:`redact` is applied where text goes out: the config, params, tags and artifacts the
writer sends to MLflow, the summary notes, error messages and log lines (MLflow's own output
included). URLs are masked wherever they appear; the secret values themselves (as written and
percent-decoded) are masked anywhere else in the text.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

MASK = "***"

SECRET_ENV = ("MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_TOKEN")
"""Environment variables whose values MLflow sends as credentials."""

MIN_SECRET_LENGTH = 4
"""Shorter secret values are masked inside URLs only; masking them everywhere would garble any text."""

_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://[^\s'\"<>`]+")
_SECRET_NAME = re.compile(r"token|passw|pwd|secret|key|sig|auth|credential|session", re.IGNORECASE)
_QUERY_ITEM = re.compile(r"(?P<name>[^&=;]+)=(?P<value>[^&;#]*)")

T = TypeVar("T")


def _userinfo(netloc: str) -> tuple[str, str | None]:
    """The user and password of a URL's authority (``None`` without a ``:password`` part)."""
    userinfo = netloc.rpartition("@")[0]
    user, sep, password = userinfo.partition(":")
    return user, (password if sep else None)


def redact_uri(uri: str) -> str:
    """``uri`` with its password (or a user-only token) and secret-looking query values masked.

    The rest of the text is left exactly as written (no URL normalisation).
    """
    try:
        parts = urlsplit(uri)
    except ValueError:
        return uri
    out = uri
    if "@" in parts.netloc:
        user, password = _userinfo(parts.netloc)
        safe_user = MASK if password is None else f"{user}:{MASK}"
        host = parts.netloc.rpartition("@")[2]
        out = out.replace(f"//{parts.netloc}", f"//{safe_user}@{host}", 1)
    if parts.query:
        query = _QUERY_ITEM.sub(
            lambda m: f"{m['name']}={MASK}" if _SECRET_NAME.search(m["name"]) else m.group(), parts.query
        )
        out = out.replace(f"?{parts.query}", f"?{query}", 1)
    return out


def _secrets_of(uri: str) -> set[str]:
    """The secret values a URI carries (as written and percent-decoded)."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return set()
    found: set[str] = set()
    if "@" in parts.netloc:
        user, password = _userinfo(parts.netloc)
        found.add(user if password is None else password)
    found.update(m["value"] for m in _QUERY_ITEM.finditer(parts.query) if _SECRET_NAME.search(m["name"]))
    return found | {unquote(value) for value in found}


def _secrets(uris: Iterable[str | None]) -> list[str]:
    found = {os.environ.get(name, "") for name in SECRET_ENV}
    for uri in uris:
        if uri:
            found |= _secrets_of(uri)
    return sorted((s for s in found if len(s) >= MIN_SECRET_LENGTH), key=len, reverse=True)


def _redact_text(text: str, secrets: list[str]) -> str:
    text = _URL.sub(lambda m: redact_uri(m.group()), text)
    for secret in secrets:
        text = text.replace(secret, MASK)
    return text


def _walk(value: Any, secrets: list[str]) -> Any:
    if isinstance(value, str):
        return _redact_text(value, secrets)
    if isinstance(value, Mapping):
        return {_walk(k, secrets): _walk(v, secrets) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        items = [_walk(v, secrets) for v in value]
        return items if isinstance(value, list) else tuple(items)
    return value


def redact(value: T, *uris: str | None) -> T:
    """``value`` (a string, or mappings/lists of them) with every credential masked as ``***``.

    Masked: secrets inside any URL in the text, the secret values of ``uris`` (the tracking URI
    in use) and of :data:`SECRET_ENV` wherever they appear. Mappings come back as plain dicts,
    other values unchanged.
    """
    return _walk(value, _secrets(uris))


__all__ = ["MASK", "SECRET_ENV", "redact", "redact_uri"]
