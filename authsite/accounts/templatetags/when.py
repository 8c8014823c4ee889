"""Template filters for times shown to users."""

from __future__ import annotations

from datetime import datetime

from django import template
from django.utils.timesince import timesince
from django.utils.translation import gettext

from authsite.core import clock

register = template.Library()


@register.filter
def ago(value: datetime | None) -> str:
    """ "just now" within the last minute, else "3 hours ago" (Django's timesince, and "ago")."""
    if not value:
        return ""
    if (clock.now() - value).total_seconds() < 60:
        return gettext("just now")
    return gettext("%(delta)s ago") % {"delta": timesince(value, clock.now())}
