"""What the emails about one sign-in say about it."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from authsite.core.ua import browser_on_os


def sign_in_facts(attempt, *, when) -> dict:
    """The when, where, IP address and device lines of an email about one sign-in.

    ``attempt`` is a stored ``LoginEvent`` or the ``LoginContext`` of one being assessed (which
    keeps the place in its ``geo``).
    """
    place = getattr(attempt, "geo", attempt)
    return {
        "when": when,
        "where": ", ".join(p for p in (place.city, place.country) if p) or _("an unknown place"),
        "ip": attempt.ip,
        "device": browser_on_os(attempt.browser, attempt.os) or _("an unknown device"),
    }
