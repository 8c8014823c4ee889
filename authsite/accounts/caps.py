"""Send caps: fixed hourly and daily windows per scope, counted in Django's cache.

One mechanism for every kind of message the site sends on request (texts, email codes, account
emails): a caller names its scopes (user, destination, client IP, ...) and the caps configured for
each, and one call counts a send against all of them or refuses it. With Redis every process
shares the counters (docs/house-rules.md, rule 5). A cache failure refuses the send (fail closed).
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime

from django.core.cache import cache

logger = logging.getLogger(__name__)

WINDOWS = {"hour": 3600, "day": 86400}


def cap_keys(scopes: dict[str, str], *, caps: dict, channel: str, now: datetime) -> list[tuple[str, int, int]]:
    """Return (cache key, limit, timeout) for every scope with a value and a configured window."""
    at = int(now.timestamp())
    keys = []
    for scope, value in scopes.items():
        if not value:
            continue
        # Hash the value: addresses, numbers and IPs have no business in cache key listings.
        digest = hashlib.sha256(f"{scope}:{value}".encode("utf-8", "surrogatepass")).hexdigest()[:32]
        for window, seconds in WINDOWS.items():
            limit = caps.get(scope, {}).get(window)
            if limit is None:
                continue
            keys.append((f"factors:{channel}-cap:{scope}:{window}:{at // seconds}:{digest}", int(limit), seconds))
    return keys


def cap_take(scopes: dict[str, str], *, caps: dict, channel: str, now: datetime) -> bool:
    """Count one send against every cap of ``scopes``; return False if any cap is full.

    A refused send counts nothing when a cap was already full beforehand.
    """
    keys = cap_keys(scopes, caps=caps, channel=channel, now=now)
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
        logger.warning("%s cap counters unavailable; refusing to send", channel, exc_info=True)
        return False


def caps_problems(caps: object, *, scopes: tuple[str, ...]) -> list[str]:
    """Say what is wrong with a caps setting ({scope: {window: limit}}), for a system check."""
    if not isinstance(caps, dict):
        return ["must be a dict of scope -> {window: limit}"]
    problems = []
    for scope, windows in caps.items():
        if scope not in scopes:
            problems.append(f"has an unknown scope {scope!r} (known: {', '.join(scopes)})")
            continue
        if not isinstance(windows, dict):
            problems.append(f"{scope}: must be a dict of window -> limit")
            continue
        for window, limit in windows.items():
            if window not in WINDOWS:
                problems.append(f"{scope}: unknown window {window!r} (known: {', '.join(WINDOWS)})")
            elif isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
                problems.append(f"{scope}.{window}: the limit must be a whole number of at least 1, not {limit!r}")
    return problems
