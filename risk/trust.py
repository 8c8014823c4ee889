"""Remembered ("trusted") devices: a cookie token, stored hashed, bound to the user's credentials
and to the browser it was issued to."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from authsite.core import clock
from authsite.core.ua import parse_ua
from authsite.login.inventory import user_factor_summaries
from risk.context import device_digest
from risk.device import cookie_name, device_id_from_request
from risk.models import TrustedDevice

COOKIE_NAME = "trusted_device"  # the plain name; risk.device.cookie_name() gives the one in force


def trust_days() -> int:
    return int(getattr(settings, "RISK_TRUSTED_DEVICE_DAYS", 30))


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def credential_binding(user) -> str:
    """Digest of what a remembered device is bound to: the password hash and the factor list."""
    factors = sorted(f.id for f in user_factor_summaries(user))
    raw = "\0".join([str(user.pk), user.password, *factors])
    return hashlib.sha256(raw.encode()).hexdigest()


def client_binding(*, user_agent: str, device_id: str | None) -> str:
    """Digest of the browser a remembered device belongs to: browser family, OS family, device cookie.

    Families, not versions, so that a browser or OS update keeps the device remembered; the device
    cookie ties it to one browser profile. A copied remembered-device cookie used from another
    browser, or without the same device cookie, does not match.
    """
    ua = parse_ua((user_agent or "")[:512])  # as much as the sign-in context keeps
    raw = "\0".join([ua.browser_family, ua.os_family, device_digest(device_id) if device_id else ""])
    return hashlib.sha256(raw.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class TrustedDeviceCheck:
    """What a request's remembered-device cookie is worth for one user.

    ``device`` is the remembered device when the cookie is live and was issued to this browser.
    ``mismatch`` names a live remembered device of the user whose cookie came from another browser
    (or without its device cookie): a copied cookie, which counts for nothing.
    """

    device: TrustedDevice | None = None
    mismatch: TrustedDevice | None = None


def trusted_device_check(request: HttpRequest, user) -> TrustedDeviceCheck:
    """Check the request's remembered-device cookie for ``user`` (see :class:`TrustedDeviceCheck`).

    A device remembered before devices were bound to their browser (empty ``client_binding``)
    cannot be matched, so it counts for nothing; it is not reported as a mismatch either, since it
    is most likely the owner's own browser.
    """
    token = request.COOKIES.get(cookie_name(COOKIE_NAME))
    if not token or len(token) > 128:
        return TrustedDeviceCheck()
    device = TrustedDevice.objects.filter(
        token_hash=_hash(token), user=user, revoked_at__isnull=True, expires_at__gt=clock.now()
    ).first()
    if device is None or not secrets.compare_digest(device.binding, credential_binding(user)):
        return TrustedDeviceCheck()
    if not device.client_binding:
        return TrustedDeviceCheck()
    here = client_binding(user_agent=request.META.get("HTTP_USER_AGENT", ""), device_id=device_id_from_request(request))
    if not secrets.compare_digest(device.client_binding, here):
        return TrustedDeviceCheck(mismatch=device)
    return TrustedDeviceCheck(device=device)


def trusted_device_for(request: HttpRequest, user) -> TrustedDevice | None:
    """Return the live remembered device this request's cookie names for ``user`` in the browser it
    was issued to, if any."""
    return trusted_device_check(request, user).device


def trusted_device_remember(
    response: HttpResponse, *, user, label: str, user_agent: str, device_id: str
) -> TrustedDevice:
    """Remember this browser for ``user``: store a hashed token bound to the browser, set its cookie.

    ``user_agent`` and ``device_id`` are the browser's user agent and device cookie value.
    """
    token = secrets.token_urlsafe(32)
    now = clock.now()
    device = TrustedDevice.objects.create(
        user=user,
        token_hash=_hash(token),
        binding=credential_binding(user),
        client_binding=client_binding(user_agent=user_agent, device_id=device_id),
        label=label[:255],
        created_at=now,
        expires_at=now + timedelta(days=trust_days()),
    )
    response.set_cookie(
        cookie_name(COOKIE_NAME),
        token,
        max_age=trust_days() * 24 * 3600,
        path="/",
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )
    return device


def trusted_device_touch(device: TrustedDevice) -> None:
    TrustedDevice.objects.filter(pk=device.pk).update(last_used_at=clock.now())


def trusted_devices_revoke(*, user, device_id: int | None = None) -> int:
    """Revoke one remembered device of ``user`` (or all of them); return how many."""
    qs = TrustedDevice.objects.filter(user=user, revoked_at__isnull=True)
    if device_id is not None:
        qs = qs.filter(pk=device_id)
    return qs.update(revoked_at=clock.now())


def trusted_devices_of(user) -> list[TrustedDevice]:
    """Return the user's live remembered devices, newest first."""
    return list(TrustedDevice.objects.filter(user=user, revoked_at__isnull=True, expires_at__gt=clock.now()))
