"""The trained model in the real sign-in flow: decisions, stored reasons, fallback (demo GeoIP databases)."""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

from django.test import override_settings

from risk.loading import clear_caches

from .test_login_flow import DEVICE, LAPTOP, OSLO_2, SCRIPT, SYDNEY_CLOUD, RiskFlowTestCase


class LearnedPolicyFlowTests(RiskFlowTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.addCleanup(clear_caches)

    @override_settings(RISK_POLICY="learned")
    def test_a_script_from_a_cloud_network_is_asked_for_a_factor_with_reasons(self):
        self.learn_history()
        client = self.client_for(SYDNEY_CLOUD, SCRIPT)
        self.assertRedirects(self.sign_in(client), "/login/verify/", fetch_redirect_response=False)
        event = self.last_event()
        self.assertIn(event.decision, {"challenge", "challenge_strong", "deny"})
        self.assertTrue(math.isfinite(event.score))
        codes = [r["code"] for r in event.reasons]
        self.assertIn("automation", codes)  # its floor makes it a named reason
        self.assertTrue(all("weight" in r for r in event.reasons if r["code"] != "automation"))
        self.assertIn("learned", event.breakdown)

    @override_settings(RISK_POLICY="learned")
    def test_the_usual_laptop_completes_the_sign_in(self):
        self.learn_history()
        response = self.sign_in(self.client_for(OSLO_2, LAPTOP, DEVICE))
        self.assertEqual(response.status_code, 302)
        event = self.last_event()
        self.assertNotEqual(event.decision, "deny")
        self.assertIn("learned", event.breakdown)

    def test_an_unusable_model_file_falls_back_without_failing_the_sign_in(self):
        self.learn_history()
        bad = Path(tempfile.mkdtemp()) / "model.json"
        bad.write_text('{"format": "risk-logistic", "version": 0}')
        with override_settings(RISK_POLICY="learned", RISK_MODEL_FILE=str(bad)), self.assertLogs("risk.learned"):
            response = self.sign_in(self.client_for(SYDNEY_CLOUD, SCRIPT))
        self.assertEqual(response.status_code, 302)
        event = self.last_event()
        self.assertIn(event.decision, {"challenge", "challenge_strong", "deny"})
        self.assertNotIn("learned", event.breakdown)  # the hand-written policy decided
        self.assertNotIn("engine_error", [r["code"] for r in event.reasons])
