"""Shared test helpers: user factory, cache reset, CSRF-token-free page comparison."""

from __future__ import annotations

import re

from django.core.cache import cache
from django.test import TestCase

from authsite.models import User

PASSWORD = "correct horse battery staple"
_CSRF_RE = re.compile(rb'(name="csrfmiddlewaretoken" value|name="csrf-token" content)="[^"]+"')
_REQUEST_ID_RE = re.compile(rb"[0-9a-f]{32}")


def make_user(email: str = "alice@example.com", password: str = PASSWORD, **extra) -> User:
    """Create an active, email-verified user."""
    from django.utils import timezone

    extra.setdefault("email_verified_at", timezone.now())
    # A returning user by default; first sign-ins (last_login None) are offered factor setup.
    extra.setdefault("last_login", timezone.now())
    return User.objects.create_user(email=email, password=password, **extra)


def normalized_body(content: bytes) -> bytes:
    """Strip the per-response masked CSRF token so two renders of one page compare equal."""
    return _CSRF_RE.sub(rb'\1=""', content)


class CacheClearingTestCase(TestCase):
    """A TestCase whose cache (throttle counters, code caps) starts empty."""

    def setUp(self) -> None:
        super().setUp()
        cache.clear()
        self.addCleanup(cache.clear)


def force_login_verified(client, user) -> None:
    """Sign ``user`` in as if they had passed a second factor (an OTP-verified session)."""
    from django_otp import DEVICE_ID_SESSION_KEY

    from factors.models import EmailDevice

    device = EmailDevice.objects.create(user=user, name="Email", email=user.email, confirmed=True)
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
