"""What a session proved when it signed in, and what an application asks of the next sign-in.

``login_finish`` records a ``SessionProof`` in the session: when the user authenticated, the RFC 8176
methods used and the level reached, all from what the stages verified, never from what was asked.
An application (the OpenID Connect provider) leaves an ``AppRequest`` in the session before it
sends the user to the password page; ``login_begin`` hands it to the stages as a fact when the
sign-in continues to the same address, so the stages can raise what they ask for.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth import SESSION_KEY
from django.http import HttpRequest

from authsite.login.facts import LEVEL_FOR_REQUIREMENT, AppRequest, AuthLevel, LoginFacts

SESSION_PROOF = "login_proof"
SESSION_APP_REQUEST = "login_app_request"
# RFC 8176: "mfa" when the sign-in used more than one factor.
MULTIPLE_FACTORS = "mfa"
PASSWORD = "pwd"


@dataclass(frozen=True)
class SessionProof:
    """What the session's sign-in proved: when, by which methods (RFC 8176 ``amr``), to which level."""

    user_id: int
    auth_time: float
    methods: tuple[str, ...]
    level: AuthLevel

    def to_json(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "auth_time": self.auth_time,
            "methods": list(self.methods),
            "level": str(self.level),
        }

    @classmethod
    def from_json(cls, data: Any) -> SessionProof:
        if not isinstance(data, dict) or set(data) != {"user_id", "auth_time", "methods", "level"}:
            raise ValueError("not a session proof of this version")
        methods = data["methods"]
        if type(data["user_id"]) is not int or type(data["auth_time"]) not in (int, float):
            raise ValueError("user_id or auth_time")
        if not isinstance(methods, list) or not all(isinstance(m, str) for m in methods):
            raise ValueError("methods")
        return cls(
            user_id=data["user_id"], auth_time=data["auth_time"], methods=tuple(methods), level=AuthLevel(data["level"])
        )


def proof_from_facts(facts: LoginFacts, *, user_id: int, now: float, previous: SessionProof | None) -> SessionProof:
    """Return what a sign-in with these facts proved; a step-up adds to what the session had."""
    methods: list[str] = []
    level = AuthLevel.PASSWORD
    if facts.step_up and previous is not None and previous.user_id == user_id:
        methods.extend(m for m in previous.methods if m != MULTIPLE_FACTORS)
        level = previous.level
    elif not facts.passkey_verified:
        methods.append(PASSWORD)
    if facts.factor_proof is not None:
        methods.extend(m for m in facts.factor_proof.methods if m not in methods)
        level = level.at_least(LEVEL_FOR_REQUIREMENT[facts.factor_proof.meets])
    if level is not AuthLevel.PASSWORD:
        methods.append(MULTIPLE_FACTORS)
    return SessionProof(user_id=user_id, auth_time=now, methods=tuple(dict.fromkeys(methods)), level=level)


def session_proof(request: HttpRequest) -> SessionProof | None:
    """Return what the signed-in session proved, or None (not signed in, or no readable record)."""
    if not request.user.is_authenticated:
        return None
    try:
        proof = SessionProof.from_json(request.session.get(SESSION_PROOF))
    except ValueError:
        return None
    # A record of another user (the session changed hands without a sign-in) counts for nothing.
    if str(proof.user_id) != str(request.session.get(SESSION_KEY)):
        return None
    return proof


def session_proof_keep(request: HttpRequest, proof: SessionProof) -> None:
    """Store ``proof`` in the session (``login_finish`` is the caller)."""
    request.session[SESSION_PROOF] = proof.to_json()


def app_request_set(request: HttpRequest, app: AppRequest, *, next_url: str) -> None:
    """Remember that the sign-in that continues to ``next_url`` is for ``app``."""
    request.session[SESSION_APP_REQUEST] = {"next": next_url, "app": app.to_json()}


def app_request_for(request: HttpRequest, next_url: str) -> AppRequest | None:
    """Return the application request stored for a sign-in continuing to ``next_url``, if any.

    A request left by an abandoned sign-in for another address does not apply.
    """
    raw = request.session.get(SESSION_APP_REQUEST)
    if not isinstance(raw, dict) or not next_url or raw.get("next") != next_url:
        return None
    try:
        return AppRequest.from_json(raw.get("app"))
    except ValueError:
        return None


def app_request_clear(request: HttpRequest) -> None:
    request.session.pop(SESSION_APP_REQUEST, None)


def fresh_sign_in_needed(request: HttpRequest, next_url: str) -> bool:
    """Tell whether the sign-in continuing to ``next_url`` needs a password (or passkey) again.

    True when an application asked for a sign-in newer than the session's (``prompt=login``,
    ``max_age``), or the session has no record of its sign-in: the password page then asks a
    signed-in user too.
    """
    app = app_request_for(request, next_url)
    if app is None:
        return False
    proof = session_proof(request)
    # A session with no record of its sign-in (or of another user) cannot show what it proved.
    return proof is None or (app.fresh_after is not None and proof.auth_time < app.fresh_after)
