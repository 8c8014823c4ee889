"""Emails to the user about changes to how they sign in."""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import reverse

from authsite.accounts.services import send_templated_email
from authsite.core import clock
from authsite.core.clientip import client_ip
from authsite.core.links import absolute_url
from authsite.core.text import StrOrPromise
from authsite.core.ua import parse_ua


def notify_factor_change(request: HttpRequest, *, user, subject: StrOrPromise, what: StrOrPromise) -> None:
    """Tell ``user`` by email that ``what`` happened, with when, from where, and what to do."""
    send_templated_email(
        to=user.email,
        subject=subject,
        user=user,
        template="emails/factor_changed.txt",
        context={
            "what": what,
            "when": clock.now(),
            "ip": client_ip(request),
            "device": parse_ua(request.META.get("HTTP_USER_AGENT", "")).label,
            "security_url": absolute_url(reverse("factors:security")),
        },
    )
