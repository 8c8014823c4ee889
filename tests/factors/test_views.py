"""The factor pages: challenge stage, enrollment, management, re-authentication, admin MFA."""

from __future__ import annotations

import re
from datetime import timedelta
from unittest import mock

import pyotp
from django.contrib.auth import SESSION_KEY
from django.core import mail
from django.test import override_settings
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY

from factors import otp, services
from factors.models import EmailDevice, SMSDevice, TOTPDevice, WebAuthnCredential
from factors.registry import Strength
from factors.sms.backends.locmem import outbox as sms_outbox
from factors.sms.base import BaseSmsBackend, SmsDeliveryError
from factors.stepup import factor_reauth_mark
from tests.base import BrowserClient as Client
from tests.factors.base import wrong_code
from tests.helpers import PASSWORD, CacheClearingTestCase, force_login_verified, make_user, totp_device

CHALLENGE = "/login/verify/"


def code_at(key: bytes, seconds_from_now: int = 0) -> str:
    return otp.totp(key, timezone.now() + timedelta(seconds=seconds_from_now))


def email_device(user, **extra) -> EmailDevice:
    return EmailDevice.objects.create(user=user, name="Work email", email=user.email, confirmed=True, **extra)


def sms_device(user, number="+4791234567") -> SMSDevice:
    return SMSDevice.objects.create(
        user=user, name="Mobile", phone_number=number, calling_code=47, confirmed=True, verified_at=timezone.now()
    )


def last_code(message_body: str) -> str:
    return re.search(r"\b(\d{6})\b", message_body).group(1)


# Plain MFA (no risk stage): the challenge stage's own rules; tests/risk covers the adaptive flow.
@override_settings(FACTORS_SMS_BACKEND="locmem", LOGIN_STAGES=["factors.stages.ChallengeStage"])
class ChallengeStageTests(CacheClearingTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.user = make_user()
        sms_outbox.clear()

    def password(self, client: Client | None = None):
        return (client or self.client).post("/login/", {"email": self.user.email, "password": PASSWORD})

    def test_user_without_factor_is_not_challenged(self):
        self.assertRedirects(self.password(), "/", fetch_redirect_response=False)

    def test_first_sign_in_without_factor_is_offered_setup(self):
        self.user.last_login = None
        self.user.save()
        self.assertRedirects(self.password(), "/account/setup/", fetch_redirect_response=False)
        page = self.client.get("/account/setup/")
        self.assertContains(page, "Add a passkey")
        self.assertContains(page, "Skip for now")

    def test_user_with_a_factor_is_challenged_and_not_signed_in_yet(self):
        totp_device(self.user)
        self.assertRedirects(self.password(), CHALLENGE, fetch_redirect_response=False)
        self.assertNotIn(SESSION_KEY, self.client.session)
        with self.assertLogs("authsite.events") as logs:
            page = self.client.get(CHALLENGE)
        self.assertContains(page, "6-digit code from your authenticator app")
        self.assertIn("authn_mfa_challenge", "".join(logs.output))

    def test_totp_challenge_signs_in_verified_and_the_code_works_once(self):
        device, key = totp_device(self.user)
        self.password()
        response = self.client.post(
            CHALLENGE, {"device": device.persistent_id, "action": "verify", "code": code_at(key)}
        )
        self.assertRedirects(response, "/", fetch_redirect_response=False)
        self.assertEqual(self.client.session[SESSION_KEY], str(self.user.pk))
        self.assertEqual(self.client.session[DEVICE_ID_SESSION_KEY], device.persistent_id)
        self.assertTrue(self.client.get("/").wsgi_request.user.is_verified())
        # The same code in a second sign-in is a replay.
        other = Client()
        self.password(other)
        again = other.post(CHALLENGE, {"device": device.persistent_id, "action": "verify", "code": code_at(key)})
        self.assertContains(again, "already used")
        self.assertNotIn(SESSION_KEY, other.session)

    def test_wrong_code_keeps_the_user_out_with_a_clear_error(self):
        device, _ = totp_device(self.user)
        self.password()
        response = self.client.post(CHALLENGE, {"device": device.persistent_id, "action": "verify", "code": "000000"})
        self.assertContains(response, "That code didn&#x27;t work")
        self.assertContains(response, 'aria-invalid="true"')
        # The keyboard focus is back in the code field, where the error is.
        self.assertRegex(response.content.decode(), r'<input[^>]*name="code"[^>]*autofocus')
        self.assertNotIn(SESSION_KEY, self.client.session)

    def test_failures_throttle_the_device_across_pending_logins(self):
        device, key = totp_device(self.user)
        for _ in range(3):
            client = Client()
            self.password(client)
            client.post(CHALLENGE, {"device": device.persistent_id, "action": "verify", "code": "000000"})
        self.password()
        response = self.client.post(
            CHALLENGE, {"device": device.persistent_id, "action": "verify", "code": code_at(key)}
        )
        self.assertContains(response, "Too many wrong codes")
        self.assertNotIn(SESSION_KEY, self.client.session)

    def test_page_lists_only_usable_factors_strongest_first_with_preferred_preselected(self):
        authy, _ = totp_device(self.user, name="Authy")
        email = email_device(self.user, preferred=True)
        SMSDevice.objects.create(user=self.user, name="Unverified phone", phone_number="+4790000000", calling_code=47)
        stranger = make_user("mallory@example.com")
        totp_device(stranger, name="Mallory app")
        self.password()
        page = self.client.get(CHALLENGE).content.decode()
        self.assertIn("Work email", page.split("Try another way")[0])  # preselected
        self.assertIn("Authy", page.split("Try another way")[1])
        self.assertNotIn("Unverified phone", page)
        self.assertNotIn("Mallory app", page)
        self.assertIn(f"?method={authy.persistent_id.replace('/', '%2F')}", page)
        self.assertEqual(email.persistent_id, re.search(r'name="device" value="([^"]+)"', page).group(1))

    def test_email_code_sent_only_on_post_and_bound_to_the_pending_login(self):
        device = email_device(self.user)
        self.password()
        self.client.get(CHALLENGE)
        self.assertEqual(len(mail.outbox), 0, "rendering the page must not send a code")
        self.client.post(CHALLENGE, {"device": device.persistent_id, "action": "send"})
        self.assertEqual(len(mail.outbox), 1)
        code = last_code(mail.outbox[0].body)
        # The code belongs to this sign-in attempt: another attempt cannot use it.
        other = Client()
        self.password(other)
        refused = other.post(CHALLENGE, {"device": device.persistent_id, "action": "verify", "code": code})
        self.assertContains(refused, "didn&#x27;t work")
        # That failure counts against the device (1 s back-off); the rightful attempt comes after it.
        with mock.patch("authsite.core.clock.now", return_value=timezone.now() + timedelta(seconds=3)):
            ok = self.client.post(CHALLENGE, {"device": device.persistent_id, "action": "verify", "code": code})
        self.assertRedirects(ok, "/", fetch_redirect_response=False)

    def test_sms_code_flow_and_weak_factor_warning(self):
        device = sms_device(self.user)
        self.password()
        page = self.client.get(CHALLENGE)
        self.assertContains(page, "Text me a code")
        self.assertContains(page, "least safe option")
        self.assertEqual(sms_outbox, [])
        self.client.post(CHALLENGE, {"device": device.persistent_id, "action": "send"})
        self.assertEqual(len(sms_outbox), 1)
        code = last_code(sms_outbox[0].body)
        ok = self.client.post(CHALLENGE, {"device": device.persistent_id, "action": "verify", "code": code})
        self.assertRedirects(ok, "/", fetch_redirect_response=False)

    @override_settings(FACTORS_SMS_BACKEND="tests.factors.test_views.BrokenSms")
    def test_sms_gateway_failure_offers_other_ways_and_no_500(self):
        device = sms_device(self.user)
        totp_device(self.user, name="Backup app")
        self.password()
        response = self.client.post(CHALLENGE, {"device": device.persistent_id, "action": "send"}, follow=True)
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "We couldn&#x27;t send a text right now; choose another way.")
        self.assertContains(response, "Backup app")
        self.assertNotIn(SESSION_KEY, self.client.session)

    @override_settings(FACTORS_SMS_BACKEND="tests.factors.test_views.BrokenSms")
    def test_sms_gateway_failure_with_no_other_way_says_to_try_later(self):
        device = sms_device(self.user)
        self.password()
        response = self.client.post(CHALLENGE, {"device": device.persistent_id, "action": "send"}, follow=True)
        self.assertContains(response, "We couldn&#x27;t send a text right now. Please try again in a few minutes.")
        self.assertNotContains(response, "another way")

    def sign_in_with_email_code(self) -> EmailDevice:
        device = email_device(self.user)
        self.password()
        self.assertContains(self.client.get(CHALLENGE, {"method": device.persistent_id}), "We'll email a code to")
        sent = self.client.post(CHALLENGE, {"device": device.persistent_id, "action": "send"}, follow=True)
        self.assertContains(sent, "Enter the code we emailed to")
        self.assertNotContains(sent, "We'll email a code to")
        code = last_code(mail.outbox[-1].body)
        ok = self.client.post(CHALLENGE, {"device": device.persistent_id, "action": "verify", "code": code})
        self.assertRedirects(ok, "/", fetch_redirect_response=False)
        return device

    def test_a_sign_in_with_a_weaker_factor_still_needs_the_strongest_to_change_factors(self):
        totp, key = totp_device(self.user)
        self.sign_in_with_email_code()
        # An email code got the user in, but removing the app needs the app (or a passkey).
        response = self.client.post("/account/security/remove/", {"device": totp.persistent_id})
        self.assertRedirects(
            response, "/account/reauthenticate/factor/?next=%2Faccount%2Fsecurity%2F", fetch_redirect_response=False
        )
        self.assertTrue(TOTPDevice.objects.filter(pk=totp.pk).exists())
        passed = self.client.post(
            "/account/reauthenticate/factor/",
            {"device": totp.persistent_id, "action": "verify", "code": code_at(key), "next": "/account/security/"},
        )
        self.assertRedirects(passed, "/account/security/", fetch_redirect_response=False)
        self.client.post("/account/security/remove/", {"device": totp.persistent_id})
        self.assertFalse(TOTPDevice.objects.filter(pk=totp.pk).exists())

    def test_a_sign_in_with_the_strongest_factor_asks_nothing_more(self):
        totp, key = totp_device(self.user)
        email = email_device(self.user)
        self.password()
        self.client.post(CHALLENGE, {"device": totp.persistent_id, "action": "verify", "code": code_at(key)})
        response = self.client.post("/account/security/remove/", {"device": email.persistent_id})
        self.assertRedirects(response, "/account/security/", fetch_redirect_response=False)
        self.assertFalse(EmailDevice.objects.filter(pk=email.pk).exists())

    def test_a_recovery_code_sign_in_may_replace_the_lost_app(self):
        totp, _ = totp_device(self.user)
        codes = services.factor_recovery_codes_generate(user=self.user)
        recovery = next(d for d in services.user_factors(self.user) if d.factor_kind == "recovery")
        self.password()
        self.client.post(CHALLENGE, {"device": recovery.persistent_id, "action": "verify", "code": codes[0]})
        response = self.client.post("/account/security/remove/", {"device": totp.persistent_id})
        self.assertRedirects(response, "/account/security/", fetch_redirect_response=False)
        self.assertFalse(TOTPDevice.objects.filter(pk=totp.pk).exists())

    def test_recovery_code_works_once_notifies_and_shows_remaining(self):
        totp_device(self.user)
        codes = services.factor_recovery_codes_generate(user=self.user)
        recovery = services.user_factors(self.user)[-1]
        self.password()
        page = self.client.get(CHALLENGE, {"method": recovery.persistent_id})
        self.assertContains(page, "Recovery code")
        response = self.client.post(
            CHALLENGE, {"device": recovery.persistent_id, "action": "verify", "code": codes[0].lower()}, follow=True
        )
        self.assertContains(response, "9 remain")
        self.assertIn("recovery code was used", mail.outbox[-1].subject)
        other = Client()
        self.password(other)
        again = other.post(CHALLENGE, {"device": recovery.persistent_id, "action": "verify", "code": codes[0]})
        self.assertContains(again, "didn&#x27;t work")

    def test_downgrade_posting_a_weaker_factor_is_refused(self):
        totp, key = totp_device(self.user)
        WebAuthnCredential.objects.create(
            user=self.user, name="YubiKey", credential_id=b"\x01" * 16, credential_data=b"x", confirmed=True
        )
        self.password()
        session = self.client.session
        session["pending_login"]["stage_state"]["challenge"]["minimum"] = "phishing_resistant"
        session.save()
        page = self.client.get(CHALLENGE)
        self.assertContains(page, "only a passkey or security key will do")
        self.assertNotContains(page, "Phone app")
        response = self.client.post(CHALLENGE, {"device": totp.persistent_id, "action": "verify", "code": code_at(key)})
        self.assertRedirects(response, CHALLENGE, fetch_redirect_response=False)
        self.assertNotIn(SESSION_KEY, self.client.session)
        # The refused post never reached the device: the code was neither consumed nor counted.
        unused = services.factor_verify(device_id=totp.persistent_id, user=self.user, response=code_at(key))
        self.assertTrue(unused.ok)

    def test_no_factor_strong_enough_fails_closed(self):
        email_device(self.user)
        self.password()
        session = self.client.session
        session["pending_login"]["stage_state"]["challenge"]["minimum"] = "strong"
        session.save()
        response = self.client.get(CHALLENGE, follow=True)
        self.assertContains(response, "needs a stronger check")
        self.assertNotIn(SESSION_KEY, self.client.session)

    def test_challenge_without_pending_login_goes_to_password_page(self):
        self.assertRedirects(self.client.get(CHALLENGE), "/login/", fetch_redirect_response=False)

    def test_throttle_outage_challenges_even_if_policy_would_not(self):
        totp_device(self.user)
        with mock.patch("authsite.accounts.throttle.cache.get_many", side_effect=ConnectionError):
            self.assertRedirects(self.password(), CHALLENGE, fetch_redirect_response=False)

    def test_open_redirect_on_challenge_is_dropped(self):
        device, key = totp_device(self.user)
        self.client.post("/login/", {"email": self.user.email, "password": PASSWORD, "next": "//example.com"})
        response = self.client.post(
            CHALLENGE, {"device": device.persistent_id, "action": "verify", "code": code_at(key)}
        )
        self.assertEqual(response["Location"], "/")


class BrokenSms(BaseSmsBackend):
    """An SMS backend whose gateway is down."""

    def send_message(self, *, to: str, body: str) -> str:
        raise SmsDeliveryError("gateway down")


class EnrollmentTests(CacheClearingTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.user = make_user()
        self.client.post("/login/", {"email": self.user.email, "password": PASSWORD})

    def test_security_page_nudges_users_without_factors(self):
        page = self.client.get("/account/security/")
        self.assertContains(page, "Add a second way to sign in")
        self.assertContains(page, "Recommended")
        self.assertContains(page, "The weakest option")

    def test_totp_enrollment_with_qr_and_manual_key(self):
        self.assertRedirects(self.client.post("/account/security/totp/"), "/account/security/totp/confirm/")
        page = self.client.get("/account/security/totp/confirm/")
        self.assertContains(page, "<svg")
        secret = re.search(r'data-secret="([A-Z2-7]+)"', page.content.decode()).group(1)
        self.assertGreaterEqual(len(secret) * 5, 160)
        self.assertNotIn(secret, TOTPDevice.objects.get().encrypted_key)
        right = pyotp.TOTP(secret).now()
        wrong = self.client.post("/account/security/totp/confirm/", {"code": wrong_code(right)})
        self.assertContains(wrong, "didn&#x27;t work")
        self.assertNotContains(wrong, "another way")
        self.assertFalse(TOTPDevice.objects.get().confirmed)
        # The right code at once: no back-off while adding a factor (the clock does not move).
        with mock.patch("authsite.core.clock.now", return_value=timezone.now()):
            ok = self.client.post("/account/security/totp/confirm/", {"code": right})
        self.assertRedirects(ok, "/account/security/")
        self.assertTrue(TOTPDevice.objects.get().confirmed)
        self.assertIn("sign-in method was added", mail.outbox[-1].subject)
        self.assertTrue(self.client.get("/").wsgi_request.user.is_verified())

    def test_too_many_wrong_app_codes_start_the_setup_again(self):
        from factors.models import ENROLL_MAX_FAILURES

        self.client.post("/account/security/totp/")
        wrong = {"code": wrong_code(code_at(TOTPDevice.objects.get().bin_key))}
        for _ in range(ENROLL_MAX_FAILURES - 1):
            page = self.client.post("/account/security/totp/confirm/", wrong)
            self.assertContains(page, "That code didn&#x27;t work. Check it and try again.")
        last = self.client.post("/account/security/totp/confirm/", wrong, follow=True)
        self.assertRedirects(last, "/account/security/")
        self.assertEqual(
            [str(m) for m in last.context["messages"]],
            ["Too many wrong codes. Start again: set up the app with a new QR code."],
        )
        self.assertFalse(TOTPDevice.objects.exists())
        self.assertRedirects(self.client.get("/account/security/totp/confirm/"), "/account/security/")

    def test_email_confirmation_takes_the_right_code_after_a_wrong_one(self):
        self.client.post("/account/security/email/")
        code = last_code(mail.outbox[-1].body)
        wrong = self.client.post("/account/security/code/confirm/", {"code": wrong_code(code)})
        self.assertContains(wrong, "That code didn&#x27;t work. Check it and try again.")
        self.assertNotContains(wrong, "another way")
        with mock.patch("authsite.core.clock.now", return_value=timezone.now()):
            ok = self.client.post("/account/security/code/confirm/", {"code": code})
        self.assertRedirects(ok, "/account/security/")
        self.assertTrue(EmailDevice.objects.get().confirmed)

    @override_settings(FACTORS_SMS_BACKEND="tests.factors.test_views.BrokenSms")
    def test_a_failed_text_while_adding_a_phone_offers_no_other_way(self):
        page = self.client.post("/account/security/sms/", {"phone_number": "+47 912 34 567"}, follow=True)
        self.assertRedirects(page, "/account/security/code/confirm/")
        self.assertContains(page, "We couldn&#x27;t send a text right now. Please try again in a few minutes.")
        self.assertNotContains(page, "another way")

    def test_email_enrollment(self):
        response = self.client.post("/account/security/email/")
        self.assertRedirects(response, "/account/security/code/confirm/")
        code = last_code(mail.outbox[-1].body)
        self.assertRedirects(self.client.post("/account/security/code/confirm/", {"code": code}), "/account/security/")
        self.assertTrue(EmailDevice.objects.get().confirmed)

    @override_settings(FACTORS_SMS_BACKEND="locmem")
    def test_sms_enrollment_verifies_the_number_and_warns(self):
        sms_outbox.clear()
        page = self.client.get("/account/security/sms/")
        self.assertContains(page, "Text messages are the weakest option")
        bad = self.client.post("/account/security/sms/", {"phone_number": "12"})
        self.assertEqual(bad.status_code, 200)
        self.assertFalse(SMSDevice.objects.exists())
        response = self.client.post("/account/security/sms/", {"phone_number": "+47 912 34 567"})
        self.assertRedirects(response, "/account/security/code/confirm/")
        self.assertEqual(sms_outbox[-1].to, "+4791234567")
        code = last_code(sms_outbox[-1].body)
        self.client.post("/account/security/code/confirm/", {"code": code})
        self.assertTrue(SMSDevice.objects.get().verified)

    def test_recovery_codes_shown_once_and_regenerating_voids_the_old_set(self):
        first = self.client.post("/account/security/recovery/")
        codes = re.findall(r"<code>([A-Z2-7-]{19})</code>", first.content.decode())
        self.assertEqual(len(codes), 10)
        self.assertContains(first, 'download="recovery-codes.txt"')
        self.assertEqual(mail.outbox[-1].subject, "Adaptive MFA: new recovery codes")
        self.assertNotIn(codes[0], mail.outbox[-1].body)
        self.assertNotContains(self.client.get("/account/security/"), codes[0])
        second = self.client.post("/account/security/recovery/")
        new_codes = re.findall(r"<code>([A-Z2-7-]{19})</code>", second.content.decode())
        self.assertTrue(set(codes).isdisjoint(new_codes))
        recovery = next(d for d in services.user_factors(self.user) if d.factor_kind == "recovery")
        result = services.factor_verify(device_id=recovery.persistent_id, user=self.user, response=codes[0])
        self.assertFalse(result.ok)

    def passed_factor_just_now(self) -> None:
        session = self.client.session
        factor_reauth_mark(session, Strength.PHISHING_RESISTANT)
        session.save()

    def test_rename_preferred_and_remove_with_notifications(self):
        device, _ = totp_device(self.user)
        email = email_device(self.user)
        self.passed_factor_just_now()
        self.client.post("/account/security/rename/", {"device": device.persistent_id, "name": "  My   phone "})
        device.refresh_from_db()
        self.assertEqual(device.name, "My phone")
        self.client.post("/account/security/preferred/", {"device": email.persistent_id})
        email.refresh_from_db()
        self.assertTrue(email.preferred)
        self.client.post("/account/security/remove/", {"device": device.persistent_id})
        self.assertFalse(TOTPDevice.objects.exists())
        subjects = [m.subject for m in mail.outbox]
        self.assertTrue(any("renamed" in s for s in subjects))
        self.assertTrue(any("removed" in s for s in subjects))

    def test_cannot_touch_another_users_factor(self):
        stranger = make_user("mallory@example.com")
        device, _ = totp_device(stranger)
        response = self.client.post("/account/security/remove/", {"device": device.persistent_id}, follow=True)
        self.assertContains(response, "No such device")
        self.assertTrue(TOTPDevice.objects.filter(pk=device.pk).exists())

    def test_a_change_without_a_device_says_so_and_changes_nothing(self):
        device, _ = totp_device(self.user)
        self.passed_factor_just_now()
        before = len(mail.outbox)
        for path, data, message in (
            ("/account/security/remove/", {}, "No such device"),
            ("/account/security/preferred/", {"device": ""}, "No such device"),
            ("/account/security/rename/", {"device": device.persistent_id, "name": "x" * 65}, "up to 64 characters"),
        ):
            with self.subTest(path=path):
                response = self.client.post(path, data, follow=True)
                self.assertEqual(response.redirect_chain, [("/account/security/", 302)])
                self.assertContains(response, message)
        device.refresh_from_db()
        self.assertEqual((device.name, device.preferred), ("Phone app", False))
        self.assertEqual(len(mail.outbox), before)

    def test_sensitive_changes_need_recent_reauthentication(self):
        device, key = totp_device(self.user)
        self.passed_factor_just_now()
        later = timezone.now() + timedelta(minutes=11)
        with mock.patch("authsite.core.clock.now", return_value=later):
            response = self.client.post("/account/security/remove/", {"device": device.persistent_id})
            self.assertRedirects(
                response, "/account/reauthenticate/?next=%2Faccount%2Fsecurity%2F", fetch_redirect_response=False
            )
            self.assertTrue(TOTPDevice.objects.filter(pk=device.pk).exists())
            wrong = self.client.post(
                "/account/reauthenticate/", {"password": "nope nope", "next": "/account/security/"}
            )
            self.assertContains(wrong, "That password is not right.")
            ok = self.client.post("/account/reauthenticate/", {"password": PASSWORD, "next": "/account/security/"})
            self.assertRedirects(ok, "/account/security/", fetch_redirect_response=False)
            # The password alone is not the account's strongest factor: the app is asked for too.
            response = self.client.post("/account/security/remove/", {"device": device.persistent_id})
            self.assertRedirects(
                response,
                "/account/reauthenticate/factor/?next=%2Faccount%2Fsecurity%2F",
                fetch_redirect_response=False,
            )
            self.assertTrue(TOTPDevice.objects.filter(pk=device.pk).exists())
            step_up = self.client.post(
                "/account/reauthenticate/factor/",
                {
                    "device": device.persistent_id,
                    "action": "verify",
                    "code": otp.totp(key, later),
                    "next": "/account/security/",
                },
            )
            self.assertRedirects(step_up, "/account/security/", fetch_redirect_response=False)
            self.client.post("/account/security/remove/", {"device": device.persistent_id})
        self.assertFalse(TOTPDevice.objects.filter(pk=device.pk).exists())

    def test_step_up_accepts_only_the_strongest_factors(self):
        totp, key = totp_device(self.user)
        key_device = WebAuthnCredential.objects.create(
            user=self.user, name="YubiKey", credential_id=b"\x02" * 16, credential_data=b"x", confirmed=True
        )
        response = self.client.post("/account/security/remove/", {"device": totp.persistent_id})
        self.assertRedirects(
            response, "/account/reauthenticate/factor/?next=%2Faccount%2Fsecurity%2F", fetch_redirect_response=False
        )
        page = self.client.get("/account/reauthenticate/factor/", {"next": "/account/security/"})
        self.assertContains(page, "YubiKey")
        self.assertNotContains(page, "Phone app")
        refused = self.client.post(
            "/account/reauthenticate/factor/",
            {"device": totp.persistent_id, "action": "verify", "code": code_at(key), "next": "/account/security/"},
        )
        self.assertEqual(refused.status_code, 302)
        self.assertIn("/account/reauthenticate/factor/", refused["Location"])
        self.assertTrue(TOTPDevice.objects.filter(pk=totp.pk).exists())
        self.assertTrue(WebAuthnCredential.objects.filter(pk=key_device.pk).exists())

    def test_users_without_factor_need_only_the_password(self):
        response = self.client.post("/account/security/totp/")
        self.assertRedirects(response, "/account/security/totp/confirm/")

    def test_enrollment_and_removal_need_csrf(self):
        device, _ = totp_device(self.user)
        csrf_client = Client(enforce_csrf_checks=True)
        csrf_client.cookies = self.client.cookies
        for path, data in (
            ("/account/security/totp/", {}),
            ("/account/security/remove/", {"device": device.persistent_id}),
            ("/account/security/recovery/", {}),
            ("/account/security/webauthn/begin/", {}),
        ):
            with self.subTest(path=path):
                self.assertEqual(csrf_client.post(path, data).status_code, 403)
        self.assertTrue(TOTPDevice.objects.filter(pk=device.pk).exists())

    def test_state_changing_pages_refuse_get(self):
        for path in ("/account/security/totp/", "/account/security/remove/", "/account/security/recovery/"):
            with self.subTest(path=path):
                self.assertEqual(self.client.get(path).status_code, 405)

    def test_webauthn_registration_options(self):
        response = self.client.post(
            "/account/security/webauthn/begin/", {"passkey": True}, content_type="application/json"
        )
        options = response.json()["publicKey"]
        self.assertGreaterEqual(len(options["challenge"]) * 6 // 8, 32)
        self.assertEqual(options["rp"]["id"], "localhost")
        self.assertEqual(options["authenticatorSelection"]["userVerification"], "required")
        bad = self.client.post("/account/security/webauthn/complete/", "not json", content_type="application/json")
        self.assertEqual(bad.status_code, 400)
        self.assertIn("error", bad.json())


class PasskeyLoginEndpointTests(CacheClearingTestCase):
    def test_begin_gives_a_fresh_challenge_and_complete_refuses_garbage(self):
        first = self.client.post("/login/passkey/begin/").json()["publicKey"]
        second = self.client.post("/login/passkey/begin/").json()["publicKey"]
        self.assertNotEqual(first["challenge"], second["challenge"])
        self.assertEqual(first["userVerification"], "required")
        for body in ("{}", "[]", "garbage", '{"credential": {"id": "AAAA"}}'):
            with self.subTest(body=body):
                response = self.client.post("/login/passkey/complete/", body, content_type="application/json")
                self.assertEqual(response.status_code, 400)
                self.assertIn("error", response.json())
        self.assertNotIn(SESSION_KEY, self.client.session)


class AdminMfaTests(CacheClearingTestCase):
    def test_non_staff_gets_nothing(self):
        user = make_user()
        force_login_verified(self.client, user)
        response = self.client.get("/admin/")
        self.assertRedirects(response, "/admin/login/?next=/admin/", fetch_redirect_response=False)
        self.assertEqual(self.client.get("/admin/login/?next=/admin/").status_code, 403)

    def test_staff_without_verified_session_gets_nothing(self):
        staff = make_user("staff@example.com", is_staff=True, is_superuser=True)
        self.client.force_login(staff)
        page = self.client.get("/admin/", follow=True)
        self.assertEqual(page.status_code, 403)
        self.assertContains(page, "Staff accounts must confirm it's them with a passkey", status_code=403)
        self.assertEqual(self.client.get("/admin/accounts/user/").status_code, 302)

    def test_staff_with_verified_session_gets_the_admin(self):
        staff = make_user("staff@example.com", is_staff=True, is_superuser=True)
        force_login_verified(self.client, staff)
        self.assertEqual(self.client.get("/admin/").status_code, 200)

    def test_anonymous_admin_login_goes_to_the_staged_login(self):
        response = self.client.get("/admin/", follow=True)
        self.assertEqual(response.redirect_chain[-1][0], "/login/?next=%2Fadmin%2F")

    @override_settings(MFA_REQUIRED_FOR_STAFF=False)
    def test_setting_can_turn_the_requirement_off(self):
        staff = make_user("staff@example.com", is_staff=True, is_superuser=True)
        self.client.force_login(staff)
        self.assertEqual(self.client.get("/admin/").status_code, 200)


class FactorChangeEndsOtherSessionsTests(CacheClearingTestCase):
    """OWASP ASVS 7.4.3: a factor change ends the user's other sessions, not the current one."""

    def setUp(self) -> None:
        super().setUp()
        self.user = make_user()
        self.client.post("/login/", {"email": self.user.email, "password": PASSWORD})
        self.other = Client()
        self.other.force_login(self.user)
        session = self.client.session
        factor_reauth_mark(session, Strength.PHISHING_RESISTANT)
        session.save()

    def assert_only_this_session_survives(self) -> None:
        self.assertTrue(self.client.get("/").wsgi_request.user.is_authenticated)
        self.assertFalse(self.other.get("/").wsgi_request.user.is_authenticated)

    def test_adding_a_factor(self):
        self.client.post("/account/security/email/")
        code = last_code(mail.outbox[-1].body)
        self.client.post("/account/security/code/confirm/", {"code": code})
        self.assert_only_this_session_survives()

    def test_removing_a_factor(self):
        device, _ = totp_device(self.user)
        self.client.post("/account/security/remove/", {"device": device.persistent_id})
        self.assertFalse(TOTPDevice.objects.filter(pk=device.pk).exists())
        self.assert_only_this_session_survives()

    def test_new_recovery_codes(self):
        self.client.post("/account/security/recovery/")
        self.assert_only_this_session_survives()

    def test_renaming_is_not_a_credential_change(self):
        device, _ = totp_device(self.user)
        self.client.post("/account/security/rename/", {"device": device.persistent_id, "name": "New name"})
        self.assertTrue(self.other.get("/").wsgi_request.user.is_authenticated)
