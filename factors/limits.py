"""Send caps for text messages and email codes (the shared mechanism is ``authsite.accounts.caps``).

Fixed windows of an hour and a day per scope (user, phone number or address, client IP, country
calling code), configured by ``FACTORS_SMS_CAPS`` and ``FACTORS_EMAIL_CAPS``. The cache is shared
by all processes when it is Redis, so the caps hold across workers (docs/house-rules.md, rule 5). An IPv6 client
is counted by its /64 (``authsite.core.clientip.ip_rate_key``).
"""

from __future__ import annotations

from authsite.accounts.caps import cap_take
from authsite.accounts.models import email_fold
from authsite.core import clock
from authsite.core.clientip import ip_rate_key
from factors.conf import factors_settings


def sms_send_allowed(*, user_id: int, phone_number: str, calling_code: int, client_ip: str | None) -> bool:
    """Count one send against every cap; return False (and count nothing) if any cap is full.

    Fails closed: if the cache is down, no text is sent.
    """
    scopes = {
        "user": str(user_id),
        "number": phone_number,
        "ip": ip_rate_key(client_ip) if client_ip else "",
        "country": str(calling_code),
    }
    return cap_take(scopes, caps=factors_settings.SMS_CAPS, channel="sms", now=clock.now())


def email_send_allowed(*, user_id: int, address: str, client_ip: str | None) -> bool:
    """Count one email code against the caps per user, address and client IP (fails closed too)."""
    scopes = {"user": str(user_id), "address": email_fold(address), "ip": ip_rate_key(client_ip) if client_ip else ""}
    return cap_take(scopes, caps=factors_settings.EMAIL_CAPS, channel="email", now=clock.now())
