"""Shared test helpers of the factors app: its settings and a controllable clock (users: tests.helpers)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from unittest import mock

from django.core.cache import cache
from django.test import override_settings

from factors.sms.backends import locmem

# Fixed Fernet keys for tests only (urlsafe base64 of 32 bytes).
TEST_KEY = "Zm9yLXRlc3RzLW9ubHktZmFjdG9ycy1rZXktMDAwMDE="
# Fernet signs with the first half of a key: the two test keys must differ there, or a token of
# one would pass the other's HMAC and decrypt to garbage about once in 256 tries.
OTHER_KEY = "b3RoZXIta2V5cy1mb3ItdGVzdHMtZmFjdG9ycy0wMDI="

FACTORS_TEST_SETTINGS = {
    "FACTORS_ENCRYPTION_KEYS": [TEST_KEY],
    "FACTORS_SMS_BACKEND": "locmem",
    "FACTORS_TOTP_ISSUER": "Test Site",
    "FACTORS_WEBAUTHN_RP_ID": "localhost",
    "FACTORS_WEBAUTHN_ORIGINS": ["http://localhost:8000"],
    "CACHES": {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}},
    # Users are made in bulk here; Argon2 would only slow the suite down.
    "PASSWORD_HASHERS": ["django.contrib.auth.hashers.MD5PasswordHasher"],
}


def wrong_code(right: str) -> str:
    """Return a 6-digit code that is not ``right`` (``right`` plus one)."""
    return f"{(int(right) + 1) % 1000000:06d}"


class Clock:
    """A clock for ``authsite.core.clock.now``; advance it instead of sleeping."""

    def __init__(self, start: datetime | None = None) -> None:
        self.current = start or datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.current

    def advance(self, seconds: float) -> None:
        self.current += timedelta(seconds=seconds)

    def set(self, when: datetime) -> None:
        self.current = when


class FactorsTestMixin:
    """Apply the test settings, freeze time on a Clock, and start with empty outboxes/caches."""

    def setUp(self) -> None:
        super().setUp()
        overrides = override_settings(**FACTORS_TEST_SETTINGS)
        overrides.enable()
        self.addCleanup(overrides.disable)
        self.clock = Clock()
        patcher = mock.patch("authsite.core.clock.now", self.clock)
        patcher.start()
        self.addCleanup(patcher.stop)
        cache.clear()
        locmem.outbox.clear()
        locmem.SmsBackend.fail = False
        self.addCleanup(locmem.outbox.clear)
