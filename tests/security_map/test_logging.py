"""ASVS 16: the risk decision and reasons, a denied sign-in and a reused code each log one JSON line."""

from __future__ import annotations

from unittest import mock

from django.test import override_settings
from django.utils import timezone

from factors import otp, services
from risk.decision import Decision
from risk.policy import Assessment, Reason
from tests.base import BrowserClient as Client
from tests.core.test_logging import CapturedJsonLog
from tests.helpers import PASSWORD, CacheClearingTestCase, make_user


def auth_events(log: CapturedJsonLog) -> list[dict]:
    return [e for e in log.events() if e["logger"] == "authsite.events"]


class RiskEventLogTests(CacheClearingTestCase):
    def test_the_risk_line_carries_the_decision_and_its_reasons(self):
        user = make_user()
        with CapturedJsonLog() as log:
            Client(HTTP_USER_AGENT="TestAgent/1.0").post("/login/", {"email": user.email, "password": PASSWORD})
        assessed = [e for e in auth_events(log) if e["event"] == "authn_risk_assessed"]
        self.assertEqual(len(assessed), 1)
        self.assertIn(assessed[0]["outcome"], {d.value for d in Decision})
        self.assertIsInstance(assessed[0]["reasons"], list)
        self.assertEqual(assessed[0]["user_id"], user.pk)

    def test_a_denied_sign_in_is_logged_as_authn_login_denied(self):
        user = make_user()
        deny = Assessment(99.0, Decision.DENY, (Reason("ip_blocklisted", "On a blocklist"),), {})
        with CapturedJsonLog() as log, mock.patch("risk.services.login_assess", return_value=deny):
            response = Client().post("/login/", {"email": user.email, "password": PASSWORD})
        self.assertEqual(response.status_code, 302)
        events = auth_events(log)
        denied = [e for e in events if e["event"] == "authn_login_denied"]
        self.assertEqual(len(denied), 1)
        self.assertEqual(denied[0]["user_id"], user.pk)
        self.assertNotIn("authn_login_success", [e["event"] for e in events])


@override_settings(LOGIN_STAGES=["factors.stages.ChallengeStage"])
class TokenReuseLogTests(CacheClearingTestCase):
    def test_a_replayed_totp_code_is_logged_as_authn_token_reuse(self):
        user = make_user()
        device = services.factor_enroll_totp_begin(user=user, name="Phone app").device
        device.confirmed = True
        device.save()
        code = otp.totp(device.bin_key, timezone.now())
        first, second = Client(), Client()
        for client in (first, second):
            client.post("/login/", {"email": user.email, "password": PASSWORD})
        verify = {"device": device.persistent_id, "action": "verify", "code": code}
        self.assertEqual(first.post("/login/verify/", verify).status_code, 302)
        with CapturedJsonLog() as log:
            second.post("/login/verify/", verify)
        self.assertIn("authn_token_reuse", [e["event"] for e in auth_events(log)])
