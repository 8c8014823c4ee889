"""Recent re-authentication for sensitive changes (OWASP ASVS 7.5.1, NIST SP 800-63B §4.1.2.1)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy

from authsite.core import clock
from authsite.core.redirects import for_scripts

SESSION_REAUTH_AT = "_reauth_at"
CONFIRM_MESSAGE = gettext_lazy("Confirm it's you first: taking you there.")


@functools.cache
def _load_step_up(path: str) -> Callable | None:
    return import_string(path) if path else None


def _step_up() -> Callable | None:
    """The ``REAUTH_STEP_UP`` hook: request -> URL of a stronger check still needed, or None."""
    return _load_step_up(getattr(settings, "REAUTH_STEP_UP", ""))


def reauth_mark(request: HttpRequest) -> None:
    """Record that the user just proved who they are (password or factor)."""
    request.session[SESSION_REAUTH_AT] = clock.timestamp()


def reauth_is_recent(request: HttpRequest) -> bool:
    at = request.session.get(SESSION_REAUTH_AT)
    return at is not None and clock.timestamp() - at <= settings.REAUTH_WINDOW_SECONDS


def recent_auth_required(view: Callable) -> Callable:
    """Let the view run only for a signed-in user who re-authenticated within the window.

    Otherwise send them to the re-authentication page, which returns here (GET) afterwards.
    """

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_authenticated:
            login = redirect(f"{reverse(settings.LOGIN_URL)}?{urlencode({'next': request.get_full_path()})}")
            return for_scripts(request, login, why="Please sign in first.")
        target = request.get_full_path() if request.method == "GET" else reverse("factors:security")
        if not reauth_is_recent(request):
            again = redirect(f"{reverse('reauthenticate')}?{urlencode({'next': target})}")
            return for_scripts(request, again, why=CONFIRM_MESSAGE)
        step_up = _step_up()
        if step_up is not None and (url := step_up(request)):
            return for_scripts(request, redirect(f"{url}?{urlencode({'next': target})}"), why=CONFIRM_MESSAGE)
        return view(request, *args, **kwargs)

    return wrapped
