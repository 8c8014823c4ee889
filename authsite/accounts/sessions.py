"""The session store (``SESSION_ENGINE = "authsite.accounts.sessions"``) and the user's own session controls.

Django's database backend, with a session table that also records whose session it is, from
which address and browser, when they signed in and when the session was last saved. That lets
the Security page list a user's sessions and end any of them: deleting the row ends the session
at its next request, on any process, because every process reads sessions from the database.

The store only sees the session dict, never the request: the sign-in puts the client's address
and user agent into the session (``SESSION_IP`` and ``SESSION_UA``, written by the risk engine's
login listener) and the store copies them into their columns on save.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore as DBStore
from django.http import HttpRequest

from authsite.accounts.middleware import SESSION_AUTH_AT
from authsite.accounts.sessions_models import UserSession
from authsite.core import clock
from authsite.core.clientip import canonical_ip_or_none, client_ip

SESSION_IP = "_ip"
SESSION_UA = "_ua"
_UA_MAX = 512
# The idle timeout is checked against "_seen_at", which is written at most once a minute
# (authsite.accounts.middleware._SEEN_AT_RESOLUTION); the list allows the same slack.
_SEEN_SLACK = timedelta(seconds=60)


def session_public_id(session_key: str) -> str:
    """Return the name pages use for a session: a digest of its key, which stays secret."""
    return hashlib.sha256(session_key.encode()).hexdigest()[:32]


def _as_user_id(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class SessionStore(DBStore):
    """Database sessions that know their user, address, browser and times."""

    @classmethod
    def get_model_class(cls) -> type[UserSession]:
        return UserSession

    def create_model_instance(self, data: dict) -> UserSession:
        obj = super().create_model_instance(data)
        obj.public_id = session_public_id(obj.session_key)
        obj.user_id = _as_user_id(data.get(SESSION_KEY))
        obj.ip = canonical_ip_or_none(str(data.get(SESSION_IP, ""))) if data.get(SESSION_IP) else None
        obj.user_agent = str(data.get(SESSION_UA, ""))[:_UA_MAX]
        auth_at = data.get(SESSION_AUTH_AT)
        obj.created_at = datetime.fromtimestamp(auth_at, UTC) if isinstance(auth_at, int | float) else None
        obj.last_seen = clock.now()
        return obj

    @classmethod
    def clear_expired(cls) -> None:
        sessions_clear_expired()


def session_record_client(request: HttpRequest) -> None:
    """Put the client's address and user agent into the session, for the session list."""
    request.session[SESSION_IP] = client_ip(request)
    request.session[SESSION_UA] = request.META.get("HTTP_USER_AGENT", "")[:_UA_MAX]


def user_sessions(*, user) -> list[UserSession]:
    """Return the user's live sessions, most recently active first.

    A session past the idle or absolute timeout, or from before a password change, is left out:
    it ends at its next request, so it is not "active" any more.
    """
    now = clock.now()
    qs = UserSession.objects.filter(user_id=user.pk, expire_date__gt=now)
    qs = qs.filter(last_seen__gte=now - timedelta(seconds=settings.SESSION_IDLE_TIMEOUT) - _SEEN_SLACK)
    qs = qs.exclude(created_at__lt=now - timedelta(seconds=settings.SESSION_ABSOLUTE_TIMEOUT))
    # A password change (or reset) ends the other sessions through the password hash stored in
    # each one (django.contrib.auth.get_user); their rows stay until next used, so leave them out.
    hashes = {user.get_session_auth_hash(), *user.get_session_auth_fallback_hash()}
    store = SessionStore()
    return [s for s in qs.order_by("-last_seen") if store.decode(s.session_data).get(HASH_SESSION_KEY) in hashes]


def user_session_end(*, user, public_id: str) -> int:
    """End one of ``user``'s sessions by its public id; return how many ended (0 or 1)."""
    if not public_id:
        return 0
    deleted, _ = UserSession.objects.filter(user_id=user.pk, public_id=public_id).delete()
    return deleted


def user_sessions_end(*, user, keep_session_key: str | None = None) -> int:
    """End every session of ``user`` except ``keep_session_key``; return how many ended."""
    qs = UserSession.objects.filter(user_id=user.pk)
    if keep_session_key:
        qs = qs.exclude(session_key=keep_session_key)
    deleted, _ = qs.delete()
    return deleted


def sessions_clear_expired() -> int:
    """Delete every session past its expiry date; return how many were deleted.

    ``manage.py clearsessions`` calls it. The ``django.contrib.sessions`` app, whose command of
    that name would do the same through the store, is not installed: its table is never used.
    """
    deleted, _ = UserSession.objects.filter(expire_date__lt=clock.now()).delete()
    return deleted
