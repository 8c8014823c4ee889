"""Shared set-up for the attack simulations: the adaptive flow with the demo GeoIP databases."""

from __future__ import annotations

import shutil
import tempfile
from datetime import timedelta

from django.test import Client, override_settings
from django.utils import timezone

from factors import services as factor_services
from risk import services as risk_services
from risk.context import context_from_parts
from risk.geo import build_demo_databases, lookup
from risk.loading import clear_caches
from tests.helpers import CacheClearingTestCase

# The places, browsers and cookie helper of the adaptive-flow tests, shared rather than copied.
from tests.risk.test_login_flow import (  # noqa: F401
    LAPTOP,
    OSLO,
    OSLO_2,
    PHONE,
    SAO_PAULO,
    SCRIPT,
    SYDNEY_CLOUD,
    device_cookie,
)

CHALLENGE = "/login/verify/"


def client_for(ip: str, ua: str, device: str | None = None, **extra) -> Client:
    client = Client(REMOTE_ADDR=ip, HTTP_USER_AGENT=ua, **extra)
    if device:
        client.cookies["device_id"] = device_cookie(device)
    return client


def totp_device(user, name: str = "Phone app"):
    enrollment = factor_services.factor_enroll_totp_begin(user=user, name=name)
    enrollment.device.confirmed = True
    enrollment.device.save()
    return enrollment.device, enrollment.device.bin_key


def learn_history(user, n: int = 12, *, ip=OSLO, ua=LAPTOP, device=None, last_minutes_ago: int = 60) -> None:
    """Teach the risk engine ``n`` earlier successful sign-ins of ``user``."""
    now = timezone.now()
    for i in range(n):
        when = now - timedelta(days=n - i) if i < n - 1 else now - timedelta(minutes=last_minutes_ago)
        ctx = context_from_parts(
            user_id=user.pk, ip=ip, user_agent=ua, timestamp=when, geo=lookup(ip), device_id=device
        )
        risk_services.login_succeeded(context=ctx)


class AdaptiveFlowTestCase(CacheClearingTestCase):
    """The production login stages (risk, then challenge) with demo GeoIP databases."""

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.geo_dir = tempfile.mkdtemp(prefix="geo-")
        cls.city_db, cls.asn_db = build_demo_databases(cls.geo_dir)
        cls.addClassCleanup(shutil.rmtree, cls.geo_dir, ignore_errors=True)

    def setUp(self) -> None:
        super().setUp()
        override = override_settings(
            RISK_GEOIP_CITY_DB=str(self.city_db),
            RISK_GEOIP_ASN_DB=str(self.asn_db),
            LOGIN_STAGES=["risk.login.RiskStage", "factors.stages.ChallengeStage"],
            LOGIN_LISTENERS=["risk.login.RiskLoginListener"],
        )
        override.enable()
        self.addCleanup(override.disable)
        self.addCleanup(clear_caches)
        clear_caches()
