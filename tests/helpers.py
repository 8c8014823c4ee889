"""Shared test helpers: user and authenticator-app factories, a broken mail server, cache reset,
CSRF-token-free page comparison, the shipped login stages with demo GeoIP databases."""

from __future__ import annotations

import itertools
import re
import shutil
import tempfile

from django.conf import settings
from django.core.cache import cache
from django.test import override_settings

from authsite.accounts.models import User
from tests.base import TestCase

PASSWORD = "correct horse battery staple"
# The login stages the site ships with (the default of authsite.settings.LOGIN_STAGES).
SHIPPED_STAGES = ["risk.login.RiskStage", "factors.stages.ChallengeStage", "factors.stages.EnrolStage"]
# WebAuthn ceremonies of the test client (http://localhost:8000) with the site's login stages.
WEBAUTHN_SIGN_IN = {
    "LOGIN_STAGES": SHIPPED_STAGES,
    "FACTORS_WEBAUTHN_RP_ID": "localhost",
    "FACTORS_WEBAUTHN_ORIGINS": ["http://localhost:8000"],
}
# Tasks queued in the database, as in production (TASKS_BACKEND=database), for tests that look at
# what the queue holds or time the request without the send.
DATABASE_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
# Account email caps out of the way of tests that send many emails on purpose.
NO_EMAIL_CAPS = {"address": {"hour": 100_000}, "ip": {"hour": 100_000}}
# Unsafe ``next`` values, as Django's own tests of url_has_allowed_host_and_scheme list them.
OPEN_REDIRECT_TARGETS = [
    "http://example.com",
    "http:///example.com",
    "https://example.com",
    "ftp://example.com",
    "///example.com",
    "//example.com",
    'javascript:alert("XSS")',
]
_CSRF_RE = re.compile(rb'(name="csrfmiddlewaretoken" value|name="csrf-token" content)="[^"]+"')
_REQUEST_ID_RE = re.compile(rb"[0-9a-f]{32}")


_emails = itertools.count(1)


def unique_email() -> str:
    """Return an address no other user of this test run has (for tests that make many users)."""
    return f"user{next(_emails)}@example.com"


def make_user(email: str = "alice@example.com", password: str = PASSWORD, **extra) -> User:
    """Create an active, email-verified user."""
    from django.utils import timezone

    extra.setdefault("email_verified_at", timezone.now())
    # A returning user by default; first sign-ins (last_login None) are offered factor setup.
    extra.setdefault("last_login", timezone.now())
    return User.objects.create_user(email=email, password=password, **extra)


def totp_device(user, *, name: str = "Phone app", preferred: bool = False):
    """Give ``user`` a confirmed authenticator app; return the device and its key."""
    from factors import services

    device = services.factor_enroll_totp_begin(user=user, name=name).device
    device.confirmed = True
    device.preferred = preferred
    device.save()
    return device, device.bin_key


class BrokenMailBackend:
    """A mail backend whose server is down."""

    def __init__(self, *args, **kwargs) -> None:
        pass

    def send_messages(self, messages):
        raise ConnectionRefusedError("smtp down")


# The MAILERS setting of a site whose mail server is down.
BROKEN_MAILER = {"default": {"BACKEND": "tests.helpers.BrokenMailBackend"}}


def normalized_body(content: bytes) -> bytes:
    """Strip the per-response masked CSRF token so two renders of one page compare equal."""
    return _CSRF_RE.sub(rb'\1=""', content)


def make_login_event(user, minutes_ago: float = 0, **fields):
    """Record a sign-in of ``user`` ``minutes_ago`` minutes ago: an allowed Chrome/macOS one in
    Oslo unless ``fields`` say otherwise."""
    from datetime import timedelta

    from django.utils import timezone

    from risk.models import LoginEvent

    defaults = {
        "ip": "192.0.2.10",
        "country": "NO",
        "city": "Oslo",
        "browser": "Chrome 131",
        "os": "Mac OS X 10.15",
        "mode": "adaptive",
        "decision": "allow",
        "outcome": LoginEvent.Outcome.SUCCESS,
    }
    defaults["created_at"] = timezone.now() - timedelta(minutes=minutes_ago)
    return LoginEvent.objects.create(user=user, **{**defaults, **fields})


class CacheClearingTestCase(TestCase):
    """A TestCase whose cache (throttle counters, code caps) starts empty."""

    def setUp(self) -> None:
        super().setUp()
        cache.clear()
        self.addCleanup(cache.clear)


class DemoGeoLoginTestCase(CacheClearingTestCase):
    """The shipped login stages and risk listener, with demo GeoIP databases built once per class."""

    @classmethod
    def setUpClass(cls) -> None:
        from risk.geo import build_demo_databases

        super().setUpClass()
        cls.geo_dir = tempfile.mkdtemp(prefix="geo-")
        cls.city_db, cls.asn_db = build_demo_databases(cls.geo_dir)
        cls.addClassCleanup(shutil.rmtree, cls.geo_dir, ignore_errors=True)

    def setUp(self) -> None:
        from risk.loading import clear_caches

        super().setUp()
        override = override_settings(
            RISK_GEOIP_CITY_DB=str(self.city_db),
            RISK_GEOIP_ASN_DB=str(self.asn_db),
            LOGIN_STAGES=SHIPPED_STAGES,
            LOGIN_LISTENERS=settings.LOGIN_LISTENERS,
        )
        override.enable()
        self.addCleanup(override.disable)
        self.addCleanup(clear_caches)
        clear_caches()


def force_login_verified(client, user) -> None:
    """Sign ``user`` in as if they had passed a second factor (a session verified with an
    authenticator app, which is strong enough for the admin)."""
    from django_otp import DEVICE_ID_SESSION_KEY

    from factors.services import factor_enroll_totp_begin

    device = factor_enroll_totp_begin(user=user, name="Phone app").device
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()


def links_on(test, url: str) -> None:
    """Build emailed links on ``url`` (e.g. a live server's address) for the rest of ``test``."""
    override = override_settings(SITE_URL=url)
    override.enable()
    test.addCleanup(override.disable)
