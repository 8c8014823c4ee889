"""Every factor end to end in headless Chromium, with Chrome's virtual WebAuthn authenticator."""

from __future__ import annotations

import re
import subprocess
from datetime import UTC, datetime, timedelta

from django.core import mail

from factors import services
from factors.sms.backends.locmem import outbox as sms_outbox
from tests.browser.base import NO_CONDITIONAL_MEDIATION, BrowserTestCase, PasskeyBrowserMixin
from tests.helpers import make_user


def oathtool(secret: str, when: datetime) -> str:
    """Compute a TOTP code with oathtool, an implementation independent of the project's."""
    stamp = when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    result = subprocess.run(
        ["oathtool", "--totp", "-b", secret, "--now", stamp], capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


class FactorBrowserTests(PasskeyBrowserMixin, BrowserTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.use_passkey_site("dana@example.com")
        # These tests use the "Sign in with a passkey" button: Chromium's virtual authenticator
        # would answer the page's passkey autofill first (tests.browser.test_passkey_autofill).
        self.context.add_init_script(NO_CONDITIONAL_MEDIATION)

    def test_passkey_registration_then_sign_in_without_a_username(self):
        authenticator = self.add_authenticator(passkey=True)
        self.sign_in_with_password()
        self.assertEqual(self.signed_in_as(), self.user.email)
        page = self.page
        page.goto(self.url("/account/security/"))
        self.assert_every_input_has_a_visible_label()
        self.screenshot("security-empty")
        page.get_by_label("Name for this passkey").fill("Work laptop")
        page.get_by_role("button", name="Add a passkey").click()
        page.wait_for_selector("text=Your passkey “Work laptop” is ready")
        self.assertEqual(page.locator("[data-testid=factor-row]").count(), 1)
        credentials = self.cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]
        self.assertEqual(len(credentials), 1)
        self.assertTrue(credentials[0]["isResidentCredential"])
        # The same authenticator again: refused, said in the status line, and the keyboard focus
        # is back on the button (disabling it while waiting had moved focus to the page).
        page.get_by_role("button", name="Add a passkey").focus()
        page.keyboard.press("Enter")
        page.wait_for_selector("[data-webauthn-status].error")
        self.assertEqual(page.evaluate("document.activeElement.textContent.trim()"), "Add a passkey")

        self.sign_out()
        self.screenshot("login-passkey")
        page.get_by_role("button", name="Sign in with a passkey").click()
        self.assertEqual(self.signed_in_as(), self.user.email)

    def test_security_key_as_second_factor_after_the_password(self):
        self.add_authenticator(passkey=False)
        self.sign_in_with_password()
        self.signed_in_as()
        page = self.page
        page.goto(self.url("/account/security/"))
        page.get_by_label("Name for this key").fill("YubiKey 5")
        page.get_by_role("button", name="Add a security key").click()
        page.wait_for_selector("text=Your security key “YubiKey 5” is ready")

        self.sign_out()
        self.sign_in_with_password()
        page.wait_for_url("**/login/verify/")
        self.assertIn("YubiKey 5", page.text_content(".method h2"))
        self.screenshot("challenge-security-key")
        page.get_by_role("button", name="Use security key or passkey").click()
        self.assertEqual(self.signed_in_as(), self.user.email)

    def test_totp_enrollment_with_oathtool_codes_and_sign_in(self):
        self.sign_in_with_password()
        self.signed_in_as()
        page = self.page
        page.goto(self.url("/account/security/"))
        page.get_by_role("button", name="Add an app").click()
        page.wait_for_url("**/account/security/totp/confirm/")
        self.assertTrue(page.locator(".qr svg").is_visible())
        self.assert_every_input_has_a_visible_label()
        self.screenshot("totp-enroll")
        secret = page.get_attribute("[data-testid=totp-secret]", "data-secret")
        page.get_by_label("6-digit code from the app").fill(oathtool(secret, datetime.now(UTC)))
        page.get_by_role("button", name="Turn on").click()
        page.wait_for_selector("text=Your authenticator app is ready")

        self.sign_out()
        self.sign_in_with_password()
        page.wait_for_url("**/login/verify/")
        self.assert_every_input_has_a_visible_label()
        # The enrollment used this time step; the next step's code is within the one-step tolerance.
        page.get_by_label("6-digit code from your authenticator app").fill(
            oathtool(secret, datetime.now(UTC) + timedelta(seconds=30))
        )
        self.screenshot("challenge-totp")
        page.get_by_role("button", name="Verify").click()
        self.assertEqual(self.signed_in_as(), self.user.email)

    def reset_then_sign_in_to_the_enrollment_page(self) -> None:
        """Reset the user's MFA as an admin would, then sign in with the password and an email code."""
        from authsite.center.account_admin import account_mfa_reset

        enrollment = services.factor_enroll_totp_begin(user=self.user, name="Lost phone")
        enrollment.device.confirmed = True
        enrollment.device.save()
        account_mfa_reset(user=self.user, by=None)
        override = self.settings(LOGIN_STAGES=["factors.stages.ChallengeStage", "factors.stages.EnrolStage"])
        override.enable()
        self.addCleanup(override.disable)
        page = self.page
        self.sign_in_with_password()
        page.wait_for_url("**/login/verify/")
        page.get_by_role("button", name="Email me a code").click()
        code = re.search(r"\b\d{6}\b", mail.outbox[-1].body).group(0)
        page.get_by_label("6-digit code from the email").fill(code)
        page.get_by_role("button", name="Verify").click()
        page.wait_for_url("**/login/enroll/")
        self.assert_every_input_has_a_visible_label()

    def assert_signed_in_after_enrollment(self) -> None:
        self.page.wait_for_url("**/account/security/")
        self.assertIn("Make recovery codes now", self.page.text_content(".messages"))
        self.page.goto(self.url("/"))
        self.assertEqual(self.signed_in_as(), self.user.email)
        self.user.refresh_from_db()
        self.assertIsNone(self.user.mfa_enrol_required_at)

    def test_after_an_mfa_reset_the_next_sign_in_sets_up_an_app_first(self):
        self.reset_then_sign_in_to_the_enrollment_page()
        self.screenshot("enroll-required")
        page = self.page
        # Not signed in yet, wherever the user goes; the enrollment page waits for them.
        page.goto(self.url("/"))
        self.assertEqual(page.locator("[data-testid=signed-in-as]").count(), 0)
        self.assertEqual(page.locator("header").get_by_role("button", name="Sign out").count(), 0)
        page.goto(self.url("/login/enroll/"))
        page.get_by_role("button", name="Set up an app").click()
        page.wait_for_url("**/login/enroll/totp/")
        self.assertTrue(page.locator(".qr svg").is_visible())
        self.assert_every_input_has_a_visible_label()
        secret = page.get_attribute("[data-testid=totp-secret]", "data-secret")
        page.get_by_label("6-digit code from the app").fill(oathtool(secret, datetime.now(UTC)))
        page.get_by_role("button", name="Turn on").click()
        self.assert_signed_in_after_enrollment()

    def test_after_an_mfa_reset_a_passkey_set_up_at_sign_in_signs_in_next_time(self):
        self.add_authenticator(passkey=True)
        self.reset_then_sign_in_to_the_enrollment_page()
        page = self.page
        page.get_by_label("Name for this passkey").fill("New laptop")
        page.get_by_role("button", name="Add a passkey").click()
        self.assert_signed_in_after_enrollment()

        self.sign_out()
        page.get_by_role("button", name="Sign in with a passkey").click()
        self.assertEqual(self.signed_in_as(), self.user.email)

    def test_try_another_way_with_a_recovery_code(self):
        enrollment = services.factor_enroll_totp_begin(user=self.user, name="Authy")
        enrollment.device.confirmed = True
        enrollment.device.save()
        codes = services.factor_recovery_codes_generate(user=self.user)
        page = self.page
        self.sign_in_with_password()
        page.wait_for_url("**/login/verify/")
        self.assertIn("Authy", page.text_content(".method h2"))
        page.get_by_text("Try another way").click()
        page.get_by_role("link", name="Recovery codes").click()
        page.get_by_label("Recovery code").fill(codes[3])
        page.get_by_role("button", name="Verify").click()
        self.assertEqual(self.signed_in_as(), self.user.email)
        self.assertIn("9 remain", page.text_content(".messages"))
        page.goto(self.url("/account/security/"))
        self.assertEqual(page.text_content("[data-testid=recovery-left]"), "9")
        self.screenshot("security")


class CodeFactorBrowserTests(PasskeyBrowserMixin, BrowserTestCase):
    """Text-message and email codes, enrolled on the Security page and used at sign-in."""

    def setUp(self) -> None:
        super().setUp()
        override = self.settings(LOGIN_STAGES=["factors.stages.ChallengeStage"], FACTORS_SMS_BACKEND="locmem")
        override.enable()
        self.addCleanup(override.disable)
        sms_outbox.clear()
        self.user = make_user("hugo@example.com")

    def test_text_message_codes(self):
        page = self.page
        self.sign_in_with_password()
        page.wait_for_url(self.url("/"))
        page.goto(self.url("/account/security/"))
        page.get_by_role("link", name="Add a phone").click()
        self.assertIn("weakest option", page.text_content(".alert"))
        page.get_by_label("Mobile number, with country code").fill("+47 912 34 567")
        page.get_by_role("button", name="Text me a code").click()
        page.wait_for_url("**/account/security/code/confirm/")
        page.get_by_label("6-digit code").fill(re.search(r"\d{6}", sms_outbox[-1].body).group(0))
        page.get_by_role("button", name="Confirm").click()
        page.wait_for_selector("text=Done. You can use it the next time you sign in.")

        page.locator("header").get_by_role("button", name="Sign out").click()
        self.sign_in_with_password()
        page.wait_for_url("**/login/verify/")
        self.assertEqual(len(sms_outbox), 1, "no text may be sent before the user asks")
        page.get_by_role("button", name="Text me a code").click()
        page.get_by_label("6-digit code from the text message").fill(re.search(r"\d{6}", sms_outbox[-1].body).group(0))
        page.get_by_role("button", name="Verify").click()
        page.wait_for_url(self.url("/"))

    def test_email_codes(self):
        page = self.page
        self.sign_in_with_password()
        page.wait_for_url(self.url("/"))
        page.goto(self.url("/account/security/"))
        page.get_by_role("button", name="Add email codes").click()
        page.wait_for_url("**/account/security/code/confirm/")
        page.get_by_label("6-digit code").fill(re.search(r"\b\d{6}\b", mail.outbox[-1].body).group(0))
        page.get_by_role("button", name="Confirm").click()
        page.wait_for_selector("text=Done. You can use it the next time you sign in.")

        page.locator("header").get_by_role("button", name="Sign out").click()
        self.sign_in_with_password()
        page.wait_for_url("**/login/verify/")
        page.get_by_role("button", name="Email me a code").click()
        page.get_by_label("6-digit code from the email").fill(re.search(r"\b\d{6}\b", mail.outbox[-1].body).group(0))
        page.get_by_role("button", name="Verify").click()
        page.wait_for_url(self.url("/"))
