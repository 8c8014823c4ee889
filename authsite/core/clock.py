"""The one source of the current time, so tests can move it (docs/house-rules.md, rule 3)."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone


def now() -> datetime:
    """Return the current aware UTC datetime."""
    return timezone.now()


def timestamp() -> float:
    """Return the current time as seconds since the epoch."""
    return now().timestamp()
