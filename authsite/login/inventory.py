"""The user's second factors as the login framework sees them: kind, id, and whether each counts.

The app that keeps the factors provides them through ``LOGIN_FACTOR_INVENTORY``, the dotted path
of a function ``(user) -> list[FactorSummary]`` (like Django's pluggable backends); stages and
listeners of other apps ask :func:`user_factor_summaries` and need not import that app. Without
the setting a user has no factors.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string


@dataclass(frozen=True)
class FactorSummary:
    """One confirmed factor of a user."""

    # Its kind ("webauthn", "totp", "sms", "email", "recovery").
    kind: str
    # An id that stays the same while the factor exists and changes when it is replaced.
    id: str
    # Whether it counts when planning a sign-in (a phone number counts once a code came back).
    usable: bool


@functools.cache
def _provider() -> Callable[[object], list[FactorSummary]] | None:
    path = getattr(settings, "LOGIN_FACTOR_INVENTORY", "")
    if not path:
        return None
    try:
        return import_string(path)
    except ImportError as exc:
        raise ImproperlyConfigured(f"LOGIN_FACTOR_INVENTORY: cannot import {path!r}: {exc}") from exc


@receiver(setting_changed)
def _reset_provider(*, setting: str, **kwargs: object) -> None:
    if setting == "LOGIN_FACTOR_INVENTORY":
        _provider.cache_clear()


def user_factor_summaries(user) -> list[FactorSummary]:
    """Return the user's confirmed factors, as the configured inventory lists them."""
    provider = _provider()
    return list(provider(user)) if provider is not None else []
