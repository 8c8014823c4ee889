"""The account's language: stored on the user, used for what is sent to them later.

The language of a request comes from the language cookie (the menu on every page) or the
browser's Accept-Language (``django.middleware.locale.LocaleMiddleware``). A signed-in account
keeps the last one it used, so that emails and text messages rendered outside a request (the
task worker) or about the account (an admin's action) are in the owner's language.
"""

from __future__ import annotations

from contextlib import AbstractContextManager

from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import translation


def supported_language(code: str | None) -> str:
    """Return ``code`` as one of ``settings.LANGUAGES`` (``nb-NO`` -> ``nb``), or "" if none fits."""
    if not code:
        return ""
    try:
        return translation.get_supported_language_variant(code)
    except LookupError:
        return ""


def user_language(user, fallback: str | None = None) -> str:
    """Return the language to write to ``user`` in: theirs, else ``fallback``, else the active one."""
    stored = supported_language(getattr(user, "language", "")) if user is not None else ""
    return stored or supported_language(fallback) or translation.get_language() or settings.LANGUAGE_CODE


def in_user_language(user, fallback: str | None = None) -> AbstractContextManager:
    """Return a context that renders in ``user``'s language (see :func:`user_language`)."""
    return translation.override(user_language(user, fallback))


def remember_language(user, code: str | None) -> None:
    """Store ``code`` as ``user``'s language when it is supported and differs from the stored one."""
    language = supported_language(code)
    if language and user.language != language:
        user.language = language
        get_user_model()._default_manager.filter(pk=user.pk).update(language=language)
