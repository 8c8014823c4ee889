"""The pending login: a correct password whose later stages have not all passed yet.

It lives in the session under one key, holds only ids and small JSON values, and expires after
``LOGIN_PENDING_TIMEOUT`` seconds.
"""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.http import HttpRequest

from authsite.core import clock
from authsite.login.facts import LoginFacts

SESSION_KEY = "pending_login"


@dataclass
class PendingLogin:
    user_id: int
    backend: str
    started_at: float
    next_url: str = ""
    # Index into the configured stages of the stage that is running now.
    stage_index: int = 0
    # Per-stage scratch space, keyed by the stage's ``key``.
    stage_state: dict[str, dict[str, Any]] = field(default_factory=dict)
    # What the stages found out and hand on to later ones: typed fields, see authsite.login.facts.
    facts: LoginFacts = field(default_factory=LoginFacts)
    # Written into the session by login_finish after auth.login(), e.g. the verified OTP device.
    session_data: dict[str, Any] = field(default_factory=dict)
    # Random id of this attempt: codes sent during it are bound to it.
    id: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    # The user's session auth hash (derived from the password hash) when the password was
    # checked: a password changed meanwhile ends the attempt at login_finish.
    auth_hash: str = ""

    def is_expired(self) -> bool:
        return clock.timestamp() - self.started_at > settings.LOGIN_PENDING_TIMEOUT

    def state_for(self, key: str) -> dict[str, Any]:
        return self.stage_state.setdefault(key, {})

    def user(self):
        """The user signing in, loaded at most once per request (kept out of the session).

        Every stage needs it; the password step hands over the user it has already loaded.
        """
        user = self.__dict__.get("_user")
        if user is None or user.pk != self.user_id:
            user = get_user_model()._default_manager.get(pk=self.user_id)
            self.keep_user(user)
        return user

    def keep_user(self, user) -> None:
        """Serve ``user``, already loaded by the caller, from ``user()`` for the rest of this request."""
        self.__dict__["_user"] = user


def pending_login_stash(request: HttpRequest, pending: PendingLogin) -> None:
    """Save ``pending`` in the session."""
    data = asdict(pending)
    data["facts"] = pending.facts.to_json()
    request.session[SESSION_KEY] = data


def pending_login_load(request: HttpRequest) -> PendingLogin | None:
    """Return the session's pending login, or None when there is none or it is unreadable."""
    raw = request.session.get(SESSION_KEY)
    if not isinstance(raw, dict):
        return None
    try:
        return PendingLogin(**{**raw, "facts": LoginFacts.from_json(raw.get("facts"))})
    except (TypeError, ValueError):
        # Written by an older version with other fields: treat as absent, the user starts again.
        return None


def pending_login_clear(request: HttpRequest) -> None:
    """Forget the session's pending login."""
    request.session.pop(SESSION_KEY, None)
