"""Remembered ("trusted") devices: a cookie token, stored hashed, bound to the user's credentials."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from authsite import clock
from risk.models import TrustedDevice

COOKIE_NAME = "trusted_device"


def trust_days() -> int:
    return int(getattr(settings, "RISK_TRUSTED_DEVICE_DAYS", 30))


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def credential_binding(user) -> str:
    """Digest of what a remembered device is bound to: the password hash and the factor list."""
    from factors.services import user_factors

    factors = sorted(d.persistent_id for d in user_factors(user))
    raw = "\0".join([str(user.pk), user.password, *factors])
    return hashlib.sha256(raw.encode()).hexdigest()


def trusted_device_for(request: HttpRequest, user) -> TrustedDevice | None:
    """Return the live remembered device this request's cookie names for ``user``, if any."""
    token = request.COOKIES.get(COOKIE_NAME)
    if not token or len(token) > 128:
        return None
    device = TrustedDevice.objects.filter(
        token_hash=_hash(token), user=user, revoked_at__isnull=True, expires_at__gt=clock.now()
    ).first()
    if device is None or not secrets.compare_digest(device.binding, credential_binding(user)):
        return None
    return device


def trusted_device_remember(response: HttpResponse, *, user, label: str) -> TrustedDevice:
    """Remember this browser for ``user``: store a hashed token and set its cookie."""
    token = secrets.token_urlsafe(32)
    now = clock.now()
    device = TrustedDevice.objects.create(
        user=user,
        token_hash=_hash(token),
        binding=credential_binding(user),
        label=label[:255],
        created_at=now,
        expires_at=now + timedelta(days=trust_days()),
    )
    response.set_cookie(
        COOKIE_NAME,
        token,
        max_age=trust_days() * 24 * 3600,
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
