"""Send caps for text messages and email codes, counted in Django's cache (Redis in production).

Fixed windows of an hour and a day per scope (user, phone number or address, client IP, country
calling code), configured by ``FACTORS_SMS_CAPS`` and ``FACTORS_EMAIL_CAPS``. The cache is shared
by all processes when it is Redis, so the caps hold across workers (house rule 5).
"""

from __future__ import annotations

import hashlib
import logging

from django.core.cache import cache

from factors import seams
from factors.conf import factors_settings

logger = logging.getLogger(__name__)

WINDOWS = {"hour": 3600, "day": 86400}


def _keys(scopes: dict[str, str], *, caps: dict, channel: str = "sms") -> list[tuple[str, int, int]]:
    """Return (cache key, limit, timeout) for every configured scope and window."""
    now = int(seams.now().timestamp())
    keys = []
    for scope, value in scopes.items():
        if not value:
            continue
        # Hash the value: phone numbers and IPs have no business in cache key listings.
        digest = hashlib.sha256(f"{scope}:{value}".encode()).hexdigest()[:32]
        for window, seconds in WINDOWS.items():
            limit = caps.get(scope, {}).get(window)
            if limit is None:
                continue
            key = f"factors:{channel}-cap:{scope}:{window}:{now // seconds}:{digest}"
            keys.append((key, int(limit), seconds))
    return keys


def sms_send_allowed(*, user_id: int, phone_number: str, calling_code: int, client_ip: str | None) -> bool:
    """Count one send against every cap; return False (and count nothing) if any cap is full.

    Fails closed: if the cache is down, no text is sent.
    """
    keys = _keys(
        {
            "user": str(user_id),
            "number": phone_number,
            "ip": client_ip or "",
            "country": str(calling_code),
        },
        caps=factors_settings.SMS_CAPS,
    )
    return _take(keys, what="sms")


def email_send_allowed(*, user_id: int, address: str, client_ip: str | None) -> bool:
    """Count one email code against the caps per user, address and client IP (fails closed too)."""
    keys = _keys(
        {"user": str(user_id), "address": address.lower(), "ip": client_ip or ""},
        caps=factors_settings.EMAIL_CAPS,
        channel="email",
    )
    return _take(keys, what="email")


def _take(keys: list[tuple[str, int, int]], *, what: str) -> bool:
    try:
        current = cache.get_many([k for k, _, _ in keys])
        if any(current.get(k, 0) >= limit for k, limit, _ in keys):
            return False
        allowed = True
        for key, limit, timeout in keys:
            cache.add(key, 0, timeout)
            # incr is atomic, so two racing requests cannot both take the last send.
            if cache.incr(key) > limit:
                allowed = False
        return allowed
    except Exception:  # any cache failure must refuse the send
        logger.warning("%s cap counters unavailable; refusing to send", what, exc_info=True)
        return False
