"""The factor pages as a person meets them: which way is offered first, where the keyboard focus
is, adding an app after a typo, and staff on their way into the admin."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from django.core import mail

from factors import services
from factors.models import WebAuthnCredential
from tests.browser.base import BrowserTestCase
from tests.browser.test_factors import oathtool
from tests.factors.base import wrong_code
from tests.helpers import PASSWORD, make_user

FOCUSED_FIELD = "document.activeElement && document.activeElement.name"


class FocusMixin:
    def assert_focus_in(self, name: str) -> None:
        """Wait (15 seconds at most, for a loaded machine) for the focus to land in the field ``name``.

        Browsers apply ``autofocus`` at the next rendering step after the page is parsed, not at
        once, so the check waits for it instead of reading the focus the moment the page is there.
        """
        try:
            self.page.wait_for_function(f"({FOCUSED_FIELD}) === {name!r}", timeout=15000)
        except Exception:
            self.fail(f"the focus is not in {name!r} but in {self.page.evaluate(FOCUSED_FIELD)!r}")


class FactorPagesBrowserTests(FocusMixin, BrowserTestCase):
    def setUp(self) -> None:
        super().setUp()
        # Plain MFA: a user with a factor is asked for it at every sign-in.
        override = self.settings(LOGIN_STAGES=["factors.stages.ChallengeStage"])
        override.enable()
        self.addCleanup(override.disable)
        self.user = make_user("ines@example.com")

    def app(self, name: str = "Authy") -> str:
        """Give the user a confirmed authenticator app; return its base32 key."""
        enrollment = services.factor_enroll_totp_begin(user=self.user, name=name)
        enrollment.device.confirmed = True
        enrollment.device.save()
        return enrollment.secret_b32

    def passkey(self) -> WebAuthnCredential:
        # Registered on another computer: this browser holds no credential for it.
        return WebAuthnCredential.objects.create(
            user=self.user, name="Work laptop", credential_id=b"elsewhere", credential_data=b"-", confirmed=True
        )

    def sign_in(self, next_url: str = "") -> None:
        page = self.page
        page.goto(self.url(f"/login/?next={next_url}" if next_url else "/login/"))
        page.get_by_label("Email address").fill(self.user.email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Continue").click()

    def test_the_challenge_offers_the_app_before_a_passkey_from_elsewhere_with_the_focus_in_the_code_field(self):
        self.passkey()
        secret = self.app()
        page = self.page
        self.sign_in()
        page.wait_for_url("**/login/verify/")
        self.assertIn("Authy", page.text_content(".method h2"))
        self.assert_focus_in("code")
        # Typing straight away signs in: no Tab needed.
        page.keyboard.type(oathtool(secret, datetime.now(UTC)))
        page.keyboard.press("Enter")
        page.wait_for_url(self.url("/"))

    def test_the_preferred_way_is_offered_first_and_marked(self):
        passkey = self.passkey()
        self.app()
        services.factor_set_preferred(user=self.user, device_id=passkey.persistent_id)
        page = self.page
        self.sign_in()
        page.wait_for_url("**/login/verify/")
        self.assertIn("Work laptop", page.text_content(".method h2"))
        self.assertTrue(page.locator(".method h2 [data-testid=preferred]").is_visible())
        self.assertEqual(page.evaluate("document.activeElement.textContent.trim()"), "Use security key or passkey")
        page.get_by_text("Try another way").click()
        with page.expect_navigation():
            page.get_by_role("link", name="Authy").click()
        page.wait_for_load_state()
        self.assert_focus_in("code")
        self.assertEqual(page.locator(".method h2 [data-testid=preferred]").count(), 0)
        page.get_by_text("Try another way").click()
        marked = page.locator(".another-way li", has=page.locator("[data-testid=preferred]"))
        self.assertTrue(marked.is_visible())
        self.assertIn("Work laptop", marked.text_content())

    def test_adding_an_app_takes_the_right_code_after_a_typo(self):
        page = self.page
        self.sign_in()
        page.wait_for_url(self.url("/"))
        page.goto(self.url("/account/security/"))
        page.get_by_role("button", name="Add an app").click()
        page.wait_for_url("**/account/security/totp/confirm/")
        self.assert_focus_in("code")
        secret = page.get_attribute("[data-testid=totp-secret]", "data-secret")
        right = oathtool(secret, datetime.now(UTC))
        page.keyboard.type(wrong_code(right))
        page.keyboard.press("Enter")
        error = page.text_content("#id_code_error")
        self.assertIn("That code didn't work", error)
        self.assertNotIn("another way", page.text_content("main"))
        self.assert_focus_in("code")
        page.get_by_label("6-digit code from the app").fill(right)
        page.get_by_role("button", name="Turn on").click()
        page.wait_for_selector("text=Your authenticator app is ready")

    def test_confirming_email_codes_starts_in_the_code_field(self):
        page = self.page
        self.sign_in()
        page.wait_for_url(self.url("/"))
        page.goto(self.url("/account/security/"))
        page.get_by_role("button", name="Add email codes").click()
        page.wait_for_url("**/account/security/code/confirm/")
        self.assert_focus_in("code")
        page.keyboard.type(re.search(r"\b\d{6}\b", mail.outbox[-1].body).group(0))
        page.keyboard.press("Enter")
        page.wait_for_selector("text=Done. You can use it the next time you sign in.")


class StaffAdminBrowserTests(FocusMixin, BrowserTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.user = make_user("root@example.com", is_staff=True, is_superuser=True)

    sign_in = FactorPagesBrowserTests.sign_in

    def test_staff_let_in_on_the_password_confirm_with_their_app_and_reach_the_admin(self):
        enrollment = services.factor_enroll_totp_begin(user=self.user, name="Work phone")
        enrollment.device.confirmed = True
        enrollment.device.save()
        # No login stage asks for a factor: a low-risk sign-in on the usual browser.
        override = self.settings(LOGIN_STAGES=[])
        override.enable()
        self.addCleanup(override.disable)
        page = self.page
        self.sign_in("/admin/")
        page.wait_for_url("**/account/reauthenticate/admin/?next=%2Fadmin%2F")
        self.assertIn("The admin needs a passkey, a security key or an authenticator app.", page.text_content("main"))
        self.assert_focus_in("code")
        page.keyboard.type(oathtool(enrollment.secret_b32, datetime.now(UTC) + timedelta(seconds=30)))
        page.keyboard.press("Enter")
        page.wait_for_url(self.url("/admin/"))
        self.assertIn("Site administration", page.text_content("h1"))

    def test_a_new_superuser_with_an_emailed_code_is_sent_to_add_a_factor(self):
        self.use_demo_site()
        # As createsuperuser leaves it: never signed in, the address never confirmed, no factor.
        self.user.last_login = self.user.email_verified_at = None
        self.user.save()
        page = self.page
        self.sign_in("/admin/")
        page.wait_for_url("**/login/verify/")
        page.get_by_role("button", name="Email me a code").click()
        page.get_by_label("6-digit code from the email").fill(re.search(r"\b\d{6}\b", mail.outbox[-1].body).group(0))
        page.get_by_role("button", name="Verify").click()
        page.wait_for_url(self.url("/admin/login/?next=/admin/"))
        self.assertEqual(page.text_content("h1"), "The admin needs a second factor")
        self.assertNotIn("Site administration", page.content())
        page.get_by_role("link", name="Go to the Security page").click()
        page.wait_for_url("**/account/security/")
        self.assertEqual(page.locator("[data-testid=factor-row]").count(), 0)
        self.assertNotIn("Email to your account address", page.text_content("main"))
