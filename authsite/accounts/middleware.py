"""Request id, the signed-in account's language and server-side session timeouts."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable

from django.conf import settings
from django.contrib import auth, messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import translation
from django.utils.translation import gettext as _

from authsite.accounts.language import remember_language, supported_language
from authsite.core import clock, events

SESSION_AUTH_AT = "_auth_at"
SESSION_SEEN_AT = "_seen_at"
# Writing the session on every request costs a database write; a minute of slack on a
# 30-minute idle timeout is harmless.
_SEEN_AT_RESOLUTION = 60

_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9\-]{8,64}$")


class RequestIdMiddleware:
    """Give each request an id, echoed in X-Request-ID and in every log line about it.

    An id from a trusted proxy (``TRUSTED_PROXY_COUNT`` > 0) is kept so logs correlate across
    tiers; otherwise a client could choose ids, so a fresh one is made.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        if settings.TRUSTED_PROXY_COUNT and _REQUEST_ID_RE.match(incoming):
            request.request_id = incoming
        else:
            request.request_id = secrets.token_hex(16)
        response = self.get_response(request)
        response["X-Request-ID"] = request.request_id
        return response


class UserLanguageMiddleware:
    """Speak a signed-in account's stored language, and keep it up to date.

    Runs after ``LocaleMiddleware`` and authentication. A language cookie is the latest explicit
    choice (the language menu), so it wins and is stored on the account; without one (a new
    browser) the account's stored language replaces what Accept-Language suggested; an account
    with none stored gets the request's.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if user.is_authenticated:
            chosen = supported_language(request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME))
            stored = supported_language(user.language)
            if stored and not chosen:
                translation.activate(stored)
                request.LANGUAGE_CODE = stored
            else:
                remember_language(user, chosen or request.LANGUAGE_CODE)
        return self.get_response(request)


class SessionTimeoutMiddleware:
    """End a signed-in session after idle time or absolute lifetime, checked on the server.

    The cookie's own expiry is only advice to the browser; a copied cookie would otherwise live on.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            now = clock.timestamp()
            session = request.session
            auth_at = session.get(SESSION_AUTH_AT)
            if auth_at is None:
                # A session made outside the staged login (a test's force_login, a session from
                # before this middleware was deployed): its clocks start now.
                auth_at = session[SESSION_AUTH_AT] = now
            seen_at = session.get(SESSION_SEEN_AT, auth_at)
            too_old = now - auth_at > settings.SESSION_ABSOLUTE_TIMEOUT
            if too_old or now - seen_at > settings.SESSION_IDLE_TIMEOUT:
                user_id = request.user.pk
                reason = "absolute" if too_old else "idle"
                auth.logout(request)
                events.auth_event(request, events.SESSION_EXPIRED, outcome="expired", user_id=user_id, reason=reason)
                messages.info(request, _("Your session has ended. Please sign in again."))
                return redirect(settings.LOGIN_URL)
            if now - seen_at >= _SEEN_AT_RESOLUTION:
                session[SESSION_SEEN_AT] = now
        return self.get_response(request)
