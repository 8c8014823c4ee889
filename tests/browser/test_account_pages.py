"""Sign up, confirm, sign in, change password and sign out in a real browser."""

from __future__ import annotations

import re

from django.core import mail

from tests.browser.base import BrowserTestCase
from tests.helpers import PASSWORD, links_on


class AccountPagesBrowserTests(BrowserTestCase):
    def test_signup_confirm_sign_in_and_out(self):
        page = self.page
        links_on(self, self.live_server_url)
        page.goto(self.url("/signup/"))
        self.assert_every_input_has_a_visible_label()
        self.screenshot("signup")
        page.get_by_label("Email address").fill("carol@example.com")
        page.get_by_label("Password").fill("short")
        page.get_by_role("button", name="Create account").click()
        self.assertIn("at least 8 characters", page.text_content("#id_password_error"))
        self.screenshot("signup-error")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Create account").click()
        page.wait_for_url("**/signup/done/")
        self.assertIn("Check your email", page.text_content("h1"))

        link = re.search(r"(http://\S+/signup/activate/\S+)", mail.outbox[-1].body).group(1)
        page.goto(link)
        page.get_by_label("The password you chose when you signed up").fill(PASSWORD)
        self.assert_every_input_has_a_visible_label()
        self.screenshot("activate")
        page.get_by_role("button", name="Confirm and activate").click()
        page.wait_for_url("**/login/")
        self.assertIn("Your email address is confirmed", page.text_content(".messages"))
        self.assert_every_input_has_a_visible_label()
        page.get_by_label("Email address").fill("carol@example.com")
        page.get_by_label("Password").fill("not the password")
        page.get_by_role("button", name="Continue").click()
        self.assertIn("don't match", page.text_content("#form-errors"))
        self.screenshot("login-error")
        page.get_by_label("Email address").fill("carol@example.com")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Continue").click()
        # The first sign-in offers to add a passkey; it can be skipped.
        page.wait_for_url("**/account/setup/")
        self.screenshot("setup-offer")
        page.get_by_test_id("skip-setup").click()
        page.wait_for_url(self.url("/"))
        self.assertEqual(page.text_content("[data-testid=signed-in-as]"), "carol@example.com")
        self.screenshot("home-signed-in")

        page.get_by_role("link", name="Change password").click()
        self.assert_every_input_has_a_visible_label()
        page.get_by_label("Current password").fill(PASSWORD)
        page.get_by_label("New password", exact=True).fill("a different passphrase")
        page.get_by_label("New password again").fill("a different passphrase")
        page.get_by_role("button", name="Change password").click()
        page.wait_for_url("**/password/change/done/")

        page.locator("header").get_by_role("button", name="Sign out").click()
        page.wait_for_url("**/login/")
        self.assertIn("You have signed out", page.text_content(".messages"))

    def test_login_page_looks_right(self):
        self.page.goto(self.url("/login/"))
        self.assert_every_input_has_a_visible_label()
        password = self.page.locator("#id_password")
        self.assertEqual(password.get_attribute("type"), "password")
        self.assertEqual(password.get_attribute("autocomplete"), "current-password")
        self.assertEqual(self.page.locator("#id_email").get_attribute("autocomplete"), "username webauthn")
        # The stylesheet loaded (no CDN): the card has a border radius from site.css.
        radius = self.page.eval_on_selector(".card", "el => getComputedStyle(el).borderTopLeftRadius")
        self.assertEqual(radius, "12px")
        self.screenshot("login")
        self.page.set_viewport_size({"width": 380, "height": 760})
        self.screenshot("login-mobile")
