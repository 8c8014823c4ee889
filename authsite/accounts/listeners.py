"""This app's part in a finished sign-in (listed in LOGIN_LISTENERS)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from authsite.accounts.sessions import session_record_client
from authsite.login.listeners import LoginListener
from authsite.login.state import PendingLogin


class SessionClientListener(LoginListener):
    """Record where the new session was started from: the session list on the Security page shows it."""

    def login_succeeded(self, request: HttpRequest, response: HttpResponse, *, user, pending: PendingLogin) -> None:
        session_record_client(request)
