"""Downgrade from a phishing-resistant factor, recovery-flow bypass, CSRF on factor changes, clickjacking."""

from __future__ import annotations

import re

from django.contrib.auth import SESSION_KEY
from django.core import mail
from django.test import override_settings
from django.utils import timezone

from factors import otp
from factors.models import SMSDevice, TOTPDevice, WebAuthnCredential
from factors.registry import Strength
from factors.sms.backends.locmem import outbox as sms_outbox
from factors.stepup import factor_reauth_mark
from tests.base import BrowserClient as Client
from tests.helpers import PASSWORD, CacheClearingTestCase, force_login_verified, make_user, totp_device
from tests.security.base import (
    CHALLENGE,
    LAPTOP,
    OSLO,
    OSLO_2,
    AdaptiveFlowTestCase,
    client_for,
    learn_history,
)

PLAIN_MFA = ["factors.stages.ChallengeStage"]
NEW_PASSWORD = "a brand new passphrase 7"


@override_settings(FACTORS_SMS_BACKEND="locmem", LOGIN_STAGES=PLAIN_MFA)
class DowngradeTests(CacheClearingTestCase):
    def test_sms_and_totp_answers_are_refused_when_a_security_key_is_required(self):
        user = make_user()
        totp, key = totp_device(user)
        sms = SMSDevice.objects.create(
            user=user, name="Mobile", phone_number="+4791234567", calling_code=47, confirmed=True,
            verified_at=timezone.now(),
        )  # fmt: skip
        WebAuthnCredential.objects.create(
            user=user, name="YubiKey", credential_id=b"\x01" * 16, credential_data=b"x", confirmed=True
        )
        sms_outbox.clear()
        self.addCleanup(sms_outbox.clear)
        self.client.post("/login/", {"email": user.email, "password": PASSWORD})
        session = self.client.session
        session["pending_login"]["stage_state"]["challenge"]["minimum"] = "phishing_resistant"
        session.save()

        self.client.post(CHALLENGE, {"device": sms.persistent_id, "action": "send"})
        self.assertEqual(sms_outbox, [], "no text is sent for a method the sign-in does not allow")
        for device, code in ((totp, otp.totp(key, timezone.now())), (sms, "123456")):
            response = self.client.post(CHALLENGE, {"device": device.persistent_id, "action": "verify", "code": code})
            self.assertNotEqual(response.get("Location"), "/")
            self.assertNotIn(SESSION_KEY, self.client.session)
        self.assertEqual(TOTPDevice.objects.get(pk=totp.pk).last_t, totp.last_t, "the TOTP code was not consumed")


class RecoveryBypassTests(AdaptiveFlowTestCase):
    def reset_password(self, user) -> None:
        client = Client()
        client.post("/password/reset/", {"email": user.email})
        link = re.search(r"http://testserver(/password/reset/\S+/)", mail.outbox[-1].body).group(1)
        form_url = client.get(link)["Location"]
        done = client.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
        self.assertRedirects(done, "/password/reset/complete/", fetch_redirect_response=False)
        self.assertNotIn(SESSION_KEY, client.session, "a reset never signs anyone in")

    def test_plain_mfa_stages_still_challenge_after_a_reset(self):
        user = make_user()
        totp_device(user)
        self.reset_password(user)
        with override_settings(LOGIN_STAGES=PLAIN_MFA):
            client = Client()
            response = client.post("/login/", {"email": user.email, "password": NEW_PASSWORD})
        self.assertRedirects(response, CHALLENGE, fetch_redirect_response=False)
        self.assertNotIn(SESSION_KEY, client.session)

    def test_strict_mode_still_challenges_after_a_reset_even_on_the_usual_laptop(self):
        user = make_user()
        totp_device(user)
        learn_history(user, ip=OSLO, ua=LAPTOP, device="known-laptop-device-0001")
        self.reset_password(user)
        with override_settings(RISK_MODE="strict"):
            client = client_for(OSLO_2, LAPTOP, "known-laptop-device-0001")
            response = client.post("/login/", {"email": user.email, "password": NEW_PASSWORD})
        self.assertRedirects(response, CHALLENGE, fetch_redirect_response=False)
        self.assertNotIn(SESSION_KEY, client.session)


@override_settings(FACTORS_SMS_BACKEND="locmem")
class CsrfOnFactorChangesTests(CacheClearingTestCase):
    def test_every_enrollment_and_removal_endpoint_refuses_a_cross_site_post(self):
        user = make_user()
        device, _ = totp_device(user)
        client = Client(enforce_csrf_checks=True)
        force_login_verified(client, user)
        session = client.session
        factor_reauth_mark(session, Strength.PHISHING_RESISTANT)
        session.save()
        sms_outbox.clear()
        self.addCleanup(sms_outbox.clear)
        before = sorted((type(d).__name__, d.pk) for d in [*TOTPDevice.objects.all(), *SMSDevice.objects.all()])
        posts = {
            "/account/security/totp/": {},
            "/account/security/totp/confirm/": {"code": "123456"},
            "/account/security/email/": {},
            "/account/security/sms/": {"phone_number": "+4791234567"},
            "/account/security/code/confirm/": {"code": "123456"},
            "/account/security/recovery/": {},
            "/account/security/rename/": {"device": device.persistent_id, "name": "pwned"},
            "/account/security/remove/": {"device": device.persistent_id},
            "/account/security/preferred/": {"device": device.persistent_id},
            "/account/security/webauthn/begin/": {},
            "/account/security/webauthn/complete/": {},
            "/account/security/devices/forget/": {},
            "/account/security/sessions/end-others/": {},
            "/password/change/": {
                "old_password": PASSWORD,
                "new_password1": NEW_PASSWORD,
                "new_password2": NEW_PASSWORD,
            },
        }
        for path, data in posts.items():
            with self.subTest(path=path):
                self.assertEqual(client.post(path, data).status_code, 403)
        after = sorted((type(d).__name__, d.pk) for d in [*TOTPDevice.objects.all(), *SMSDevice.objects.all()])
        self.assertEqual(before, after)
        device.refresh_from_db()
        self.assertEqual(device.name, "Phone app")
        self.assertEqual(sms_outbox, [])
        self.assertEqual(mail.outbox, [])
        self.assertTrue(client.get("/account/security/").wsgi_request.user.check_password(PASSWORD))


class ClickjackingTests(CacheClearingTestCase):
    PUBLIC = [
        "/",
        "/login/",
        "/signup/",
        "/signup/done/",
        "/password/reset/",
        "/password/reset/done/",
        "/password/reset/MQ/bad-token/",
        "/password/reset/complete/",
        "/login/verify/",
        "/demo/",
        "/admin/login/",
        "/no-such-page/",
    ]
    SIGNED_IN = [
        "/account/security/",
        "/account/setup/",
        "/account/activity/",
        "/account/reauthenticate/",
        "/account/reauthenticate/factor/",
        "/account/security/sms/",
        "/account/security/totp/confirm/",
        "/account/security/code/confirm/",
        "/password/change/",
        "/password/change/done/",
    ]

    def assert_unframeable(self, response, path: str) -> None:
        self.assertEqual(response.get("X-Frame-Options"), "DENY", path)
        self.assertIn("frame-ancestors 'none'", response.get("Content-Security-Policy", ""), path)

    def test_every_page_refuses_to_be_framed(self):
        for path in self.PUBLIC:
            with self.subTest(path=path):
                self.assert_unframeable(Client().get(path), path)
        user = make_user()
        client = Client()
        force_login_verified(client, user)
        for path in self.SIGNED_IN:
            with self.subTest(path=path):
                self.assert_unframeable(client.get(path), path)
