"""Shared set-up for the attack simulations: the adaptive flow with the demo GeoIP databases."""

from __future__ import annotations

import shutil
import tempfile
from datetime import timedelta

from django.http import HttpResponse
from django.test import Client, override_settings
from django.utils import timezone

from factors import services as factor_services
from risk import services as risk_services
from risk.context import context_from_parts
from risk.device import device_cookie_set
from risk.geo import build_demo_databases, lookup
from risk.loading import clear_caches
from tests.helpers import CacheClearingTestCase

OSLO = "192.0.2.10"
OSLO_2 = "192.0.2.77"
SAO_PAULO = "198.51.100.7"
SYDNEY_CLOUD = "203.0.113.5"
LAPTOP = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
PHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Mobile/15E148 Safari/604.1"
)
SCRIPT = "python-requests/2.32.3"
CHALLENGE = "/login/verify/"


def device_cookie(device_id: str) -> str:
    """The signed cookie value the site itself would have set for ``device_id``."""
    response = HttpResponse()
    device_cookie_set(response, device_id)
    return response.cookies["device_id"].value


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
