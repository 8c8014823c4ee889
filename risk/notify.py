"""What the emails about one sign-in say about it."""

from __future__ import annotations


def sign_in_facts(attempt, *, when) -> dict:
    """The when, where, IP address and device lines of an email about one sign-in.

    ``attempt`` is a stored ``LoginEvent`` or the ``LoginContext`` of one being assessed (which
    keeps the place in its ``geo``).
    """
    place = getattr(attempt, "geo", attempt)
    return {
        "when": when,
        "where": ", ".join(p for p in (place.city, place.country) if p) or "an unknown place",
        "ip": attempt.ip,
        "device": " on ".join(p for p in (attempt.browser, attempt.os) if p) or "an unknown device",
    }
