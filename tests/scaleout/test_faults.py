"""Faults a deployment meets, seen from the user's side: Redis down, GeoIP missing or corrupt,
a phone clock that is off. Each must give a sign-in that works or asks for more, never a 500 and
never less checking than usual. (Twilio failures are covered in tests/factors.)"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from unittest import mock

from django.contrib.auth import SESSION_KEY
from django.core.checks import run_checks
from django.test import override_settings

from factors import otp
from risk.loading import clear_caches
from risk.models import LoginEvent
from tests.base import BrowserClient as Client
from tests.risk.test_login_flow import DEVICE, LAPTOP, OSLO_2, RiskFlowTestCase

# Nothing listens on port 1: connections are refused at once. Short timeouts keep a broken
# cache from stalling the request.
REDIS_DOWN = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",
        "KEY_PREFIX": "scaleout-down",
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
    }
}


class RedisDownTests(RiskFlowTestCase):
    def test_known_device_is_challenged_instead_of_let_in_and_the_factor_still_signs_in(self):
        self.learn_history()
        # With the cache up, this sign-in needs only the password (the usual laptop at home) ...
        self.assertRedirects(self.sign_in(self.client_for(OSLO_2, LAPTOP, DEVICE)), "/", fetch_redirect_response=False)
        # ... with the cache down, the counters cannot be read, so it asks for the factor.
        with override_settings(CACHES=REDIS_DOWN):
            client = self.client_for(OSLO_2, LAPTOP, DEVICE)
            response = self.sign_in(client)
            self.assertRedirects(response, "/login/verify/", fetch_redirect_response=False)
            self.assertNotIn(SESSION_KEY, client.session)
            self.assertEqual(client.get("/login/verify/").status_code, 200)
            done = self.pass_totp(client, step=0)
            self.assertRedirects(done, "/", fetch_redirect_response=False)
            self.assertEqual(client.session[SESSION_KEY], str(self.user.pk))

    def test_sign_in_completed_while_the_cache_is_down_is_recorded_as_a_success(self):
        # Learning the sign-in resets a failure counter in the cache; its failure must not keep the
        # LoginEvent "pending" (activity page, dashboard) nor skip the new-device notification.
        with override_settings(CACHES=REDIS_DOWN):
            client = self.client_for(OSLO_2, LAPTOP, DEVICE)
            self.sign_in(client)
            self.assertRedirects(self.pass_totp(client, step=0), "/", fetch_redirect_response=False)
        self.assertEqual(self.last_event().outcome, "success")

    def test_wrong_password_is_refused_normally_not_throttled_open_or_500(self):
        with override_settings(CACHES=REDIS_DOWN):
            client = self.client_for(OSLO_2, LAPTOP)
            for _ in range(3):
                response = client.post("/login/", {"email": self.user.email, "password": "not the password"})
                self.assertEqual(response.status_code, 200)
                self.assertContains(response, "Sign in")
                self.assertNotIn(SESSION_KEY, client.session)

    def test_new_device_with_cache_down_is_still_challenged_never_allowed(self):
        with override_settings(CACHES=REDIS_DOWN):
            client = self.client_for(OSLO_2, LAPTOP)
            self.assertRedirects(self.sign_in(client), "/login/verify/", fetch_redirect_response=False)
        self.assertIn(self.last_event().decision, ("challenge", "challenge_strong"))


class GeoIPFaultTests(RiskFlowTestCase):
    def geo_warnings(self) -> list[str]:
        return [m.msg for m in run_checks() if m.id in {"risk.W001", "risk.W002"}]

    def test_missing_database_degrades_the_context_warns_and_signs_in(self):
        missing = Path(self.geo_dir) / "no-such-city.mmdb"
        with override_settings(RISK_GEOIP_CITY_DB=str(missing), RISK_GEOIP_ASN_DB=str(missing)):
            clear_caches()
            self.assertTrue(any("does not exist" in m for m in self.geo_warnings()), self.geo_warnings())
            client = self.client_for(OSLO_2, LAPTOP)
            response = self.sign_in(client)
            self.assertRedirects(response, "/login/verify/", fetch_redirect_response=False)
            event = self.last_event()
            # Scored on IP prefixes: no place or network, and not an engine error.
            self.assertEqual((event.country or "", event.asn), ("", None))
            self.assertNotIn("engine_error", [r["code"] for r in event.reasons])
            self.assertRedirects(self.pass_totp(client, step=0), "/", fetch_redirect_response=False)
        self.assertEqual(self.last_event().outcome, "success")

    def test_corrupt_database_challenges_strongly_and_the_factor_signs_in_no_500(self):
        corrupt = Path(self.geo_dir) / "corrupt-asn.mmdb"
        corrupt.write_bytes(b"\x00garbage, not a maxmind database" * 20)
        self.learn_history()
        with override_settings(RISK_GEOIP_ASN_DB=str(corrupt)):
            clear_caches()
            client = self.client_for(OSLO_2, LAPTOP, DEVICE)
            response = self.sign_in(client)
            self.assertRedirects(response, "/login/verify/", fetch_redirect_response=False)
            self.assertEqual(self.last_event().decision, "challenge_strong")
            page = client.get("/login/verify/")
            self.assertEqual(page.status_code, 200)
            self.assertRedirects(self.pass_totp(client, step=0), "/", fetch_redirect_response=False)

    def test_corrupt_database_is_reported_by_the_system_check(self):
        # A corrupt file would otherwise start the site silently and challenge every sign-in.
        corrupt = Path(self.geo_dir) / "corrupt-city.mmdb"
        corrupt.write_bytes(b"not a maxmind database" * 20)
        with override_settings(RISK_GEOIP_CITY_DB=str(corrupt)):
            clear_caches()
            self.assertTrue(self.geo_warnings(), "no warning for a corrupt GeoIP database")


class ClockSkewTests(RiskFlowTestCase):
    def setUp(self) -> None:
        super().setUp()
        # Plain MFA: every sign-in asks for the factor, whatever the risk engine learned.
        override = override_settings(LOGIN_STAGES=["factors.stages.ChallengeStage"])
        override.enable()
        self.addCleanup(override.disable)
        # The server's clock, 10 s into the current 30 s step, so no step boundary falls inside
        # the test and the pending sign-in (started on the real clock) is seconds old.
        now = int(datetime.now(UTC).timestamp())
        self.server_now = datetime.fromtimestamp(now - now % 30 + 10, UTC)

    def attempt(self, skew_steps: int):
        """Sign in fresh and post the code of a phone whose clock is ``skew_steps`` steps off."""
        client = Client(REMOTE_ADDR=OSLO_2, HTTP_USER_AGENT=LAPTOP)
        self.assertRedirects(self.sign_in(client), "/login/verify/", fetch_redirect_response=False)
        code = otp.totp(self.key, self.server_now + timedelta(seconds=30 * skew_steps))
        data = {"device": self.totp.persistent_id, "action": "verify", "code": code}
        with mock.patch("authsite.core.clock.now", return_value=self.server_now):
            return client, client.post("/login/verify/", data)

    def test_one_step_either_way_is_accepted(self):
        # Behind first: an accepted step refuses every older one (replay).
        for skew in (-1, 1):
            with self.subTest(skew=skew):
                client, response = self.attempt(skew)
                self.assertRedirects(response, "/", fetch_redirect_response=False)
                self.assertEqual(client.session[SESSION_KEY], str(self.user.pk))

    def test_two_steps_either_way_are_refused_with_a_clear_error(self):
        for skew in (-2, 2):
            with self.subTest(skew=skew):
                self.totp.refresh_from_db()
                self.totp.throttling_failure_count = 0
                self.totp.throttling_failure_timestamp = None
                self.totp.save()
                client, response = self.attempt(skew)
                self.assertEqual(response.status_code, 200)
                self.assertContains(response, "That code didn&#x27;t work")
                self.assertNotIn(SESSION_KEY, client.session)
        self.assertFalse(LoginEvent.objects.filter(user=self.user, outcome="success").exists())
