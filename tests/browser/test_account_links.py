"""Emailed links as a person meets them in a browser: a link cut short says so, and the page that
sets a new password shows the same password rules as sign-up."""

from __future__ import annotations

from django.contrib.auth.tokens import default_token_generator
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from authsite.accounts.tokens import account_activation_token
from tests.browser.base import BrowserTestCase
from tests.helpers import make_user


class AccountLinkBrowserTests(BrowserTestCase):
    def heading(self, path: str) -> str:
        self.page.goto(self.url(path))
        return self.page.text_content("h1").strip()

    def test_a_link_cut_short_is_told_apart_from_an_expired_or_used_one(self):
        pending = make_user("pending@example.com", is_active=False, email_verified_at=None)
        activate = f"/signup/activate/{account_activation_token(pending)}/"
        # Cut where a quoted-printable line ended with "=": the rest of the token is missing.
        self.assertEqual(self.heading(activate[:60]), "This link is incomplete")
        self.assertIn("Copy the whole link", self.page.text_content("main"))
        self.assertEqual(self.heading(activate), "Confirm your email")

        user = make_user("alice@example.com")
        uid = urlsafe_base64_encode(force_bytes(user.pk))
        token = default_token_generator.make_token(user)
        self.assertEqual(self.heading(f"/password/reset/{uid}/{token[:20]}/"), "This link is incomplete")
        # Well formed but not valid (here: signed for another state of the account).
        stale = token.split("-")[0] + "-" + "0" * 32
        self.assertEqual(self.heading(f"/password/reset/{uid}/{stale}/"), "This link no longer works")

    def test_new_password_page_shows_the_rules_of_sign_up(self):
        self.page.goto(self.url("/signup/"))
        signup_rules = self.page.text_content("#id_password_helptext").strip()
        user = make_user("alice@example.com")
        uid = urlsafe_base64_encode(force_bytes(user.pk))
        self.page.goto(self.url(f"/password/reset/{uid}/{default_token_generator.make_token(user)}/"))
        self.page.wait_for_url("**/set-password/")
        self.assertEqual(self.page.text_content("#id_new_password1_helptext").strip(), signup_rules)
