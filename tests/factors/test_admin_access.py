"""Staff and the admin (MFA_REQUIRED_FOR_STAFF): only an app, passkey or security key opens it,
and staff who signed in without one are asked for it in the same session.

Also the account-address fallback: it answers a challenge for a user without a factor, and is
never one of the user's factors."""

from __future__ import annotations

import re

from django.conf import settings
from django.core import mail
from django.test import override_settings
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY

from authsite.center.account_admin import account_mfa_status
from factors import otp, services
from factors.models import EmailDevice, RecoveryCodeDevice, WebAuthnCredential
from factors.registry import Strength
from factors.stepup import SESSION_FACTOR, factor_reauth_mark
from tests.base import BrowserClient as Client
from tests.factors.test_views import email_device, sms_device
from tests.helpers import PASSWORD, CacheClearingTestCase, DemoGeoLoginTestCase, make_user, totp_device
from tests.risk.test_login_flow import DEVICE, LAPTOP, OSLO, client_for, learn_history

STEP_UP = "/account/reauthenticate/admin/"
ADMIN_TITLE = "Site administration"


def verified_with(client: Client, user, device) -> None:
    """Sign ``user`` in on ``client`` with a session verified by ``device``."""
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()


def webauthn_credential(user) -> WebAuthnCredential:
    return WebAuthnCredential.objects.create(
        user=user, name="YubiKey", credential_id=b"key-" + str(user.pk).encode(), credential_data=b"-", confirmed=True
    )


class StaffStrengthTests(CacheClearingTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.staff = make_user("staff@example.com", is_staff=True, is_superuser=True)

    def test_email_text_and_recovery_codes_do_not_open_the_admin(self):
        fallback = services.factor_account_email_device(user=self.staff)
        recovery = RecoveryCodeDevice.objects.create(user=self.staff, name="Recovery codes", confirmed=True)
        for device in (fallback, email_device(self.staff), sms_device(self.staff), recovery):
            with self.subTest(kind=device.factor_kind, name=device.name):
                client = Client()
                verified_with(client, self.staff, device)
                self.assertTrue(client.get("/").wsgi_request.user.is_verified())
                page = client.get("/admin/", follow=True)
                self.assertEqual(page.status_code, 403)
                self.assertNotContains(page, ADMIN_TITLE, status_code=403)
                self.assertContains(page, "Email and text-message codes don't count", status_code=403)
                self.assertEqual(client.get("/admin/accounts/user/").status_code, 302)

    def test_an_app_a_passkey_or_a_security_key_opens_the_admin(self):
        for device in (totp_device(self.staff)[0], webauthn_credential(self.staff)):
            with self.subTest(kind=device.factor_kind):
                client = Client()
                verified_with(client, self.staff, device)
                self.assertContains(client.get("/admin/"), ADMIN_TITLE)

    def test_the_admin_step_up_keeps_a_stronger_recent_proof(self):
        device, key = totp_device(self.staff)
        self.client.force_login(self.staff)
        session = self.client.session
        factor_reauth_mark(session, Strength.PHISHING_RESISTANT)
        session.save()
        code = otp.totp(key, timezone.now())
        self.client.post(STEP_UP, {"device": device.persistent_id, "code": code, "next": "/admin/"})
        self.assertEqual(self.client.session[SESSION_FACTOR]["level"], Strength.PHISHING_RESISTANT)
        self.assertEqual(self.client.session[DEVICE_ID_SESSION_KEY], device.persistent_id)

    def test_a_disabled_device_no_longer_opens_the_admin(self):
        device, _ = totp_device(self.staff)
        verified_with(self.client, self.staff, device)
        device.confirmed = False
        device.save(update_fields=["confirmed"])
        self.assertEqual(self.client.get("/admin/").status_code, 302)

    def test_staff_with_a_strong_factor_are_asked_for_it_not_turned_away(self):
        totp = totp_device(self.staff, name="Work phone")[0]
        sms_device(self.staff)
        self.client.force_login(self.staff)  # a sign-in the password alone was enough for
        page = self.client.get("/admin/accounts/user/", follow=True)
        self.assertEqual(page.redirect_chain[-1][0], f"{STEP_UP}?next=%2Fadmin%2Faccounts%2Fuser%2F")
        self.assertContains(page, "The admin needs a passkey, a security key or an authenticator app.")
        self.assertContains(page, "Work phone")
        # Only factors strong enough for the admin are offered.
        self.assertNotContains(page, "Mobile")
        wrong = self.client.post(
            f"{STEP_UP}?next=/admin/accounts/user/",
            {"device": totp.persistent_id, "code": "abc", "next": "/admin/accounts/user/"},
        )
        self.assertEqual(wrong.status_code, 200)
        self.assertEqual(self.client.get("/admin/").status_code, 302)


class StaffSignInTests(DemoGeoLoginTestCase):
    """The two sign-ins of the walk-through, through the real stages."""

    def test_a_new_superuser_without_a_factor_passes_an_emailed_code_but_not_into_the_admin(self):
        # As `manage.py createsuperuser` makes it: never signed in, address never confirmed, no factor.
        staff = make_user("root@example.com", is_staff=True, is_superuser=True, last_login=None, email_verified_at=None)
        client = client_for(OSLO, LAPTOP)
        response = client.post("/login/?next=/admin/", {"email": staff.email, "password": PASSWORD, "next": "/admin/"})
        self.assertRedirects(response, "/login/verify/", fetch_redirect_response=False)
        page = client.get("/login/verify/")
        self.assertContains(page, "Email me a code")
        device = page.context["device"]
        client.post("/login/verify/", {"device": device.persistent_id, "action": "send"})
        code = re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)
        signed_in = client.post(
            "/login/verify/", {"device": device.persistent_id, "action": "verify", "code": code}, follow=True
        )
        # Signed in, but the admin says what it needs instead of opening.
        self.assertTrue(signed_in.wsgi_request.user.is_authenticated)
        self.assertEqual(signed_in.status_code, 403)
        self.assertNotContains(signed_in, ADMIN_TITLE, status_code=403)
        self.assertContains(signed_in, "Go to the Security page", status_code=403)
        # The code sent to the account address is not a factor the user added.
        self.assertEqual(services.user_factors(staff), [])
        self.assertNotContains(client.get("/account/security/"), "Email to your account address")

    def test_staff_allowed_in_on_the_password_step_up_with_their_app_and_reach_the_admin(self):
        staff = make_user("ops@example.com", is_staff=True, is_superuser=True)
        device, key = totp_device(staff)
        learn_history(staff, device=DEVICE)
        client = client_for(OSLO, LAPTOP, DEVICE)
        response = client.post("/login/", {"email": staff.email, "password": PASSWORD, "next": "/admin/"})
        self.assertRedirects(response, "/admin/", fetch_redirect_response=False)  # low risk: no challenge
        page = client.get("/admin/", follow=True)
        self.assertEqual(page.redirect_chain[-1][0], f"{STEP_UP}?next=%2Fadmin%2F")
        self.assertContains(page, "6-digit code from your authenticator app")
        passed = client.post(
            f"{STEP_UP}?next=%2Fadmin%2F",
            {"device": device.persistent_id, "code": otp.totp(key, timezone.now()), "next": "/admin/"},
        )
        self.assertRedirects(passed, "/admin/", fetch_redirect_response=False)
        self.assertContains(client.get("/admin/"), ADMIN_TITLE)

    def test_the_admin_step_up_renews_the_session_key(self):
        """A step-up raises what the session may do: its key changes, as at sign-in (OWASP ASVS 7.2.4)."""
        staff = make_user("ops@example.com", is_staff=True, is_superuser=True)
        device, key = totp_device(staff)
        client = client_for(OSLO, LAPTOP, DEVICE)
        client.force_login(staff)
        before = client.cookies[settings.SESSION_COOKIE_NAME].value
        passed = client.post(STEP_UP, {"device": device.persistent_id, "code": otp.totp(key, timezone.now())})
        self.assertEqual(passed.status_code, 302)
        after = client.cookies[settings.SESSION_COOKIE_NAME].value
        self.assertNotEqual(before, after)
        self.assertContains(client.get("/admin/"), ADMIN_TITLE)
        old = Client()
        old.cookies[settings.SESSION_COOKIE_NAME] = before
        self.assertNotEqual(old.get("/admin/").status_code, 200, "the old key no longer opens anything")


@override_settings(LOGIN_STAGES=["factors.stages.ChallengeStage"])
class AccountFallbackTests(CacheClearingTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.user = make_user()
        self.fallback = services.factor_account_email_device(user=self.user)

    def test_the_fallback_is_not_a_factor(self):
        self.assertEqual(services.user_factors(self.user), [])
        self.assertFalse(services.user_has_factor(self.user))
        self.assertEqual(account_mfa_status(user=self.user, events_limit=0)["factors"], [])
        # Plain MFA asks users with a factor; this user has none, so the password is enough.
        response = self.client.post("/login/", {"email": self.user.email, "password": PASSWORD})
        self.assertRedirects(response, "/", fetch_redirect_response=False)
        page = self.client.get("/account/security/")
        self.assertNotContains(page, "Email to your account address")
        self.assertContains(page, "Add a second way to sign in")

    def test_the_fallback_is_not_listed_in_the_admin(self):
        staff = make_user("staff@example.com", is_staff=True, is_superuser=True)
        verified_with(self.client, staff, totp_device(staff)[0])
        user_page = self.client.get(f"/admin/accounts/user/{self.user.pk}/change/")
        self.assertEqual(user_page.status_code, 200)
        self.assertNotContains(user_page, "Email to your account address")
        devices = self.client.get("/admin/factors/emaildevice/")
        self.assertNotContains(devices, "Email to your account address")
        self.assertEqual(self.client.get(f"/admin/factors/emaildevice/{self.fallback.pk}/change/").status_code, 302)

    def test_the_fallback_cannot_be_managed_as_a_factor(self):
        for change in (
            lambda: services.factor_rename(user=self.user, device_id=self.fallback.persistent_id, name="Mine"),
            lambda: services.factor_set_preferred(user=self.user, device_id=self.fallback.persistent_id),
            lambda: services.factor_remove(user=self.user, device_id=self.fallback.persistent_id),
        ):
            with self.assertRaisesMessage(ValueError, services.NO_SUCH_DEVICE):
                change()
        self.fallback.refresh_from_db()
        self.assertEqual((self.fallback.name, self.fallback.preferred), ("Email to your account address", False))

    def test_the_fallback_follows_the_account_address(self):
        self.user.email = "new@example.com"
        self.user.save()
        again = services.factor_account_email_device(user=self.user)
        self.assertEqual((again.pk, again.email), (self.fallback.pk, "new@example.com"))
        self.assertEqual(EmailDevice.objects.filter(user=self.user).count(), 1)

    def test_the_fallback_answers_a_challenge_only_while_the_user_has_no_factor(self):
        self.assertEqual(services.user_challenge_devices(self.user), [self.fallback])
        device, _ = totp_device(self.user)
        self.assertEqual(services.user_challenge_devices(self.user), [device])
        self.client.post("/login/", {"email": self.user.email, "password": PASSWORD})
        offered = self.client.get("/login/verify/")
        self.assertNotContains(offered, "Email to your account address")
        refused = self.client.post(
            "/login/verify/", {"device": self.fallback.persistent_id, "action": "send"}, follow=True
        )
        self.assertContains(refused, "isn&#x27;t available for this sign-in")
        self.assertEqual(mail.outbox, [])
