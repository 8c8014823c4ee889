"""Shared set-up for the attack simulations: the adaptive flow with the demo GeoIP databases."""

from __future__ import annotations

from tests.helpers import DemoGeoLoginTestCase

# The places, browsers and cookie helper of the adaptive-flow tests, shared rather than copied.
from tests.risk.test_login_flow import (  # noqa: F401
    LAPTOP,
    OSLO,
    OSLO_2,
    PHONE,
    SAO_PAULO,
    SCRIPT,
    SYDNEY_CLOUD,
    client_for,
    device_cookie,
    learn_history,
)

CHALLENGE = "/login/verify/"


class AdaptiveFlowTestCase(DemoGeoLoginTestCase):
    """The shipped login stages (risk, challenge, enrollment) with demo GeoIP databases."""
