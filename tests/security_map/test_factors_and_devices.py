"""Remembered-device tokens, what the sign-in pages reveal, reset and expiry."""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import timedelta
from unittest import mock

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.core import mail
from django.http import HttpResponse
from django.test import override_settings
from django.utils import timezone

from factors import services
from factors.models import SMSDevice
from risk.device import COOKIE_NAME as DEVICE_COOKIE
from risk.device import device_cookie_set
from risk.models import TrustedDevice
from risk.trust import COOKIE_NAME, trusted_device_for, trusted_device_remember, trusted_devices_revoke
from tests.base import BrowserClient as Client
from tests.base import BrowserRequestFactory as RequestFactory
from tests.base import TestCase
from tests.helpers import PASSWORD, CacheClearingTestCase, make_user

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
DEVICE_ID = "firefox-on-linux-0001"


class TrustedDeviceTokenTests(TestCase):
    """Remember-this-device: random >= 128-bit token, stored hashed, user-bound, expiring, revocable."""

    def setUp(self):
        self.user = make_user()
        self.other = make_user("bob@example.com")
        self.response = HttpResponse()
        self.device = trusted_device_remember(
            self.response, user=self.user, label="Firefox on Linux", user_agent=FIREFOX, device_id=DEVICE_ID
        )
        device_cookie_set(self.response, DEVICE_ID)
        self.cookie = self.response.cookies[COOKIE_NAME]

    def request(self):
        request = RequestFactory().get("/", HTTP_USER_AGENT=FIREFOX)
        request.COOKIES[COOKIE_NAME] = self.cookie.value
        request.COOKIES[DEVICE_COOKIE] = self.response.cookies[DEVICE_COOKIE].value
        return request

    def test_token_is_at_least_128_random_bits_and_only_its_hash_is_stored(self):
        token = self.cookie.value
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        self.assertGreaterEqual(len(raw) * 8, 128)
        stored = TrustedDevice.objects.get(pk=self.device.pk)
        self.assertEqual(stored.token_hash, hashlib.sha256(token.encode()).hexdigest())
        for field in ("token_hash", "binding", "label"):
            self.assertNotIn(token, getattr(stored, field))
        second = trusted_device_remember(
            HttpResponse(), user=self.user, label="x", user_agent=FIREFOX, device_id="x" * 16
        )
        self.assertNotEqual(second.token_hash, stored.token_hash)

    def test_cookie_is_httponly_samesite_and_secure_like_the_session_cookie(self):
        self.assertTrue(self.cookie["httponly"])
        self.assertEqual(self.cookie["samesite"], "Lax")
        self.assertEqual(bool(self.cookie["secure"]), settings.SESSION_COOKIE_SECURE)
        self.assertEqual(int(self.cookie["max-age"]), settings.RISK_TRUSTED_DEVICE_DAYS * 24 * 3600)

    def test_bound_to_its_user(self):
        self.assertEqual(trusted_device_for(self.request(), self.user), self.device)
        self.assertIsNone(trusted_device_for(self.request(), self.other))

    def test_expires(self):
        later = timezone.now() + timedelta(days=settings.RISK_TRUSTED_DEVICE_DAYS, seconds=1)
        with mock.patch("authsite.core.clock.now", return_value=later):
            self.assertIsNone(trusted_device_for(self.request(), self.user))

    def test_revocable(self):
        self.assertEqual(trusted_devices_revoke(user=self.user, device_id=self.device.pk), 1)
        self.assertIsNone(trusted_device_for(self.request(), self.user))


@override_settings(FACTORS_SMS_BACKEND="locmem")
class FactorsNotRevealedBeforePasswordTests(CacheClearingTestCase):
    """Nothing tells which factors an account has before its password is verified."""

    def test_wrong_password_page_is_the_same_with_and_without_factors(self):
        strong = make_user("aaaaa@example.com")
        services.factor_enroll_totp_begin(user=strong, name="Phone app").device.__class__.objects.filter(
            user=strong
        ).update(confirmed=True)
        SMSDevice.objects.create(
            user=strong, name="Phone", phone_number="+447911123456", calling_code=44, confirmed=True
        )
        make_user("bbbbb@example.com")
        bodies = []
        for email in ("aaaaa@example.com", "bbbbb@example.com", "nobody@example.com"):
            response = Client().post("/login/", {"email": email, "password": "not the password"})
            self.assertEqual(response.status_code, 200)
            body = response.content.decode().replace(email, "EMAIL")
            body = re.sub(r'(name="csrfmiddlewaretoken" value|name="csrf-token" content)="[^"]+"', "", body)
            bodies.append(re.sub(r"[0-9a-f]{32}", "", body))
            self.assertNotIn("/login/verify/", body)
        self.assertEqual(bodies[0], bodies[1])
        self.assertEqual(bodies[0], bodies[2])
        for word in ("authenticator", "Phone app", "text message", "7911", "security key"):
            self.assertNotIn(word, bodies[0])


@override_settings(LOGIN_STAGES=["factors.stages.ChallengeStage"])
class ResetKeepsTheSecondFactorTests(CacheClearingTestCase):
    """ASVS 6.4.3: a password reset does not remove or skip the enrolled second factor."""

    def test_after_a_reset_the_new_password_alone_does_not_sign_in(self):
        user = make_user()
        enrollment = services.factor_enroll_totp_begin(user=user, name="Phone app")
        enrollment.device.confirmed = True
        enrollment.device.save()
        self.client.post("/password/reset/", {"email": user.email})
        link = re.search(r"http://testserver(/password/reset/[^/\s]+/[^/\s]+/)", mail.outbox[-1].body).group(1)
        form_page = self.client.get(link, follow=True)
        new = "a brand new passphrase"
        response = self.client.post(form_page.redirect_chain[-1][0], {"new_password1": new, "new_password2": new})
        self.assertRedirects(response, "/password/reset/complete/")
        self.assertNotIn(SESSION_KEY, self.client.session)
        self.assertTrue(type(enrollment.device).objects.filter(pk=enrollment.device.pk, confirmed=True).exists())
        client = Client()
        response = client.post("/login/", {"email": user.email, "password": new})
        self.assertRedirects(response, "/login/verify/", fetch_redirect_response=False)
        self.assertNotIn(SESSION_KEY, client.session)


class NoPeriodicExpiryTests(CacheClearingTestCase):
    """ASVS 6.2.10: a password set years ago is not forced to change."""

    def test_an_old_password_still_signs_in_without_a_change_prompt(self):
        years_ago = timezone.now() - timedelta(days=3 * 365)
        make_user(date_joined=years_ago, last_login=years_ago - timedelta(days=1))
        response = self.client.post("/login/", {"email": "alice@example.com", "password": PASSWORD})
        self.assertEqual(response.status_code, 302)
        self.assertNotIn("/password/change/", response["Location"])
        self.assertFalse([name for name in dir(settings) if "PASSWORD" in name and ("AGE" in name or "EXPIR" in name)])
