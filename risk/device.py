"""The device cookie: a long-lived random id that lets the engine recognise a browser.

It is signed (so it cannot be forged into another device's id), HttpOnly, SameSite=Lax and
Secure in production. It proves nothing by itself: it is one feature of the context, and a copied
cookie used from another network or browser is still scored on those.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.http import HttpRequest, HttpResponse

COOKIE_NAME = "device_id"
COOKIE_SALT = "risk.device"
COOKIE_MAX_AGE = 2 * 365 * 24 * 3600


def device_id_from_request(request: HttpRequest) -> str | None:
    """Return the request's device id, or None when absent or tampered with."""
    value = request.get_signed_cookie(COOKIE_NAME, default=None, salt=COOKIE_SALT)
    if value is None or not (16 <= len(value) <= 64):
        return None
    return value


def device_cookie_set(response: HttpResponse, device_id: str) -> None:
    response.set_signed_cookie(
        COOKIE_NAME,
        device_id,
        salt=COOKIE_SALT,
        max_age=COOKIE_MAX_AGE,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )


def new_device_id() -> str:
    return secrets.token_urlsafe(24)
