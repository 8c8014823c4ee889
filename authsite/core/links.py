"""Absolute links for emails, on the configured ``SITE_URL``."""

from __future__ import annotations

from django.conf import settings


def absolute_url(path: str) -> str:
    """Return ``path`` on ``SITE_URL``.

    Never built from the request: its Host header is chosen by the client, and any host (and
    port) that ALLOWED_HOSTS accepts would end up in a password reset or activation link.
    """
    return settings.SITE_URL.rstrip("/") + path
