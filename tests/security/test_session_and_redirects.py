"""Session fixation, X-Forwarded-For spoofing, a stolen remember-device cookie and open redirects."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

from django.contrib.auth import SESSION_KEY
from django.test import override_settings
from django.utils import timezone

from factors import otp
from risk.models import LoginEvent, TrustedDevice
from tests.base import BrowserClient as Client
from tests.helpers import OPEN_REDIRECT_TARGETS, PASSWORD, CacheClearingTestCase, make_user, totp_device
from tests.security.base import (
    CHALLENGE,
    LAPTOP,
    OSLO,
    OSLO_2,
    PHONE,
    SAO_PAULO,
    SYDNEY_CLOUD,
    AdaptiveFlowTestCase,
    client_for,
    learn_history,
)

PLAIN_MFA = ["factors.stages.ChallengeStage"]


def assert_local(testcase, response, expected: str) -> None:
    testcase.assertEqual(response.status_code, 302)
    testcase.assertEqual(response["Location"], expected)


@override_settings(LOGIN_STAGES=PLAIN_MFA)
class SessionFixationTests(CacheClearingTestCase):
    def test_a_planted_session_id_never_becomes_the_victims_session(self):
        user = make_user()
        device, key = totp_device(user)
        victim = Client()
        planted = "attackerplantedsessionkey0000001"
        victim.cookies["sessionid"] = planted
        victim.get("/login/")
        victim.post("/login/", {"email": user.email, "password": PASSWORD})
        after_password = victim.cookies["sessionid"].value
        self.assertNotEqual(after_password, planted)
        self.assertNotIn(SESSION_KEY, victim.session)
        code = otp.totp(key, timezone.now())
        ok = victim.post(CHALLENGE, {"device": device.persistent_id, "action": "verify", "code": code})
        self.assertRedirects(ok, "/", fetch_redirect_response=False)
        after_challenge = victim.cookies["sessionid"].value
        self.assertNotEqual(after_challenge, after_password, "the id changes again after the challenge")
        for stale in (planted, after_password):
            attacker = Client()
            attacker.cookies["sessionid"] = stale
            self.assertFalse(attacker.get("/").wsgi_request.user.is_authenticated)
            self.assertRedirects(attacker.get(CHALLENGE), "/login/", fetch_redirect_response=False)


class ForwardedForSpoofingTests(AdaptiveFlowTestCase):
    @override_settings(LOGIN_THROTTLE={"ACCOUNT_MAX_FAILURES": 100, "IP_MAX_FAILURES": 5, "WINDOW_SECONDS": 900})
    def test_rotating_forwarded_for_from_an_untrusted_peer_does_not_escape_the_ip_throttle(self):
        for n in range(5):
            spoofer = Client(REMOTE_ADDR=SYDNEY_CLOUD, HTTP_X_FORWARDED_FOR=f"10.0.0.{n}, 192.0.2.{n}")
            response = spoofer.post("/login/", {"email": f"u{n}@example.com", "password": "wrong guess"})
            self.assertEqual(response.status_code, 200)
        spoofer = Client(REMOTE_ADDR=SYDNEY_CLOUD, HTTP_X_FORWARDED_FOR="192.0.2.99")
        self.assertEqual(spoofer.post("/login/", {"email": "x@example.com", "password": "p"}).status_code, 429)
        # Naming the throttled address in the header from elsewhere does not throttle that peer.
        bystander = Client(REMOTE_ADDR="198.51.100.20", HTTP_X_FORWARDED_FOR=SYDNEY_CLOUD)
        self.assertEqual(bystander.post("/login/", {"email": "x@example.com", "password": "p"}).status_code, 200)

    def test_a_home_address_in_forwarded_for_does_not_make_a_foreign_sign_in_look_local(self):
        user = make_user("erin@example.com")
        totp_device(user)
        learn_history(user, ip=OSLO, ua=LAPTOP, device="known-laptop-device-0001")
        thief = client_for(SAO_PAULO, LAPTOP, HTTP_X_FORWARDED_FOR=OSLO)
        response = thief.post("/login/", {"email": user.email, "password": PASSWORD})
        event = LoginEvent.objects.filter(user=user).latest("created_at")
        self.assertEqual((event.ip, event.country), (SAO_PAULO, "BR"))
        self.assertNotEqual(event.decision, "allow")
        self.assertNotEqual(response.get("Location"), "/")
        self.assertNotIn(SESSION_KEY, thief.session)


class StolenRememberDeviceCookieTests(AdaptiveFlowTestCase):
    def test_copied_cookies_in_another_browser_on_another_network_still_need_the_factor(self):
        user = make_user("erin@example.com")
        device, key = totp_device(user)
        learn_history(user, ip=OSLO, ua=LAPTOP, device="known-laptop-device-0001")
        owner = client_for(OSLO_2, PHONE)
        owner.post("/login/", {"email": user.email, "password": PASSWORD})
        later = timezone.now() + timedelta(seconds=30)
        with mock.patch("authsite.core.clock.now", return_value=later):
            data = {"device": device.persistent_id, "action": "verify", "code": otp.totp(key, later), "remember": "on"}
            self.assertRedirects(owner.post(CHALLENGE, data), "/", fetch_redirect_response=False)
        self.assertTrue(TrustedDevice.objects.filter(user=user).exists())

        thief = client_for(SAO_PAULO, LAPTOP)
        thief.cookies["trusted_device"] = owner.cookies["trusted_device"].value
        thief.cookies["device_id"] = owner.cookies["device_id"].value
        response = thief.post("/login/", {"email": user.email, "password": PASSWORD})
        event = LoginEvent.objects.filter(user=user).latest("created_at")
        self.assertIn(event.decision, {"challenge", "challenge_strong", "deny"})
        self.assertIn(response["Location"], {CHALLENGE, "/login/"})
        self.assertNotIn(SESSION_KEY, thief.session)
        # The owner's own browser, back home, is still trusted.
        owner.post("/logout/")
        home = owner.post("/login/", {"email": user.email, "password": PASSWORD})
        self.assertRedirects(home, "/", fetch_redirect_response=False)


@override_settings(LOGIN_STAGES=PLAIN_MFA)
class OpenRedirectTests(CacheClearingTestCase):
    """Beyond the password step (tests/login/test_login.py): the challenge, sign-out, re-authentication."""

    def setUp(self) -> None:
        super().setUp()
        self.user = make_user()

    def test_challenge(self):
        device, key = totp_device(self.user)
        for step, target in enumerate(OPEN_REDIRECT_TARGETS):
            with self.subTest(target=target):
                client = Client()
                client.post("/login/", {"email": self.user.email, "password": PASSWORD, "next": target})
                when = timezone.now() + timedelta(seconds=30 * step)
                data = {"device": device.persistent_id, "action": "verify", "code": otp.totp(key, when), "next": target}
                with mock.patch("authsite.core.clock.now", return_value=when):
                    response = client.post(f"{CHALLENGE}?next={target}", data)
                assert_local(self, response, "/")
                self.assertEqual(client.session[SESSION_KEY], str(self.user.pk))

    def test_logout(self):
        for target in OPEN_REDIRECT_TARGETS:
            with self.subTest(target=target):
                client = Client()
                client.force_login(self.user)
                response = client.post("/logout/", {"next": target})
                self.assertEqual(response.status_code, 302)
                self.assertTrue(response["Location"].startswith("/"), response["Location"])
                self.assertFalse(response["Location"].startswith("//"), response["Location"])
                self.assertNotIn("example.com", response["Location"])
                self.assertNotIn(SESSION_KEY, client.session)

    def test_enrollment_reauthentication_and_step_up(self):
        client = Client()
        client.post("/login/", {"email": self.user.email, "password": PASSWORD})
        for target in OPEN_REDIRECT_TARGETS:
            with self.subTest(target=target):
                response = client.post("/account/reauthenticate/", {"password": PASSWORD, "next": target})
                assert_local(self, response, "/account/security/")
                page = client.get("/account/security/totp/", {"next": target})
                self.assertNotIn("example.com", page.get("Location", ""))
                step_up = client.get("/account/reauthenticate/factor/", {"next": target})
                self.assertNotIn("example.com", step_up.get("Location", ""))
                self.assertNotContains(step_up, "example.com", status_code=step_up.status_code)
