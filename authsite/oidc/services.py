"""The provider's decisions and writes: subjects, consents, the sessions each client signed in to,
revocation and back-channel logout (OpenID Connect Back-Channel Logout 1.0)."""

from __future__ import annotations

import logging
import secrets
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from oauth2_provider.models import get_access_token_model, get_refresh_token_model

from authsite.core import clock, events
from authsite.oidc import keys
from authsite.oidc.models import Client, ClientSession, Consent, Subject

logger = logging.getLogger("authsite.oidc")

SESSION_SID = "oidc_sid"
BACKCHANNEL_LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"


def subject_for(user) -> str:
    """Return the user's stable ``sub`` (a random UUID made at first use, never the database id)."""
    subject, _ = Subject.objects.get_or_create(user=user)
    return str(subject.sub)


def session_sid(request: HttpRequest) -> str:
    """Return the ``sid`` of this browser session (OpenID Connect Front/Back-Channel Logout)."""
    sid = request.session.get(SESSION_SID)
    if not isinstance(sid, str) or not sid:
        sid = secrets.token_urlsafe(24)
        request.session[SESSION_SID] = sid
    return sid


def consent_covers(*, user, client: Client, scopes: list[str]) -> bool:
    """Tell whether the user has allowed ``client`` every one of ``scopes``."""
    consent = Consent.objects.filter(user=user, client=client).first()
    return consent is not None and set(scopes) <= set(consent.scopes.split())


def consent_record(*, user, client: Client, scopes: list[str]) -> None:
    """Record that the user allowed ``client`` these scopes (added to what they allowed before) and
    used it now; a first-party client, which asks no one, is recorded the same way so the Security
    page lists it."""
    now = clock.now()
    with transaction.atomic():
        consent = Consent.objects.select_for_update().filter(user=user, client=client).first()
        if consent is None:
            Consent.objects.create(user=user, client=client, scopes=" ".join(scopes), created_at=now, last_used_at=now)
        else:
            consent.scopes = " ".join(sorted(set(consent.scopes.split()) | set(scopes)))
            consent.last_used_at = now
            consent.save(update_fields=["scopes", "last_used_at"])


def client_signed_in(request: HttpRequest, *, user, client: Client) -> str:
    """Record that ``client`` was given a sign-in of this session; return the session's ``sid``."""
    sid = session_sid(request)
    now = clock.now()
    ClientSession.objects.update_or_create(
        sid=sid,
        client=client,
        defaults={"user": user, "last_used_at": now},
        create_defaults={"user": user, "created_at": now, "last_used_at": now},
    )
    return sid


@dataclass(frozen=True)
class AllowedApp:
    """One application on the user's Security page."""

    client_id: str
    name: str
    scopes: tuple[str, ...]
    allowed_at: object
    last_used_at: object


def allowed_apps(user) -> list[AllowedApp]:
    """List the applications the user allowed, the most recently used first."""
    return [
        AllowedApp(
            client_id=c.client.client_id,
            name=c.client.name or c.client.client_id,
            scopes=tuple(c.scopes.split()),
            allowed_at=c.created_at,
            last_used_at=c.last_used_at,
        )
        for c in Consent.objects.filter(user=user).select_related("client").order_by("-last_used_at")
    ]


def app_revoke(request: HttpRequest, *, user, client_id: str) -> bool:
    """Withdraw the user's consent to an application and end its tokens; False if there was none."""
    client = Client.objects.filter(client_id=client_id).first()
    if client is None:
        return False
    with transaction.atomic():
        deleted, _ = Consent.objects.filter(user=user, client=client).delete()
        if not deleted:
            return False
        tokens_revoke(user=user, client=client)
    events.auth_event(request, "oidc_consent_revoked", outcome="success", user_id=user.pk, client_id=client_id)
    return True


def tokens_revoke(*, user, client: Client) -> None:
    """End every access and refresh token ``client`` holds for ``user``."""
    for refresh in get_refresh_token_model().objects.filter(user=user, application=client, revoked__isnull=True):
        refresh.revoke()
    get_access_token_model().objects.filter(user=user, application=client).delete()


def logout_token(*, client: Client, sub: str, sid: str) -> str:
    """Return a signed back-channel logout token for ``client`` (Back-Channel Logout 1.0, 2.4)."""
    now = int(clock.timestamp())
    return keys.jwt_sign(
        {
            "iss": settings.SITE_URL,
            "aud": client.client_id,
            "iat": now,
            "exp": now + 120,
            "jti": str(uuid.uuid4()),
            "sub": sub,
            "sid": sid,
            "events": {BACKCHANNEL_LOGOUT_EVENT: {}},
        },
        typ="logout+jwt",
    )


def session_ended(request: HttpRequest, *, user, sid: str) -> list[str]:
    """Tell every client this session signed in to that it ended; return the client ids told.

    Each client with a ``backchannel_logout_uri`` gets a logout token; one that cannot be reached
    is logged and does not stop the others or the sign-out.
    """
    told = []
    sessions = ClientSession.objects.filter(sid=sid, user=user).select_related("client")
    sub = subject_for(user)
    for record in sessions:
        client = record.client
        if client.backchannel_logout_uri and backchannel_post(
            client.backchannel_logout_uri, logout_token(client=client, sub=sub, sid=sid)
        ):
            told.append(client.client_id)
    sessions.delete()
    events.auth_event(request, "oidc_session_ended", outcome="success", user_id=user.pk, clients=told)
    return told


def backchannel_post(uri: str, token: str) -> bool:
    """Post ``logout_token`` to a client's back-channel logout address; True on a 2xx answer."""
    body = urllib.parse.urlencode({"logout_token": token}).encode("ascii")
    http_request = urllib.request.Request(  # noqa: S310 (the address is an admin-registered http(s) URL)
        uri, data=body, method="POST", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    started = time.monotonic()
    try:
        with urllib.request.urlopen(http_request, timeout=settings.OIDC_BACKCHANNEL_TIMEOUT) as response:  # noqa: S310
            ok = 200 <= response.status < 300
    except (urllib.error.URLError, OSError, ValueError) as exc:
        logger.warning("back-channel logout to %s failed: %s", uri, exc, extra={"event": "oidc_backchannel_failed"})
        return False
    logger.info("back-channel logout to %s: %s in %.3fs", uri, ok, time.monotonic() - started)
    return ok
