"""Round-trip time through the real sign-in: the page's probe, the hidden field, the risk context."""

from __future__ import annotations

from risk.context import rtt_buckets
from risk.models import UserFeatureCount
from risk.store import value_hash
from tests.helpers import PASSWORD

from .test_login_flow import DEVICE, LAPTOP, OSLO_2, RiskFlowTestCase


class RoundTripFlowTests(RiskFlowTestCase):
    def test_sign_in_page_measures_with_its_own_script(self):
        page = self.client.get("/login/")
        self.assertContains(page, 'name="rtt_ms" id="rtt-ms" value="" data-probe="/login/rtt/"', html=False)
        self.assertRegex(page.content.decode(), r'<script src="/static/js/rtt[^"]*\.js" defer></script>')

    def test_probe_is_empty_and_never_cached(self):
        response = self.client.get("/login/rtt/")
        self.assertEqual(response.status_code, 204)
        self.assertEqual(response.content, b"")
        self.assertIn("no-store", response["Cache-Control"])
        self.assertEqual(self.client.post("/login/rtt/").status_code, 405)

    def test_measured_time_reaches_the_engine_and_is_learned(self):
        self.learn_history()
        client = self.client_for(OSLO_2, LAPTOP, DEVICE)
        response = client.post("/login/", {"email": self.user.email, "password": PASSWORD, "rtt_ms": "38.4"})
        event = self.last_event()
        self.assertEqual(event.round_trip_ms, 38.4)
        self.assertEqual(event.earlier_sign_ins, 12)
        # Every earlier sign-in came without a measured time: a measured one is new to this user.
        log_ratio, _, _, unseen = event.breakdown["features"]["rtt"]
        self.assertTrue(unseen)
        self.assertGreater(log_ratio, 0)
        if response.url == "/login/verify/":
            self.assertRedirects(self.pass_totp(client, step=1), "/", fetch_redirect_response=False)
        event.refresh_from_db()
        self.assertEqual(event.outcome, "success")
        # The completed sign-in taught the user's profile its bucket.
        fine, coarse = rtt_buckets(38.4)
        learned = set(UserFeatureCount.objects.filter(user=self.user).values_list("value_hash", flat=True))
        self.assertLessEqual({value_hash("rtt", fine), value_hash("rttc", coarse)}, learned)

    def test_absent_or_absurd_times_are_unknown(self):
        self.learn_history()
        for value in ("", "-12", "NaN", "1e6", "<script>", "9" * 100):
            with self.subTest(value=value):
                client = self.client_for(OSLO_2, LAPTOP, DEVICE)
                response = client.post("/login/", {"email": self.user.email, "password": PASSWORD, "rtt_ms": value})
                self.assertIn(response.status_code, (302, 303))
                self.assertIsNone(self.last_event().round_trip_ms)
