"""Throttling of the password step, per account and per client IP.

Counters live in Django's cache, so with ``REDIS_URL`` every process shares them. A counter is a
fixed window that starts at the first failure and expires ``WINDOW_SECONDS`` later: there is no
permanent lockout (NIST SP 800-63B §3.2.2, OWASP ASVS 6.3.1).

An account has one counter whatever spelling of its address is typed: the key is the account's
id when the address names one, and the address's canonical fold (``email_fold``) otherwise. An
IPv6 client is counted by its /64 (``ip_rate_key``).
"""

from __future__ import annotations

import enum
import hashlib
import logging
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

from authsite.accounts.models import email_fold
from authsite.core.clientip import ip_rate_key

logger = logging.getLogger("authsite.throttle")


class ThrottleState(enum.Enum):
    OK = "ok"
    THROTTLED = "throttled"
    # The cache could not be read: the caller must fail closed (ask for more, never less).
    UNAVAILABLE = "unavailable"


@dataclass(frozen=True)
class ThrottleVerdict:
    state: ThrottleState
    scope: str | None = None  # "account" or "ip" when throttled
    retry_after: int = 0


def account_key(*, user_id: int | None, email: str = "") -> str:
    """Return the counter key of an account: by id when ``email`` names one, else by its fold."""
    name = f"user:{user_id}" if user_id is not None else f"email:{email_fold(email)}"
    # Hashed: the cache holds no email addresses, and odd input cannot break the key syntax.
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()
    return f"login:fail:acct:{digest}"


def _ip_key(ip: str) -> str:
    return f"login:fail:ip:{ip_rate_key(ip)}"


def login_throttle_check(*, account: str, ip: str) -> ThrottleVerdict:
    """Say whether a password attempt for the ``account`` key from ``ip`` may be checked now."""
    conf = settings.LOGIN_THROTTLE
    try:
        counts = cache.get_many([account, _ip_key(ip)])
    except Exception:
        logger.warning("login throttle counters unavailable", exc_info=True)
        return ThrottleVerdict(ThrottleState.UNAVAILABLE)
    if counts.get(account, 0) >= conf["ACCOUNT_MAX_FAILURES"]:
        return ThrottleVerdict(ThrottleState.THROTTLED, "account", conf["WINDOW_SECONDS"])
    if counts.get(_ip_key(ip), 0) >= conf["IP_MAX_FAILURES"]:
        return ThrottleVerdict(ThrottleState.THROTTLED, "ip", conf["WINDOW_SECONDS"])
    return ThrottleVerdict(ThrottleState.OK)


def login_throttle_record_failure(*, account: str, ip: str) -> None:
    """Count a failed password attempt against the ``account`` key and the client IP."""
    window = settings.LOGIN_THROTTLE["WINDOW_SECONDS"]
    try:
        for key in (account, _ip_key(ip)):
            cache.add(key, 0, timeout=window)
            try:
                cache.incr(key)
            except ValueError:
                # The key expired between add() and incr(): start a new window.
                cache.set(key, 1, timeout=window)
    except Exception:
        logger.warning("login throttle counters unavailable", exc_info=True)


def login_throttle_record_success(*, account: str) -> None:
    """Reset the account's consecutive-failure count after a correct password."""
    try:
        cache.delete(account)
    except Exception:
        logger.warning("login throttle counters unavailable", exc_info=True)
