"""Login listeners: code told about password failures, second-factor failures and finished sign-ins.

``LOGIN_LISTENERS`` lists dotted paths of ``LoginListener`` subclasses (like Django's backends).
The risk engine listens to learn from successful sign-ins and to count failures. A listener must
not raise: a failing listener is logged and the sign-in goes on, because it already passed every
stage.
"""

from __future__ import annotations

import functools
import logging

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.utils.module_loading import import_string

from authsite.login.state import PendingLogin

logger = logging.getLogger("authsite.login")


class LoginListener:
    """Base class: override what you need."""

    def password_failed(self, request: HttpRequest, *, username: str) -> None:
        """A password attempt for ``username`` failed (unknown account or wrong password)."""

    def factor_failed(self, request: HttpRequest, *, user) -> None:
        """``user`` got the password right but failed the second factor asked of this sign-in."""

    def login_succeeded(self, request: HttpRequest, response: HttpResponse, *, user, pending: PendingLogin) -> None:
        """``user`` was just signed in; ``response`` may still be changed (e.g. to set a cookie)."""


@functools.cache
def get_login_listeners() -> tuple[LoginListener, ...]:
    listeners = []
    for path in getattr(settings, "LOGIN_LISTENERS", []):
        try:
            listeners.append(import_string(path)())
        except ImportError as exc:
            raise ImproperlyConfigured(f"LOGIN_LISTENERS: cannot import {path!r}: {exc}") from exc
    return tuple(listeners)


@receiver(setting_changed)
def _reset_listeners(*, setting: str, **kwargs: object) -> None:
    if setting == "LOGIN_LISTENERS":
        get_login_listeners.cache_clear()


def notify_password_failed(request: HttpRequest, *, username: str) -> None:
    for listener in get_login_listeners():
        try:
            listener.password_failed(request, username=username)
        except Exception:  # any error: see the module docstring
            logger.exception("login listener %s failed", type(listener).__name__)


def notify_factor_failed(request: HttpRequest, *, user) -> None:
    for listener in get_login_listeners():
        try:
            listener.factor_failed(request, user=user)
        except Exception:  # any error: see the module docstring
            logger.exception("login listener %s failed", type(listener).__name__)


def notify_login_succeeded(request: HttpRequest, response: HttpResponse, *, user, pending: PendingLogin) -> None:
    for listener in get_login_listeners():
        try:
            listener.login_succeeded(request, response, user=user, pending=pending)
        except Exception:  # any error: see the module docstring
            logger.exception("login listener %s failed", type(listener).__name__)
