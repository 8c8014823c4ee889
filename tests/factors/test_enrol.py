"""Enrollment required at sign-in: after an admin's MFA reset no session without a new factor."""

from __future__ import annotations

import json
from datetime import timedelta
from unittest import mock

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.core import mail
from django.test import override_settings
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY

from authsite.accounts.models import User
from authsite.center.account_admin import account_mfa_reset
from factors import otp
from factors.models import EmailDevice, TOTPDevice, WebAuthnCredential
from factors.services import factor_enroll_totp_begin, factor_enroll_totp_confirm, user_has_factor
from tests.base import BrowserClient as Client
from tests.factors.softauthn import SoftAuthenticator
from tests.factors.test_views import CHALLENGE, last_code
from tests.helpers import PASSWORD, SHIPPED_STAGES, WEBAUTHN_SIGN_IN, CacheClearingTestCase, make_user, totp_device

LOGIN = "/login/"
ENROLL = "/login/enroll/"
ENROLL_TOTP = "/login/enroll/totp/"


@override_settings(**WEBAUTHN_SIGN_IN)
class EnrollAfterResetTests(CacheClearingTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.user = make_user("bob@example.com")
        self.old_totp, _ = totp_device(self.user)
        account_mfa_reset(user=self.user, by=None)
        mail.outbox.clear()

    def password(self, client: Client | None = None):
        return (client or self.client).post("/login/", {"email": self.user.email, "password": PASSWORD})

    def pass_email_challenge(self, client: Client | None = None):
        """Sign in with the password and the emailed code; return the response to the code."""
        client = client or self.client
        self.assertRedirects(self.password(client), CHALLENGE, fetch_redirect_response=False)
        device = EmailDevice.objects.get(user=self.user, confirmed=True)
        client.post(CHALLENGE, {"device": device.persistent_id, "action": "send"})
        code = last_code(mail.outbox[-1].body)
        return client.post(CHALLENGE, {"device": device.persistent_id, "action": "verify", "code": code})

    def begin_totp(self) -> TOTPDevice:
        self.assertRedirects(self.pass_email_challenge(), ENROLL, fetch_redirect_response=False)
        self.assertRedirects(self.client.post("/login/enroll/totp/begin/"), ENROLL_TOTP, fetch_redirect_response=False)
        return TOTPDevice.objects.get(user=self.user, confirmed=False)

    def assert_not_signed_in(self, client: Client | None = None) -> None:
        client = client or self.client
        self.assertNotIn(SESSION_KEY, client.session)
        self.assertFalse(client.get("/").wsgi_request.user.is_authenticated)
        security = client.get("/account/security/")
        self.assertEqual(security.status_code, 302)
        self.assertTrue(security["Location"].startswith(LOGIN))

    def flag(self):
        return User.objects.get(pk=self.user.pk).mfa_enrol_required_at

    def test_reset_sets_the_flag_with_everything_else(self):
        self.assertIsNotNone(self.flag())
        self.assertFalse(TOTPDevice.objects.filter(user=self.user).exists())
        self.assertFalse(user_has_factor(self.user))

    def test_password_alone_does_not_reach_enrollment(self):
        # Whoever sets up the next factor proves the mailbox too, even when the risk engine allows.
        self.assertRedirects(self.password(), CHALLENGE, fetch_redirect_response=False)
        self.assertRedirects(self.client.get(ENROLL), CHALLENGE, fetch_redirect_response=False)
        self.assertFalse(TOTPDevice.objects.filter(user=self.user).exists())
        self.assert_not_signed_in()

    def test_sign_in_stops_at_enrollment_without_a_session(self):
        with self.assertLogs("authsite.events", "INFO") as logs:
            self.assertRedirects(self.pass_email_challenge(), ENROLL, fetch_redirect_response=False)
        self.assertIn("authn_mfa_enrol_required", [r.getMessage() for r in logs.records])
        page = self.client.get(ENROLL)
        self.assertContains(page, "Set up a new way to sign in")
        self.assertContains(page, 'data-begin="/login/enroll/webauthn/begin/"')
        self.assertContains(page, '<label for="passkey-name">')
        self.assertContains(page, '<label for="key-name">')
        self.assertNotContains(page, "<script>")
        self.assert_not_signed_in()
        # Going back to an earlier stage's page only leads here again.
        self.assertRedirects(self.client.get(CHALLENGE), ENROLL, fetch_redirect_response=False)
        self.assertIsNotNone(self.flag())

    def test_wrong_code_keeps_the_flag_and_confirms_nothing(self):
        device = self.begin_totp()
        page = self.client.get(ENROLL_TOTP)
        self.assertContains(page, "data-secret=")
        self.assertContains(page, 'href="/login/enroll/"')
        wrong = f"{(int(otp.totp(device.bin_key, timezone.now())) + 1) % 1000000:06d}"
        response = self.client.post(ENROLL_TOTP, {"code": wrong})
        self.assertContains(response, "didn&#x27;t work")
        self.assertIsNotNone(self.flag())
        self.assertFalse(TOTPDevice.objects.filter(user=self.user, confirmed=True).exists())
        self.assert_not_signed_in()

    def test_correct_code_clears_the_flag_and_finishes_the_sign_in(self):
        device = self.begin_totp()
        with self.assertLogs("authsite.events", "INFO") as logs:
            response = self.client.post(ENROLL_TOTP, {"code": otp.totp(device.bin_key, timezone.now())})
        # Signed in, sent to the Security page where recovery codes are offered.
        self.assertRedirects(response, "/account/security/", fetch_redirect_response=False)
        self.assertEqual(self.client.session[SESSION_KEY], str(self.user.pk))
        self.assertEqual(self.client.session[DEVICE_ID_SESSION_KEY], device.persistent_id)
        self.assertIsNone(self.flag())
        device.refresh_from_db()
        self.assertTrue(device.confirmed)
        names = [r.getMessage() for r in logs.records]
        self.assertIn("authn_mfa_enrolled", names)
        self.assertIn("authn_mfa_enrol_completed", names)
        self.assertLess(names.index("authn_mfa_enrol_completed"), names.index("authn_login_success"))
        self.assertTrue(any("a sign-in method was added" in m.subject for m in mail.outbox))
        security = self.client.get("/account/security/")
        self.assertContains(security, "Make recovery codes")
        self.assertContains(security, "in case you lose it too")

        # The next sign-in asks for the new factor and nothing more (plain MFA: always asked).
        self.client.post("/logout/")
        with self.settings(LOGIN_STAGES=SHIPPED_STAGES[1:]):
            self.assertRedirects(self.password(), CHALLENGE, fetch_redirect_response=False)
            later = timezone.now() + timedelta(seconds=30)
            with mock.patch("authsite.core.clock.now", return_value=later):
                done = self.client.post(
                    CHALLENGE, {"device": device.persistent_id, "code": otp.totp(device.bin_key, later)}
                )
        self.assertRedirects(done, "/", fetch_redirect_response=False)
        self.assertEqual(self.client.session[SESSION_KEY], str(self.user.pk))

    def test_a_passkey_also_satisfies_it(self):
        self.assertRedirects(self.pass_email_challenge(), ENROLL, fetch_redirect_response=False)
        authenticator = SoftAuthenticator()
        options = self.client.post(
            "/login/enroll/webauthn/begin/", {"passkey": True}, content_type="application/json"
        ).json()
        credential = authenticator.register(options)
        response = self.client.post(
            "/login/enroll/webauthn/complete/",
            json.dumps({"credential": credential, "name": "Laptop"}),
            content_type="application/json",
        )
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.json()["redirect"], "/account/security/")
        self.assertEqual(self.client.session[SESSION_KEY], str(self.user.pk))
        self.assertIsNone(self.flag())
        self.assertEqual(WebAuthnCredential.objects.get(user=self.user).name, "Laptop")

    def test_a_refused_passkey_keeps_the_flag(self):
        self.assertRedirects(self.pass_email_challenge(), ENROLL, fetch_redirect_response=False)
        options = self.client.post(
            "/login/enroll/webauthn/begin/", {"passkey": True}, content_type="application/json"
        ).json()
        credential = SoftAuthenticator().register(options, origin="https://evil.example")
        response = self.client.post(
            "/login/enroll/webauthn/complete/", json.dumps({"credential": credential}), content_type="application/json"
        )
        self.assertEqual(response.status_code, 400)
        self.assertIsNotNone(self.flag())
        self.assertFalse(WebAuthnCredential.objects.filter(user=self.user).exists())
        self.assert_not_signed_in()

    def test_an_abandoned_or_expired_enrollment_leaves_no_half_state(self):
        abandoned = self.begin_totp()
        # The pending login runs out while the QR code is on screen.
        later = timezone.now() + timedelta(seconds=settings.LOGIN_PENDING_TIMEOUT + 1)
        with mock.patch("authsite.core.clock.now", return_value=later):
            code = otp.totp(abandoned.bin_key, later)
            response = self.client.post(ENROLL_TOTP, {"code": code})
        self.assertRedirects(response, LOGIN, fetch_redirect_response=False)
        abandoned.refresh_from_db()
        self.assertFalse(abandoned.confirmed)
        self.assertIsNotNone(self.flag())
        self.assertFalse(user_has_factor(self.user, minimum="strong"))
        self.assert_not_signed_in()
        # The next sign-in (another browser) asks again; the unconfirmed device is no factor.
        other = Client()
        # (After the 60 s cooldown of email codes.)
        with mock.patch("authsite.core.clock.now", return_value=timezone.now() + timedelta(seconds=61)):
            self.assertRedirects(self.pass_email_challenge(other), ENROLL, fetch_redirect_response=False)
        self.assert_not_signed_in(other)

    def test_setting_up_gets_the_pending_login_time_afresh(self):
        # Password and email code take 9 of the pending login's 10 minutes; installing an app
        # and confirming it take 9 more. The clock restarts once, when enrollment begins.
        start = timezone.now()

        def minutes(n: float):
            return mock.patch("authsite.core.clock.now", return_value=start + timedelta(minutes=n))

        with minutes(0):
            self.assertRedirects(self.password(), CHALLENGE, fetch_redirect_response=False)
            device = EmailDevice.objects.get(user=self.user, confirmed=True)
            self.client.post(CHALLENGE, {"device": device.persistent_id, "action": "send"})
        code = last_code(mail.outbox[-1].body)
        with minutes(9):
            response = self.client.post(CHALLENGE, {"device": device.persistent_id, "action": "verify", "code": code})
            self.assertRedirects(response, ENROLL, fetch_redirect_response=False)
            self.client.post("/login/enroll/totp/begin/")
        totp = TOTPDevice.objects.get(user=self.user, confirmed=False)
        with minutes(18):
            response = self.client.post(ENROLL_TOTP, {"code": otp.totp(totp.bin_key, start + timedelta(minutes=18))})
        self.assertRedirects(response, "/account/security/", fetch_redirect_response=False)
        self.assertIsNone(self.flag())
        # Once only: the enrollment's own ten minutes run out like any other pending login.
        self.client.post("/logout/")
        account_mfa_reset(user=self.user, by=None)
        with minutes(30):
            self.assertRedirects(self.pass_email_challenge(), ENROLL, fetch_redirect_response=False)
        with minutes(40.1):
            self.assertRedirects(self.client.get(ENROLL), LOGIN, fetch_redirect_response=False)

    def test_enrollment_pages_need_a_pending_login_at_that_stage(self):
        for method, url in (("get", ENROLL), ("get", ENROLL_TOTP), ("post", "/login/enroll/totp/begin/")):
            with self.subTest(url=url):
                response = getattr(Client(), method)(url)
                self.assertRedirects(response, LOGIN, fetch_redirect_response=False)
        self.assertFalse(TOTPDevice.objects.filter(user=self.user).exists())

    def test_enrollment_needs_csrf(self):
        client = Client(enforce_csrf_checks=True)
        for url in ("/login/enroll/totp/begin/", "/login/enroll/webauthn/begin/", "/login/enroll/webauthn/complete/"):
            with self.subTest(url=url):
                self.assertEqual(client.post(url).status_code, 403)


@override_settings(LOGIN_STAGES=SHIPPED_STAGES)
class EnrollNotRequiredTests(CacheClearingTestCase):
    def test_user_without_the_flag_is_unaffected(self):
        user = make_user("carol@example.com")
        response = self.client.post("/login/", {"email": user.email, "password": PASSWORD})
        self.assertRedirects(response, "/", fetch_redirect_response=False)
        self.assertEqual(self.client.session[SESSION_KEY], str(user.pk))
        self.assertIsNone(User.objects.get(pk=user.pk).mfa_enrol_required_at)

    def test_adding_an_app_on_the_security_page_also_clears_the_flag(self):
        user = make_user("dave@example.com", mfa_enrol_required_at=timezone.now())
        enrollment = factor_enroll_totp_begin(user=user)

        code = otp.totp(enrollment.device.bin_key, timezone.now())
        wrong = factor_enroll_totp_confirm(
            user=user, device_id=enrollment.device.persistent_id, token=f"{(int(code) + 1) % 1000000:06d}"
        )
        self.assertFalse(wrong.ok)
        self.assertIsNotNone(User.objects.get(pk=user.pk).mfa_enrol_required_at)
        # (After the one-second back-off of the failure.)
        with mock.patch("authsite.core.clock.now", return_value=timezone.now() + timedelta(seconds=2)):
            ok = factor_enroll_totp_confirm(user=user, device_id=enrollment.device.persistent_id, token=code)
        self.assertTrue(ok.ok)
        self.assertIsNone(User.objects.get(pk=user.pk).mfa_enrol_required_at)
