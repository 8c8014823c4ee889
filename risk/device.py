"""The device cookie: a long-lived random id that lets the engine recognise a browser.

It is signed (so it cannot be forged into another device's id), HttpOnly, SameSite=Lax, and in
production Secure with the ``__Host-`` prefix (path "/", no Domain: only this host, only over
HTTPS; see :func:`cookie_name`). It proves nothing by itself: it is one feature of the context, and a copied
cookie used from another network or browser is still scored on those.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.http import HttpRequest, HttpResponse

COOKIE_NAME = "device_id"  # the plain name; cookie_name() gives the one in force
COOKIE_SALT = "risk.device"
COOKIE_MAX_AGE = 2 * 365 * 24 * 3600
HOST_PREFIX = "__Host-"


def cookie_name(base: str) -> str:
    """Return the name under which the cookie ``base`` is set and read.

    With Secure cookies (production) it is ``__Host-`` + ``base``: browsers accept such a cookie
    only over HTTPS, for path "/" and without a Domain, so a sibling subdomain or a plain-HTTP
    response cannot plant or overwrite it (RFC 6265bis, cookie prefixes). Over plain HTTP in
    development the prefix would make browsers drop the cookie, so the plain name is used. Only the
    name in force is ever read: a plain-named cookie in production counts for nothing.
    """
    return HOST_PREFIX + base if settings.SESSION_COOKIE_SECURE else base


def device_id_from_request(request: HttpRequest) -> str | None:
    """Return the request's device id, or None when absent or tampered with."""
    value = request.get_signed_cookie(cookie_name(COOKIE_NAME), default=None, salt=COOKIE_SALT)
    if value is None or not (16 <= len(value) <= 64):
        return None
    return value


def device_cookie_set(response: HttpResponse, device_id: str) -> None:
    response.set_signed_cookie(
        cookie_name(COOKIE_NAME),
        device_id,
        salt=COOKIE_SALT,
        max_age=COOKIE_MAX_AGE,
        path="/",
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )


def new_device_id() -> str:
    return secrets.token_urlsafe(24)
